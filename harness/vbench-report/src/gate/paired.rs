//! The paired accuracy rule: on the videos both runs scored, the candidate fails a metric when it
//! is worse with a two-sided p below [`accuracy.alpha`] AND the drop is at least
//! [`accuracy.min_effect_points`]. The message carries the difference, its 95 % CI (and how it
//! was computed), the test and p-value, and how many videos were paired.

use super::{Policy, Verdict};
use crate::fmt;
use vbench_results::paired::{PairedMetric, PairedRuns};

/// The verdict and message of one paired metric.
pub fn judge_paired(m: &PairedMetric, runs: &PairedRuns, policy: &Policy) -> (Verdict, String) {
    let pol = &policy.accuracy;
    let drop = -m.difference;
    let worse = m.difference < 0.0;
    let significant = m.p_value < pol.alpha;
    let large = drop >= pol.min_effect_points;
    let flips = match (m.fixed, m.broken) {
        (Some(f), Some(b)) => format!(", fixed {f}, broken {b}"),
        _ => String::new(),
    };
    let boot = m.bootstrap.as_ref().map_or(String::new(), |b| {
        format!(
            ", {} resamples of {}, seed {}",
            b.resamples, b.generator, b.seed
        )
    });
    let evidence = format!(
        "paired on {} videos: {} → {} ({} points, 95% CI {} to {}, {}); {} p = {}{flips}{boot}; {}",
        m.videos,
        fmt::num(m.baseline, 2),
        fmt::num(m.candidate, 2),
        fmt::signed(m.difference, 2),
        fmt::signed(m.ci95.0, 2),
        fmt::signed(m.ci95.1, 2),
        m.ci_method,
        m.test,
        fmt::p_value(m.p_value),
        runs.pairing_summary()
    );
    let (verdict, why) = match (worse, significant, large) {
        (true, true, true) => (
            Verdict::Fail,
            format!(
                "worse: p < α = {} and drop ≥ {} points",
                pol.alpha,
                fmt::num(pol.min_effect_points, 2)
            ),
        ),
        (true, true, false) => (
            Verdict::Pass,
            format!(
                "significant but below the minimum effect of {} points",
                fmt::num(pol.min_effect_points, 2)
            ),
        ),
        (true, false, _) => (
            Verdict::Pass,
            format!("lower but not significant at α = {}", pol.alpha),
        ),
        (false, _, _) if m.difference > 0.0 => (Verdict::Pass, "better".to_string()),
        (false, _, _) => (Verdict::Pass, "unchanged".to_string()),
    };
    (verdict, format!("{why}: {evidence}"))
}
