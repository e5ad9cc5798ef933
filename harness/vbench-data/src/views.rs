//! The entry point the CLI calls: one video + one protocol → every test view, decoded once.
//!
//! This is PySlowFast's `Ptvkinetics` test loader for one video: `EncodedVideo` (PyAV semantics,
//! `decode_audio=False`), `ConstantClipsPerVideoSampler(T·τ/30, clips, crops)`, then the test
//! transform, with the sampler's `aug_index` as the crop's spatial index.

use crate::decoder::{PtsRange, VideoInfo, VideoReader};
use crate::error::{DataError, Result};
use crate::rational::{Ratio, Seconds};
use crate::sampler::{uniform_temporal_subsample, ClipInfo, ConstantClipsPerVideoSampler};
use crate::transforms::{slow_pathway_indices, TestTransform};
use serde::Serialize;
use std::path::{Path, PathBuf};
use tch::Tensor;
use vbench_suite::{Protocol, Sampler};

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

/// One sampled clip before the float transform: the subsampled uint8 frames.
#[derive(Debug)]
pub struct SampledClip {
    pub info: ClipInfo,
    /// `[T, H, W, 3]` uint8, the frames `uniform_temporal_subsample` keeps.
    pub frames: Tensor,
    pub frame_pts: Vec<i64>,
    pub frame_indices: Vec<i64>,
    pub clip_frames: usize,
}

/// Everything `sample_clips` learns about a video.
#[derive(Debug)]
pub struct SampledVideo {
    pub info: VideoInfo,
    /// PyTorchVideo's duration (exact).
    pub duration: Ratio,
    /// Every `ClipInfo` the sampler yielded, in order (clip-major, then crop).
    pub schedule: Vec<ClipInfo>,
    /// One entry per clip index.
    pub clips: Vec<SampledClip>,
}

/// Errors from path-less stages (sampling arithmetic, transforms) gain the video's name.
fn on_video(e: DataError, video: &Path) -> DataError {
    match e {
        DataError::Invalid { what, message } => DataError::Frames {
            path: video.to_path_buf(),
            message: format!("{what}: {message}"),
        },
        DataError::Overflow { what } => DataError::Frames {
            path: video.to_path_buf(),
            message: format!("{what}: exact arithmetic overflowed i128"),
        },
        DataError::Torch { message, .. } => DataError::Torch {
            path: video.to_path_buf(),
            message,
        },
        other => other,
    }
}

fn check_protocol(video: &Path, p: &Protocol) -> Result<()> {
    if p.sampler != Sampler::ConstantClipsPerVideo {
        return Err(DataError::Invalid {
            what: video.display().to_string(),
            message: format!(
                "sampler {:?} is not a ConstantClipsPerVideo protocol",
                p.sampler
            ),
        });
    }
    Ok(())
}

/// Decodes `video` once and returns, per clip, the frames the protocol keeps (uint8).
pub fn sample_clips(video: &Path, protocol: &Protocol) -> Result<SampledVideo> {
    sample_clips_with(
        video,
        protocol,
        &ConstantClipsPerVideoSampler::for_protocol(protocol)?,
    )
}

/// [`sample_clips`] with another sampler configuration (e.g. [`crate::ClipSpacing::PerGap`]).
pub fn sample_clips_with(
    video: &Path,
    protocol: &Protocol,
    sampler: &ConstantClipsPerVideoSampler,
) -> Result<SampledVideo> {
    check_protocol(video, protocol)?;
    let mut reader = VideoReader::open(video)?;
    let duration = reader.duration()?;
    let schedule = sampler.clips(duration).map_err(|e| on_video(e, video))?;
    // PyTorchVideo loads a clip at aug_index 0 and reuses it for the other crops.
    let firsts: Vec<&ClipInfo> = schedule.iter().filter(|c| c.aug_index == 0).collect();
    let ranges = firsts
        .iter()
        .map(|c| {
            Ok(PtsRange {
                start: reader.secs_to_pts(Seconds::Exact(c.start))?,
                end: Some(reader.secs_to_pts(Seconds::Exact(c.end))?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let n = protocol.input_frames() as usize;
    let selective = reader.selective();
    let mut picked: Vec<Option<(Tensor, Vec<i64>, usize)>> =
        (0..ranges.len()).map(|_| None).collect();
    // Only the frames `uniform_temporal_subsample` keeps are converted to RGB.
    let pass = reader.decode_ranges_select(
        &ranges,
        selective,
        |_, len| {
            let idx = uniform_temporal_subsample(len, n).map_err(|e| on_video(e, video))?;
            Ok(idx.into_iter().map(|i| i as usize).collect())
        },
        |i, frames, len| {
            if frames.is_empty() {
                return Ok(());
            }
            let t = frames.all_to_tensor(video)?;
            picked[i] = Some((t, frames.pts(), len));
            Ok(())
        },
    )?;
    let info = reader.info().clone();
    let mut clips = Vec::with_capacity(firsts.len());
    for (c, p) in firsts.iter().zip(picked) {
        let Some((frames, frame_pts, clip_frames)) = p else {
            return Err(DataError::EmptyClip {
                path: video.to_path_buf(),
                start: c.start.to_f64(),
                end: c.end.to_f64(),
                duration: duration.to_f64(),
            });
        };
        let frame_indices = frame_pts
            .iter()
            .map(|&p| pass.frame_number(p, &info))
            .collect();
        clips.push(SampledClip {
            info: **c,
            frames,
            frame_pts,
            frame_indices,
            clip_frames,
        });
    }
    Ok(SampledVideo {
        info,
        duration,
        schedule,
        clips,
    })
}

/// Every view of `video` under `protocol`, in the sampler's order (clip-major, then crop).
/// One decode serves all views; each clip's float stages up to the crop run once.
pub fn extract_views(video: &Path, protocol: &Protocol) -> Result<Vec<ViewTensor>> {
    views_from_samples(&sample_clips(video, protocol)?, protocol)
}

/// The float views of already sampled clips (the transform half of [`extract_views`]).
pub fn views_from_samples(sampled: &SampledVideo, protocol: &Protocol) -> Result<Vec<ViewTensor>> {
    let transform = TestTransform::from_protocol(protocol);
    let names: Vec<String> = match protocol.alpha {
        Some(_) => vec!["slow".into(), "fast".into()],
        None => vec!["video".into()],
    };
    let mut out = Vec::with_capacity(sampled.schedule.len());
    for clip in &sampled.clips {
        let video = &sampled.info.path;
        let scaled = transform
            .clip_stage_u8(&clip.frames)
            .map_err(|e| on_video(e, video))?;
        let pathway_frame_indices = match protocol.alpha {
            Some(a) => {
                let slow = slow_pathway_indices(clip.frame_indices.len() as i64, a)
                    .map_err(|e| on_video(e, video))?;
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
                .map_err(|e| on_video(e, video))?;
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
