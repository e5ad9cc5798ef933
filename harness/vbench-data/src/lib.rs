//! Video input for vbench: decoding (FFmpeg, with PyTorchVideo's PyAV semantics), exact clip
//! sampling, the PySlowFast test transforms on tch tensors, and dataset manifests.
//!
//! The data flow: [`datasets`] (one [`datasets::DatasetFormat`] per dataset: layout, list, class
//! names, views) → [`decoder`] (FFmpeg) / [`frames`] (JPEG) → [`sampler`] (every clip-sampling
//! rule) → [`transforms`] → [`views`]. The CLI's entry points are [`extract_views`] (one video,
//! one protocol → every view, decoded once), [`extract_sample_views`] (any dataset sample, through
//! its format), [`ViewLoader`] (a bounded, ordered pool of decoder threads for the evaluation
//! loop), [`check::check_manifest`] (`vbench check-data`) and [`write_views_safetensors`].
//!
//! `tests/parity_pixels.rs` holds every view bit-identical to PyTorchVideo 0.1.5 + PyAV 18.
//! What that took, beyond the obvious:
//! - clip starts are `max(d − c, 0)/n` in 0.1.5, not `/max(n − 1, 1)` (that is the 2022 fix; see
//!   [`ClipSpacing`]); the clip duration is `Fraction(T·τ/30 as a double)`, not `T·τ/30`;
//! - a clip stops at the first *output* frame whose pts reaches its end (matters for reordered pts);
//! - AVI with B-frames: FFmpeg 5.1 leaves reference frames without pts; we fill them as PyAV 18's
//!   FFmpeg 8 does (the decoded pixels themselves are identical);
//! - RGB conversion uses the frame's colour matrix and range (BT.709 clips differ by up to 46
//!   levels otherwise);
//! - with one spatial crop, `UniformCropVideo` gets `aug_index` 0: the left (top) crop, not the
//!   centre crop PySlowFast's own Kinetics loader takes.

pub mod ava_views;
pub mod check;
pub mod cv_resize;
pub mod datasets;
pub mod decoder;
pub mod error;
mod ffutil;
pub mod frames;
pub mod loader;
pub mod rational;
mod rgb;
pub mod sampler;
pub mod transforms;
pub mod views;

pub use decoder::{
    set_decode_threads, ClipFrames, DecodePass, ProbeStats, PtsRange, RgbFrame, VideoInfo,
    VideoReader,
};
pub use error::{DataError, Result};
pub use loader::{extract_sample_views, LoadedSample, LoaderOptions, ViewLoader};
pub use rational::{Ratio, Seconds};
pub use sampler::frames::{sample_frame_clips, FrameSampling};
pub use sampler::video::{sample_clips, sample_clips_with};
pub use sampler::{
    uniform_temporal_subsample, ClipInfo, ClipLayout, ClipSpacing, ConstantClipsPerVideoSampler,
    SampledClip, SampledVideo,
};
pub use transforms::TestTransform;
pub use views::{
    extract_frame_views, extract_views, view_tensor_name, views_from_samples,
    write_views_safetensors, View, ViewTensor,
};

#[cfg(test)]
mod tests;
