//! The gate catches injected regressions (a changed param count, a 1-point accuracy drop, a
//! 30 % slowdown) and does not fail reruns of the same distribution (seeded simulation, false-alarm
//! rate stated). Latency samples are lognormal with CV 5–10 %, n = 20–30, as real CPU timings are.

use vbench_testkit::fixtures as common;

use common::{fixture, latency, Rng};
use vbench_report::gate::{
    gate_against_baseline, gate_against_published, judge_latency, Policy, Severity, Verdict,
};
use vbench_report::GateReport;
use vbench_results::{Measure, Results};

fn gate(a: &Results, b: &Results) -> GateReport {
    gate_against_baseline(a, b, &Policy::default(), ("A.json", "B.json"))
}

fn verdict(r: &GateReport, entry: &str, name: &str) -> Verdict {
    r.checks
        .iter()
        .find(|c| c.entry == entry && c.name == name)
        .unwrap_or_else(|| panic!("no check {entry} {name} in\n{}", r.render_text()))
        .verdict
}

/// A baseline and a candidate whose x3d CPU latency samples are drawn afresh.
fn with_latency(samples: Vec<f64>) -> Results {
    let mut r = fixture();
    r.entries[0].latency[0] = Measure::Measured {
        value: latency(samples, "cpu"),
    };
    r
}

#[test]
fn same_run_passes() {
    let r = gate(&fixture(), &fixture());
    assert!(!r.failed(), "{}", r.render_text());
    assert_eq!(verdict(&r, "k400/x3d_xs", "params"), Verdict::Pass);
    assert_eq!(verdict(&r, "k400/x3d_xs", "flops[fvcore]"), Verdict::Pass);
    assert_eq!(verdict(&r, "k400/x3d_xs", "top1"), Verdict::Pass);
    // The fixture keeps 12 samples (≥ 8): judged, not inconclusive.
    assert_eq!(
        verdict(&r, "k400/x3d_xs", "latency[cpu, 4 threads, batch 1, fp32]"),
        Verdict::Pass
    );
    assert!(r.render_text().contains("PASS: 0 failed"));
}

#[test]
fn changed_param_count_fails() {
    let mut b = fixture();
    if let Measure::Measured { value } = &mut b.entries[0].params {
        value.count += 1;
    }
    let r = gate(&fixture(), &b);
    assert!(r.failed());
    assert_eq!(verdict(&r, "k400/x3d_xs", "params"), Verdict::Fail);
    assert!(
        r.render_text()
            .contains("FAIL k400/x3d_xs params: changed: 3,794,322 → 3,794,323 (+1)"),
        "{}",
        r.render_text()
    );
}

#[test]
fn changed_flops_fail() {
    let mut b = fixture();
    if let Measure::Measured { value } = &mut b.entries[0].flops {
        value.conventions[1].flops -= 2;
    }
    let r = gate(&fixture(), &b);
    assert_eq!(verdict(&r, "k400/x3d_xs", "flops[macs_x2]"), Verdict::Fail);
    assert_eq!(verdict(&r, "k400/x3d_xs", "flops[fvcore]"), Verdict::Pass);
}

fn with_top1(top1: f64, ci: Option<(f64, f64)>) -> Results {
    let mut b = fixture();
    if let Measure::Measured { value } = &mut b.entries[0].accuracy {
        value.top1 = Some(top1);
        value.top1_ci95 = ci;
    }
    b
}

