//! `CpuAutocast` gives `torch.autocast("cpu", torch.bfloat16)`: a conv3d / batch_norm /
//! avg_pool3d / linear network built from tch ops, and the same network traced and run by the
//! shim, give outputs bit-identical to PyTorch eager under autocast (same weights and input,
//! one thread: `tests/oracles/torchext_autocast.py`). Without the guard the same tch code gives
//! fp32, so the comparison can fail.

mod common;

use std::collections::HashMap;

use common::{oracle_files, rel_max_diff, tensors};
use tch::{Device, Kind, Tensor};
use vbench_torch_ext::{CpuAutocast, ModuleInput, TsModule};

/// The oracle's `Net` in tch ops, as PyTorch's modules call them.
fn net(w: &HashMap<String, Tensor>, x: &Tensor) -> Tensor {
    let x = x.conv3d(
        &w["conv1.weight"],
        Some(&w["conv1.bias"]),
        [1; 3],
        [1; 3],
        [1; 3],
        1,
    );
    let x = Tensor::batch_norm(
        &x,
        Some(&w["bn.weight"]),
        Some(&w["bn.bias"]),
        Some(&w["bn.running_mean"]),
        Some(&w["bn.running_var"]),
        false,
        0.1,
        1e-5,
        true,
    );
    let x = x
        .relu()
        .avg_pool3d([2; 3], [2; 3], [0; 3], false, true, None::<i64>);
    let no_bias: Option<&Tensor> = None;
    let x = x.conv3d(&w["conv2.weight"], no_bias, [1; 3], [0, 1, 1], [1; 3], 1);
    let x = x
        .relu()
        .avg_pool3d([2; 3], [2; 3], [0; 3], false, true, None::<i64>);
    x.flatten(1, -1)
        .linear(&w["fc.weight"], Some(&w["fc.bias"]))
}

#[test]
fn bf16_autocast_matches_pytorch_eager_bit_for_bit() {
    tch::set_num_threads(1);
    let dir = oracle_files("torchext_autocast.py");
    let w = tensors(&dir.path().join("net.safetensors"));
    let x = &w["input"];
    let _no_grad = tch::no_grad_guard();

    let fp32 = net(&w, x);
    assert_eq!(fp32.kind(), Kind::Float);
    assert!(rel_max_diff(&fp32, &w["fp32"]) <= 1e-5);
    assert!(
        !fp32.equal(&w["bf16"].to_kind(Kind::Float)),
        "fp32 and bf16 must differ"
    );

    let module = TsModule::load(dir.path().join("net.pt"), Device::Cpu).unwrap();
    {
        let _bf16 = CpuAutocast::bf16().unwrap();
        assert!(CpuAutocast::is_enabled());
        let y = net(&w, x);
        assert_eq!(y.kind(), Kind::BFloat16);
        assert!(
            y.equal(&w["bf16"]),
            "tch under the guard != PyTorch eager under autocast"
        );
        let yt = module.forward(&ModuleInput::Single(x)).unwrap();
        assert!(
            yt.equal(&w["traced_bf16"]),
            "TorchScript under the guard != PyTorch"
        );
        assert!(yt.equal(&y));

        // The state is thread-local: another thread runs fp32.
        let w2: HashMap<String, Tensor> = w
            .iter()
            .map(|(k, v)| (k.clone(), v.shallow_clone()))
            .collect();
        let x2 = x.shallow_clone();
        let other = std::thread::spawn(move || {
            let _g = tch::no_grad_guard();
            (CpuAutocast::is_enabled(), net(&w2, &x2).kind())
        });
        assert_eq!(other.join().unwrap(), (false, Kind::Float));

        // Guards nest: leaving the inner one keeps the outer one on.
        drop(CpuAutocast::bf16().unwrap());
        assert!(CpuAutocast::is_enabled());
        assert_eq!(net(&w, x).kind(), Kind::BFloat16);
    }
    assert!(!CpuAutocast::is_enabled());
    assert!(net(&w, x).equal(&fp32), "leaving the guard restores fp32");
    assert!(CpuAutocast::new(Kind::Float).is_err());
}
