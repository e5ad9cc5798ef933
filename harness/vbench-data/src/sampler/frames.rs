//! Views from JPEG frame folders: SSv2 and Charades as PySlowFast's `Ptvssv2` / `Ptvcharades` test
//! loaders build them on PyTorchVideo 0.1.5's `SSv2` / `Charades` datasets and `FrameVideo`:
//!
//! - a frame folder is a `FrameVideo` at 30 fps: frame `i` sits at `i/30` s and the duration is
//!   the Python float `len(frames) / 30.0`;
//! - **SSv2** loads the *whole* video (`get_clip(0, duration)`) and keeps one frame per segment:
//!   with `seg = float(n − 1) / T`, frame `(round(seg·i) + round(seg·(i + 1))) // 2` (NumPy's
//!   round-half-even). The clip sampler (`ConstantClipsPerVideo` with an arbitrary 1 s clip) only
//!   decides how many views there are (1 clip × crops);
//! - **Charades** samples `ConstantClipsPerVideo` clips of `((T − 1)·τ + 1) / 30` s (T, τ of the
//!   fast pathway for SlowFast), keeps the frames `ceil(30·start) ..
//!   min(ceil(30·min(end, duration)), n)` (float arithmetic, as `FrameVideo.get_clip`), and picks T
//!   of them with `linspace` (`Charades._sample_clip_frames`);
//! - then the same test transform as Kinetics with `ShortSideScale(TEST_CROP_SIZE)`, BGR and
//!   PackPathway (`views::extract_frame_views`).
//!
//! Only the selected frames are decoded, each once per video.

use super::{
    uniform_temporal_subsample, ClipInfo, ConstantClipsPerVideoSampler, SampledClip, SampledVideo,
};
use crate::decoder::VideoInfo;
use crate::error::{DataError, Result};
use crate::frames::read_jpeg;
use crate::rational::{Ratio, Seconds};
use crate::rgb::{frames_to_tensor, RgbFrame};
use crate::sampler::ClipLayout;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vbench_suite::Protocol;

/// `FrameVideo`'s default frame rate, which SSv2 and Charades use.
pub const FRAME_VIDEO_FPS: f64 = 30.0;

/// How a frame-folder dataset picks its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameSampling {
    /// PyTorchVideo `SSv2`: the whole video, one frame per segment.
    Ssv2Segments,
    /// PyTorchVideo `Charades`: constant clips per video of `((T − 1)·τ + 1)/30` s, `linspace`.
    CharadesClips,
}

/// `SSv2._sample_clip_frames(range(n), t, rand_sample=False)`: positions in `0..n`.
pub fn ssv2_segment_indices(n: usize, t: usize) -> Vec<usize> {
    let seg = (n.saturating_sub(1)) as f64 / t as f64;
    (0..t)
        .map(|i| {
            let start = (seg * i as f64).round_ties_even() as usize;
            let end = (seg * (i + 1) as f64).round_ties_even() as usize;
            (start + end) / 2
        })
        .collect()
}

/// PySlowFast `Ptvcharades`' clip duration, `((NUM_FRAMES − 1)·SAMPLING_RATE + 1) / TARGET_FPS`
/// as a Python float, with NUM_FRAMES and SAMPLING_RATE those of the (fast) input clip.
pub fn charades_clip_duration(p: &Protocol, what: &Path) -> Result<f64> {
    let alpha = p.alpha.unwrap_or(1);
    if alpha == 0 || !p.sample_rate.is_multiple_of(alpha) || p.target_fps == 0 {
        return Err(DataError::Invalid {
            what: what.display().to_string(),
            message: format!(
                "sample rate {} is not a multiple of alpha {alpha} (or target fps is 0)",
                p.sample_rate
            ),
        });
    }
    let frames = p.input_frames() as u64;
    let rate = (p.sample_rate / alpha) as u64;
    Ok(((frames.saturating_sub(1)) * rate + 1) as f64 / p.target_fps as f64)
}

/// `FrameVideo.get_clip`'s frame range for `[start, end)` over `n` frames, or `None` where it
/// returns None (a start outside the video).
fn frame_range(start: Ratio, end: Ratio, n: usize) -> Result<Option<(usize, usize)>> {
    let duration = n as f64 / FRAME_VIDEO_FPS;
    let dur_exact = Ratio::from_f64(duration)?;
    if start < Ratio::ZERO || start > dur_exact {
        return Ok(None);
    }
    // min(end_sec, duration) keeps the Fraction unless the float is smaller; `30.0 * t` is
    // then a float product either way.
    let end_f = if dur_exact < end {
        duration
    } else {
        end.to_f64()
    };
    let index = |t: f64| (FRAME_VIDEO_FPS * t).ceil().max(0.0) as usize;
    Ok(Some((index(start.to_f64()), index(end_f).min(n))))
}

/// A clip to load: its `ClipInfo`, its frame range `[a, b)` and the frames kept.
type PlannedClip = (ClipInfo, usize, usize, Vec<usize>);

