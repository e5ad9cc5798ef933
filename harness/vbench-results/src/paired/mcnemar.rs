//! McNemar's exact test: under "both runs are equally accurate", each discordant video (right in
//! one run, wrong in the other) is fixed or broken with probability ½, so the fixed count is
//! Binomial(n, ½) over the n discordant videos. The p-value is two-sided, as
//! `scipy.stats.binomtest(k, n, 0.5, alternative="two-sided")` computes it: the probability of
//! every outcome no more likely than the one observed. The distribution is symmetric, so that is
//! min(1, 2·P(X ≤ min(k, n − k))), and exactly 1 at k = n/2.

use serde::Serialize;

/// The discordant videos of a paired comparison and McNemar's exact two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct McNemar {
    /// Wrong in the baseline, right in the candidate.
    pub fixed: u64,
    /// Right in the baseline, wrong in the candidate.
    pub broken: u64,
    pub p_value: f64,
}

/// McNemar's exact test on the discordant counts.
pub fn mcnemar_exact(fixed: u64, broken: u64) -> McNemar {
    McNemar {
        fixed,
        broken,
        p_value: binom_test_half(fixed, fixed + broken),
    }
}

/// Two-sided exact binomial test of `k` successes in `n` trials against p = ½.
pub fn binom_test_half(k: u64, n: u64) -> f64 {
    if n == 0 || k > n {
        return 1.0;
    }
    let j = k.min(n - k);
    // k = n/2, or the middle pair of an odd n (whose lower half holds exactly ½).
    if 2 * j + 1 >= n {
        return 1.0;
    }
    (2.0 * binom_cdf_half(j, n)).min(1.0)
}

/// P(X ≤ j) for X ~ Binomial(n, ½), j < n/2. The largest term, P(X = j), comes from log-gamma;
/// the smaller ones follow by the exact ratio P(X = i − 1)/P(X = i) = i/(n − i + 1) and are
/// summed smallest first, so the relative error stays near that of the first term (~1e-12 up to
/// n in the tens of thousands).
pub fn binom_cdf_half(j: u64, n: u64) -> f64 {
    debug_assert!(2 * j < n);
    let mut ratios = Vec::with_capacity(64);
    let mut r = 1.0f64;
    ratios.push(r);
    let mut i = j;
    while i > 0 {
        r *= i as f64 / (n - i + 1) as f64;
        if r < 1e-18 {
            break;
        }
        ratios.push(r);
        i -= 1;
    }
    let sum: f64 = ratios.iter().rev().sum();
    let ln_pmf = ln_choose(n, j) - n as f64 * std::f64::consts::LN_2;
    (ln_pmf + sum.ln()).exp()
}

/// ln C(n, k).
fn ln_choose(n: u64, k: u64) -> f64 {
    let lg = |x: u64| libm::lgamma(x as f64 + 1.0);
    lg(n) - lg(k) - lg(n - k)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binomial tail by exact rational arithmetic on small n (u128 holds C(100, k)).
    fn exact_two_sided(k: u64, n: u64) -> f64 {
        let choose = |n: u64, k: u64| -> u128 {
            let mut c = 1u128;
            for i in 0..k {
                c = c * (n - i) as u128 / (i + 1) as u128;
            }
            c
        };
        let j = k.min(n - k);
        let tail: u128 = (0..=j).map(|i| choose(n, i)).sum();
        (2.0 * tail as f64 / 2f64.powi(n as i32)).min(1.0)
    }

    #[test]
    fn matches_exact_rational_tails_on_small_n() {
        for n in 1..=100u64 {
            for k in 0..=n {
                let (ours, exact) = (binom_test_half(k, n), exact_two_sided(k, n));
                assert!(
                    (ours - exact).abs() <= 1e-12 * exact.max(1e-300) + 1e-300,
                    "k={k} n={n}: {ours} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn symmetric_and_degenerate_cases() {
        assert_eq!(binom_test_half(0, 0), 1.0);
        assert_eq!(binom_test_half(5, 10), 1.0);
        assert_eq!(binom_test_half(3, 7), 1.0);
        assert_eq!(binom_test_half(2, 9), binom_test_half(7, 9));
        // All ten discordant videos broken: 2 / 2^10.
        assert!((mcnemar_exact(0, 10).p_value - 2.0 / 1024.0).abs() < 1e-15);
    }
}
