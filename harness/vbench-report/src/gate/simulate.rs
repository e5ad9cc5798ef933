//! Power and false alarms of the accuracy gates, measured by simulation. Two runs score the same
//! `videos` videos; a share `discordant` of them flips between the runs. For a true drop δ, the
//! candidate breaks (discordant + δ)/2 of the videos and fixes (discordant − δ)/2, so its accuracy
//! is the baseline's minus δ. Each replicate draws every video's outcome and judges the pair with
//!
//! * the paired test: McNemar's exact two-sided p < α and the candidate worse;
//! * the paired gate: that, and an observed drop of at least the minimum effect;
//! * today's unpaired gate: `gate::judge_accuracy` with the default policy and both runs' Wilson
//!   95 % CIs, exactly as it judges two stored results;
//! * an unpaired two-proportion z-test at the same α (pooled, two-sided, candidate worse).
//!
//! A row with δ = 0 measures false alarms (same-model reruns); the others detection rates.

use super::{judge_accuracy, Policy, Verdict};
use crate::stats::normal_sf;
use serde::Serialize;
use vbench_results::metrics::topk::wilson_ci95;
use vbench_results::paired::bootstrap::{Draws, GENERATOR};
use vbench_results::paired::{mcnemar_exact, PairedTable};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimSpec {
    pub videos: u64,
    /// Share of videos that differ between the runs (both directions together).
    pub discordant: f64,
    /// Baseline accuracy (fraction).
    pub baseline_accuracy: f64,
    /// True drops, in percentage points.
    pub drops_points: Vec<f64>,
    pub replicates: usize,
    pub alpha: f64,
    pub min_effect_points: f64,
    pub seed: u64,
}

impl SimSpec {
    /// Kinetics-400 validation size, 8 % discordant, drops 0, 0.2, 0.5 and 1 point.
    pub fn kinetics() -> SimSpec {
        SimSpec {
            videos: 19_881,
            discordant: 0.08,
            baseline_accuracy: 0.75,
            drops_points: vec![0.0, 0.2, 0.5, 1.0],
            replicates: 2000,
            alpha: 0.05,
            min_effect_points: 0.2,
            seed: 18,
        }
    }
}

/// Shares of replicates in which each rule failed the candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimRow {
    pub drop_points: f64,
    pub paired_test: f64,
    pub paired_gate: f64,
    pub unpaired_gate_today: f64,
    pub unpaired_z_test: f64,
    /// Mean discordant videos per replicate.
    pub mean_discordant: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimTable {
    pub spec: SimSpec,
    pub generator: String,
    pub rows: Vec<SimRow>,
}

/// The Wilson 95 % CI in percent, as scoring stores it in `top1_ci95`.
fn wilson_percent(x: u64, n: u64) -> (f64, f64) {
    let [lo, hi] = wilson_ci95(x as usize, n as usize).unwrap_or([0.0, 1.0]);
    (lo * 100.0, hi * 100.0)
}

/// One replicate's table: every video drawn from the four outcome shares.
fn draw_table(draws: &mut Draws, videos: u64, shares: [f64; 3]) -> PairedTable {
    let [fixed, broken, both] = shares;
    let mut t = PairedTable::default();
    for _ in 0..videos {
        let u = draws.unit();
        if u < fixed {
            t.fixed += 1;
        } else if u < fixed + broken {
            t.broken += 1;
        } else if u < fixed + broken + both {
            t.both += 1;
        } else {
            t.neither += 1;
        }
    }
    t
}

/// Pooled two-proportion z-test, two-sided.
fn z_test_p(x1: u64, x2: u64, n: u64) -> f64 {
    let (n, p1, p2) = (n as f64, x1 as f64 / n as f64, x2 as f64 / n as f64);
    let p = (p1 + p2) / 2.0;
    let se = (p * (1.0 - p) * 2.0 / n).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    (2.0 * normal_sf(((p1 - p2) / se).abs())).min(1.0)
}

/// The verdicts of the four rules on one table: (paired test, paired gate, today's gate, z-test).
pub fn judge_table(t: &PairedTable, alpha: f64, min_effect_points: f64) -> [bool; 4] {
    let n = t.n();
    let (a, b) = (t.baseline_correct(), t.candidate_correct());
    let drop = (a as f64 - b as f64) / n as f64 * 100.0;
    let worse = b < a;
    let paired = worse && mcnemar_exact(t.fixed, t.broken).p_value < alpha;
    let gate = paired && drop >= min_effect_points;
    let (pa, pb) = (a as f64 / n as f64 * 100.0, b as f64 / n as f64 * 100.0);
    let today = judge_accuracy(
        pa,
        Some(wilson_percent(a, n)),
        pb,
        Some(wilson_percent(b, n)),
        &Policy::default(),
    )
    .0 == Verdict::Fail;
    let z = worse && z_test_p(a, b, n) < alpha;
    [paired, gate, today, z]
}

