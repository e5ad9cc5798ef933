//! `--against published`: a run judged against the reference rows stored in it.
//!
//! "Reproduced at printed precision": the measured value, rounded half away from zero to the number
//! of decimals the table prints, equals the printed value (`Printed::matches`). Params are judged as
//! count / 10⁶; GFLOPs as FLOPs / 10⁹ of one view, under each counting convention in turn, and pass
//! when any convention reproduces the printed value. A value that is not reproduced passes only when
//! the measurement carries a note explaining the difference (`ParamsResult.note`, `FlopsResult.note`);
//! otherwise [`published.unexplained`] decides. Accuracy follows the baseline rule with the printed
//! number as the reference. Published latency is a phone's, so it is reported, not judged.

use super::{judge_accuracy, why_not, Checks, GateReport, Policy, Verdict};
use crate::fmt;
use vbench_results::{EntryResult, Measure, Results};
use vbench_suite::Printed;

pub fn gate_against_published(candidate: &Results, policy: &Policy, label: &str) -> GateReport {
    let mut checks = Vec::new();
    for e in &candidate.entries {
        let mut c = Checks::new(&e.id);
        entry(e, policy, &mut c);
        super::variants::variant_checks(e, policy, &mut c);
        checks.extend(c.out);
    }
    GateReport {
        against: "the published tables".into(),
        candidate: label.to_string(),
        checks,
    }
}

fn note(n: &Option<String>) -> Option<&str> {
    n.as_deref().map(str::trim).filter(|n| !n.is_empty())
}

/// A published number the run did not measure: failed measurements fail, the rest follow the policy.
fn unmeasured<T>(name: &str, m: &Measure<T>, published: Printed, policy: &Policy, c: &mut Checks) {
    let verdict = match m {
        Measure::Failed { .. } => Verdict::Fail,
        _ => policy.published.not_measured.into(),
    };
    c.push(
        name,
        verdict,
        format!("published {published}; {}", why_not(m)),
    );
}

fn entry(e: &EntryResult, policy: &Policy, c: &mut Checks) {
    let unexplained: Verdict = policy.published.unexplained.into();
    if let Some(p) = e.published.params_m {
        match &e.params {
            Measure::Measured { value } => {
                let m = value.count as f64 / 1e6;
                let shown = format!("{} ({} M)", fmt::count(value.count as i128), fmt::num(m, 4));
                if p.matches(m) {
                    c.push(
                        "params",
                        Verdict::Pass,
                        format!("{shown} reproduces the published {p} M"),
                    );
                } else if let Some(n) = note(&value.note) {
                    c.push(
                        "params",
                        Verdict::Pass,
                        format!("{shown} differs from the published {p} M, explained: {n}"),
                    );
                } else {
                    c.push("params", unexplained, format!("{shown} does not print as the published {p} M and no note explains why"));
                }
            }
            other => unmeasured("params", other, p, policy, c),
        }
    }
    if let Some(p) = e.published.gflops {
        match &e.flops {
            Measure::Measured { value } => {
                let all = value
                    .conventions
                    .iter()
                    .map(|x| format!("{} {}", x.convention, fmt::num(x.flops as f64 / 1e9, 4)))
                    .collect::<Vec<_>>()
                    .join(", ");
                match value.conventions.iter().find(|x| p.matches(x.flops as f64 / 1e9)) {
                    Some(x) => c.push(
                        "gflops",
                        Verdict::Pass,
                        format!("{} GFLOPs under the `{}` convention reproduces the published {p}", fmt::num(x.flops as f64 / 1e9, 4), x.convention),
                    ),
                    None => match note(&value.note) {
                        Some(n) => c.push("gflops", Verdict::Pass, format!("[{all}] vs published {p}, explained: {n}")),
                        None => c.push(
                            "gflops",
                            unexplained,
                            format!("no convention prints as the published {p} ([{all}]) and no note explains why"),
                        ),
                    },
                }
            }
            other => unmeasured("gflops", other, p, policy, c),
        }
    }
    for m in policy.accuracy.judged() {
        let name = &m.key;
        let Some(p) = (m.published)(&e.published) else {
            continue;
        };
        match &e.accuracy {
            Measure::Measured { value } => match ((m.value)(value), (m.ci95)(value)) {
                (Some(v), ci) => {
                    let (verdict, msg) = judge_accuracy(p.value, None, v, ci, policy);
                    let reproduced = if p.matches(v) {
                        "; reproduces it at printed precision"
                    } else {
                        ""
                    };
                    c.push(
                        *name,
                        verdict,
                        format!("published {p} → measured {msg}{reproduced}"),
                    );
                }
                (None, _) => c.push(
                    *name,
                    policy.published.not_measured.into(),
                    format!("published {p}; not in the measurement"),
                ),
            },
            other => unmeasured(name, other, p, policy, c),
        }
    }
    if let Some(p) = e.published.latency_ms {
        let on = e
            .published
            .latency_device
            .as_deref()
            .unwrap_or("an unnamed device");
        let measured: Vec<String> = e
            .latency
            .iter()
            .filter_map(|m| m.value())
            .map(|l| format!("{} ms p50 on {}", fmt::num(l.p50_ms, 2), l.device))
            .collect();
        let measured = if measured.is_empty() {
            "none measured".to_string()
        } else {
            measured.join(", ")
        };
        c.push(
            "latency",
            Verdict::Skip,
            format!("published {p} ms on {on}, not comparable with this machine ({measured})"),
        );
    }
}
