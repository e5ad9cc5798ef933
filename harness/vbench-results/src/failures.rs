//! Requested measurements that produced no result: every measurement of a run whose status is
//! `failed`. A measurement is `failed` only when it was asked for and could not be made (a data
//! root was given but the weights are missing or do not fit, the list is malformed, no video
//! could be scored); one that was not asked for is `skipped`, one vbench cannot make yet
//! `not_implemented`. The same rule reads a single run, a shard and a merged run, so a merge's
//! verdict follows from its results.json alone.

use crate::schema::{Measure, Results};

/// One requested measurement without a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub entry: String,
    /// `params`, `flops`, `accuracy` or `latency`.
    pub measurement: &'static str,
    pub error: String,
}

/// Every failed measurement of `results`, in entry order.
pub fn failures(results: &Results) -> Vec<Failure> {
    let mut out = Vec::new();
    for e in &results.entries {
        let mut push = |measurement, m: Option<&str>| {
            if let Some(error) = m {
                out.push(Failure {
                    entry: e.id.clone(),
                    measurement,
                    error: error.to_string(),
                });
            }
        };
        push("params", failed(&e.params));
        push("flops", failed(&e.flops));
        push("accuracy", failed(&e.accuracy));
        for l in &e.latency {
            push("latency", failed(l));
        }
    }
    out
}

fn failed<T>(m: &Measure<T>) -> Option<&str> {
    match m {
        Measure::Failed { error } => Some(error),
        _ => None,
    }
}

/// One line naming every failure: `2 requested measurements produced no result: k400/x3d_xs
/// accuracy (checkpoint …), k400/c2d_r50 latency (…)`; each reason is its first line, shortened.
pub fn summary_line(failures: &[Failure]) -> String {
    const REASON: usize = 120;
    let items: Vec<String> = failures
        .iter()
        .map(|f| {
            let first = f.error.lines().next().unwrap_or("").trim();
            let reason = match first.char_indices().nth(REASON) {
                Some((cut, _)) => format!("{}…", &first[..cut]),
                None => first.to_string(),
            };
            format!("{} {} ({reason})", f.entry, f.measurement)
        })
        .collect();
    let n = failures.len();
    format!(
        "{n} requested measurement{} produced no result: {}",
        if n == 1 { "" } else { "s" },
        items.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_one_line_naming_entry_measurement_and_reason() {
        let f = vec![
            Failure {
                entry: "k400/x3d_xs".into(),
                measurement: "accuracy",
                error: "val.csv:4: no label in `abc`\nmore detail".into(),
            },
            Failure {
                entry: "k400/c2d_r50".into(),
                measurement: "latency",
                error: "x".repeat(300),
            },
        ];
        let s = summary_line(&f);
        assert!(!s.contains('\n'), "{s}");
        assert!(s.starts_with("2 requested measurements produced no result: "));
        assert!(s.contains("k400/x3d_xs accuracy (val.csv:4: no label in `abc`)"));
        assert!(s.contains(&format!("k400/c2d_r50 latency ({}…)", "x".repeat(120))));
    }
}
