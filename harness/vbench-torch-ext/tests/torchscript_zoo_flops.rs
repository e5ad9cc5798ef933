//! TorchScript strangers: torchvision's video models (random weights, BatchNorm randomised),
//! exported with `torch.jit.trace` at a protocol's input size, loaded and run by the shim.
//! For each: the forward equals the Python module's; the FLOPs counted from the ops the shim
//! captured equal fvcore's `FlopCountAnalysis` of the Python module, as integers per operator,
//! under fvcore-2021 (fvcore on the `train()` model), fvcore-eval (on the `eval()` model) and
//! conv-linear (fvcore's multiply-add operators only); the uncounted ops equal fvcore's
//! unsupported ops, names and counts; params equal `sum(p.numel())`.
//!
//! Sizes: r3d_18 and r2plus1d_18 at k400/x3d_xs's 4×182², s3d at k400/x3d_m's 16×256², mvit_v2_s
//! and swin3d_t at k400/mvit_base_16x4's 16×224² (mvit_v2_s accepts nothing else).

mod common;

use common::{assert_counts_equal_fvcore, oracle, rel_max_diff, tensors};
use tch::Device;
use vbench_torch_ext::{ModuleInput, ParamSource, TsModule};

fn check(name: &str, frames: u32, crop: u32, freeze: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (f, c) = (frames.to_string(), crop.to_string());
    let mut args = vec![dir.path().to_str().unwrap(), name, &f, &c];
    if freeze {
        args.push("--freeze");
    }
    let o = oracle("torchext_zoo.py", &args);
    let io = tensors(&dir.path().join("io.safetensors"));
    let x = &io["input"];
    let size = format!("{name} at {:?}", x.size());

    let m = TsModule::load(dir.path().join("model.pt"), Device::Cpu).unwrap();
    let input = ModuleInput::Single(x);
    let y = tch::no_grad(|| m.forward(&input)).unwrap();
    let d = rel_max_diff(&y, &io["output"]);
    assert!(
        d <= 1e-4,
        "{size}: forward differs from Python by {d:e} of max|y|"
    );
    let (y2, cap) = m.capture_ops(&input).unwrap();
    assert!(
        y2.equal(&y),
        "{size}: the captured forward differs from forward"
    );

    for line in assert_counts_equal_fvcore(&size, &cap, &o) {
        eprintln!("{line}");
    }

    let params = m.params().unwrap();
    assert_eq!(params.source, ParamSource::Parameters, "{size}");
    assert_eq!(Some(params.count), o["params"].as_i64(), "{size}: params");
    if freeze {
        let frozen = TsModule::load(dir.path().join("frozen.pt"), Device::Cpu).unwrap();
        let p = frozen.params().unwrap();
        assert_eq!(p.source, ParamSource::FrozenConstants, "{size}: frozen");
        assert_eq!(
            Some(p.count),
            o["frozen_constants"].as_i64(),
            "{size}: frozen constants"
        );
        eprintln!(
            "{size}: frozen constants {} (parameters {}: freeze folded the BatchNorms)",
            p.count, params.count
        );
        let yf = tch::no_grad(|| frozen.forward(&input)).unwrap();
        let d = rel_max_diff(&yf, &io["output"]);
        assert!(d <= 1e-4, "{size}: frozen forward differs by {d:e}");
    }
}

#[test]
fn r3d_18_flops_params_and_forward_equal_pytorch_and_fvcore() {
    check("r3d_18", 4, 182, true);
}

#[test]
fn r2plus1d_18_flops_params_and_forward_equal_pytorch_and_fvcore() {
    check("r2plus1d_18", 4, 182, false);
}

#[test]
fn s3d_flops_params_and_forward_equal_pytorch_and_fvcore() {
    check("s3d", 16, 256, false);
}

#[test]
fn mvit_v2_s_flops_params_and_forward_equal_pytorch_and_fvcore() {
    check("mvit_v2_s", 16, 224, false);
}

#[test]
fn swin3d_t_flops_params_and_forward_equal_pytorch_and_fvcore() {
    check("swin3d_t", 16, 224, false);
}
