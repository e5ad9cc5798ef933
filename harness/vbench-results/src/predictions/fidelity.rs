//! A variant's fidelity to fp32, recomputed from two predictions files of the same entry, weights
//! and video list: view by view (same video, clip and crop) and video by video, the top-1
//! agreement, the largest |Δ| of the scores and of the logits, and fp32's top-1 margin where the
//! top-1 changed. Anyone can recompute these numbers from the stored views.
//!
//! Top-1 ties go to the lower class index (argmax's rule), on both sides.

use super::{jsonl, PredictionsError, Record, RecordStatus, Result};
use crate::variants::{ChangedView, Fidelity};
use std::collections::BTreeMap;
use std::path::Path;

/// The latest `ok` record of each list position.
fn scored(path: &Path) -> Result<(super::Header, BTreeMap<usize, Record>)> {
    let mut by_index = BTreeMap::new();
    let header = jsonl::read(path, &mut |_, _, r: Record| {
        match r.status {
            RecordStatus::Ok => by_index.insert(r.index, r),
            RecordStatus::Failed => by_index.remove(&r.index),
        };
        Ok(())
    })?
    .ok_or_else(|| PredictionsError::Corrupt {
        path: path.to_path_buf(),
        line: 1,
        message: "no complete header line".into(),
    })?;
    Ok((header.0, by_index))
}

/// Index of the largest value, the lower index on ties; `None` for an empty row.
pub fn top1(scores: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &s) in scores.iter().enumerate() {
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map(|b| b.0)
}

/// Top-1 minus top-2 score (0 with fewer than two classes).
pub fn margin(scores: &[f32]) -> f64 {
    let (mut a, mut b) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for &s in scores {
        let s = s as f64;
        if s > a {
            b = a;
            a = s;
        } else if s > b {
            b = s;
        }
    }
    if b.is_finite() {
        a - b
    } else {
        0.0
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(0.0, f64::max)
}

fn mismatch(path: &Path, field: &str, found: String, expected: String) -> PredictionsError {
    PredictionsError::Mismatch {
        path: path.to_path_buf(),
        field: field.into(),
        found,
        expected,
    }
}

/// Compares `variant_file` with `fp32_file`, which must hold the same entry, weights and list.
/// Only videos scored in both count, and only views present in both.
pub fn compare(fp32_file: &Path, variant_file: &Path) -> Result<Fidelity> {
    let (h0, base) = scored(fp32_file)?;
    let (h1, cand) = scored(variant_file)?;
    if h0.entry != h1.entry {
        return Err(mismatch(variant_file, "entry", h1.entry, h0.entry));
    }
    if h0.transform != h1.transform {
        return Err(mismatch(
            variant_file,
            "input transform version",
            h1.transform.to_string(),
            h0.transform.to_string(),
        ));
    }
    if h0.weights.sha256 != h1.weights.sha256 {
        return Err(mismatch(
            variant_file,
            "weights sha256",
            h1.weights.sha256,
            h0.weights.sha256,
        ));
    }
    if h0.dataset.sha256 != h1.dataset.sha256 {
        return Err(mismatch(
            variant_file,
            "dataset list sha256",
            h1.dataset.sha256,
            h0.dataset.sha256,
        ));
    }
    let mut f = Fidelity {
        source: format!("{} {}", h0.dataset.name, h0.dataset.manifest),
        weights: format!("{} (sha256 {})", h0.weights.file, h0.weights.sha256),
        ..Fidelity::default()
    };
    let mut margins = Vec::new();
    let mut logit_diff: Option<f64> = None;
    for (index, b) in &base {
        let Some(c) = cand.get(index).filter(|c| c.id == b.id) else {
            continue;
        };
        f.videos += 1;
        let video_top = |r: &Record| r.scores.as_deref().and_then(top1);
        if video_top(b).is_some() && video_top(b) == video_top(c) {
            f.videos_agreeing += 1;
        }
        for vb in &b.views {
            let Some(vc) = c
                .views
                .iter()
                .find(|v| (v.clip, v.crop) == (vb.clip, vb.crop))
            else {
                continue;
            };
            f.views += 1;
            let m = margin(&vb.scores);
            margins.push(m);
            f.max_abs_prob_diff = f
                .max_abs_prob_diff
                .max(max_abs_diff(&vb.scores, &vc.scores));
            if let (Some(lb), Some(lc)) = (&vb.logits, &vc.logits) {
                let d = max_abs_diff(lb, lc);
                logit_diff = Some(logit_diff.map_or(d, |x| x.max(d)));
            }
            let (tb, tc) = (top1(&vb.scores), top1(&vc.scores));
            if tb == tc {
                f.views_agreeing += 1;
            } else {
                f.changed_views.push(ChangedView {
                    video: b.id.clone(),
                    clip: vb.clip,
                    crop: vb.crop,
                    fp32_top1: tb.unwrap_or(0),
                    variant_top1: tc.unwrap_or(0),
                    fp32_margin: m,
                });
            }
        }
    }
    let pct = |k: u64, n: u64| {
        if n == 0 {
            0.0
        } else {
            100.0 * k as f64 / n as f64
        }
    };
    f.view_agreement = pct(f.views_agreeing, f.views);
    f.video_agreement = pct(f.videos_agreeing, f.videos);
    f.max_abs_logit_diff = logit_diff;
    margins.sort_by(f64::total_cmp);
    f.fp32_margin_min = margins.first().copied().unwrap_or(0.0);
    f.fp32_margin_median = match margins.len() {
        0 => 0.0,
        n if n % 2 == 1 => margins[n / 2],
        n => (margins[n / 2 - 1] + margins[n / 2]) / 2.0,
    };
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_lower_index_and_margins_are_top1_minus_top2() {
        assert_eq!(top1(&[0.2, 0.5, 0.5]), Some(1));
        assert_eq!(top1(&[]), None);
        assert!((margin(&[0.1, 0.6, 0.3]) - 0.3).abs() < 1e-6);
        assert_eq!(margin(&[0.5, 0.5]), 0.0);
        assert_eq!(margin(&[1.0]), 0.0);
    }
}
