//! Two-sample statistics for the latency gate: the one-sided Mann–Whitney U test, computed the way
//! scipy's `mannwhitneyu(b, a, alternative="greater")` does (method "auto": exact when one side has at
//! most 8 samples and nothing ties, otherwise the normal approximation with tie correction and a 0.5
//! continuity correction), and medians.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Exact,
    Asymptotic,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannWhitney {
    /// U of the second sample (`b`): how often a `b` value exceeds an `a` value (ties count ½).
    pub u: f64,
    /// P(U ≥ u) under "both samples come from one distribution".
    pub p_value: f64,
    pub method: Method,
}

/// Tests H1 "`b` tends to be larger than `a`" (for latency: the candidate is slower). `None` when a
/// side is empty or holds a non-finite value: there is nothing to test.
pub fn mann_whitney_greater(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    if a.is_empty() || b.is_empty() || a.iter().chain(b).any(|x| !x.is_finite()) {
        return None;
    }
    let (na, nb) = (a.len(), b.len());
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, false))
        .chain(b.iter().map(|&x| (x, true)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Mid-ranks for tie groups; `tie_term` is Σ(t³ − t) over the groups.
    let (mut rank_b, mut tie_term, mut i) = (0.0, 0.0, 0);
    while i < all.len() {
        let mut j = i + 1;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0; // ranks i+1..=j, averaged
        rank_b += mid * all[i..j].iter().filter(|x| x.1).count() as f64;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let u = rank_b - (nb * (nb + 1)) as f64 / 2.0;
    let exact = (na <= 8 || nb <= 8) && tie_term == 0.0;
    let p_value = if exact {
        exact_sf(u, na.min(nb), na.max(nb))
    } else {
        let (n1, n2, n) = (na as f64, nb as f64, (na + nb) as f64);
        let sd = (n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
        if sd > 0.0 {
            normal_sf((u - n1 * n2 / 2.0 - 0.5) / sd)
        } else {
            1.0 // every value ties: no evidence either way
        }
    };
    Some(MannWhitney {
        u,
        p_value: p_value.clamp(0.0, 1.0),
        method: if exact {
            Method::Exact
        } else {
            Method::Asymptotic
        },
    })
}

/// P(U ≥ u) for sizes m ≤ n without ties. The counts of U are the coefficients of the Gaussian
/// binomial [m+n choose m]_q = Π_{i=1..m} (1 − q^(n+i)) / (1 − q^i), built one factor at a time (each
/// partial product is itself a polynomial, so the division is exact): O(m²n), no recursion table.
fn exact_sf(u: f64, m: usize, n: usize) -> f64 {
    let mut poly = vec![0.0f64; m * n + 1];
    poly[0] = 1.0;
    for i in 1..=m {
        for k in (n + i..poly.len()).rev() {
            poly[k] -= poly[k - n - i];
        }
        for k in i..poly.len() {
            poly[k] += poly[k - i];
        }
    }
    let total: f64 = poly.iter().sum();
    let from = u.ceil().max(0.0) as usize;
    poly.iter().skip(from).sum::<f64>() / total
}

/// Upper tail of the standard normal.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// Median (midpoint of the two middle values for even n); `None` for an empty or non-finite sample.
pub fn median(x: &[f64]) -> Option<f64> {
    if x.is_empty() || x.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let h = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[h]
    } else {
        (s[h - 1] + s[h]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_distribution_sums_and_is_symmetric() {
        // sizes 3 and 4: 35 arrangements; P(U ≥ 0) = 1 and P(U ≥ 12) = 1/35.
        assert!((exact_sf(0.0, 3, 4) - 1.0).abs() < 1e-15);
        assert!((exact_sf(12.0, 3, 4) - 1.0 / 35.0).abs() < 1e-15);
        assert!((exact_sf(6.0, 3, 4) + exact_sf(7.0, 4, 3) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn fully_separated_small_samples_reach_the_smallest_p() {
        let r = mann_whitney_greater(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(r.method, Method::Exact);
        assert_eq!(r.u, 9.0);
        assert!((r.p_value - 0.05).abs() < 1e-12);
    }

    #[test]
    fn identical_values_are_no_evidence() {
        let r = mann_whitney_greater(&[2.0; 10], &[2.0; 10]).unwrap();
        assert_eq!((r.method, r.p_value), (Method::Asymptotic, 1.0));
        assert!(mann_whitney_greater(&[], &[1.0]).is_none());
        assert!(mann_whitney_greater(&[f64::NAN], &[1.0]).is_none());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
