//! One score vector per video from its views, as PySlowFast's `TestMeter.update_stats` builds it.
//!
//! - [`Aggregation::Sum`]: TestMeter starts from zeros and adds every view's post-softmax scores in
//!   arrival order (K400, SSv2). `0 + a == a` exactly, so summing from the first view in view order
//!   is bit-identical in the score type (f32 for the models, as torch does it).
//! - [`Aggregation::Max`]: DATA.ENSEMBLE_METHOD="max" on post-sigmoid scores (Charades). TestMeter
//!   starts its multi-label accumulator at −1e10 and takes `torch.max`; for any score above −1e10
//!   (every sigmoid output) that is the plain element-wise max over views.

use vbench_suite::Aggregation;

use crate::metrics::{check_finite, MetricsError, Result, Score};

/// Combines the views of `video` (each one score per class) into one score vector.
///
/// Errors: no views, an empty view, views of different lengths, or a non-finite score; each names
/// the video (and view).
pub fn aggregate<T: Score, V: AsRef<[T]>>(
    video: &str,
    views: &[V],
    method: Aggregation,
) -> Result<Vec<T>> {
    let first = views
        .first()
        .ok_or_else(|| MetricsError::NoViews {
            video: video.to_string(),
        })?
        .as_ref();
    let num_classes = first.len();
    for (i, view) in views.iter().enumerate() {
        let view = view.as_ref();
        if view.is_empty() {
            return Err(MetricsError::EmptyScores {
                video: video.to_string(),
                view: i,
            });
        }
        if view.len() != num_classes {
            return Err(MetricsError::ViewLength {
                video: video.to_string(),
                view: i,
                expected: num_classes,
                got: view.len(),
            });
        }
        check_finite(video, Some(i), view)?;
    }
    let mut out = first.to_vec();
    for view in &views[1..] {
        for (acc, &s) in out.iter_mut().zip(view.as_ref()) {
            *acc = match method {
                Aggregation::Sum => *acc + s,
                // `>` keeps the earlier value on ties, which is the same number either way.
                Aggregation::Max => {
                    if s > *acc {
                        s
                    } else {
                        *acc
                    }
                }
            };
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_aggregate_sum_and_max() {
        let views = [vec![0.1f32, 0.7, 0.2], vec![0.5, 0.25, 0.25]];
        let s = aggregate("v", &views, Aggregation::Sum).unwrap();
        assert_eq!(s, vec![0.1f32 + 0.5, 0.7 + 0.25, 0.2 + 0.25]);
        let m = aggregate("v", &views, Aggregation::Max).unwrap();
        assert_eq!(m, vec![0.5f32, 0.7, 0.25]);
        // One view: returned as is.
        assert_eq!(
            aggregate("v", &views[..1], Aggregation::Max).unwrap(),
            views[0]
        );
    }

    #[test]
    fn metrics_aggregate_sum_is_sequential_in_view_order() {
        // f32 rounding makes the order visible: (1 + 1e8) − 1e8 = 0, while 1 + (1e8 − 1e8) = 1.
        let views = [vec![1.0f32], vec![1e8], vec![-1e8]];
        assert_eq!(
            aggregate("v", &views, Aggregation::Sum).unwrap(),
            vec![0.0f32]
        );
    }

    #[test]
    fn metrics_aggregate_errors_name_the_video() {
        let none: [Vec<f32>; 0] = [];
        let e = aggregate("k400/abc", &none, Aggregation::Sum).unwrap_err();
        assert!(matches!(e, MetricsError::NoViews { .. }) && e.to_string().contains("k400/abc"));
        let e = aggregate(
            "k400/abc",
            &[vec![0.5f64, 0.5], vec![1.0]],
            Aggregation::Sum,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                MetricsError::ViewLength {
                    view: 1,
                    expected: 2,
                    got: 1,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("k400/abc"));
        let e = aggregate("x", &[Vec::<f32>::new()], Aggregation::Max).unwrap_err();
        assert!(matches!(e, MetricsError::EmptyScores { view: 0, .. }));
        let e = aggregate("x", &[vec![0.5f32], vec![f32::NAN]], Aggregation::Max).unwrap_err();
        assert!(matches!(e, MetricsError::NonFinite { .. }), "{e}");
    }
}
