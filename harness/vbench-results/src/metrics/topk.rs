//! Top-k accuracy as PySlowFast's `topks_correct`: a sample is correct at k when its label is among
//! the indices of `torch.topk(scores, k)`. Reported at video level (views aggregated first, what
//! PySlowFast's TestMeter reports) and at clip level (every view scored alone), side by side.
//!
//! **Ties.** `torch.topk` on CPU (libstdc++ `nth_element`/`partial_sort`) returns tied values in an
//! unspecified order (not lower-index-first: the oracle test shows it). So wherever the label's score
//! is tied with the k-th largest score, PySlowFast's verdict depends on that order. We define the
//! verdict deterministically, ties broken towards the lower class index (a stable descending sort),
//! and count those samples as `ambiguous`: torch's count always lies in
//! `[certain, certain + ambiguous]`, and equals ours whenever `ambiguous == 0`.
//!
//! **Labels.** −1 marks an unknown label: such samples are excluded and counted in `unknown_label`
//! (PySlowFast would count them as wrong). Any other label outside `0..num_classes` is an error.
//!
//! **Interval.** `ci95` is the Wilson score interval without continuity correction (scipy's
//! `binomtest(k, n).proportion_ci(method="wilson")`): closed form, deterministic, sane at 0 and 1.
//! At clip level it treats views as independent, which they are not (views of one video are
//! correlated), so there it is too narrow; the video-level interval is the one to report.

use serde::Serialize;
use vbench_suite::Aggregation;

use crate::metrics::aggregate::aggregate;
use crate::metrics::{check_finite, MetricsError, Result, Score};

/// `scipy.special.ndtri(0.975)`.
pub const Z95: f64 = 1.959963984540054;

/// One scored sample (a video's aggregated scores, or one view).
#[derive(Debug, Clone, Copy)]
pub struct Labeled<'a, T> {
    pub id: &'a str,
    /// Class index, or −1 for unknown.
    pub label: i64,
    pub scores: &'a [T],
}

/// One video with all its views (each one score per class).
#[derive(Debug, Clone, Copy)]
pub struct LabeledVideo<'a, V> {
    pub id: &'a str,
    pub label: i64,
    pub views: &'a [V],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopK {
    pub k: usize,
    /// Correct with tied scores ordered lower class index first.
    pub correct: usize,
    /// Correct under every order of tied scores.
    pub certain: usize,
    /// Samples whose verdict depends on the order of tied scores.
    pub ambiguous: usize,
    /// Samples scored (unknown labels excluded).
    pub total: usize,
    /// `correct / total`, a fraction; `None` when nothing was scored.
    pub accuracy: Option<f64>,
    /// Wilson 95 % interval of `accuracy`.
    pub ci95: Option<[f64; 2]>,
}

impl TopK {
    /// Accuracy in percent, as PySlowFast logs it.
    pub fn percent(&self) -> Option<f64> {
        self.accuracy.map(|a| a * 100.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    pub num_classes: usize,
    /// Samples scored.
    pub total: usize,
    /// Samples skipped because their label is −1.
    pub unknown_label: usize,
    /// One entry per requested k, in request order.
    pub topk: Vec<TopK>,
}

impl Accuracy {
    pub fn get(&self, k: usize) -> Option<&TopK> {
        self.topk.iter().find(|t| t.k == k)
    }
}

/// Video-level (what PySlowFast reports) and clip-level accuracy of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoAndClip {
    pub video: Accuracy,
    pub clip: Accuracy,
}

/// Where a label lands among the scores: how many classes score strictly higher, and how many tie
/// with it at a lower / higher index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    pub greater: usize,
    pub tied_before: usize,
    pub tied_after: usize,
}

impl Rank {
    pub fn of<T: Score>(scores: &[T], label: usize) -> Rank {
        let s = scores[label];
        let mut r = Rank {
            greater: 0,
            tied_before: 0,
            tied_after: 0,
        };
        for (i, &v) in scores.iter().enumerate() {
            if v > s {
                r.greater += 1;
            } else if v == s && i != label {
                if i < label {
                    r.tied_before += 1;
                } else {
                    r.tied_after += 1;
                }
            }
        }
        r
    }

    /// In the top k with ties broken lower index first.
    pub fn in_top(&self, k: usize) -> bool {
        self.greater + self.tied_before < k
    }

