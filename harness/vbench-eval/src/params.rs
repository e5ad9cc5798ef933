//! Parameter counts, as PyTorchVideo's `sum(p.numel() for p in model.parameters())` (a frozen
//! TorchScript module's graph constants, said so), against the published count.

use std::sync::OnceLock;
use vbench_models::{OpCost, ParamCount, ParamSource};
use vbench_results::ParamsResult;
use vbench_suite::Entry;

/// The model's count against `e`'s published one (`note` is filled by `flops::measure`, which
/// knows the head from the ops that ran).
pub fn params_result(e: &Entry, p: &ParamCount) -> ParamsResult {
    let millions = p.count as f64 / 1e6;
    ParamsResult {
        count: p.count,
        millions,
        matches_published: e.published.params_m.map(|m| m.matches(millions)),
        note: None,
        counted_from: (p.source == ParamSource::FrozenConstants)
            .then(|| "frozen_constants".to_string()),
    }
}

/// `(num_classes, suite name)` of every built-in suite: the class counts a reused head may have.
fn suite_class_counts() -> &'static [(u32, String)] {
    static COUNTS: OnceLock<Vec<(u32, String)>> = OnceLock::new();
    COUNTS.get_or_init(|| {
        let mut v: Vec<(u32, String)> = vbench_suite::all_suites()
            .unwrap_or_default()
            .iter()
            .flat_map(|p| {
                p.entries
                    .iter()
                    .map(|e| (e.protocol.num_classes, p.suite.name.clone()))
            })
            .collect();
        v.sort();
        v.dedup_by_key(|(n, _)| *n);
        v
    })
}

/// `1234567` → `1,234,567`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    format!("{}{}", if n < 0 { "-" } else { "" }, groups.join(","))
}

/// A difference, signed: `+5,558`.
fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{}", grouped(n))
    } else {
        grouped(n)
    }
}

/// Why `count` does not print as the published params, where it does not: a head with another
/// built-in suite's class count (computed from the recorded head), else the exact difference to
/// the printed value and the range its rounding allows.
pub fn params_note(entry: &Entry, count: i64, ops: &[OpCost]) -> Option<String> {
    let published = entry.published.params_m?;
    if published.matches(count as f64 / 1e6) {
        return None;
    }
    let own = entry.protocol.num_classes as i64;
    // The classifier is the last linear op: [.., in_features] → [.., classes], plus a bias.
    let head_in = ops
        .iter()
        .rev()
        .find(|r| r.op == "linear")
        .and_then(|r| r.input_shape.last().copied());
    if let Some(fan_in) = head_in {
        for (n, suite) in suite_class_counts() {
            let n = *n as i64;
            let alt = count + (n - own) * (fan_in + 1);
            if n != own && published.matches(alt as f64 / 1e6) {
                return Some(format!(
                    "the published {published} M is this network with a {n}-class head (the {suite} \
                     suite's; {} params); with this suite's {own} classes it has {} ({:.3} M): \
                     Δ = {} = {} classes × {} ({fan_in} weights + 1 bias)",
                    grouped(alt),
                    grouped(count),
                    count as f64 / 1e6,
                    signed(count - alt),
                    own - n,
                    fan_in + 1,
                ));
            }
        }
    }
    // The printed value covers [center - half, center + half) params.
    let unit = 10f64.powi(6 - published.decimals as i32);
    let center = (published.value * 1e6).round() as i64;
    let half = (unit / 2.0).round() as i64;
    Some(format!(
        "table inconsistency, Δ = {} params: {} ({:.3} M) against the printed {published} M \
         (its rounding allows {}..{}); no head of another suite's class count explains it",
        signed(count - center),
        grouped(count),
        count as f64 / 1e6,
        signed(count - (center + half) + 1),
        signed(count - (center - half)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vbench_suite::find_entry;

    fn entry(id: &str) -> Entry {
        let (plan, i) = find_entry(id).unwrap();
        plan.entries[i].clone()
    }

    #[test]
    fn flops_params_notes_explain_or_quantify() {
        let head = |classes: i64, fan_in: i64| {
            vec![OpCost {
                path: "blocks.0.x".into(),
                op: "linear".into(),
                input_shape: vec![0, fan_in],
                output_shape: vec![0, classes],
                flops: [Some(0); 3],
                params: 0,
            }]
        };
        // 174-class SSv2 Slow R50 printed with the 157-class count.
        let ssv2 = entry("ssv2/slow_r50");
        let count = 31_956_189 + 17 * 2049;
        let note = params_note(&ssv2, count, &head(174, 2048)).unwrap();
        assert!(
            note.contains("157-class") && note.contains("charades") && note.contains("+34,833"),
            "{note}"
        );
        // No class count explains it: the exact difference and its rounding range.
        let sf = entry("ssv2/slowfast_r50");
        let note = params_note(&sf, 34_045_558, &head(174, 2304)).unwrap();
        assert!(
            note.contains("Δ = +5,558") && note.contains("+559..+10,558"),
            "{note}"
        );
        assert_eq!(params_note(&entry("k400/x3d_xs"), 3_794_274, &[]), None);
    }
}