/// Decodes `frames` (one video's JPEGs in temporal order) into, per clip, the frames the dataset
/// keeps, as [`super::video::sample_clips`] does for encoded videos.
pub fn sample_frame_clips(
    frames: &[PathBuf],
    protocol: &Protocol,
    sampling: FrameSampling,
) -> Result<SampledVideo> {
    let folder = frames
        .first()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let n = frames.len();
    if n == 0 {
        return Err(DataError::Frames {
            path: folder,
            message: "the video lists no frames".into(),
        });
    }
    let t = protocol.input_frames() as usize;
    let on_folder = |e: DataError| match e {
        DataError::Invalid { what, message } => DataError::Frames {
            path: folder.clone(),
            message: format!("{what}: {message}"),
        },
        other => other,
    };
    let duration_f = n as f64 / FRAME_VIDEO_FPS;
    let (sampler, per_clip): (_, Vec<PlannedClip>) = match sampling {
        FrameSampling::Ssv2Segments => {
            // "Put arbitrary duration as ssv2 always needs full video clip."
            let s = ConstantClipsPerVideoSampler::new(
                Seconds::Exact(Ratio::from_int(1)),
                protocol.temporal_clips,
                protocol.spatial_crops,
            )
            .map_err(on_folder)?;
            let schedule = s.clips_float_duration(duration_f).map_err(on_folder)?;
            let picked = ssv2_segment_indices(n, t);
            let clips = schedule
                .iter()
                .filter(|c| c.aug_index == 0)
                .map(|c| (*c, 0, n, picked.clone()))
                .collect();
            (schedule, clips)
        }
        FrameSampling::CharadesClips => {
            let cd = charades_clip_duration(protocol, &folder)?;
            let s = ConstantClipsPerVideoSampler::new(
                Seconds::Float(cd),
                protocol.temporal_clips,
                protocol.spatial_crops,
            )
            .map_err(on_folder)?;
            let schedule = s.clips_float_duration(duration_f).map_err(on_folder)?;
            let mut clips = Vec::new();
            for c in schedule.iter().filter(|c| c.aug_index == 0) {
                let range = frame_range(c.start, c.end, n).map_err(on_folder)?;
                let Some((a, b)) = range.filter(|(a, b)| a < b) else {
                    return Err(DataError::EmptyClip {
                        path: folder.clone(),
                        start: c.start.to_f64(),
                        end: c.end.to_f64(),
                        duration: duration_f,
                    });
                };
                let idx = uniform_temporal_subsample(b - a, t).map_err(on_folder)?;
                clips.push((*c, a, b, idx.iter().map(|&i| a + i as usize).collect()));
            }
            (schedule, clips)
        }
    };
    // Each selected frame is decoded once, however many clips share it.
    let mut cache: HashMap<usize, Arc<RgbFrame>> = HashMap::new();
    let mut out = Vec::with_capacity(per_clip.len());
    let (mut width, mut height) = (0, 0);
    for (info, a, b, picked) in per_clip {
        let mut refs = Vec::with_capacity(picked.len());
        for &i in &picked {
            let f = match cache.get(&i) {
                Some(f) => f.clone(),
                None => {
                    let mut f = read_jpeg(&frames[i])?;
                    f.pts = i as i64;
                    let f = Arc::new(f);
                    cache.insert(i, f.clone());
                    f
                }
            };
            (width, height) = (f.width, f.height);
            refs.push(f);
        }
        let borrowed: Vec<&Arc<RgbFrame>> = refs.iter().collect();
        let tensor = frames_to_tensor(&borrowed, &folder)?;
        let idx: Vec<i64> = picked.iter().map(|&i| i as i64).collect();
        out.push(SampledClip {
            info,
            frames: tensor,
            frame_pts: idx.clone(),
            frame_indices: idx,
            clip_frames: b - a,
        });
    }
    let info = VideoInfo {
        path: folder,
        stream_index: 0,
        codec: "jpeg".into(),
        pixel_format: "rgb24".into(),
        width,
        height,
        time_base: (1, 30),
        start_pts: 0,
        duration_pts: Some(n as i64),
        fps: Some((30, 1)),
        frame_count: Some(n as u64),
        rotation: 0.0,
    };
    Ok(SampledVideo {
        info,
        duration: Ratio::new(n as i128, 30)?,
        schedule: sampler,
        clips: out,
        // FrameVideo's clip goes to ShortSideScale without a temporal subsample.
        layout: ClipLayout::FramesLast,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssv2_segments_take_midpoints_rounding_half_to_even() {
        // Values from PyTorchVideo's SSv2._sample_clip_frames (NumPy 2).
        assert_eq!(
            ssv2_segment_indices(30, 8),
            vec![2, 5, 9, 12, 16, 20, 23, 27]
        );
        // seg = 0.5: round(0.5) = 0, round(2.5) = 2 (ties to even).
        assert_eq!(ssv2_segment_indices(5, 8), vec![0, 0, 1, 2, 2, 2, 3, 4]);
        assert_eq!(ssv2_segment_indices(1, 4), vec![0, 0, 0, 0]);
    }

    #[test]
    fn frame_range_follows_frame_video() {
        let r = |n, d| Ratio::new(n, d).unwrap();
        // 100 frames (3.333… s); [1, 1 + 57/30) -> frames 30..87.
        assert_eq!(
            frame_range(r(1, 1), r(87, 30), 100).unwrap(),
            Some((30, 87))
        );
        // An end past the video is clamped to its length.
        assert_eq!(frame_range(r(0, 1), r(10, 1), 100).unwrap(), Some((0, 100)));
        // A start past the end: FrameVideo returns None.
        assert_eq!(frame_range(r(4, 1), r(5, 1), 100).unwrap(), None);
    }
}