    /// In the top k whatever the order of ties.
    pub fn surely_in_top(&self, k: usize) -> bool {
        self.greater + self.tied_before + self.tied_after < k
    }

    /// In the top k under some order of ties but not under all.
    pub fn ambiguous(&self, k: usize) -> bool {
        self.greater < k && !self.surely_in_top(k)
    }
}

/// Wilson score 95 % interval for `successes` out of `n` (scipy's formula, including its exact 0 and
/// 1 ends at k = 0 and k = n). `None` for n = 0.
pub fn wilson_ci95(successes: usize, n: usize) -> Option<[f64; 2]> {
    if n == 0 || successes > n {
        return None;
    }
    let (k, n) = (successes as f64, n as f64);
    let z = Z95;
    let p = k / n;
    let denom = 2.0 * (n + z * z);
    let center = (2.0 * n * p + z * z) / denom;
    let delta = z / denom * (4.0 * n * p * (1.0 - p) + z * z).sqrt();
    let lo = if successes == 0 { 0.0 } else { center - delta };
    let hi = if k == n { 1.0 } else { center + delta };
    Some([lo, hi])
}

fn check_ks(ks: &[usize], num_classes: usize) -> Result<()> {
    match ks.iter().find(|&&k| k == 0 || k > num_classes) {
        Some(&k) => Err(MetricsError::InvalidK { k, num_classes }),
        None if ks.is_empty() => Err(MetricsError::InvalidK { k: 0, num_classes }),
        None => Ok(()),
    }
}

/// Top-k accuracy for every k in `ks` over `samples`, each with `num_classes` scores.
pub fn accuracy<'a, T: Score + 'a>(
    samples: impl IntoIterator<Item = Labeled<'a, T>>,
    num_classes: usize,
    ks: &[usize],
) -> Result<Accuracy> {
    check_ks(ks, num_classes)?;
    let mut counts = vec![(0usize, 0usize, 0usize); ks.len()];
    let (mut total, mut unknown) = (0usize, 0usize);
    for s in samples {
        if s.scores.len() != num_classes {
            return Err(MetricsError::ScoreLength {
                video: s.id.to_string(),
                expected: num_classes,
                got: s.scores.len(),
            });
        }
        check_finite(s.id, None, s.scores)?;
        if s.label == -1 {
            unknown += 1;
            continue;
        }
        if s.label < 0 || s.label as u64 >= num_classes as u64 {
            return Err(MetricsError::LabelOutOfRange {
                video: s.id.to_string(),
                label: s.label,
                num_classes,
            });
        }
        total += 1;
        let rank = Rank::of(s.scores, s.label as usize);
        for (c, &k) in counts.iter_mut().zip(ks) {
            c.0 += rank.in_top(k) as usize;
            c.1 += rank.surely_in_top(k) as usize;
            c.2 += rank.ambiguous(k) as usize;
        }
    }
    let topk = ks
        .iter()
        .zip(counts)
        .map(|(&k, (correct, certain, ambiguous))| TopK {
            k,
            correct,
            certain,
            ambiguous,
            total,
            accuracy: (total > 0).then(|| correct as f64 / total as f64),
            ci95: wilson_ci95(correct, total),
        })
        .collect();
    Ok(Accuracy {
        num_classes,
        total,
        unknown_label: unknown,
        topk,
    })
}

