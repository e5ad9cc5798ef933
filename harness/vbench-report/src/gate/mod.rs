//! Gates: checks a candidate run against a baseline run or against the published tables, and says
//! why for every check. Rules (the policy's knobs in brackets):
//!
//! * params and FLOPs (each counting convention) are integers: any difference from the baseline fails.
//!   Against the published table (see `published.rs`) they must print as the published number at its
//!   printed precision, or carry a measurement note explaining why not [`published.unexplained`].
//! * accuracy, each metric of [`accuracy.metrics`] (the registry's gated ones by default), in
//!   points. Where both runs have predictions over the same dataset list (`crate::pairing`), on the
//!   videos scored in both: fails when the candidate is worse with a two-sided p below
//!   [`accuracy.alpha`] (McNemar's exact test for top-k, a paired bootstrap over videos for mAP)
//!   AND the drop is at least [`accuracy.min_effect_points`] (`paired.rs`). Otherwise, unpaired,
//!   which the message says: fails when it drops by more than [`accuracy.tolerance_points`] AND,
//!   where a 95 % CI is stored [`accuracy.use_ci`], the drop also leaves it: the candidate's CI
//!   lies wholly below the reference value (without a candidate CI: the candidate lies below the
//!   baseline's CI).
//! * latency, per (device, threads, batch, precision): fails when the candidate is slower by the
//!   one-sided Mann–Whitney U test on the stored samples at [`latency.alpha`] AND its median is at
//!   least [`latency.min_ratio`] times the baseline's. Fewer than [`latency.min_samples`] samples on a
//!   side is inconclusive [`latency.inconclusive`].
//! * what the baseline has and the candidate lacks: [`missing.entry`], [`missing.measurement`].
//! * speed variants, within the candidate (`variants.rs`): view/video top-1 agreement with fp32 at
//!   least [`variants.min_view_agreement`] / [`variants.min_video_agreement`], speed-up over fp32
//!   at least [`variants.min_speedup`]; a failed variant [`variants.failed`].

mod junit;
mod paired;
pub mod policy;
mod published;
pub mod simulate;
mod variants;

pub use paired::judge_paired;
pub use policy::{default_policy_toml, Policy, Severity};
pub use published::gate_against_published;

use crate::fmt::{self, latency_setup};
use crate::pairing::{Pairing, RunPairing};
use crate::stats::{mann_whitney_greater, median};
use serde::Serialize;
use vbench_results::{EntryResult, LatencyResult, Measure, Results};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Skip,
    Warn,
    Fail,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Skip => "SKIP",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }
}

impl From<Severity> for Verdict {
    fn from(s: Severity) -> Verdict {
        match s {
            Severity::Fail => Verdict::Fail,
            Severity::Warn => Verdict::Warn,
            Severity::Ignore => Verdict::Skip,
        }
    }
}

/// One judged quantity of one entry.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub entry: String,
    /// `params`, `flops[<convention>]`, `gflops`, `top1`, `top5`, `map`, `latency[<setup>]`, `entry`, `protocol`.
    pub name: String,
    pub verdict: Verdict,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    /// What the candidate is judged against: a file name or "published tables".
    pub against: String,
    pub candidate: String,
    pub checks: Vec<Check>,
}

impl GateReport {
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.verdict == Verdict::Fail)
    }

    pub fn count(&self, v: Verdict) -> usize {
        self.checks.iter().filter(|c| c.verdict == v).count()
    }

    pub fn summary(&self) -> String {
        format!(
            "{}: {} failed, {} warnings, {} passed, {} skipped",
            if self.failed() { "FAIL" } else { "PASS" },
            self.count(Verdict::Fail),
            self.count(Verdict::Warn),
            self.count(Verdict::Pass),
            self.count(Verdict::Skip)
        )
    }

    /// Every check with its reason, then the summary: what `vbench gate` prints.
    pub fn render_text(&self) -> String {
        let mut s = format!("vbench gate: {} against {}\n", self.candidate, self.against);
        for c in &self.checks {
            s += &format!(
                "{} {} {}: {}\n",
                c.verdict.word(),
                c.entry,
                c.name,
                c.message
            );
        }
        s += &self.summary();
        s.push('\n');
        s
    }

    pub fn to_junit(&self) -> String {
        junit::render(self)
    }
}

/// A check builder bound to one entry id.
pub(crate) struct Checks<'a> {
    entry: &'a str,
    pub out: Vec<Check>,
}

