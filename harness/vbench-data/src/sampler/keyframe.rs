//! AVA's clip around a keyframe, as PySlowFast's AVA test loader picks its frames
//! (`ava_dataset.py`, split `test`): `get_sequence(center, T·τ // 2, step, n)`, that is
//! `range(center − half, center + half, step)` clamped to the movie's frame list, centre =
//! `(second − 900) · 30`; `step` is τ, or τ/α for SlowFast's fast pathway (its 8×8 is
//! PySlowFast's `NUM_FRAMES 32, SAMPLING_RATE 2`).

use crate::error::{DataError, Result};
use vbench_suite::Protocol;

/// AVA's frame 0 is second 900 of the movie (`ava_helper.sec_to_frame`).
pub const AVA_START_SECOND: u32 = 900;

/// PySlowFast's `utils.get_sequence`: `range(center − half, center + half, step)`, each index
/// clamped to `[0, num_frames − 1]`.
pub fn get_sequence(center: i64, half: i64, step: i64, num_frames: usize) -> Vec<usize> {
    let last = num_frames.saturating_sub(1) as i64;
    (center - half..center + half)
        .step_by(step.max(1) as usize)
        .map(|i| i.clamp(0, last) as usize)
        .collect()
}

/// The frame positions of a keyframe's clip under `protocol`: `input_frames()` frames spanning
/// `T·τ` frames centred on the keyframe.
pub fn keyframe_sequence(
    protocol: &Protocol,
    timestamp: u32,
    num_frames: usize,
) -> Result<Vec<usize>> {
    let span = (protocol.frames * protocol.sample_rate) as i64;
    let n = protocol.input_frames() as i64;
    if n == 0 || span % n != 0 {
        return Err(DataError::Invalid {
            what: "AVA keyframe clip".into(),
            message: format!("{n} frames do not divide a span of {span} frames evenly"),
        });
    }
    let center = (timestamp as i64 - AVA_START_SECOND as i64) * protocol.target_fps as i64;
    Ok(get_sequence(center, span / 2, span / n, num_frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_sequence_clamps_both_ends() {
        assert_eq!(get_sequence(60, 32, 16, 285), vec![28, 44, 60, 76]);
        assert_eq!(get_sequence(0, 4, 2, 10), vec![0, 0, 0, 2]);
        assert_eq!(get_sequence(9, 4, 2, 10), vec![5, 7, 9, 9]);
    }
}
