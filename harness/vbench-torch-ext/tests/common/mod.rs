//! Test support: the repository, the oracle venv, running an oracle script.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tch::Tensor;
use vbench_torch_ext::{Convention, OpCapture};

/// fvcore's multiply-add operators: what conv-linear keeps of its by_operator().
pub const MUL_ADD: [&str; 7] = ["conv", "linear", "addmm", "matmul", "mm", "bmm", "einsum"];

/// Asserts the capture's counts equal the oracle's fvcore counts `o` ({"eval", "train",
/// "unsupported"}) per operator, under every convention, and its uncounted ops equal fvcore's
/// unsupported ops (names and counts). Returns the totals for the test's log.
pub fn assert_counts_equal_fvcore(label: &str, cap: &OpCapture, o: &Value) -> Vec<String> {
    let eval = counts(&o["eval"]);
    let conv_linear: BTreeMap<String, u64> = eval
        .iter()
        .filter(|(k, _)| MUL_ADD.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let expected = [
        (Convention::Fvcore2021, counts(&o["train"])),
        (Convention::ConvLinear, conv_linear),
        (Convention::FvcoreEval, eval),
    ];
    let mut log = Vec::new();
    for (conv, want) in expected {
        let got = cap.flops(conv).unwrap();
        let ours: BTreeMap<String, u64> = got
            .by_operator
            .into_iter()
            .filter(|(_, v)| *v > 0)
            .collect();
        assert_eq!(ours, want, "{label}, {conv}: shim vs fvcore by operator");
        log.push(format!(
            "{label}, {conv}: shim {} = fvcore {}",
            got.total,
            want.values().sum::<u64>()
        ));
    }
    let uncounted = cap.flops(Convention::FvcoreEval).unwrap().uncounted;
    let unsupported: BTreeMap<String, usize> = counts(&o["unsupported"])
        .into_iter()
        .map(|(k, v)| (k, v as usize))
        .collect();
    assert_eq!(
        uncounted, unsupported,
        "{label}: uncounted vs fvcore's unsupported ops"
    );
    log.push(format!(
        "{label}: uncounted = fvcore's unsupported: {uncounted:?}"
    ));
    log
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project venv's Python (torch 2.13, torchvision, fvcore): the oracle.
pub fn venv_python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}

/// Runs `tests/oracles/<script>` with `args` and parses the JSON it prints.
pub fn oracle(script: &str, args: &[&str]) -> Value {
    let py = venv_python();
    let out = Command::new(&py)
        .arg(repo_root().join("tests/oracles").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (ci/setup.sh makes the venv): {e}",
                py.display()
            )
        });
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script}: bad JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A temp dir filled by `tests/oracles/<script> DIR` (which prints nothing needed).
pub fn oracle_files(script: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let py = venv_python();
    let out = Command::new(&py)
        .arg(repo_root().join("tests/oracles").join(script))
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (ci/setup.sh makes the venv): {e}",
                py.display()
            )
        });
    assert!(
        out.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

pub fn tensors(path: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .collect()
}

/// `{name: integer}` of a JSON object, zero entries dropped (fvcore lists handled ops at 0).
pub fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or_else(|| panic!("{k}: {n}"))))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// max |a - b| / max |b|, in f64.
pub fn rel_max_diff(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_kind(tch::Kind::Double);
    let b = b.to_kind(tch::Kind::Double);
    let diff = (&a - &b).abs().max().double_value(&[]);
    diff / b.abs().max().double_value(&[]).max(f64::MIN_POSITIVE)
}
