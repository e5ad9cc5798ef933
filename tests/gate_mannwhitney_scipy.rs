//! The gate's Mann–Whitney U p-values equal scipy's `mannwhitneyu(b, a, alternative="greater")`
//! (method "auto": exact for small samples without ties, normal approximation with tie and continuity
//! correction otherwise). The oracle is `tests/oracles/report_mannwhitney.py` in the project venv.

use serde_json::{json, Value};
use vbench_report::stats::{mann_whitney_greater, Method};
use vbench_testkit::{repo_root, venv_python};

/// Deterministic pseudo-random latencies (SplitMix64), rounded so that some cases tie.
fn samples(seed: u64, n: usize, median: f64, round_to: f64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let u = ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64;
            let x = median * (0.85 + 0.3 * u);
            if round_to > 0.0 {
                (x / round_to).round() * round_to
            } else {
                x
            }
        })
        .collect()
}

#[test]
fn mann_whitney_matches_scipy() {
    // (n_a, n_b, median_a, median_b, rounding): exact small cases, ties, large asymptotic ones.
    let specs = [
        (3, 3, 10.0, 12.0, 0.0),
        (5, 7, 10.0, 10.5, 0.0),
        (8, 8, 10.0, 11.0, 0.0),
        (4, 30, 10.0, 10.2, 0.0),
        (6, 6, 10.0, 10.0, 1.0),
        (20, 20, 20.0, 21.0, 0.0),
        (25, 30, 20.0, 26.0, 0.0),
        (30, 30, 20.0, 20.0, 0.5),
        (12, 9, 5.0, 4.8, 0.0),
    ];
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for (i, &(na, nb, ma, mb, r)) in specs.iter().enumerate() {
        let (a, b) = (
            samples(11 + i as u64, na, ma, r),
            samples(101 + i as u64, nb, mb, r),
        );
        let m = mann_whitney_greater(&a, &b).unwrap();
        let method = match m.method {
            Method::Exact => "exact",
            Method::Asymptotic => "asymptotic",
        };
        cases.push(json!({"a": a, "b": b, "method": method}));
        cases.push(json!({"a": a, "b": b, "method": "auto"}));
        ours.push(m);
        ours.push(m);
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.json");
    std::fs::write(&input, serde_json::to_vec(&cases).unwrap()).unwrap();
    let out = std::process::Command::new(venv_python())
        .arg(repo_root().join("tests/oracles/report_mannwhitney.py"))
        .arg(&input)
        .output()
        .expect("the project venv's python (ci/setup.sh installs it)");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), ours.len());
    for (i, (m, t)) in ours.iter().zip(&theirs).enumerate() {
        let (u, p) = (t["u"].as_f64().unwrap(), t["p"].as_f64().unwrap());
        println!(
            "case {i}: ours U={} p={:.6e} ({:?}); scipy U={u} p={p:.6e}",
            m.u, m.p_value, m.method
        );
        assert_eq!(m.u, u, "case {i}: U");
        assert!(
            (m.p_value - p).abs() <= 1e-9 + 1e-7 * p,
            "case {i}: p {} vs scipy {p}",
            m.p_value
        );
    }
}
