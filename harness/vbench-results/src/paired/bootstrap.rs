//! A paired bootstrap over videos, for metrics that are not a sum over videos (Charades mAP, AVA
//! frame-mAP). Each resample draws videos with replacement; both runs are scored on the same
//! draw, and a drawn video brings all of its items (an AVA video its keyframes). The CI is the
//! percentile interval of the resampled differences; the two-sided p-value is twice the smaller
//! share of resampled differences on either side of zero, counted with the +1 correction
//! ((1 + count) / (1 + resamples)), so it is never 0.
//!
//! The generator is named and seeded, and both go into the output: ChaCha20 from `rand_chacha`
//! 0.3, seeded by `seed_from_u64`, drawing indices by Lemire's unbiased multiply-and-reject
//! method from its `next_u64` stream. The same seed and resample count give the same numbers on
//! every machine.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

/// The generator's name as written into outputs.
pub const GENERATOR: &str = "ChaCha20 (rand_chacha 0.3, seed_from_u64; Lemire bounded draws)";

/// Seed and resample count of a bootstrap (both travel into the output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BootstrapSpec {
    pub seed: u64,
    pub resamples: usize,
}

impl Default for BootstrapSpec {
    fn default() -> Self {
        BootstrapSpec {
            seed: 20_240_518,
            resamples: 1000,
        }
    }
}

/// What a paired bootstrap found. Values are in the metric's unit (percent for mAP).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapResult {
    pub generator: String,
    pub seed: u64,
    pub resamples: usize,
    /// Resamples on which both metrics were defined (a draw can lack every positive of a class).
    pub used: usize,
    /// Videos resampled.
    pub videos: usize,
    pub baseline: f64,
    pub candidate: f64,
    /// candidate − baseline on the full set.
    pub difference: f64,
    /// 2.5 and 97.5 percentiles of the resampled differences (numpy's default linear
    /// interpolation).
    pub ci95: (f64, f64),
    pub p_value: f64,
}

/// The seeded index source of one bootstrap.
pub struct Draws {
    rng: ChaCha20Rng,
}

impl Draws {
    pub fn new(seed: u64) -> Draws {
        Draws {
            rng: ChaCha20Rng::seed_from_u64(seed),
        }
    }

    /// An independent stream of the same seed (the simulation gives each table row its own).
    pub fn with_stream(seed: u64, stream: u64) -> Draws {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Draws { rng }
    }

