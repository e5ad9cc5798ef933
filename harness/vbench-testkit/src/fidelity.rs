//! A variant's fidelity numbers checked against Python's recomputation from the two stored
//! predictions files (`tests/oracles/variants_fidelity.py`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::{repo_root, text, venv_python};

/// Python's fidelity from the two stored predictions files.
pub fn python_fidelity(fp32: &Path, variant: &Path) -> Value {
    let o = Command::new(venv_python())
        .arg(repo_root().join("tests/oracles/variants_fidelity.py"))
        .args([fp32, variant])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn close(a: &Value, b: &Value, what: &str) {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{what}: {x} {y}"),
        _ => assert_eq!(a, b, "{what}"),
    }
}

/// The fidelity `f` (paths relative to `dir`) equals Python's recomputation; returns Python's.
pub fn check_fidelity(dir: &Path, f: &Value) -> Value {
    let py = python_fidelity(
        &dir.join(f["fp32_predictions"].as_str().unwrap()),
        &dir.join(f["variant_predictions"].as_str().unwrap()),
    );
    for k in [
        "videos",
        "videos_agreeing",
        "views",
        "views_agreeing",
        "view_agreement",
        "video_agreement",
        "max_abs_prob_diff",
        "max_abs_logit_diff",
        "fp32_margin_median",
        "fp32_margin_min",
    ] {
        close(&f[k], &py[k], k);
    }
    let changed = f["changed_views"].as_array().unwrap();
    let py_changed = py["changed"].as_array().unwrap();
    assert_eq!(changed.len(), py_changed.len());
    for (a, b) in changed.iter().zip(py_changed) {
        for k in [
            "video",
            "clip",
            "crop",
            "fp32_top1",
            "variant_top1",
            "fp32_margin",
        ] {
            close(&a[k], &b[k], k);
        }
    }
    py
}