#[test]
fn accuracy_drop_of_one_point_fails_small_drops_pass() {
    // Baseline 68.81 with CI half-width 0.65: a 1-point drop leaves both the tolerance and the CI.
    let r = gate(&fixture(), &with_top1(67.81, Some((67.16, 68.46))));
    assert_eq!(
        verdict(&r, "k400/x3d_xs", "top1"),
        Verdict::Fail,
        "{}",
        r.render_text()
    );
    let r = gate(&fixture(), &with_top1(67.81, None));
    assert_eq!(verdict(&r, "k400/x3d_xs", "top1"), Verdict::Fail);
    // 0.3 points: within tolerance. 0.6: beyond the tolerance but within the 0.65 CI half-width.
    let r = gate(&fixture(), &with_top1(68.51, Some((67.86, 69.16))));
    assert_eq!(verdict(&r, "k400/x3d_xs", "top1"), Verdict::Pass);
    let r = gate(&fixture(), &with_top1(68.21, Some((67.56, 68.86))));
    assert_eq!(
        verdict(&r, "k400/x3d_xs", "top1"),
        Verdict::Pass,
        "{}",
        r.render_text()
    );
    // ...unless the policy ignores CIs.
    let mut p = Policy::default();
    p.accuracy.use_ci = false;
    let r = gate_against_baseline(
        &fixture(),
        &with_top1(68.21, Some((67.56, 68.86))),
        &p,
        ("A", "B"),
    );
    assert_eq!(verdict(&r, "k400/x3d_xs", "top1"), Verdict::Fail);
    // Improvements never fail.
    let r = gate(&fixture(), &with_top1(75.0, None));
    assert_eq!(verdict(&r, "k400/x3d_xs", "top1"), Verdict::Pass);
}

#[test]
fn thirty_percent_slowdown_is_caught() {
    let mut rng = Rng(2024);
    let mut caught = 0;
    let trials = 100;
    for i in 0..trials {
        let n = 20 + i % 11;
        let cv = 0.05 + 0.05 * (i % 6) as f64 / 5.0;
        let a = with_latency(rng.lognormal(n, 20.0, cv));
        let b = with_latency(rng.lognormal(n, 26.0, cv));
        let r = gate(&a, &b);
        if verdict(&r, "k400/x3d_xs", "latency[cpu, 4 threads, batch 1, fp32]") == Verdict::Fail {
            caught += 1;
        }
        if i == 0 {
            println!(
                "{}",
                r.render_text()
                    .lines()
                    .find(|l| l.contains("latency[cpu"))
                    .unwrap()
            );
        }
    }
    println!("30% slowdown detected in {caught}/{trials} simulated pairs");
    assert_eq!(caught, trials);
}

#[test]
fn reruns_of_the_same_distribution_pass() {
    let policy = Policy::default();
    let mut rng = Rng(0x5A4E);
    let pairs = 1000;
    let (mut gate_fails, mut significant_at_5pct) = (0, 0);
    let loose = Policy {
        latency: vbench_report::gate::policy::LatencyPolicy {
            alpha: 0.05,
            min_ratio: 1.0,
            ..policy.latency.clone()
        },
        ..policy.clone()
    };
    for i in 0..pairs {
        let n = 20 + i % 11;
        let cv = 0.05 + 0.05 * (i % 6) as f64 / 5.0;
        let (a, b) = (rng.lognormal(n, 20.0, cv), rng.lognormal(n, 20.0, cv));
        gate_fails += usize::from(judge_latency(&a, &b, &policy).0 == Verdict::Fail);
        significant_at_5pct += usize::from(judge_latency(&a, &b, &loose).0 == Verdict::Fail);
    }
    let rate = gate_fails as f64 / pairs as f64;
    let mw_rate = significant_at_5pct as f64 / pairs as f64;
    println!("false alarms with the default policy: {gate_fails}/{pairs} = {rate:.3}");
    println!("Mann–Whitney alone at α = 0.05, no effect floor: {significant_at_5pct}/{pairs} = {mw_rate:.3}");
    assert!(rate <= 1.0 / 20.0, "false-alarm rate {rate}");
    // The test itself is calibrated: about α of same-distribution pairs look significant.
    assert!(
        (0.025..=0.075).contains(&mw_rate),
        "Mann–Whitney false-positive rate {mw_rate} at α = 0.05"
    );
}

#[test]
fn too_few_samples_is_inconclusive() {
    let mut rng = Rng(3);
    let (a, b) = (rng.lognormal(3, 20.0, 0.05), rng.lognormal(3, 30.0, 0.05));
    let (v, msg) = judge_latency(&a, &b, &Policy::default());
    assert_eq!(v, Verdict::Warn, "{msg}");
    assert!(msg.starts_with("inconclusive"), "{msg}");
    let mut p = Policy::default();
    p.latency.inconclusive = Severity::Fail;
    assert_eq!(judge_latency(&a, &b, &p).0, Verdict::Fail);
    assert_eq!(judge_latency(&[], &b, &Policy::default()).0, Verdict::Warn);
}

