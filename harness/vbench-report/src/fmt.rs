//! Formatting shared by the views, plots, compare and gate: every number a person reads is formatted
//! here, so templates never do arithmetic and non-finite values never print as "NaN"; and the
//! words a value is shown with (an entry's HTML anchor, a latency setup, an unmeasured status).

use vbench_results::{FlopsResult, LatencyResult, Measure};
use vbench_suite::Printed;

/// `x` with `decimals`, or "—" when not finite.
pub fn num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "—".into()
    }
}

/// A signed difference: "+0.30", "-1.25", "0.00".
pub fn signed(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let s = format!("{x:+.decimals$}");
    // "-0.00" and "+0.00" both read as no change.
    if s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// An integer with thousands separators: 3,794,322.
pub fn count(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed integer difference with separators: "+1,024", "-3", "0".
pub fn signed_count(n: i128) -> String {
    if n > 0 {
        format!("+{}", count(n))
    } else {
        count(n)
    }
}

/// A ratio as "×1.08".
pub fn ratio(x: f64) -> String {
    if x.is_finite() {
        format!("×{x:.3}")
    } else {
        "—".into()
    }
}

/// A p-value readable at any size: 0.034, 2.1e-7.
pub fn p_value(p: f64) -> String {
    if !p.is_finite() {
        "—".into()
    } else if p >= 0.001 {
        format!("{p:.4}")
    } else {
        format!("{p:.1e}")
    }
}

/// A printed published value, or "—".
pub fn printed(p: Option<Printed>) -> String {
    p.map(|p| p.to_string()).unwrap_or_else(|| "—".into())
}

/// `k400/x3d_xs` → `entry-k400-x3d_xs`: a valid, stable HTML id.
pub fn anchor(id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("entry-{clean}")
}

/// The word a not-measured [`Measure`] shows instead of a number, with its reason.
pub fn unmeasured<T>(m: &Measure<T>) -> Option<(&'static str, &'static str, String)> {
    match m {
        Measure::Measured { .. } => None,
        Measure::NotImplemented { reason } => {
            Some(("not implemented", "not-implemented", reason.clone()))
        }
        Measure::Skipped { reason } => Some(("skipped", "skipped", reason.clone())),
        Measure::Failed { error } => Some(("failed", "failed", error.clone())),
    }
}

/// The GFLOPs shown for an entry: the convention that reproduces the published value, else the first.
pub fn shown_gflops(f: &FlopsResult) -> Option<(f64, &str)> {
    f.reproduced_by
        .as_ref()
        .and_then(|c| f.conventions.iter().find(|x| &x.convention == c))
        .or(f.conventions.first())
        .map(|c| (c.flops as f64 / 1e9, c.convention.as_str()))
}

/// "cpu, 4 threads, batch 1, fp32": latency measurements are compared only within one setup.
pub fn latency_setup(l: &LatencyResult) -> String {
    format!(
        "{}, {} threads, batch {}, {}",
        l.device, l.threads, l.batch, l.precision
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(count(3794322), "3,794,322");
        assert_eq!(count(-1000), "-1,000");
        assert_eq!(count(999), "999");
        assert_eq!(signed_count(1024), "+1,024");
        assert_eq!(signed(-0.001, 2), "0.00");
        assert_eq!(signed(0.3, 2), "+0.30");
        assert_eq!(signed(-1.25, 2), "-1.25");
        assert_eq!(num(f64::NAN, 2), "—");
        assert_eq!(p_value(0.0342), "0.0342");
        assert_eq!(p_value(2.1e-7), "2.1e-7");
        assert_eq!(ratio(1.0834), "×1.083");
    }
}
