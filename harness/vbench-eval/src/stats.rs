//! Sample statistics for latency: percentiles as numpy's default (linear interpolation), mean with a
//! percentile-bootstrap 95 % CI (fixed seed, so a stored sample set always gives the same CI), CV.

/// numpy.percentile(x, q) with the default "linear" method; `sorted` must be ascending.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = (q / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (n − 1).
pub fn std_dev(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
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
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

pub const BOOTSTRAP_RESAMPLES: usize = 2000;
pub const BOOTSTRAP_SEED: u64 = 0x5EED_0F_7BE7C4;

/// Percentile-bootstrap 95 % CI of the mean: 2000 resamples, seed [`BOOTSTRAP_SEED`].
pub fn bootstrap_mean_ci95(x: &[f64]) -> (f64, f64) {
    if x.len() < 2 {
        let m = x.first().copied().unwrap_or(f64::NAN);
        return (m, m);
    }
    let mut rng = SplitMix64(BOOTSTRAP_SEED);
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| (0..x.len()).map(|_| x[rng.below(x.len())]).sum::<f64>() / x.len() as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    (percentile(&means, 2.5), percentile(&means, 97.5))
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
    fn std_dev_is_sample_std() {
        assert!((std_dev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]) - 2.138089935).abs() < 1e-8);
    }
}