    /// Uniform in `0..n` (n > 0), without modulo bias (Lemire 2019).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = self.rng.next_u64() as u128 * n as u128;
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// numpy's `percentile(x, q)` with the default linear method, `x` sorted.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    match sorted.get(i + 1) {
        Some(&next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

/// Paired bootstrap of `metric` over `videos` videos. `metric(draw)` scores both runs on the
/// videos listed in `draw` (indices, repeats allowed) and returns `(baseline, candidate)`, or
/// `None` where the metric is undefined on that draw. `None` when it is undefined on the full
/// set or on every resample.
pub fn paired_bootstrap(
    videos: usize,
    spec: BootstrapSpec,
    mut metric: impl FnMut(&[usize]) -> Option<(f64, f64)>,
) -> Option<BootstrapResult> {
    if videos == 0 || spec.resamples == 0 {
        return None;
    }
    let all: Vec<usize> = (0..videos).collect();
    let (baseline, candidate) = metric(&all)?;
    let mut draws = Draws::new(spec.seed);
    let mut draw = vec![0usize; videos];
    let mut diffs = Vec::with_capacity(spec.resamples);
    for _ in 0..spec.resamples {
        for d in draw.iter_mut() {
            *d = draws.below(videos as u64) as usize;
        }
        if let Some((a, b)) = metric(&draw) {
            if (b - a).is_finite() {
                diffs.push(b - a);
            }
        }
    }
    if diffs.is_empty() {
        return None;
    }
    diffs.sort_by(f64::total_cmp);
    let below = diffs.iter().filter(|&&d| d <= 0.0).count();
    let above = diffs.iter().filter(|&&d| d >= 0.0).count();
    let p_value = (2.0 * (1 + below.min(above)) as f64 / (1 + diffs.len()) as f64).min(1.0);
    Some(BootstrapResult {
        generator: GENERATOR.into(),
        seed: spec.seed,
        resamples: spec.resamples,
        used: diffs.len(),
        videos,
        baseline,
        candidate,
        difference: candidate - baseline,
        ci95: (percentile(&diffs, 2.5), percentile(&diffs, 97.5)),
        p_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_draws_are_uniform_enough_and_reproducible() {
        let mut d = Draws::new(7);
        let mut counts = [0usize; 6];
        for _ in 0..60_000 {
            counts[d.below(6) as usize] += 1;
        }
        // Each count is Binomial(60000, 1/6): sd ≈ 91; 6 sd is far beyond chance.
        assert!(
            counts.iter().all(|&c| (c as i64 - 10_000).abs() < 550),
            "{counts:?}"
        );
        let (mut a, mut b) = (Draws::new(7), Draws::new(7));
        assert!((0..100).all(|_| a.below(1000) == b.below(1000)));
        let (mut s0, mut s1) = (Draws::with_stream(7, 0), Draws::with_stream(7, 1));
        assert!((0..10).any(|_| s0.unit() != s1.unit()));
    }

    #[test]
    fn percentile_is_numpy_linear() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&x, 50.0), 2.5);
        assert_eq!(percentile(&x, 2.5), 1.075);
        assert_eq!(percentile(&x, 100.0), 4.0);
    }

    /// A drawn video brings all its items: a metric that counts items sees whole groups only.
    #[test]
    fn videos_move_with_their_items() {
        let sizes = [1usize, 3, 5];
        let spec = BootstrapSpec {
            seed: 1,
            resamples: 200,
        };
        let mut seen = Vec::new();
        let r = paired_bootstrap(3, spec, |draw| {
            let items: usize = draw.iter().map(|&v| sizes[v]).sum();
            seen.push(items);
            Some((0.0, items as f64))
        })
        .unwrap();
        // Sums of three sizes from {1, 3, 5}: always odd.
        assert!(seen.iter().all(|s| s % 2 == 1), "{seen:?}");
        assert_eq!((r.used, r.seed, r.resamples), (200, 1, 200));
        assert_eq!(r.generator, GENERATOR);
    }

    #[test]
    fn identical_runs_have_p_one_and_a_zero_interval() {
        let x: Vec<f64> = (0..50).map(|i| (i % 7) as f64).collect();
        let r = paired_bootstrap(50, BootstrapSpec::default(), |d| {
            let m = d.iter().map(|&i| x[i]).sum::<f64>() / d.len() as f64;
            Some((m, m))
        })
        .unwrap();
        assert_eq!((r.difference, r.ci95, r.p_value), (0.0, (0.0, 0.0), 1.0));
    }

    /// On a top-1 (a mean of per-video 0/1), the bootstrap percentile interval of the paired
    /// difference and Newcombe's closed-form interval estimate the same thing: they agree to a
    /// few percent of their width on a thousand videos.
    #[test]
    fn agrees_with_newcombe_on_a_mean() {
        use crate::paired::newcombe::{newcombe_ci95, PairedTable};
        // 600 both, 30 fixed, 60 broken, 310 neither, in a fixed interleaved order.
        let mut videos = Vec::new();
        for (n, a, b) in [(600, 1, 1), (30, 0, 1), (60, 1, 0), (310, 0, 0)] {
            videos.extend(std::iter::repeat_n((a as f64, b as f64), n));
        }
        let r = paired_bootstrap(
            videos.len(),
            BootstrapSpec {
                seed: 3,
                resamples: 4000,
            },
            |d| {
                let n = d.len() as f64;
                let (a, b) = d
                    .iter()
                    .fold((0.0, 0.0), |(x, y), &i| (x + videos[i].0, y + videos[i].1));
                Some((a / n, b / n))
            },
        )
        .unwrap();
        let (lo, hi) = newcombe_ci95(&PairedTable {
            both: 600,
            fixed: 30,
            broken: 60,
            neither: 310,
        })
        .unwrap();
        let width = hi - lo;
        assert!((r.difference + 0.03).abs() < 1e-12);
        assert!(
            (r.ci95.0 - lo).abs() < 0.1 * width && (r.ci95.1 - hi).abs() < 0.1 * width,
            "bootstrap {:?} vs Newcombe ({lo}, {hi})",
            r.ci95
        );
        assert!(r.p_value < 0.01, "{}", r.p_value);
    }
}
