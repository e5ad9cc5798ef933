//! The 95 % CI of a paired difference of accuracies: Newcombe's score interval for paired
//! proportions, "method 10" of Newcombe (1998), *Improved confidence intervals for the difference
//! between binomial proportions based on paired data*, Stat. Med. 17:2635–2650. It combines the
//! Wilson intervals of the two accuracies ("square and add") with a correction for their
//! correlation φ, which pairing makes large: two runs of similar models agree on most videos.

use crate::metrics::topk::wilson_ci95;
use serde::Serialize;

/// The 2×2 table of one paired comparison: per video, right (1) or wrong (0) in each run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PairedTable {
    /// Right in both runs.
    pub both: u64,
    /// Wrong in the baseline, right in the candidate.
    pub fixed: u64,
    /// Right in the baseline, wrong in the candidate.
    pub broken: u64,
    /// Wrong in both runs.
    pub neither: u64,
}

impl PairedTable {
    pub fn n(&self) -> u64 {
        self.both + self.fixed + self.broken + self.neither
    }
    pub fn baseline_correct(&self) -> u64 {
        self.both + self.broken
    }
    pub fn candidate_correct(&self) -> u64 {
        self.both + self.fixed
    }
    /// Candidate minus baseline accuracy, as a fraction; `None` without videos.
    pub fn difference(&self) -> Option<f64> {
        let n = self.n();
        (n > 0).then(|| (self.fixed as f64 - self.broken as f64) / n as f64)
    }
}

/// Wilson score interval (no continuity correction) for `x` of `n` > 0, as scipy computes it.
fn wilson(x: u64, n: u64) -> (f64, f64) {
    let [lo, hi] = wilson_ci95(x as usize, n as usize).unwrap_or([0.0, 1.0]);
    (lo, hi)
}

/// Newcombe's 95 % interval for candidate − baseline accuracy (fractions). φ is the phi
/// coefficient of the table, with Newcombe's adjustment: when AD > BC it is max(AD − BC − n/2, 0)
/// / √(product of the margins); 0 when a margin is empty. `None` without videos.
pub fn newcombe_ci95(t: &PairedTable) -> Option<(f64, f64)> {
    let n = t.n();
    if n == 0 {
        return None;
    }
    // Rows: the candidate (right, wrong); columns: the baseline (right, wrong).
    let (a, b, c, d) = (
        t.both as f64,
        t.fixed as f64,
        t.broken as f64,
        t.neither as f64,
    );
    let nf = n as f64;
    let (p1, p2) = ((a + b) / nf, (a + c) / nf);
    let (l1, u1) = wilson(t.candidate_correct(), n);
    let (l2, u2) = wilson(t.baseline_correct(), n);
    let margins = (a + b) * (c + d) * (a + c) * (b + d);
    let phi = if margins > 0.0 {
        let ad_bc = a * d - b * c;
        let num = if ad_bc > 0.0 {
            (ad_bc - nf / 2.0).max(0.0)
        } else {
            ad_bc
        };
        num / margins.sqrt()
    } else {
        0.0
    };
    let theta = p1 - p2;
    let lower = ((p1 - l1).powi(2) - 2.0 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2).powi(2))
        .max(0.0)
        .sqrt();
    let upper = ((u1 - p1).powi(2) - 2.0 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2).powi(2))
        .max(0.0)
        .sqrt();
    Some((theta - lower, theta + upper))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_runs_give_a_narrow_interval_around_zero() {
        let t = PairedTable {
            both: 750,
            neither: 250,
            ..PairedTable::default()
        };
        let (lo, hi) = newcombe_ci95(&t).unwrap();
        assert!(lo < 0.0 && hi > 0.0 && hi - lo < 0.01, "{lo} {hi}");
        assert_eq!(t.difference(), Some(0.0));
        assert_eq!(newcombe_ci95(&PairedTable::default()), None);
    }

    #[test]
    fn pairing_narrows_the_square_and_add_interval() {
        // φ > 0 (runs agree on most videos): narrower than the unpaired Wilson square-and-add.
        let t = PairedTable {
            both: 700,
            fixed: 20,
            broken: 40,
            neither: 240,
        };
        let (lo, hi) = newcombe_ci95(&t).unwrap();
        let (l1, _) = wilson(t.candidate_correct(), t.n());
        let (_, u2) = wilson(t.baseline_correct(), t.n());
        let (p1, p2) = (0.72, 0.74);
        let unpaired_lo = (p1 - p2) - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
        assert!(lo > unpaired_lo && hi < 0.0, "{lo} {hi} {unpaired_lo}");
    }
}