impl<'a> Checks<'a> {
    pub fn new(entry: &'a str) -> Self {
        Checks {
            entry,
            out: Vec::new(),
        }
    }
    pub fn push(&mut self, name: impl Into<String>, verdict: Verdict, message: impl Into<String>) {
        self.out.push(Check {
            entry: self.entry.to_string(),
            name: name.into(),
            verdict,
            message: message.into(),
        });
    }
}

/// What a not-measured [`Measure`] says, for messages.
pub(crate) fn why_not<T>(m: &Measure<T>) -> String {
    match m {
        Measure::Measured { .. } => "measured".into(),
        Measure::NotImplemented { reason } => format!("not implemented ({reason})"),
        Measure::Skipped { reason } => format!("skipped ({reason})"),
        Measure::Failed { error } => format!("failed ({error})"),
    }
}

/// The candidate against another run of the same suite, without reading predictions: accuracy
/// by the unpaired rule.
pub fn gate_against_baseline(
    baseline: &Results,
    candidate: &Results,
    policy: &Policy,
    labels: (&str, &str),
) -> GateReport {
    gate_against_baseline_paired(baseline, candidate, policy, labels, &RunPairing::default())
}

/// The candidate against another run, accuracy paired video by video where `pairing` has the
/// entry paired (`crate::pairing::pair_runs`), by the unpaired rule otherwise, which the
/// message says.
pub fn gate_against_baseline_paired(
    baseline: &Results,
    candidate: &Results,
    policy: &Policy,
    labels: (&str, &str),
    pairing: &RunPairing,
) -> GateReport {
    let mut checks = Vec::new();
    for a in &baseline.entries {
        let mut c = Checks::new(&a.id);
        match candidate.entries.iter().find(|b| b.id == a.id) {
            None => c.push(
                "entry",
                policy.missing.entry.into(),
                "in the baseline, absent from the candidate",
            ),
            Some(b) => {
                entry_vs_baseline(a, b, policy, pairing.get(&a.id), &mut c);
                variants::variant_checks(b, policy, &mut c);
            }
        }
        checks.extend(c.out);
    }
    for b in candidate
        .entries
        .iter()
        .filter(|b| !baseline.entries.iter().any(|a| a.id == b.id))
    {
        let mut c = Checks::new(&b.id);
        c.push(
            "entry",
            Verdict::Skip,
            "new in the candidate: no baseline to compare with",
        );
        variants::variant_checks(b, policy, &mut c);
        checks.extend(c.out);
    }
    GateReport {
        against: labels.0.to_string(),
        candidate: labels.1.to_string(),
        checks,
    }
}

/// The shared shape of a baseline/candidate pair of one measurement: judge both measured, otherwise
/// say which side lacks it.
fn pair<T>(
    name: &str,
    a: &Measure<T>,
    b: &Measure<T>,
    policy: &Policy,
    c: &mut Checks,
    judge: impl FnOnce(&T, &T, &mut Checks),
) {
    match (a, b) {
        (Measure::Measured { value: a }, Measure::Measured { value: b }) => judge(a, b, c),
        (Measure::Failed { .. }, Measure::Failed { error }) => c.push(
            name,
            Verdict::Warn,
            format!("failed on both sides, not a regression: {error}"),
        ),
        (_, Measure::Failed { error }) => c.push(
            name,
            Verdict::Fail,
            format!("the candidate failed: {error}"),
        ),
        (Measure::Measured { .. }, other) => c.push(
            name,
            policy.missing.measurement.into(),
            format!(
                "measured in the baseline; the candidate: {}",
                why_not(other)
            ),
        ),
        (other, Measure::Measured { .. }) => c.push(
            name,
            Verdict::Skip,
            format!("new measurement; the baseline: {}", why_not(other)),
        ),
        (_, other) => c.push(
            name,
            Verdict::Skip,
            format!("not measured on either side: {}", why_not(other)),
        ),
    }
}

