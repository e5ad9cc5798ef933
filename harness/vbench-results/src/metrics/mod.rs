//! Scores computed exactly as PySlowFast computes them:
//! - [`topk`]: top-k accuracy at video and clip level (`slowfast/utils/metrics.py::topks_correct`),
//!   with a Wilson 95 % interval;
//! - [`map`]: Charades mAP (`slowfast/utils/meters.py::get_map`, sklearn `average_precision_score`);
//! - [`ava`]: AVA frame-mAP@0.5 IoU (`ava_evaluation`, as `slowfast/utils/ava_eval_helper.py` calls it);
//! - [`aggregate`]: one score vector per video from its views (TestMeter's sum or max);
//! - [`registry`]: the named metrics everything downstream iterates over.
//!
//! Everything works on plain slices. Scores are generic over [`Score`] (`f32`, what the models emit, or
//! `f64`) so that ties are decided in the precision the reference saw.

pub mod aggregate;
pub mod ava;
pub mod map;
pub mod registry;
pub mod topk;

use std::fmt::Debug;
use std::ops::Add;

/// Every error of the aggregation and metrics code; each message names the video, class, file or line.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("video {video}: no views to aggregate")]
    NoViews { video: String },
    #[error("video {video}: empty score vector (view {view})")]
    EmptyScores { video: String, view: usize },
    #[error("video {video}: view {view} has {got} scores, view 0 has {expected}")]
    ViewLength {
        video: String,
        view: usize,
        expected: usize,
        got: usize,
    },
    #[error("video {video}: {got} scores, expected one per class ({expected})")]
    ScoreLength {
        video: String,
        expected: usize,
        got: usize,
    },
    #[error("video {video}: {what} is not finite ({value})")]
    NonFinite {
        video: String,
        what: String,
        value: f64,
    },
    #[error("video {video}: label {label} out of range for {num_classes} classes (-1 marks an unknown label)")]
    LabelOutOfRange {
        video: String,
        label: i64,
        num_classes: usize,
    },
    #[error("top-k: k = {k} needs 1 <= k <= {num_classes} (the number of classes)")]
    InvalidK { k: usize, num_classes: usize },
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Parse {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    LabelMap { file: String, message: String },
}

pub type Result<T, E = MetricsError> = std::result::Result<T, E>;

/// A class score: `f32` or `f64`. Widening to `f64` is exact, so order and ties survive it.
pub trait Score: Copy + PartialOrd + Add<Output = Self> + Into<f64> + Debug {
    fn finite(self) -> bool;
}

impl Score for f32 {
    fn finite(self) -> bool {
        self.is_finite()
    }
}

impl Score for f64 {
    fn finite(self) -> bool {
        self.is_finite()
    }
}

/// Rejects NaN/inf: torch and numpy would order them silently (NaN as the largest value), which
/// hides a broken model output.
pub(crate) fn check_finite<T: Score>(video: &str, view: Option<usize>, scores: &[T]) -> Result<()> {
    match scores.iter().position(|s| !s.finite()) {
        None => Ok(()),
        Some(class) => Err(MetricsError::NonFinite {
            video: video.to_string(),
            what: match view {
                Some(v) => format!("view {v}, score of class {class}"),
                None => format!("score of class {class}"),
            },
            value: scores[class].into(),
        }),
    }
}

/// `np.sum` of a contiguous float64 array, bit for bit: numpy's pairwise summation (blocks of at
/// most 128 summed with 8 accumulators, larger arrays split in halves at a multiple of 8). Using it
/// wherever the reference calls `np.sum`/`np.mean` makes our APs and means identical, not merely close.
pub(crate) fn numpy_sum(x: &[f64]) -> f64 {
    0.0 + pairwise(x)
}

fn pairwise(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in x {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&x[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += x[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &x[i..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&x[..n2]) + pairwise(&x[n2..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_numpy_sum_small_and_blocked() {
        assert_eq!(numpy_sum(&[]), 0.0);
        assert_eq!(numpy_sum(&[1.0, 2.0, 3.0]), 6.0);
        let x: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert_eq!(numpy_sum(&x), 499_500.0);
        // Pairwise order differs from a running sum: left to right every `+ 1` is rounded away at
        // 1e16 (ulp 2); numpy's accumulators pair the ones first and lose only one of them.
        let mut y = vec![1.0; 16];
        y[0] = 1e16;
        assert_eq!(y.iter().sum::<f64>(), 1e16);
        assert_eq!(numpy_sum(&y), 1e16 + 14.0);
    }

    #[test]
    fn metrics_check_finite_names_video_and_class() {
        let err = check_finite("k400/a", Some(2), &[0.1f32, f32::NAN]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("k400/a") && msg.contains("view 2") && msg.contains("class 1"),
            "{msg}"
        );
    }
}
