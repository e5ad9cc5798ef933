//! `vbench_models::roi_align` computes what `torchvision.ops.roi_align` computes.
//!
//! `tests/oracles/parity_issue4_roi.py` runs torchvision on box sets (inside, borders, partly and
//! fully outside, tiny / degenerate / inverted, 300 boxes over two clips) under several output
//! sizes, spatial scales, sampling ratios (fixed and adaptive) and both `aligned` modes, in f32 and
//! f64; each case is recomputed here. A few seconds.

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;
use tch::Tensor;
use vbench_models::roi_align::{roi_align, RoiAlignOpts};
use vbench_testkit::{repo_root, venv_python};

/// max |Δ| ≤ TOL · max(1, max |input|): the sums run in another order than torchvision's.
const TOL_F32: f64 = 2e-6;
const TOL_F64: f64 = 1e-12;

#[test]
fn roi_align_matches_torchvision() {
    let dir = tempfile::tempdir().expect("temp dir");
    let oracle = repo_root().join("tests/oracles/parity_issue4_roi.py");
    let status = Command::new(venv_python())
        .arg(&oracle)
        .arg(dir.path())
        .status()
        .unwrap_or_else(|e| panic!("{}: cannot run: {e}", oracle.display()));
    assert!(status.success(), "{} failed: {status}", oracle.display());

    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("roi.json")).expect("oracle wrote roi.json"),
    )
    .expect("roi.json is JSON");
    let path = dir.path().join("roi.safetensors");
    let io: HashMap<String, Tensor> = Tensor::read_safetensors(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .collect();
    let get = |k: &str| {
        io.get(k)
            .unwrap_or_else(|| panic!("{}: no `{k}`", path.display()))
            .shallow_clone()
    };

    let mut failures = Vec::new();
    let (mut worst_f32, mut worst_f64, mut boxes) = (0f64, 0f64, 0);
    for case in &cases {
        let id = case["id"].as_str().expect("case id");
        let size: Vec<i64> = serde_json::from_value(case["output_size"].clone()).expect("size");
        let opts = RoiAlignOpts {
            output_size: [size[0], size[1]],
            spatial_scale: case["spatial_scale"].as_f64().expect("scale"),
            sampling_ratio: case["sampling_ratio"].as_i64().expect("ratio"),
            aligned: case["aligned"].as_bool().expect("aligned"),
        };
        let (input, want) = (get(&format!("{id}.input")), get(&format!("{id}.output")));
        let b = get(&format!("{id}.boxes"));
        boxes += b.size()[0];
        let got = match roi_align(&input, &b, &opts) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{id}: {e}"));
                continue;
            }
        };
        if got.size() != want.size() || got.kind() != want.kind() {
            failures.push(format!(
                "{id}: {:?} {:?}, torchvision {:?} {:?}",
                got.size(),
                got.kind(),
                want.size(),
                want.kind()
            ));
            continue;
        }
        let diff = (&got - &want).abs().max().double_value(&[]);
        let scale = input.abs().max().double_value(&[]).max(1.0);
        let f64_case = id.contains("float64");
        let tol = if f64_case { TOL_F64 } else { TOL_F32 };
        if f64_case {
            worst_f64 = worst_f64.max(diff);
        } else {
            worst_f32 = worst_f32.max(diff);
        }
        // Not within tolerance, NaN included.
        if !matches!(
            diff.partial_cmp(&(tol * scale)),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        ) {
            failures.push(format!(
                "{id} ({opts:?}): max |Δ| {diff:.3e} > {:.1e}",
                tol * scale
            ));
        }
    }
    println!(
        "{} cases, {boxes} boxes: max |Δ| vs torchvision {worst_f32:.2e} (f32), {worst_f64:.2e} (f64)",
        cases.len()
    );
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