#[test]
fn missing_and_failed_fail() {
    let mut b = fixture();
    b.entries.remove(2);
    b.entries[0].accuracy = Measure::Skipped {
        reason: "no data".into(),
    };
    b.entries[0].latency.truncate(1);
    let r = gate(&fixture(), &b);
    assert_eq!(verdict(&r, "k400/mvit_base_16x4", "entry"), Verdict::Fail);
    assert_eq!(verdict(&r, "k400/x3d_xs", "accuracy"), Verdict::Fail);
    assert_eq!(
        verdict(
            &r,
            "k400/x3d_xs",
            "latency[cuda:0, 4 threads, batch 1, fp32]"
        ),
        Verdict::Fail
    );
    let mut p = Policy::default();
    p.missing.entry = Severity::Warn;
    p.missing.measurement = Severity::Ignore;
    let r = gate_against_baseline(&fixture(), &b, &p, ("A", "B"));
    assert!(!r.failed(), "{}", r.render_text());
    // A candidate measurement that failed always fails.
    let mut b = fixture();
    b.entries[0].params = Measure::Failed {
        error: "boom".into(),
    };
    assert_eq!(
        verdict(&gate(&fixture(), &b), "k400/x3d_xs", "params"),
        Verdict::Fail
    );
}

#[test]
fn against_published() {
    let r = gate_against_published(&fixture(), &Policy::default(), "B.json");
    let text = r.render_text();
    assert_eq!(verdict(&r, "k400/x3d_xs", "params"), Verdict::Pass);
    assert_eq!(verdict(&r, "k400/x3d_xs", "gflops"), Verdict::Pass);
    assert!(
        text.contains("under the `fvcore` convention reproduces the published 0.91"),
        "{text}"
    );
    // 68.81 vs 69.12: 0.31 points down, within tolerance; top-5 reproduced at printed precision.
    assert_eq!(verdict(&r, "k400/x3d_xs", "top1"), Verdict::Pass);
    assert!(text.contains("reproduces it at printed precision"));
    assert_eq!(
        verdict(&r, "k400/slowfast_16x8_r101_50_50", "params"),
        Verdict::Pass
    );
    assert!(text.contains("explained: the published count includes"));
    assert_eq!(
        verdict(&r, "k400/slowfast_16x8_r101_50_50", "gflops"),
        Verdict::Fail
    );
    assert_eq!(verdict(&r, "k400/mvit_base_16x4", "params"), Verdict::Skip);
    assert!(r.failed());
    // Not measured can be made to fail; unexplained can be made a warning.
    let mut p = Policy::default();
    p.published.unexplained = Severity::Warn;
    assert!(!gate_against_published(&fixture(), &p, "B").failed());
    p.published.not_measured = Severity::Fail;
    assert_eq!(
        verdict(
            &gate_against_published(&fixture(), &p, "B"),
            "k400/mvit_base_16x4",
            "top1"
        ),
        Verdict::Fail
    );
}

#[test]
fn slowdown_measured_under_foreign_load_is_inconclusive() {
    let mut rng = Rng(5);
    let a = with_latency(rng.lognormal(25, 20.0, 0.07));
    let mut b = with_latency(rng.lognormal(25, 26.0, 0.07));
    if let Measure::Measured { value } = &mut b.entries[0].latency[0] {
        value.under_foreign_load = true;
    }
    let r = gate(&a, &b);
    assert_eq!(
        verdict(&r, "k400/x3d_xs", "latency[cpu, 4 threads, batch 1, fp32]"),
        Verdict::Warn
    );
    assert!(r
        .render_text()
        .contains("inconclusive: the candidate ran under foreign load"));
}

#[test]
fn example_ci_policy_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../ci/workflows/gate-policy.toml");
    let p = Policy::load(&path).unwrap();
    assert_eq!(p.latency.min_ratio, 1.15);
}
