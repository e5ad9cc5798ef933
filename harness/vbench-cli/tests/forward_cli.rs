//! `vbench forward` runs one model on a safetensors input and writes `logits` (the raw head
//! output) and `scores` (after the protocol's activation), equal to the library's own forward on
//! the same weights, with the format marker `vbench-forward/2` in the file's metadata, readable by
//! Python's `safetensors`; bad input exits 2.

use std::process::Command;
use tch::{nn::VarStore, Device, Kind, Tensor};
use vbench_models::ModelInput;
use vbench_suite::Activation;

/// The project venv's Python (the repository is two levels above this crate).
fn vbench_cli_venv_python() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
}

fn vbench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vbench"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn forward_writes_logits_and_scores_equal_to_the_library_forward() {
    let dir = tempfile::tempdir().unwrap();
    let (weights, input, output) = (
        dir.path().join("w.safetensors"),
        dir.path().join("in.safetensors"),
        dir.path().join("out.safetensors"),
    );
    tch::manual_seed(7);
    let vs = VarStore::new(Device::Cpu);
    let model = vbench_models::build(
        vbench_suite::Arch::X3dXs,
        400,
        Activation::Softmax,
        &vs.root(),
    )
    .unwrap();
    vs.save(&weights).unwrap();
    let x = Tensor::randn([2, 3, 4, 160, 160], (Kind::Float, Device::Cpu));
    Tensor::write_safetensors(&[("input", &x)], &input).unwrap();
    let expected = tch::no_grad(|| model.forward(&ModelInput::Single(x.shallow_clone()))).unwrap();

    let o = vbench(&[
        "forward",
        "--entry",
        "k400/x3d_xs",
        "--weights",
        weights.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(&output)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(got.len(), 2, "only `logits` and `scores`");
    assert_eq!(got["logits"].size(), vec![2, 400]);
    let d = (&got["logits"] - &expected.pre_activation)
        .abs()
        .max()
        .double_value(&[]);
    let s = (&got["scores"] - &expected.scores)
        .abs()
        .max()
        .double_value(&[]);
    assert!(d == 0.0 && s == 0.0, "logits Δ {d}, scores Δ {s}");
    // X3D at 160 (its train crop) has one head position: scores are softmax(logits).
    let soft = (got["logits"].softmax(1, Kind::Float) - &got["scores"])
        .abs()
        .max()
        .double_value(&[]);
    assert!(soft < 1e-6, "{soft}");
    // The metadata, as Python's safetensors reads it.
    let py = Command::new(vbench_cli_venv_python())
        .args([
            "-c",
            "import json,sys; from safetensors import safe_open; \
             f = safe_open(sys.argv[1], 'pt'); print(json.dumps(f.metadata()))",
            output.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(meta["format"], "vbench-forward/2");
    assert_eq!(meta["entry"], "k400/x3d_xs");
    assert_eq!(meta["activation"], "softmax");
    assert!(meta["logits"]
        .as_str()
        .unwrap()
        .contains("before the activation"));

    // A SlowFast input for a single-pathway model's file layout, and a missing key, exit 2 naming the file.
    Tensor::write_safetensors(&[("slow", &x)], &input).unwrap();
    let o = vbench(&[
        "forward",
        "--entry",
        "k400/x3d_xs",
        "--weights",
        weights.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("in.safetensors") && e.contains("`input`"), "{e}");
}
