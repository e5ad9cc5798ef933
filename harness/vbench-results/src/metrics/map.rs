//! Charades mAP as PySlowFast's `get_map` (slowfast/utils/meters.py): drop the classes without a
//! single positive video, then the mean of sklearn's `average_precision_score` per class.
//!
//! sklearn's AP (`_binary_uninterpolated_average_precision`) is the step sum
//! `Σ (R_n − R_{n−1}) · P_n` over *distinct* score thresholds: tied scores form one threshold, so
//! the order among ties never matters. We rebuild its arrays in its order and sum them with numpy's
//! pairwise summation, so the APs are bit-identical to sklearn's, not just close.
//!
//! Where PySlowFast's `get_map` catches sklearn's ValueError (no class with a positive, e.g. no videos)
//! it prints a warning and reports 0; we report `map: None` instead, so an empty run never looks like
//! a real score. Non-finite scores are an error here (sklearn raises, and `get_map` would report 0).

use serde::Serialize;

use crate::metrics::{check_finite, numpy_sum, MetricsError, Result, Score};

/// One video: its positive classes (Charades: the union of its frames' labels) and its scores.
#[derive(Debug, Clone, Copy)]
pub struct MultiLabelVideo<'a, T> {
    pub id: &'a str,
    /// Class indices; repeats are harmless.
    pub positives: &'a [usize],
    /// One score per class (post-sigmoid, views aggregated by max for Charades).
    pub scores: &'a [T],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapReport {
    /// Mean of the evaluated classes' APs; `None` when no class has a positive.
    pub map: Option<f64>,
    /// AP per class; `None` for a class without positives (dropped, as `get_map` does).
    pub per_class: Vec<Option<f64>>,
    pub num_videos: usize,
    pub classes_evaluated: usize,
}

/// sklearn `average_precision_score(labels, scores)` for one binary problem. A problem without a
/// positive scores 0, as sklearn does (it warns). `None` for empty input, different lengths or a
/// non-finite score (where sklearn raises).
pub fn average_precision<T: Score>(labels: &[bool], scores: &[T]) -> Option<f64> {
    if labels.is_empty() || labels.len() != scores.len() || scores.iter().any(|s| !s.finite()) {
        return None;
    }
    let scores: Vec<f64> = scores.iter().map(|&s| s.into()).collect();
    Some(ap_sklearn(labels, &scores))
}

