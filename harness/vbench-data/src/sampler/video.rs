//! Clips of an encoded video, as PySlowFast's `Ptvkinetics` test loader samples them:
//! `EncodedVideo` (PyAV semantics, `decode_audio=False`) and `ConstantClipsPerVideoSampler(T·τ/30,
//! clips, crops)`; one decode serves every clip, and only the frames `uniform_temporal_subsample`
//! keeps are converted to RGB.

use super::{
    uniform_temporal_subsample, ClipInfo, ConstantClipsPerVideoSampler, SampledClip, SampledVideo,
};
use crate::decoder::{PtsRange, VideoReader};
use crate::error::{DataError, Result};
use crate::rational::Seconds;
use crate::sampler::ClipLayout;
use std::path::Path;
use tch::Tensor;
use vbench_suite::{Protocol, Sampler};

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

/// [`sample_clips`] with another sampler configuration (e.g. [`super::ClipSpacing::PerGap`]).
pub fn sample_clips_with(
    video: &Path,
    protocol: &Protocol,
    sampler: &ConstantClipsPerVideoSampler,
) -> Result<SampledVideo> {
    check_protocol(video, protocol)?;
    let mut reader = VideoReader::open(video)?;
    let duration = reader.duration()?;
    let schedule = sampler.clips(duration).map_err(|e| e.for_file(video))?;
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
            let idx = uniform_temporal_subsample(len, n).map_err(|e| e.for_file(video))?;
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
        layout: ClipLayout::Contiguous,
    })
}
