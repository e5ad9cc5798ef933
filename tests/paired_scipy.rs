//! The paired gate's statistics against scipy in the project venv (`tests/oracles/paired_scipy.py`):
//! McNemar's exact two-sided p-value equals `scipy.stats.binomtest(k, n, 0.5)` within 1e-9 over
//! every (k, n) up to n = 60 and a spread of k up to n = 20,000, tails included; Newcombe's paired
//! interval equals an independent Python implementation built on scipy's Wilson intervals.

use serde_json::{json, Value};
use vbench_results::paired::{binom_test_half, newcombe_ci95, PairedTable};
use vbench_testkit::{repo_root, venv_python};

fn binom_cases() -> Vec<(u64, u64)> {
    let mut cases: Vec<(u64, u64)> = (1..=60)
        .flat_map(|n| (0..=n).map(move |k| (k, n)))
        .collect();
    for n in [61u64, 100, 333, 1000, 1591, 5000, 12_345, 19_881, 20_000] {
        let sd = (n as f64).sqrt() / 2.0;
        let mid = n as f64 / 2.0;
        let mut ks: Vec<u64> = vec![0, 1, 2, n / 2, n / 2 + 1, n - 1, n];
        for z in [
            -40.0, -8.0, -5.0, -3.3, -2.6, -1.96, -1.5, -1.0, -0.4, -0.1, 0.3, 1.2, 2.1, 4.0,
        ] {
            ks.push((mid + z * sd).round().clamp(0.0, n as f64) as u64);
        }
        ks.sort_unstable();
        ks.dedup();
        cases.extend(ks.into_iter().map(|k| (k, n)));
    }
    cases
}

fn newcombe_cases() -> Vec<[u64; 4]> {
    vec![
        [14, 5, 0, 22], // Altman et al., Statistics with Confidence (2000), table 6.2
        [700, 20, 40, 240],
        [14_900, 795, 795, 3391],
        [14_900, 700, 890, 3391],
        [10, 0, 0, 0],
        [0, 3, 4, 0],
        [5, 0, 7, 9],
        [0, 0, 0, 12],
        [1, 1, 1, 1],
        [300, 2, 30, 1],
    ]
}

fn oracle(cases: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.json");
    std::fs::write(&input, serde_json::to_vec(cases).unwrap()).unwrap();
    let out = std::process::Command::new(venv_python())
        .arg(repo_root().join("tests/oracles/paired_scipy.py"))
        .arg(&input)
        .output()
        .expect("the project venv's python (ci/setup.sh installs it)");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn mcnemar_and_newcombe_match_scipy() {
    let binom = binom_cases();
    let tables = newcombe_cases();
    let theirs = oracle(&json!({"binom": binom, "newcombe": tables}));
    let mut max_diff: f64 = 0.0;
    for (i, &(k, n)) in binom.iter().enumerate() {
        let p = theirs["binom"][i].as_f64().unwrap();
        let ours = binom_test_half(k, n);
        let d = (ours - p).abs();
        max_diff = max_diff.max(d);
        assert!(d <= 1e-9, "k={k} n={n}: ours {ours:e}, scipy {p:e}");
        // Where the p-value is representable, it also agrees relatively.
        if p > 1e-250 {
            assert!(d <= 1e-8 * p, "k={k} n={n}: ours {ours:e}, scipy {p:e}");
        }
    }
    println!(
        "McNemar exact vs scipy.stats.binomtest: {} cases up to n = 20000, max |difference| = {max_diff:e}",
        binom.len()
    );
    for (i, t) in tables.iter().enumerate() {
        let table = PairedTable {
            both: t[0],
            fixed: t[1],
            broken: t[2],
            neither: t[3],
        };
        let (lo, hi) = newcombe_ci95(&table).unwrap();
        let (tlo, thi) = (
            theirs["newcombe"][i][0].as_f64().unwrap(),
            theirs["newcombe"][i][1].as_f64().unwrap(),
        );
        println!("Newcombe {t:?}: ours [{lo:.6}, {hi:.6}], oracle [{tlo:.6}, {thi:.6}]");
        assert!(
            (lo - tlo).abs() < 1e-12 && (hi - thi).abs() < 1e-12,
            "{t:?}: ours [{lo}, {hi}], oracle [{tlo}, {thi}]"
        );
    }
}
