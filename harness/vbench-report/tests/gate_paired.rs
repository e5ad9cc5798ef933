//! The paired accuracy gate on constructed predictions files with known flips: identical runs and
//! a balanced rerun pass, a 0.5-point drop fails (where the unpaired rule passes it), and
//! predictions over different dataset lists fall back to the unpaired rule, saying so with both
//! sha256 values.

use vbench_testkit::fixtures as common;

use common::paired::{base, pair, run, N};
use std::path::PathBuf;
use vbench_report::gate::{gate_against_baseline_paired, Policy, Verdict};
use vbench_report::pairing::Pairing;
use vbench_report::GateReport;
use vbench_results::Results;

fn gate(a: &(Results, PathBuf), b: &(Results, PathBuf), policy: &Policy) -> GateReport {
    let pairing = pair(a, b, policy);
    gate_against_baseline_paired(&a.0, &b.0, policy, ("A.json", "B.json"), &pairing)
}

fn check<'a>(r: &'a GateReport, name: &str) -> &'a vbench_report::gate::Check {
    r.checks
        .iter()
        .find(|c| c.entry == "k400/x3d_xs" && c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in\n{}", r.render_text()))
}

#[test]
fn identical_runs_pass_paired() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", &base(), "s");
    let b = run(dir.path(), "b", &base(), "s");
    let r = gate(&a, &b, &Policy::default());
    let c = check(&r, "top1");
    assert_eq!(c.verdict, Verdict::Pass, "{}", r.render_text());
    assert!(
        c.message.starts_with("unchanged: paired on 2000 videos"),
        "{}",
        c.message
    );
    assert!(c.message.contains("p = 1"), "{}", c.message);
}

/// Ten correct videos broken (a 0.5-point drop on 2000): McNemar p = 2/1024 < 0.05 and the drop is
/// above the 0.2-point minimum effect, so the paired gate fails it. The unpaired rule (0.5-point
/// tolerance) passes the same numbers: that is the drop pairing catches.
#[test]
fn a_half_point_drop_fails_paired_and_passes_unpaired() {
    let dir = tempfile::tempdir().unwrap();
    let mut cand = base();
    for i in (0..N).filter(|i| i % 4 == 0).step_by(20).take(10) {
        cand[i] = false;
    }
    let a = run(dir.path(), "a", &base(), "s");
    let b = run(dir.path(), "b", &cand, "s");
    let r = gate(&a, &b, &Policy::default());
    println!("{}", r.render_text());
    let c = check(&r, "top1");
    assert_eq!(c.verdict, Verdict::Fail, "{}", r.render_text());
    assert!(r.failed());
    for part in [
        "worse: p < α = 0.05",
        "75.00 → 74.50",
        "-0.50 points",
        "broken 10",
        "fixed 0",
    ] {
        assert!(c.message.contains(part), "`{part}` not in: {}", c.message);
    }
    let unpaired =
        vbench_report::gate::gate_against_baseline(&a.0, &b.0, &Policy::default(), ("A", "B"));
    let u = check(&unpaired, "top1");
    assert_eq!(u.verdict, Verdict::Pass, "{}", u.message);
    assert!(
        u.message.contains("unpaired test (no paired predictions)"),
        "{}",
        u.message
    );
    // A larger minimum effect passes the same drop, saying why.
    let mut p = Policy::default();
    p.accuracy.min_effect_points = 1.0;
    let c2 = gate(&a, &b, &p);
    let c2 = check(&c2, "top1");
    assert_eq!(c2.verdict, Verdict::Pass);
    assert!(c2
        .message
        .starts_with("significant but below the minimum effect"));
}

/// A rerun with as many videos fixed as broken passes.
#[test]
fn a_balanced_rerun_passes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cand = base();
    for i in 0..40 {
        cand[i * 40] = !cand[i * 40];
        cand[i * 40 + 3] = !cand[i * 40 + 3];
    }
    let a = run(dir.path(), "a", &base(), "s");
    let b = run(dir.path(), "b", &cand, "s");
    let r = gate(&a, &b, &Policy::default());
    assert!(!r.failed(), "{}", r.render_text());
    assert!(check(&r, "top1").message.contains("fixed 40, broken 40"));
}

#[test]
fn different_lists_fall_back_to_the_unpaired_rule_naming_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", &base(), &"a".repeat(64));
    let b = run(dir.path(), "b", &base(), &"b".repeat(64));
    let r = gate(&a, &b, &Policy::default());
    let c = check(&r, "top1");
    assert_eq!(c.verdict, Verdict::Pass);
    assert!(
        c.message
            .contains("unpaired test (not paired: the runs scored different dataset lists")
            && c.message.contains(&"a".repeat(64))
            && c.message.contains(&"b".repeat(64)),
        "{}",
        c.message
    );
}

#[test]
fn a_missing_predictions_file_is_a_reason_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", &base(), "s");
    let b = run(dir.path(), "b", &base(), "s");
    std::fs::remove_file(dir.path().join("b.jsonl")).unwrap();
    let pairing = pair(&a, &b, &Policy::default());
    match pairing.get("k400/x3d_xs") {
        Some(Pairing::Unpaired { reason }) => {
            assert!(
                reason.contains("the candidate") && reason.contains("b.jsonl"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}