fn entry_vs_baseline(
    a: &EntryResult,
    b: &EntryResult,
    policy: &Policy,
    pairing: Option<&Pairing>,
    c: &mut Checks,
) {
    if a.protocol != b.protocol {
        c.push(
            "protocol",
            Verdict::Warn,
            "the test protocol differs between the runs; compared anyway",
        );
    }
    pair("params", &a.params, &b.params, policy, c, |a, b, c| {
        let d = b.count as i128 - a.count as i128;
        if d == 0 {
            c.push(
                "params",
                Verdict::Pass,
                format!("{} unchanged", fmt::count(a.count as i128)),
            );
        } else {
            c.push(
                "params",
                Verdict::Fail,
                format!(
                    "changed: {} → {} ({})",
                    fmt::count(a.count as i128),
                    fmt::count(b.count as i128),
                    fmt::signed_count(d)
                ),
            );
        }
    });
    pair("flops", &a.flops, &b.flops, policy, c, |a, b, c| {
        for ca in &a.conventions {
            let name = format!("flops[{}]", ca.convention);
            match b.conventions.iter().find(|x| x.convention == ca.convention) {
                None => c.push(
                    name,
                    policy.missing.measurement.into(),
                    "counted in the baseline; the candidate lacks this convention",
                ),
                Some(cb) if cb.flops == ca.flops => c.push(
                    name,
                    Verdict::Pass,
                    format!("{} FLOPs unchanged", fmt::count(ca.flops as i128)),
                ),
                Some(cb) => c.push(
                    name,
                    Verdict::Fail,
                    format!(
                        "changed: {} → {} FLOPs ({})",
                        fmt::count(ca.flops as i128),
                        fmt::count(cb.flops as i128),
                        fmt::signed_count(cb.flops as i128 - ca.flops as i128)
                    ),
                ),
            }
        }
    });
    pair(
        "accuracy",
        &a.accuracy,
        &b.accuracy,
        policy,
        c,
        |a, b, c| {
            for m in policy.accuracy.judged() {
                let name = m.key;
                match ((m.value)(a), (m.value)(b)) {
                    (Some(va), Some(vb)) => match paired_metric(pairing, name) {
                        Ok((pm, runs)) => {
                            let (v, msg) = judge_paired(pm, runs, policy);
                            c.push(name, v, msg);
                        }
                        Err(why) => {
                            let (ca, cb) = ((m.ci95)(a), (m.ci95)(b));
                            let (v, msg) = judge_accuracy(va, ca, vb, cb, policy);
                            c.push(
                                name,
                                v,
                                format!(
                                    "baseline {} → candidate {msg}; unpaired test ({why})",
                                    fmt::num(va, 2)
                                ),
                            );
                        }
                    },
                    (Some(_), None) => c.push(
                        name,
                        policy.missing.measurement.into(),
                        "in the baseline, not in the candidate",
                    ),
                    _ => {}
                }
            }
            if a.videos != b.videos {
                c.push(
                    "videos",
                    Verdict::Warn,
                    format!("evaluated {} → {} videos", a.videos, b.videos),
                );
            }
        },
    );
    latency_vs_baseline(a, b, policy, c);
}

/// The entry's paired result for metric `key`, or why there is none.
fn paired_metric<'a>(
    pairing: Option<&'a Pairing>,
    key: &str,
) -> Result<
    (
        &'a vbench_results::paired::PairedMetric,
        &'a vbench_results::paired::PairedRuns,
    ),
    String,
> {
    match pairing {
        None => Err("no paired predictions".into()),
        Some(Pairing::Unpaired { reason }) => Err(reason.clone()),
        Some(Pairing::Paired(runs)) => runs
            .metric(key)
            .map(|m| (m, runs.as_ref()))
            .ok_or_else(|| format!("the paired predictions give no {key}")),
    }
}

/// The accuracy rule (module docs). Returns the verdict and "candidate value (why)" for the message.
pub(crate) fn judge_accuracy(
    reference: f64,
    reference_ci: Option<(f64, f64)>,
    candidate: f64,
    candidate_ci: Option<(f64, f64)>,
    policy: &Policy,
) -> (Verdict, String) {
    let tol = policy.accuracy.tolerance_points;
    let drop = reference - candidate;
    let shown = format!(
        "{} ({} points)",
        fmt::num(candidate, 2),
        fmt::signed(-drop, 2)
    );
    if drop.is_nan() {
        return (
            Verdict::Warn,
            format!("{shown}: not a number, cannot judge"),
        );
    }
    if drop <= tol {
        return (
            Verdict::Pass,
            format!("{shown}: within the {} point tolerance", fmt::num(tol, 2)),
        );
    }
    let margin = if policy.accuracy.use_ci {
        candidate_ci
            .map(|(_, hi)| (hi - candidate, "the candidate's 95% CI"))
            .or(reference_ci.map(|(lo, _)| (reference - lo, "the baseline's 95% CI")))
    } else {
        None
    };
    match margin {
        Some((m, which)) if drop <= m => (
            Verdict::Pass,
            format!(
                "{shown}: beyond the {} point tolerance but within {which} (±{})",
                fmt::num(tol, 2),
                fmt::num(m, 2)
            ),
        ),
        Some((m, which)) => (
            Verdict::Fail,
            format!(
                "{shown}: dropped beyond the {} point tolerance and beyond {which} (±{})",
                fmt::num(tol, 2),
                fmt::num(m, 2)
            ),
        ),
        None => (
            Verdict::Fail,
            format!(
                "{shown}: dropped beyond the {} point tolerance",
                fmt::num(tol, 2)
            ),
        ),
    }
}

