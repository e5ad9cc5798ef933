//! Video input for vbench: decoding (FFmpeg, with PyTorchVideo's PyAV semantics), exact clip
//! sampling, the PySlowFast test transforms on tch tensors, and dataset manifests.
//!
//! The CLI's entry points are [`extract_views`] (one video, one protocol → every view, decoded
//! once) and [`write_views_safetensors`].

pub mod datasets;
pub mod decoder;
pub mod error;
pub mod frames;
pub mod rational;
pub mod sampler;
pub mod transforms;
pub mod views;

pub use decoder::{ClipFrames, DecodePass, PtsRange, RgbFrame, VideoInfo, VideoReader};
pub use error::{DataError, Result};
pub use rational::{Ratio, Seconds};
pub use sampler::{
    uniform_temporal_subsample, ClipInfo, ClipSpacing, ConstantClipsPerVideoSampler,
};
pub use transforms::TestTransform;
pub use views::{
    extract_views, sample_clips, sample_clips_with, view_tensor_name, views_from_samples,
    write_views_safetensors, SampledClip, SampledVideo, View, ViewTensor,
};

#[cfg(test)]
mod input_tests;
