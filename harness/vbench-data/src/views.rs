//! Views: sampled clips ([`crate::sampler`]) through the test transform, one [`ViewTensor`] per
//! (clip, crop), in the sampler's order; and their safetensors form for `vbench clips`.
//!
//! For a video this is PySlowFast's `Ptvkinetics` test loader: the clips of
//! [`crate::sampler::video`], then the test transform with the sampler's `aug_index` as the
//! crop's spatial index. Frame folders (SSv2, Charades) get the same transform on the clips of
//! [`crate::sampler::frames`].

use crate::error::{DataError, Result};
use crate::sampler::frames::{sample_frame_clips, FrameSampling};
use crate::sampler::video::sample_clips;
use crate::sampler::{slow_pathway_indices, SampledVideo};
use crate::transforms::TestTransform;
use serde::Serialize;
use std::path::{Path, PathBuf};
use tch::Tensor;
use vbench_suite::Protocol;

/// What one view is, in terms a reader can check against PyTorchVideo.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct View {
    pub clip_index: u32,
    /// The crop position 0/1/2 = start/centre/end of the long side. It is the sampler's
    /// `aug_index`, so single-crop protocols get 0 (start), as `UniformCropVideo` does.
    pub spatial_index: u32,
    /// Native frame numbers (0-based rank of the frame's pts in the stream) of the frames fed to
    /// the model; for SlowFast, the fast pathway's.
    pub frame_indices: Vec<i64>,
    /// Per pathway (`pathway_names`), the native frame numbers it holds.
    pub pathway_frame_indices: Vec<Vec<i64>>,
    pub pathway_names: Vec<String>,
    /// Presentation timestamps (stream time base) of `frame_indices`.
    pub frame_pts: Vec<i64>,
    /// Frames in `[start, end)` before temporal subsampling.
    pub clip_frames: usize,
    pub start_sec: f64,
    pub end_sec: f64,
    /// The exact clip bounds as PyTorchVideo's `Fraction`s (`num/den`).
    pub start_exact: String,
    pub end_exact: String,
}

/// One view's model input: `[C, T, H, W]` float32 per pathway (`[slow, fast]` for SlowFast).
#[derive(Debug)]
pub struct ViewTensor {
    pub view: View,
    pub pathways: Vec<Tensor>,
    /// AVA: the person boxes to score, `[K, 4]` float32 `x1, y1, x2, y2` in input pixels.
    pub boxes: Option<Tensor>,
}

/// Every view of `video` under `protocol`, in the sampler's order (clip-major, then crop).
/// One decode serves all views; each clip's float stages up to the crop run once.
pub fn extract_views(video: &Path, protocol: &Protocol) -> Result<Vec<ViewTensor>> {
    views_from_samples(&sample_clips(video, protocol)?, protocol)
}

/// Every view of one frame-folder video (its JPEGs in temporal order), in the sampler's order
/// (clip-major, then crop).
pub fn extract_frame_views(
    frames: &[PathBuf],
    protocol: &Protocol,
    sampling: FrameSampling,
) -> Result<Vec<ViewTensor>> {
    views_from_samples(&sample_frame_clips(frames, protocol, sampling)?, protocol)
}

/// The float views of already sampled clips (the transform half of [`extract_views`]).
pub fn views_from_samples(sampled: &SampledVideo, protocol: &Protocol) -> Result<Vec<ViewTensor>> {
    let transform = TestTransform {
        layout: sampled.layout,
        ..TestTransform::from_protocol(protocol)
    };
    let names: Vec<String> = match protocol.alpha {
        Some(_) => vec!["slow".into(), "fast".into()],
        None => vec!["video".into()],
    };
    let mut out = Vec::with_capacity(sampled.schedule.len());
    for clip in &sampled.clips {
        let video = &sampled.info.path;
        let scaled = transform
            .clip_stage_u8(&clip.frames)
            .map_err(|e| e.for_file(video))?;
        let pathway_frame_indices = match protocol.alpha {
            Some(a) => {
                let slow = slow_pathway_indices(clip.frame_indices.len() as i64, a)
                    .map_err(|e| e.for_file(video))?;
                let slow = slow
                    .iter()
                    .map(|&i| clip.frame_indices[i as usize])
                    .collect();
                vec![slow, clip.frame_indices.clone()]
            }
            None => vec![clip.frame_indices.clone()],
        };
        let augs = sampled
            .schedule
            .iter()
            .filter(|c| c.clip_index == clip.info.clip_index);
        for aug in augs {
            let pathways = transform
                .view_stage(&scaled, aug.aug_index)
                .map_err(|e| e.for_file(video))?;
            out.push(ViewTensor {
                view: View {
                    clip_index: aug.clip_index,
                    spatial_index: aug.aug_index,
                    frame_indices: clip.frame_indices.clone(),
                    pathway_frame_indices: pathway_frame_indices.clone(),
                    pathway_names: names.clone(),
                    frame_pts: clip.frame_pts.clone(),
                    clip_frames: clip.clip_frames,
                    start_sec: aug.start.to_f64(),
                    end_sec: aug.end.to_f64(),
                    start_exact: aug.start.to_string(),
                    end_exact: aug.end.to_string(),
                },
                pathways,
                boxes: None,
            });
        }
    }
    Ok(out)
}

/// Safetensors names for a view's tensors: `clip03.crop1.fast` (float32 `[C, T, H, W]`) and
/// `clip03.crop1.fast.frame_indices` (int64 native frame numbers).
pub fn view_tensor_name(view: &View, pathway: usize) -> String {
    let p = view
        .pathway_names
        .get(pathway)
        .map(String::as_str)
        .unwrap_or("video");
    format!("clip{:02}.crop{}.{p}", view.clip_index, view.spatial_index)
}

/// Writes every view (per pathway), its chosen frame indices and (AVA) its person boxes
/// (`clip00.crop0.boxes`, `[K, 4]` input pixels) to one safetensors file, for
/// `vbench clips`. A JSON description of the views is `serde_json::to_string(&views[i].view)`.
pub fn write_views_safetensors(views: &[ViewTensor], path: &Path) -> Result<()> {
    let torch = |e| DataError::torch(path, e);
    let mut named: Vec<(String, Tensor)> = Vec::new();
    for v in views {
        for (p, t) in v.pathways.iter().enumerate() {
            let name = view_tensor_name(&v.view, p);
            let idx = v
                .view
                .pathway_frame_indices
                .get(p)
                .cloned()
                .unwrap_or_default();
            named.push((format!("{name}.frame_indices"), Tensor::from_slice(&idx)));
            named.push((name, t.f_contiguous().map_err(torch)?));
        }
        if let Some(b) = &v.boxes {
            let name = format!(
                "clip{:02}.crop{}.boxes",
                v.view.clip_index, v.view.spatial_index
            );
            named.push((name, b.f_contiguous().map_err(torch)?));
        }
    }
    Tensor::write_safetensors(&named, path).map_err(torch)
}

/// The video files PyTorchVideo's folder layout would list under `dir` (for tools that take a
/// directory): `.mp4`/`.avi`/`.mkv`/`.webm`, sorted.
pub fn list_videos(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let p = e.map_err(|e| DataError::io(dir, e))?.path();
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("mp4" | "avi" | "mkv" | "webm")) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}
