//! Parameter counts, as PyTorchVideo's `sum(p.numel() for p in model.parameters())`.

use std::sync::OnceLock;
use tch::nn::VarStore;
use vbench_models::op_record::{OpKind, OpRecord};
use vbench_results::ParamsResult;
use vbench_suite::Entry;

/// `vs`'s trainable parameters against `e`'s published count (`note` is filled by
/// `flops::measure`, which knows the head from the recorded ops).
pub fn params_result(e: &Entry, vs: &VarStore) -> ParamsResult {
    let count = vbench_models::param_count(vs);
    let millions = count as f64 / 1e6;
    ParamsResult {
        count,
        millions,
        matches_published: e.reference.params_m.map(|p| p.matches(millions)),
        note: None,
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
pub fn params_note(entry: &Entry, count: i64, ops: &[OpRecord]) -> Option<String> {
    let published = entry.reference.params_m?;
    if published.matches(count as f64 / 1e6) {
        return None;
    }
    let own = entry.protocol.num_classes as i64;
    // The classifier is the last linear op; its weight is [classes, in_features], plus a bias.
    let head_in = ops
        .iter()
        .rev()
        .find(|r| r.op == OpKind::Linear)
        .and_then(|r| r.weight_shape.as_ref()?.get(1).copied());
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

    fn rec(op: OpKind, input: &[i64], output: &[i64], weight: Option<&[i64]>) -> OpRecord {
        OpRecord {
            path: "blocks.0.x".into(),
            op,
            input_shape: input.to_vec(),
            output_shape: output.to_vec(),
            weight_shape: weight.map(<[i64]>::to_vec),
            groups: 1,
        }
    }

    #[test]
    fn flops_params_notes_explain_or_quantify() {
        let head = |classes, fan_in| {
            vec![rec(
                OpKind::Linear,
                &[0, fan_in],
                &[0, classes],
                Some(&[classes, fan_in]),
            )]
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