fn latency_vs_baseline(a: &EntryResult, b: &EntryResult, policy: &Policy, c: &mut Checks) {
    let measured = |e: &'_ EntryResult| -> Vec<LatencyResult> {
        e.latency
            .iter()
            .filter_map(|m| m.value().cloned())
            .collect()
    };
    let (la, lb) = (measured(a), measured(b));
    for x in &la {
        let name = format!("latency[{}]", latency_setup(x));
        match lb.iter().find(|y| latency_setup(y) == latency_setup(x)) {
            Some(y) => {
                let (v, m) = judge_latency(&x.samples_ms, &y.samples_ms, policy);
                // Samples taken while the machine was busy are an upper bound: a slowdown built on
                // them is not evidence against the candidate.
                let busy = [(x, "baseline"), (y, "candidate")]
                    .iter()
                    .filter(|(l, _)| l.under_foreign_load)
                    .map(|(_, s)| *s)
                    .collect::<Vec<_>>();
                if v == Verdict::Fail && !busy.is_empty() {
                    let why = format!(
                        "inconclusive: the {} ran under foreign load; {m}",
                        busy.join(" and ")
                    );
                    c.push(name, policy.latency.inconclusive.into(), why);
                } else {
                    c.push(name, v, m);
                }
            }
            None => match b.latency.iter().find(|m| m.status() == "failed") {
                Some(f) => c.push(name, Verdict::Fail, format!("the candidate {}", why_not(f))),
                None => c.push(
                    name,
                    policy.missing.measurement.into(),
                    "measured in the baseline; the candidate has no measurement with this setup",
                ),
            },
        }
    }
    if la.is_empty() {
        if let Some(f) = b.latency.iter().find(|m| m.status() == "failed") {
            let (v, also) = if a.latency.iter().any(|m| m.status() == "failed") {
                (Verdict::Warn, "; the baseline failed too, not a regression")
            } else {
                (Verdict::Fail, "")
            };
            c.push("latency", v, format!("the candidate {}{also}", why_not(f)));
        }
    }
}

/// The latency rule (module docs) on two sample sets, ms.
pub fn judge_latency(a: &[f64], b: &[f64], policy: &Policy) -> (Verdict, String) {
    let pol = &policy.latency;
    let (ma, mb) = (median(a), median(b));
    let ratio = match (ma, mb) {
        (Some(ma), Some(mb)) if ma > 0.0 => mb / ma,
        _ => f64::NAN,
    };
    let medians = format!(
        "median {} → {} ms ({})",
        fmt::num(ma.unwrap_or(f64::NAN), 3),
        fmt::num(mb.unwrap_or(f64::NAN), 3),
        fmt::ratio(ratio)
    );
    let n = format!("n = {}/{}", a.len(), b.len());
    if a.len() < pol.min_samples || b.len() < pol.min_samples || !ratio.is_finite() {
        return (
            pol.inconclusive.into(),
            format!(
                "inconclusive: {medians}; {n} samples, the policy needs at least {} per side",
                pol.min_samples
            ),
        );
    }
    let Some(mw) = mann_whitney_greater(a, b) else {
        return (
            pol.inconclusive.into(),
            format!("inconclusive: {medians}; samples are not finite numbers"),
        );
    };
    let test = format!(
        "Mann–Whitney one-sided p = {} ({n}, {})",
        fmt::p_value(mw.p_value),
        match mw.method {
            crate::stats::Method::Exact => "exact",
            crate::stats::Method::Asymptotic => "normal approximation",
        }
    );
    let significant = mw.p_value < pol.alpha;
    let large = ratio >= pol.min_ratio;
    let (verdict, why) = match (significant, large) {
        (true, true) => (
            Verdict::Fail,
            format!(
                "slower: p < α = {} and ratio ≥ {}",
                pol.alpha, pol.min_ratio
            ),
        ),
        (true, false) => (
            Verdict::Pass,
            format!(
                "significant but below the minimum effect {}",
                fmt::ratio(pol.min_ratio)
            ),
        ),
        (false, true) => (
            Verdict::Pass,
            format!("large ratio but not significant at α = {}", pol.alpha),
        ),
        (false, false) => (Verdict::Pass, "no significant slowdown".to_string()),
    };
    (verdict, format!("{why}: {medians}, {test}"))
}
