//! What changed video by video between two single-label runs: the videos whose top-1 verdict
//! flipped (fixed or broken, with their classes) and top-1 per class.

use crate::metrics::topk::Rank;
use crate::predictions::Record;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Flip {
    pub index: usize,
    pub id: String,
    /// `fixed` (wrong in the baseline, right in the candidate) or `broken`.
    pub change: String,
    pub label: i64,
    pub class: String,
    /// Each run's top-1 class (lowest index among tied maxima).
    pub baseline_top1: usize,
    pub baseline_class: String,
    pub candidate_top1: usize,
    pub candidate_class: String,
}

/// Top-1 of one class over the paired videos.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassDelta {
    pub label: usize,
    pub class: String,
    pub videos: usize,
    /// Percent.
    pub baseline: f64,
    pub candidate: f64,
    /// Points.
    pub delta: f64,
    pub fixed: usize,
    pub broken: usize,
}

fn class_name(names: Option<&[String]>, label: usize) -> String {
    names
        .and_then(|n| n.get(label).cloned())
        .unwrap_or_else(|| format!("class {label}"))
}

fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best
}

/// The label (in range) and both runs' scores of a pair, when both are usable.
fn labelled<'a>(x: &'a Record, y: &'a Record, n: usize) -> Option<(usize, &'a [f32], &'a [f32])> {
    let label = x.label.filter(|&l| l >= 0 && (l as usize) < n)? as usize;
    let (sa, sb) = (x.scores.as_deref()?, y.scores.as_deref()?);
    (sa.len() == n && sb.len() == n).then_some((label, sa, sb))
}

/// Videos whose top-1 verdict differs between the runs (ties broken lower index first, as
/// top-1 accuracy counts them), in list order.
pub fn top1_flips(pairs: &[(&Record, &Record)], n: usize, names: Option<&[String]>) -> Vec<Flip> {
    let mut out = Vec::new();
    for (x, y) in pairs {
        let Some((label, sa, sb)) = labelled(x, y, n) else {
            continue;
        };
        let (ha, hb) = (Rank::of(sa, label).in_top(1), Rank::of(sb, label).in_top(1));
        if ha == hb {
            continue;
        }
        let (pa, pb) = (argmax(sa), argmax(sb));
        out.push(Flip {
            index: x.index,
            id: x.id.clone(),
            change: if hb { "fixed" } else { "broken" }.into(),
            label: label as i64,
            class: class_name(names, label),
            baseline_top1: pa,
            baseline_class: class_name(names, pa),
            candidate_top1: pb,
            candidate_class: class_name(names, pb),
        });
    }
    out
}

/// Top-1 per class over the paired, labelled videos; classes without such videos are left out.
pub fn class_deltas(
    pairs: &[(&Record, &Record)],
    n: usize,
    names: Option<&[String]>,
) -> Vec<ClassDelta> {
    // (videos, right in the baseline, right in the candidate, fixed, broken) per class.
    let mut counts = vec![(0usize, 0usize, 0usize, 0usize, 0usize); n];
    for (x, y) in pairs {
        let Some((label, sa, sb)) = labelled(x, y, n) else {
            continue;
        };
        let (ha, hb) = (Rank::of(sa, label).in_top(1), Rank::of(sb, label).in_top(1));
        let c = &mut counts[label];
        c.0 += 1;
        c.1 += ha as usize;
        c.2 += hb as usize;
        c.3 += (!ha && hb) as usize;
        c.4 += (ha && !hb) as usize;
    }
    counts
        .iter()
        .enumerate()
        .filter(|(_, c)| c.0 > 0)
        .map(|(label, &(videos, a, b, fixed, broken))| {
            let pct = |x: usize| x as f64 / videos as f64 * 100.0;
            ClassDelta {
                label,
                class: class_name(names, label),
                videos,
                baseline: pct(a),
                candidate: pct(b),
                delta: pct(b) - pct(a),
                fixed,
                broken,
            }
        })
        .collect()
}

/// The `limit` classes whose top-1 moved most (largest |delta|, then most videos, then label).
pub fn moved_most(classes: &[ClassDelta], limit: usize) -> Vec<ClassDelta> {
    let mut moved: Vec<ClassDelta> = classes
        .iter()
        .filter(|c| c.fixed + c.broken > 0)
        .cloned()
        .collect();
    moved.sort_by(|a, b| {
        b.delta
            .abs()
            .total_cmp(&a.delta.abs())
            .then(b.videos.cmp(&a.videos))
            .then(a.label.cmp(&b.label))
    });
    moved.truncate(limit);
    moved
}
