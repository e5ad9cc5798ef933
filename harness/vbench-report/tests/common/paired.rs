//! Runs whose x3d accuracy is scored from constructed predictions files with known outcomes.

use std::path::{Path, PathBuf};
use vbench_report::pairing::{pair_runs, PairingSpec, RunAt, RunPairing};
use vbench_report::Policy;
use vbench_results::paired::synthetic::{write_synthetic, SyntheticRun};
use vbench_results::predictions::{score_file, Header};
use vbench_results::{Measure, Results};

pub const N: usize = 2000;
pub const CLASSES: usize = 10;

pub fn labels() -> Vec<i64> {
    (0..N).map(|i| (i % CLASSES) as i64).collect()
}

/// 75 % right: every fourth video wrong.
pub fn base() -> Vec<bool> {
    (0..N).map(|i| i % 4 != 3).collect()
}

/// The fixture with its x3d entry's accuracy scored from a predictions file written to
/// `dir/<name>.jsonl`; the results "lie" at `dir/<name>.json`.
pub fn run(dir: &Path, name: &str, correct: &[bool], sha: &str) -> (Results, PathBuf) {
    let pred = dir.join(format!("{name}.jsonl"));
    write_synthetic(
        &pred,
        &SyntheticRun {
            num_classes: CLASSES,
            labels: &labels(),
            correct,
            failed: &[],
            dataset_sha256: sha,
            entry: "k400/x3d_xs",
            task: "classification",
        },
    )
    .unwrap();
    let mut r = super::fixture();
    r.entries[0].accuracy = Measure::Measured {
        value: score_file(&pred, None).unwrap().accuracy,
    };
    (r, dir.join(format!("{name}.json")))
}

pub fn at(r: &(Results, PathBuf)) -> RunAt<'_> {
    RunAt {
        results: &r.0,
        path: &r.1,
    }
}

/// Pairs two runs under `policy`, class names `action <i>`.
pub fn pair(a: &(Results, PathBuf), b: &(Results, PathBuf), policy: &Policy) -> RunPairing {
    let names = |h: &Header| Some((0..h.num_classes).map(|c| format!("action {c}")).collect());
    let spec = PairingSpec {
        metrics: policy.accuracy.judged(),
        bootstrap: policy.accuracy.bootstrap(),
        class_names: &names,
    };
    pair_runs(at(a), at(b), &spec)
}
