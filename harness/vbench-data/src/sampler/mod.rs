//! Clip sampling, all of it: which clips of a video are views and which of a clip's frames are
//! kept, reproduced exactly from PyTorchVideo / PySlowFast.
//!
//! - here: `ConstantClipsPerVideoSampler` (the clip schedule), `uniform_temporal_subsample` (the
//!   frames of a clip) and PackPathway's slow-pathway positions;
//! - [`video`]: encoded videos (`Ptvkinetics`: decode once, keep the subsampled frames per clip);
//! - [`frames`]: JPEG frame folders (SSv2's segments, Charades' clips of a `FrameVideo`);
//! - [`keyframe`]: AVA's clip centred on a keyframe (`get_sequence`).
//!
//! The float transform that turns sampled frames into views is `views.rs` (and
//! `ava_views.rs` for AVA's OpenCV pipeline).

pub mod frames;
pub mod keyframe;
pub mod video;

use crate::decoder::VideoInfo;
use crate::error::{DataError, Result};
use crate::rational::{Ratio, Seconds};
use std::path::Path;
use tch::{Device, Kind, Tensor};
use vbench_suite::Protocol;

/// The memory layout PyTorchVideo's clip has when it reaches `ShortSideScale`, which
/// interpolates the `[C, T, H, W]` tensor as an NCHW batch (N = C, channels = T).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClipLayout {
    /// Kinetics (`LabeledVideoDataset` + `UniformTemporalSubsample`): `index_select` allocates a
    /// new contiguous `[C, T, H, W]` tensor; /255 and Normalize keep its strides.
    #[default]
    Contiguous,
    /// SSv2 and Charades (`FrameVideo`, no temporal subsample in the transform): the permuted
    /// view `thwc_to_cthw` makes of the stacked `[T, H, W, C]` frames, strides kept by the
    /// float conversion, /255 and Normalize.
    FramesLast,
}

/// One sampled clip (PyTorchVideo's `ClipInfo`); both ends are exact Fractions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipInfo {
    pub start: Ratio,
    pub end: Ratio,
    pub clip_index: u32,
    /// The augmentation index; PyTorchVideo's `UniformCropVideo` uses it as the spatial index.
    pub aug_index: u32,
    pub is_last_clip: bool,
}

/// How far apart `ConstantClipsPerVideoSampler` puts clip starts. PyTorchVideo changed this on
/// 2022-04-28 (commit 9368f30, "Bug fix in Constant clip sampler"): after the 0.1.5 release the
/// oracle venv pins, and after the model zoo was evaluated. The protocol notes quote the new rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipSpacing {
    /// pytorchvideo <= 0.1.5: `max(d - c, 0) / n`, so the last clip stops `1/n` of the free
    /// range short of the end. Reproduces the oracle and the published numbers.
    #[default]
    PerClip,
    /// pytorchvideo main: `max(d - c, 0) / max(n - 1, 1)`; the last clip ends at the video's end.
    PerGap,
}

/// `pytorchvideo.data.clip_sampling.ConstantClipsPerVideoSampler`.
///
/// The base `ClipSampler.__init__` stores `Fraction(clip_duration)`: PySlowFast's float
/// `T*tau/30` becomes the exact value of that double (1.6 → 1.6000000000000000888…), and all
/// later arithmetic is exact. That excess decides whether a frame sitting exactly on a clip's
/// end is included, so we keep it.
#[derive(Clone, Debug)]
pub struct ConstantClipsPerVideoSampler {
    pub clip_duration: Ratio,
    pub clips_per_video: u32,
    pub augs_per_clip: u32,
    pub spacing: ClipSpacing,
}

impl ConstantClipsPerVideoSampler {
    /// `clip_duration` as the caller would pass it to Python: a Fraction or a float.
    pub fn new(clip_duration: Seconds, clips_per_video: u32, augs_per_clip: u32) -> Result<Self> {
        if clips_per_video == 0 || augs_per_clip == 0 {
            return Err(DataError::Invalid {
                what: "ConstantClipsPerVideoSampler".into(),
                message: format!(
                    "clips_per_video ({clips_per_video}) and augs_per_clip ({augs_per_clip}) must be > 0"
                ),
            });
        }
        let clip_duration = match clip_duration {
            Seconds::Exact(r) => r,
            Seconds::Float(x) => Ratio::from_f64(x)?,
        };
        Ok(Self {
            clip_duration,
            clips_per_video,
            augs_per_clip,
            spacing: ClipSpacing::default(),
        })
    }

