//! Sample statistics for latency: percentiles as numpy's default (linear interpolation), mean with a
//! percentile-bootstrap 95 % CI (fixed seed, so a stored sample set always gives the same CI), CV.
//! Empty input gives NaN rather than a panic: a caller with no samples has nothing to report.

/// numpy.percentile(x, q) with the default "linear" method; `sorted` must be ascending.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = (q / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The median of unsorted samples (numpy.median).
pub fn median(x: &[f64]) -> f64 {
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    percentile(&s, 50.0)
}

pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (n − 1), numpy.std(x, ddof=1); 0 for fewer than two samples.
pub fn std_dev(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// Coefficient of variation: sample std / mean; 0 when the mean is not positive.
pub fn cv(x: &[f64]) -> f64 {
    let m = mean(x);
    if m > 0.0 {
        std_dev(x) / m
    } else {
        0.0
    }
}

/// SplitMix64: small, seeded, good enough for resampling indices.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0). Multiply-shift instead of `%`, so no index is favoured.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller); for synthetic test data.
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: ln is finite
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

pub const BOOTSTRAP_RESAMPLES: usize = 2000;
pub const BOOTSTRAP_SEED: u64 = 0x5EED_0F7B_E7C4;

/// Percentile-bootstrap 95 % CI of the mean: 2000 resamples, seed [`BOOTSTRAP_SEED`].
pub fn bootstrap_mean_ci95(x: &[f64]) -> (f64, f64) {
    bootstrap_mean_ci(x, 0.95, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED)
}

/// Percentile-bootstrap CI of the mean at `level` (0..1). With fewer than two samples there is no
/// spread to resample: the interval collapses to the single value (NaN for none).
pub fn bootstrap_mean_ci(x: &[f64], level: f64, resamples: usize, seed: u64) -> (f64, f64) {
    if x.len() < 2 || resamples == 0 {
        let m = x.first().copied().unwrap_or(f64::NAN);
        return (m, m);
    }
    let mut rng = SplitMix64(seed);
    let n = x.len();
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| x[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0 * 100.0;
    (percentile(&means, tail), percentile(&means, 100.0 - tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4, 10], [50, 90, 99]) = [3.0, 7.6, 9.76]
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(percentile(&x, 50.0), 3.0);
        assert!((percentile(&x, 90.0) - 7.6).abs() < 1e-12);
        assert!((percentile(&x, 99.0) - 9.76).abs() < 1e-12);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn empty_and_single_samples_do_not_panic() {
        assert!(percentile(&[], 50.0).is_nan());
        assert!(mean(&[]).is_nan());
        assert_eq!(std_dev(&[3.0]), 0.0);
        assert_eq!(bootstrap_mean_ci95(&[3.0]), (3.0, 3.0));
        let (lo, hi) = bootstrap_mean_ci95(&[]);
        assert!(lo.is_nan() && hi.is_nan());
    }

    #[test]
    fn bootstrap_ci_brackets_the_mean_and_is_deterministic() {
        let x: Vec<f64> = (0..50).map(|i| 10.0 + (i % 7) as f64).collect();
        let (lo, hi) = bootstrap_mean_ci95(&x);
        let m = mean(&x);
        assert!(lo < m && m < hi, "{lo} {m} {hi}");
        assert_eq!((lo, hi), bootstrap_mean_ci95(&x));
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SplitMix64(1);
        assert!((0..10_000).all(|_| r.below(7) < 7));
    }

    #[test]
    fn std_dev_is_sample_std() {
        assert!((std_dev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]) - 2.138089935).abs() < 1e-8);
    }
}
