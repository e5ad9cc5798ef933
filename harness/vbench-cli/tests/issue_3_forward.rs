//! Issue 3: `vbench forward` runs one model on a safetensors input and writes `logits` and
//! `pre_activation`, equal to the library's own forward on the same weights; bad input exits 2.

use std::process::Command;
use tch::{nn::VarStore, Device, Kind, Tensor};
use vbench_models::ModelInput;
use vbench_suite::Activation;

fn vbench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vbench"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn issue_3_forward_writes_logits_equal_to_the_library_forward() {
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
    assert_eq!(got["logits"].size(), vec![2, 400]);
    let d = (&got["logits"] - &expected.scores)
        .abs()
        .max()
        .double_value(&[]);
    let p = (&got["pre_activation"] - &expected.pre_activation)
        .abs()
        .max()
        .double_value(&[]);
    assert!(d == 0.0 && p == 0.0, "logits Δ {d}, pre-activation Δ {p}");

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