    pub fn with_spacing(self, spacing: ClipSpacing) -> Self {
        Self { spacing, ..self }
    }

    /// The sampler PySlowFast's `Ptvkinetics` builds for a test protocol: the clip duration is
    /// the Python float `NUM_FRAMES * SAMPLING_RATE / TARGET_FPS`, `clips_per_video` the temporal
    /// views and `augs_per_clip` the spatial crops.
    pub fn for_protocol(p: &Protocol) -> Result<Self> {
        let (num, den) = p.clip_duration();
        // Python's int/int true division is correctly rounded; so is f64 division of exact ints.
        Self::new(
            Seconds::Float(num as f64 / den as f64),
            p.temporal_clips,
            p.spatial_crops,
        )
    }

    /// Every `ClipInfo` the sampler yields for one video, until `is_last_clip`, replaying the
    /// stateful `__call__` loop (clip index advances after `augs_per_clip` augmentations).
    pub fn clips(&self, video_duration: Ratio) -> Result<Vec<ClipInfo>> {
        let max_start = video_duration
            .checked_sub(self.clip_duration)?
            .max(Ratio::ZERO);
        self.clips_from_max_start(max_start)
    }

    /// [`clips`](Self::clips) for a duration PyTorchVideo holds as a Python float (`FrameVideo`:
    /// `len(frames) / fps`): `float - Fraction` is a float subtraction there, and only its result
    /// becomes a Fraction.
    pub fn clips_float_duration(&self, video_duration: f64) -> Result<Vec<ClipInfo>> {
        let free = video_duration - self.clip_duration.to_f64();
        let max_start = if free > 0.0 {
            Ratio::from_f64(free)?
        } else {
            Ratio::ZERO
        };
        self.clips_from_max_start(max_start)
    }

    /// The sampler loop given `max_possible_clip_start`.
    fn clips_from_max_start(&self, max_start: Ratio) -> Result<Vec<ClipInfo>> {
        let parts = match self.spacing {
            ClipSpacing::PerClip => self.clips_per_video,
            ClipSpacing::PerGap => self.clips_per_video.saturating_sub(1).max(1),
        };
        let uniform = max_start.checked_div(Ratio::from_int(parts as i64))?;
        let (mut clip, mut aug) = (0u32, 0u32);
        let mut out = Vec::new();
        loop {
            let start = uniform.checked_mul(Ratio::from_int(clip as i64))?;
            let (clip_index, aug_index) = (clip, aug);
            aug += 1;
            if aug >= self.augs_per_clip {
                clip += 1;
                aug = 0;
            }
            let is_last_clip = clip >= self.clips_per_video
                || uniform.checked_mul(Ratio::from_int(clip as i64))? > max_start;
            out.push(ClipInfo {
                start,
                end: start.checked_add(self.clip_duration)?,
                clip_index,
                aug_index,
                is_last_clip,
            });
            if is_last_clip {
                return Ok(out);
            }
        }
    }
}

/// `uniform_temporal_subsample`'s indices: `clamp(linspace(0, t-1, n), 0, t-1).long()`, computed
/// by libtorch's own float32 `linspace` so the truncation matches PyTorchVideo exactly.
pub fn uniform_temporal_subsample(t: usize, n: usize) -> Result<Vec<i64>> {
    if t == 0 || n == 0 {
        return Err(DataError::Invalid {
            what: "uniform_temporal_subsample".into(),
            message: format!("needs t > 0 and n > 0 (t = {t}, n = {n})"),
        });
    }
    let torch = |e| DataError::torch(Path::new("uniform_temporal_subsample"), e);
    let last = (t - 1) as i64;
    let idx = Tensor::f_linspace(0i64, last, n as i64, (Kind::Float, Device::Cpu))
        .and_then(|x| x.f_clamp(0i64, last))
        .and_then(|x| x.f_to_kind(Kind::Int64))
        .map_err(torch)?;
    Vec::<i64>::try_from(&idx).map_err(torch)
}