fn ap_sklearn(labels: &[bool], scores: &[f64]) -> f64 {
    let n = scores.len();
    let mut order: Vec<usize> = (0..n).collect();
    // Descending; scores are finite, so partial_cmp never fails. Tie order is irrelevant below.
    order.sort_by(|&a, &b| {
        scores[b]
            .partial_cmp(&scores[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    // (tps, fps) at the last index of each distinct score, as `_binary_clf_curve` returns them.
    let mut tps = Vec::new();
    let mut fps = Vec::new();
    let mut tp = 0.0f64;
    for (pos, &i) in order.iter().enumerate() {
        tp += labels[i] as u8 as f64;
        if pos + 1 == n || scores[order[pos + 1]] != scores[i] {
            tps.push(tp);
            fps.push(1.0 + pos as f64 - tp);
        }
    }
    let last_tp = *tps.last().unwrap_or(&0.0);
    let precision = |j: usize| tps[j] / (tps[j] + fps[j]);
    // No positive: sklearn sets recall to 1 at every threshold.
    let recall = |j: usize| {
        if last_tp == 0.0 {
            1.0
        } else {
            tps[j] / last_tp
        }
    };
    // precision_recall_curve reverses both curves and appends (P = 1, R = 0); AP is
    // -sum(diff(recall) * precision[:-1]), term i pairing reversed entries i and i + 1.
    let g = tps.len();
    let terms: Vec<f64> = (0..g)
        .map(|i| {
            let j = g - 1 - i;
            let next_recall = if j == 0 { 0.0 } else { recall(j - 1) };
            (next_recall - recall(j)) * precision(j)
        })
        .collect();
    let ap = -numpy_sum(&terms);
    // Python's max(0.0, ap): turns −0.0 (and only non-positive values) into 0.0.
    if ap > 0.0 {
        ap
    } else {
        0.0
    }
}

/// Charades mAP over `videos`, each with `num_classes` scores, as PySlowFast's `get_map`.
pub fn charades_map<T: Score>(
    videos: &[MultiLabelVideo<'_, T>],
    num_classes: usize,
) -> Result<MapReport> {
    let n = videos.len();
    // Column-major copies: one contiguous column per class, as sklearn slices them.
    let mut labels = vec![false; num_classes * n];
    let mut scores = vec![0.0f64; num_classes * n];
    for (v, video) in videos.iter().enumerate() {
        if video.scores.len() != num_classes {
            return Err(MetricsError::ScoreLength {
                video: video.id.to_string(),
                expected: num_classes,
                got: video.scores.len(),
            });
        }
        check_finite(video.id, None, video.scores)?;
        for &c in video.positives {
            if c >= num_classes {
                return Err(MetricsError::LabelOutOfRange {
                    video: video.id.to_string(),
                    label: c as i64,
                    num_classes,
                });
            }
            labels[c * n + v] = true;
        }
        for (c, &s) in video.scores.iter().enumerate() {
            scores[c * n + v] = s.into();
        }
    }
    let per_class: Vec<Option<f64>> = (0..num_classes)
        .map(|c| {
            let (l, s) = (&labels[c * n..(c + 1) * n], &scores[c * n..(c + 1) * n]);
            l.iter().any(|&p| p).then(|| ap_sklearn(l, s))
        })
        .collect();
    let aps: Vec<f64> = per_class.iter().flatten().copied().collect();
    let map = (!aps.is_empty()).then(|| numpy_sum(&aps) / aps.len() as f64);
    Ok(MapReport {
        map,
        per_class,
        num_videos: n,
        classes_evaluated: aps.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_map_ap_known_values() {
        // sklearn docs example: 0.8333...
        let ap = average_precision(&[false, false, true, true], &[0.1f64, 0.4, 0.35, 0.8]).unwrap();
        assert!((ap - 0.8333333333333333).abs() < 1e-15, "{ap}");
        // Perfect and worst rankings.
        assert_eq!(
            average_precision(&[true, false, false], &[0.9f32, 0.5, 0.1]),
            Some(1.0)
        );
        let worst = average_precision(&[false, false, true], &[0.9f32, 0.5, 0.1]).unwrap();
        assert!((worst - 1.0 / 3.0).abs() < 1e-15);
        // All tied: one threshold, AP = prevalence, whatever the order.
        assert_eq!(
            average_precision(&[true, false, false, true], &[0.5f32; 4]),
            Some(0.5)
        );
        // No positive: 0, as sklearn.
        assert_eq!(
            average_precision(&[false, false], &[0.2f32, 0.1]),
            Some(0.0)
        );
        assert_eq!(average_precision(&[true], &[f32::NAN]), None);
        assert_eq!(average_precision::<f32>(&[], &[]), None);
    }

    #[test]
    fn metrics_map_drops_classes_without_positives() {
        let s0 = [0.9f32, 0.1, 0.3];
        let s1 = [0.2f32, 0.8, 0.3];
        let vids = [
            MultiLabelVideo {
                id: "a",
                positives: &[0][..],
                scores: &s0[..],
            },
            MultiLabelVideo {
                id: "b",
                positives: &[1, 1][..],
                scores: &s1[..],
            },
        ];
        let r = charades_map(&vids, 3).unwrap();
        assert_eq!(r.per_class, vec![Some(1.0), Some(1.0), None]);
        assert_eq!(
            (r.map, r.classes_evaluated, r.num_videos),
            (Some(1.0), 2, 2)
        );
    }

    #[test]
    fn metrics_map_empty_and_errors() {
        let r = charades_map::<f32>(&[], 157).unwrap();
        assert_eq!((r.map, r.classes_evaluated), (None, 0));
        let s = [0.5f32, 0.5];
        let e = charades_map(
            &[MultiLabelVideo {
                id: "ch/x",
                positives: &[2][..],
                scores: &s[..],
            }],
            2,
        )
        .unwrap_err();
        assert!(
            matches!(e, MetricsError::LabelOutOfRange { .. }) && e.to_string().contains("ch/x")
        );
        let e = charades_map(
            &[MultiLabelVideo {
                id: "ch/y",
                positives: &[][..],
                scores: &s[..1],
            }],
            2,
        )
        .unwrap_err();
        assert!(matches!(e, MetricsError::ScoreLength { .. }));
    }
}
