//! `vbench compare` and `vbench gate` as CI meets them: exit 0 on a pass, 1 on a failed check
//! (every reason printed), 2 on bad input naming the file and key; JUnit XML written. Runs the
//! `vbench` binary that Cargo built for this package's tests.

use vbench_testkit::fixtures as common;

use std::path::{Path, PathBuf};
use vbench_results::{save_results, Measure};
use vbench_testkit::{text, vbench};

fn write_runs(dir: &Path) -> (String, String, String) {
    let a = common::fixture();
    let mut b = common::fixture();
    if let Measure::Measured { value } = &mut b.entries[0].params {
        value.count += 1;
    }
    let mut rng = common::Rng(99);
    b.entries[0].latency[0] = Measure::Measured {
        value: common::latency(rng.lognormal(25, 30.0, 0.07), "cpu"),
    };
    let mut slow_a = common::fixture();
    slow_a.entries[0].latency[0] = Measure::Measured {
        value: common::latency(rng.lognormal(25, 20.0, 0.07), "cpu"),
    };
    let paths = ["A.json", "B.json", "A2.json"].map(|n| dir.join(n));
    save_results(&paths[0], &a).unwrap();
    save_results(&paths[1], &b).unwrap();
    save_results(&paths[2], &slow_a).unwrap();
    let s = |p: &PathBuf| p.display().to_string();
    (s(&paths[0]), s(&paths[1]), s(&paths[2]))
}

#[test]
fn gate_exit_codes_reasons_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, a2) = write_runs(dir.path());
    let o = vbench(&["gate", "--baseline", &a, "--candidate", &a]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let junit = dir.path().join("gate.xml");
    let o = vbench(&[
        "gate",
        "--baseline",
        &a2,
        "--candidate",
        &b,
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("FAIL k400/x3d_xs params: changed: 3,794,322 → 3,794,323 (+1)"),
        "{out}"
    );
    assert!(
        out.contains("FAIL k400/x3d_xs latency[cpu, 4 threads, batch 1, fp32]: slower"),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure") && xml.contains("name=\"params\""));

    let o = vbench(&["gate", "--against", "published", "--candidate", &a]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the fixture's unexplained GFLOPs fail: {}",
        text(&o)
    );
    assert!(text(&o).contains("FAIL k400/slowfast_16x8_r101_50_50 gflops"));

    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[published]\nunexplained = \"warn\"\n").unwrap();
    let o = vbench(&[
        "gate",
        "--against",
        "published",
        "--candidate",
        &a,
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = vbench(&["gate", "--print-policy"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).contains("min_ratio = 1.10"));
}

#[test]
fn bad_input_exits_2_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _, _) = write_runs(dir.path());
    let policy = dir.path().join("typo.toml");
    std::fs::write(&policy, "[latency]\nalfa = 0.05\n").unwrap();
    let o = vbench(&[
        "gate",
        "--baseline",
        &a,
        "--candidate",
        &a,
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("typo.toml") && text(&o).contains("alfa"),
        "{}",
        text(&o)
    );

    let bad = dir.path().join("bad.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&a).unwrap()).unwrap();
    v["entries"][0]["params"]["value"]["count"] = serde_json::json!("many");
    std::fs::write(&bad, v.to_string()).unwrap();
    let o = vbench(&[
        "gate",
        "--baseline",
        &a,
        "--candidate",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("bad.json") && text(&o).contains("entries[0].params"),
        "{}",
        text(&o)
    );
    let o = vbench(&[
        "compare",
        &a,
        dir.path().join("missing.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("missing.json"));
}

#[test]
fn compare_lists_deltas_and_one_sided_entries() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, _) = write_runs(dir.path());
    let mut only = common::fixture();
    only.entries.remove(2);
    let only_path = dir.path().join("C.json");
    save_results(&only_path, &only).unwrap();
    let o = vbench(&["compare", &a, &b]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("params") && t.contains("+1") && t.contains("changed"),
        "{t}"
    );
    assert!(
        t.contains("latency p50 ms [cpu, 4 threads, batch 1, fp32]") && t.contains("×1."),
        "{t}"
    );
    let o = vbench(&[
        "compare",
        &a,
        only_path.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert!(
        text(&o).contains("- only in") && text(&o).contains("k400/mvit_base_16x4"),
        "{}",
        text(&o)
    );
    let html = dir.path().join("cmp.html");
    let o = vbench(&[
        "compare",
        &a,
        &b,
        "--format",
        "html",
        "--output",
        html.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("<table id=\"compare\">"));
}