/// PySlowFast's `PackPathway` slow pathway: its positions within the fast clip of `t_fast`
/// frames, `linspace(0, T-1, T // alpha).long()` computed by libtorch's own float32 `linspace`.
pub fn slow_pathway_indices(t_fast: i64, alpha: u32) -> Result<Vec<i64>> {
    let invalid = || DataError::Invalid {
        what: "transform".into(),
        message: format!("PackPathway with alpha {alpha} over {t_fast} frames"),
    };
    if alpha == 0 || t_fast < alpha as i64 {
        return Err(invalid());
    }
    let torch = |e| DataError::torch(Path::new("<transform>"), e);
    let idx = Tensor::f_linspace(
        0i64,
        t_fast - 1,
        t_fast / alpha as i64,
        (Kind::Float, Device::Cpu),
    )
    .and_then(|v| v.f_to_kind(Kind::Int64))
    .map_err(torch)?;
    Vec::<i64>::try_from(&idx).map_err(torch)
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
    /// The layout PyTorchVideo's loader gives these clips before `ShortSideScale`.
    pub layout: ClipLayout,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: i128, d: i128) -> Ratio {
        Ratio::new(n, d).unwrap()
    }

    #[test]
    fn ten_by_three_walks_clips_then_crops() {
        let s = ConstantClipsPerVideoSampler::new(Seconds::Exact(r(64, 30)), 10, 3).unwrap();
        let clips = s.clips(r(10, 1)).unwrap();
        assert_eq!(clips.len(), 30);
        let (c, a): (Vec<u32>, Vec<u32>) =
            clips.iter().map(|c| (c.clip_index, c.aug_index)).unzip();
        assert_eq!(&c[..6], &[0, 0, 0, 1, 1, 1]);
        assert_eq!(&a[..6], &[0, 1, 2, 0, 1, 2]);
        assert!(clips[29].is_last_clip && !clips[28].is_last_clip);
        // (10 - 64/30) / 10 = 59/75 s between starts; the 10th clip starts at 9·59/75.
        assert_eq!(clips[3].start, r(59, 75));
        assert_eq!(clips[27].start, r(9 * 59, 75));
        assert_eq!(clips[27].end, r(9 * 59, 75).checked_add(r(64, 30)).unwrap());
    }

    #[test]
    fn float_clip_duration_becomes_its_exact_double() {
        // pytorchvideo 0.1.5: ConstantClipsPerVideoSampler(48/30, 10, 1)._clip_duration ==
        // Fraction(3602879701896397, 2251799813685248), a hair above 1.6; clip 0 then ends past
        // pts 24576 of a 1/15360 time base, so a frame at exactly 1.6 s is included.
        let s = ConstantClipsPerVideoSampler::new(Seconds::Float(48.0 / 30.0), 10, 1).unwrap();
        assert_eq!(s.clip_duration, r(3602879701896397, 2251799813685248));
        let clips = s.clips(r(126464, 15360)).unwrap();
        let tb = r(1, 15360);
        assert_eq!(
            Seconds::Exact(clips[0].end).to_pts_ceil(tb, 0).unwrap(),
            24577
        );
        let free = r(126464, 15360).checked_sub(s.clip_duration).unwrap();
        assert_eq!(clips[3].start, free.checked_mul(r(3, 10)).unwrap());
    }

    #[test]
    fn per_gap_spacing_reaches_the_end() {
        let s = ConstantClipsPerVideoSampler::new(Seconds::Exact(r(64, 30)), 10, 1)
            .unwrap()
            .with_spacing(ClipSpacing::PerGap);
        let clips = s.clips(r(10, 1)).unwrap();
        assert_eq!(clips.len(), 10);
        assert_eq!(clips[9].end, r(10, 1));
        let one = ConstantClipsPerVideoSampler::new(Seconds::Exact(r(1, 1)), 1, 1)
            .unwrap()
            .with_spacing(ClipSpacing::PerGap);
        assert_eq!(one.clips(r(5, 1)).unwrap()[0].start, Ratio::ZERO);
    }

    #[test]
    fn clip_longer_than_video_starts_every_clip_at_zero() {
        let s = ConstantClipsPerVideoSampler::new(Seconds::Float(64.0 / 30.0), 5, 1).unwrap();
        let clips = s.clips(r(1, 1)).unwrap();
        assert_eq!(clips.len(), 5);
        assert!(clips.iter().all(|c| c.start == Ratio::ZERO));
    }

    #[test]
    fn subsample_indices_match_torch_linspace() {
        assert_eq!(
            uniform_temporal_subsample(64, 8).unwrap(),
            vec![0, 9, 18, 27, 36, 45, 54, 63]
        );
        // Fewer frames than samples repeats frames (nearest neighbour).
        assert_eq!(
            uniform_temporal_subsample(3, 5).unwrap(),
            vec![0, 0, 1, 1, 2]
        );
        assert_eq!(uniform_temporal_subsample(10, 1).unwrap(), vec![0]);
        assert!(uniform_temporal_subsample(0, 4).is_err());
    }

    #[test]
    fn zero_counts_are_rejected() {
        assert!(ConstantClipsPerVideoSampler::new(Seconds::Float(1.0), 0, 1).is_err());
    }
}