/// Video-level accuracy (views combined with `method`) and clip-level accuracy (each view alone).
pub fn video_and_clip<T: Score, V: AsRef<[T]>>(
    videos: &[LabeledVideo<'_, V>],
    method: Aggregation,
    num_classes: usize,
    ks: &[usize],
) -> Result<VideoAndClip> {
    let aggregated = videos
        .iter()
        .map(|v| aggregate(v.id, v.views, method))
        .collect::<Result<Vec<Vec<T>>>>()?;
    let video = accuracy(
        videos.iter().zip(&aggregated).map(|(v, s)| Labeled {
            id: v.id,
            label: v.label,
            scores: s.as_slice(),
        }),
        num_classes,
        ks,
    )?;
    let clip = accuracy(
        videos.iter().flat_map(|v| {
            v.views.iter().map(move |view| Labeled {
                id: v.id,
                label: v.label,
                scores: view.as_ref(),
            })
        }),
        num_classes,
        ks,
    )?;
    Ok(VideoAndClip { video, clip })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(scores: &[f32], label: i64, ks: &[usize]) -> Accuracy {
        accuracy(
            [Labeled {
                id: "v",
                label,
                scores,
            }],
            scores.len(),
            ks,
        )
        .unwrap()
    }

    #[test]
    fn metrics_topk_basic() {
        let a = one(&[0.1, 0.5, 0.2, 0.15, 0.05], 2, &[1, 2, 5]);
        assert_eq!(
            a.topk.iter().map(|t| t.correct).collect::<Vec<_>>(),
            vec![0, 1, 1]
        );
        assert_eq!(a.get(2).unwrap().accuracy, Some(1.0));
        assert_eq!(a.get(1).unwrap().percent(), Some(0.0));
        assert!(a.topk.iter().all(|t| t.ambiguous == 0));
    }

    #[test]
    fn metrics_topk_ties_lower_index_first_and_ambiguous() {
        // Classes 0, 2, 3 tie at the top; label 2 is second among them.
        let s = [0.3f32, 0.1, 0.3, 0.3];
        let a = one(&s, 2, &[1, 2, 3]);
        let t: Vec<_> = a
            .topk
            .iter()
            .map(|t| (t.correct, t.certain, t.ambiguous))
            .collect();
        assert_eq!(t, vec![(0, 0, 1), (1, 0, 1), (1, 1, 0)]);
        // Lowest tied index wins top-1.
        assert_eq!(one(&s, 0, &[1]).topk[0].correct, 1);
        assert_eq!(one(&s, 3, &[2]).topk[0].correct, 0);
    }

    #[test]
    fn metrics_topk_unknown_and_bad_labels() {
        let s = [0.5f32, 0.5];
        let a = accuracy(
            [
                Labeled {
                    id: "a",
                    label: -1,
                    scores: &s[..],
                },
                Labeled {
                    id: "b",
                    label: 1,
                    scores: &s[..],
                },
            ],
            2,
            &[1],
        )
        .unwrap();
        assert_eq!((a.total, a.unknown_label), (1, 1));
        for bad in [2i64, -2] {
            let e = accuracy(
                [Labeled {
                    id: "k400/x",
                    label: bad,
                    scores: &s[..],
                }],
                2,
                &[1],
            )
            .unwrap_err();
            assert!(
                matches!(e, MetricsError::LabelOutOfRange { .. })
                    && e.to_string().contains("k400/x")
            );
        }
        let e = accuracy(
            [Labeled {
                id: "k400/y",
                label: 0,
                scores: &s[..1],
            }],
            2,
            &[1],
        )
        .unwrap_err();
        assert!(matches!(e, MetricsError::ScoreLength { .. }) && e.to_string().contains("k400/y"));
        assert!(matches!(
            accuracy::<f32>([], 2, &[3]),
            Err(MetricsError::InvalidK { k: 3, .. })
        ));
        assert!(matches!(
            accuracy::<f32>([], 2, &[0]),
            Err(MetricsError::InvalidK { .. })
        ));
    }

    #[test]
    fn metrics_topk_empty_has_no_accuracy() {
        let a = accuracy::<f64>([], 10, &[1, 5]).unwrap();
        assert_eq!(a.total, 0);
        assert!(a
            .topk
            .iter()
            .all(|t| t.accuracy.is_none() && t.ci95.is_none()));
    }

    #[test]
    fn metrics_topk_video_and_clip() {
        // Video level: views sum to class 1; clip level: one of two views is right.
        let views = [vec![0.6f32, 0.4], vec![0.1, 0.9]];
        let vids = [LabeledVideo {
            id: "v",
            label: 1,
            views: &views[..],
        }];
        let r = video_and_clip(&vids, Aggregation::Sum, 2, &[1]).unwrap();
        assert_eq!((r.video.topk[0].correct, r.video.total), (1, 1));
        assert_eq!((r.clip.topk[0].correct, r.clip.total), (1, 2));
    }

    #[test]
    fn metrics_wilson_interval() {
        assert_eq!(wilson_ci95(0, 0), None);
        let [lo, hi] = wilson_ci95(0, 10).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.27753279986288926).abs() < 1e-12, "{hi}");
        assert_eq!(wilson_ci95(10, 10).unwrap()[1], 1.0);
        let [lo, hi] = wilson_ci95(7, 10).unwrap();
        assert!((lo - 0.39677814746114526).abs() < 1e-12 && (hi - 0.892208732593699).abs() < 1e-12);
    }
}