/// Runs the simulation; row i draws from stream i of the seed, so rows do not depend on each other.
pub fn simulate(spec: &SimSpec) -> SimTable {
    let rows = spec
        .drops_points
        .iter()
        .enumerate()
        .map(|(i, &drop)| {
            let d = drop / 100.0;
            let fixed = ((spec.discordant - d) / 2.0).max(0.0);
            let broken = (spec.discordant + d) / 2.0;
            let both = spec.baseline_accuracy - broken;
            let mut draws = Draws::with_stream(spec.seed, i as u64);
            let mut hits = [0usize; 4];
            let mut discordant = 0u64;
            for _ in 0..spec.replicates {
                let t = draw_table(&mut draws, spec.videos, [fixed, broken, both]);
                discordant += t.fixed + t.broken;
                for (h, v) in
                    hits.iter_mut()
                        .zip(judge_table(&t, spec.alpha, spec.min_effect_points))
                {
                    *h += v as usize;
                }
            }
            let r = spec.replicates.max(1) as f64;
            SimRow {
                drop_points: drop,
                paired_test: hits[0] as f64 / r,
                paired_gate: hits[1] as f64 / r,
                unpaired_gate_today: hits[2] as f64 / r,
                unpaired_z_test: hits[3] as f64 / r,
                mean_discordant: discordant as f64 / r,
            }
        })
        .collect();
    SimTable {
        spec: spec.clone(),
        generator: GENERATOR.into(),
        rows,
    }
}

impl SimTable {
    /// The table as the docs print it.
    pub fn markdown(&self) -> String {
        let s = &self.spec;
        let mut out = format!(
            "{} videos, {:.0} % discordant, baseline accuracy {:.0} %, {} replicates per row, \
             α = {}, minimum effect {} points, seed {} ({}).\n\n",
            s.videos,
            s.discordant * 100.0,
            s.baseline_accuracy * 100.0,
            s.replicates,
            s.alpha,
            s.min_effect_points,
            s.seed,
            self.generator
        );
        out += "| true drop (points) | paired: McNemar p < α | paired gate (p < α and drop ≥ min effect) \
                | unpaired: today's gate (Wilson CIs, 0.5-point tolerance) | unpaired: two-proportion z-test \
                | mean discordant videos |\n|---|---|---|---|---|---|\n";
        for r in &self.rows {
            out += &format!(
                "| {:.1}{} | {:.1} % | {:.1} % | {:.1} % | {:.1} % | {:.0} |\n",
                r.drop_points,
                if r.drop_points == 0.0 {
                    " (false alarm)"
                } else {
                    ""
                },
                r.paired_test * 100.0,
                r.paired_gate * 100.0,
                r.unpaired_gate_today * 100.0,
                r.unpaired_z_test * 100.0,
                r.mean_discordant
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(X ≤ k) for X ~ Binomial(n, q), by summing the pmf (n small).
    fn binom_cdf(k: usize, n: usize, q: f64) -> f64 {
        let mut pmf = (1.0 - q).powi(n as i32);
        let mut cdf = pmf;
        for i in 0..k {
            pmf *= (n - i) as f64 / (i + 1) as f64 * q / (1.0 - q);
            cdf += pmf;
        }
        cdf
    }

    /// Same-model reruns: the paired test fails the candidate in at most α/2 of them (it is
    /// two-sided and fails only the worse direction; the exact test is conservative). The count of
    /// false alarms in R replicates is then at most Binomial(R, α/2); we allow its 0.999 quantile.
    #[test]
    fn false_alarms_stay_within_a_binomial_bound() {
        let spec = SimSpec {
            videos: 2000,
            drops_points: vec![0.0],
            replicates: 1500,
            alpha: 0.05,
            ..SimSpec::kinetics()
        };
        let row = &simulate(&spec).rows[0];
        let alarms = (row.paired_test * spec.replicates as f64).round() as usize;
        let q = spec.alpha / 2.0;
        let bound = (0..=spec.replicates)
            .find(|&k| binom_cdf(k, spec.replicates, q) >= 0.999)
            .unwrap();
        assert!(
            alarms <= bound,
            "{alarms} false alarms in {} reruns; Binomial(R, α/2) 0.999 quantile is {bound}",
            spec.replicates
        );
        assert!(row.paired_gate <= row.paired_test);
        // The bound is not vacuous: it is below a tenth of the replicates.
        assert!(bound < spec.replicates / 10);
    }

    #[test]
    fn a_large_drop_is_found_by_the_paired_test() {
        let spec = SimSpec {
            videos: 2000,
            drops_points: vec![3.0],
            replicates: 200,
            ..SimSpec::kinetics()
        };
        let row = &simulate(&spec).rows[0];
        // 3 points on 2000 videos with 8 % discordant: z ≈ 4.9, essentially always found.
        assert!(row.paired_test > 0.97, "{row:?}");
        assert!(row.paired_test >= row.unpaired_z_test, "{row:?}");
    }
}
