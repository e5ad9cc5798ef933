//! Cheap structural tests: every entry builds, names its keys like PyTorchVideo, and runs a
//! batch-0 clip (the FLOPs pass's shape trick) with every op recorded. Numerical parity against
//! PyTorchVideo is the root package's `tests/issue_3_parity.rs`.

use std::collections::HashMap;

use tch::{nn, Device, Kind, Tensor};
use vbench_suite::{Activation, Arch};

use crate::flops::{record_ops, OpKind};
use crate::{build, zoo_config, ModelError, ModelInput};

const BUILT: [Arch; 14] = [
    Arch::C2dR50,
    Arch::I3dR50,
    Arch::SlowR50,
    Arch::SlowR50_4x16,
    Arch::SlowfastR50,
    Arch::SlowfastR50_4x16,
    Arch::SlowfastR101,
    Arch::Slowfast16x8R101_50_50,
    Arch::CsnR101,
    Arch::R2plus1dR50,
    Arch::X3dXs,
    Arch::X3dS,
    Arch::X3dM,
    Arch::X3dL,
];

/// (slow or single frames, α) of each entry's protocol.
fn frames(arch: Arch) -> (i64, Option<i64>) {
    match arch {
        Arch::SlowR50_4x16 | Arch::X3dXs => (4, None),
        Arch::SlowfastR50 | Arch::SlowfastR101 => (8, Some(4)),
        Arch::SlowfastR50_4x16 => (4, Some(8)),
        Arch::Slowfast16x8R101_50_50 => (16, Some(4)),
        Arch::CsnR101 => (32, None),
        Arch::R2plus1dR50 | Arch::X3dM | Arch::X3dL => (16, None),
        Arch::X3dS => (13, None),
        _ => (8, None),
    }
}

fn clip(batch: i64, t: i64, crop: i64, alpha: Option<i64>) -> ModelInput {
    let opts = (Kind::Float, Device::Cpu);
    match alpha {
        None => ModelInput::Single(Tensor::zeros([batch, 3, t, crop, crop], opts)),
        Some(a) => ModelInput::SlowFast {
            slow: Tensor::zeros([batch, 3, t, crop, crop], opts),
            fast: Tensor::zeros([batch, 3, t * a, crop, crop], opts),
        },
    }
}

fn shapes(vs: &nn::VarStore) -> HashMap<String, Vec<i64>> {
    vs.variables()
        .into_iter()
        .map(|(k, v)| (k, v.size()))
        .collect()
}

#[test]
fn every_entry_runs_an_empty_batch_and_records_its_ops() {
    for arch in BUILT {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = build(arch, 174, Activation::Softmax, &vs.root()).expect("builds");
        let keys = shapes(&vs);
        let (t, alpha) = frames(arch);
        let crop = match arch {
            Arch::X3dXs | Arch::X3dS => 182,
            Arch::X3dL => 356,
            _ => 256,
        };
        let (out, ops) = record_ops(|| model.forward(&clip(0, t, crop, alpha)));
        let out = out.unwrap_or_else(|e| panic!("{arch}: batch-0 forward: {e}"));
        assert_eq!(out.scores.size(), [0, 174], "{arch}");
        assert_eq!(out.pre_activation.size(), [0, 174], "{arch}");

        // Every parameterised op names a module whose weight is in the state dict, with the
        // shape the recorder saw, and every conv / BN / linear of the model ran once.
        let mut seen = 0;
        for op in &ops {
            if let Some(w) = &op.weight_shape {
                let key = format!("{}.weight", op.path);
                assert_eq!(keys.get(&key), Some(w), "{arch}: {key}");
                assert_eq!(op.input_shape[0], 0, "{arch}: {}", op.path);
                seen += 1;
            }
        }
        let weights = keys.keys().filter(|k| k.ends_with(".weight")).count();
        assert_eq!(
            seen, weights,
            "{arch}: recorded parameterised ops vs weights"
        );
        let last = ops.last().expect("ops recorded");
        assert_eq!(last.op, OpKind::AdaptiveAvgPool, "{arch}: output pool last");
        // Six BN keys per BN, always with num_batches_tracked as an int64 scalar.
        for (k, v) in vs.variables() {
            if k.ends_with("num_batches_tracked") {
                assert_eq!((v.kind(), v.dim()), (Kind::Int64, 0), "{k}");
            }
        }
    }
}

#[test]
fn keys_follow_pytorchvideo() {
    let vs = nn::VarStore::new(Device::Cpu);
    build(Arch::X3dXs, 400, Activation::Softmax, &vs.root()).expect("builds");
    let k = shapes(&vs);
    // The X3D stem's names lie: conv_t is spatial, conv_xy temporal depthwise.
    assert_eq!(k["blocks.0.conv.conv_t.weight"], [24, 3, 1, 3, 3]);
    assert_eq!(k["blocks.0.conv.conv_xy.weight"], [24, 1, 5, 1, 1]);
    assert_eq!(
        k["blocks.1.res_blocks.0.branch2.norm_b.1.block.0.weight"],
        [8, 54, 1, 1, 1]
    );
    assert!(!k.contains_key("blocks.1.res_blocks.1.branch2.norm_b.1.block.0.weight"));
    assert!(k.contains_key("blocks.1.res_blocks.0.branch1_conv.weight"));
    assert!(!k.contains_key("blocks.1.res_blocks.0.branch1_norm.weight"));
    assert!(k.contains_key("blocks.2.res_blocks.0.branch1_norm.weight"));
    assert_eq!(k["blocks.5.pool.post_conv.weight"], [2048, 432, 1, 1, 1]);
    assert_eq!(k["blocks.5.proj.weight"], [400, 2048]);

    let vs = nn::VarStore::new(Device::Cpu);
    build(Arch::C2dR50, 400, Activation::Softmax, &vs.root()).expect("builds");
    let k = shapes(&vs);
    // The res2 max-pool is blocks.2, which pushes res3..res5 and the head along.
    assert!(!k.keys().any(|k| k.starts_with("blocks.2.")));
    assert_eq!(k["blocks.6.proj.weight"], [400, 2048]);

    let vs = nn::VarStore::new(Device::Cpu);
    build(Arch::SlowfastR50_4x16, 157, Activation::Sigmoid, &vs.root()).expect("builds");
    let k = shapes(&vs);
    assert_eq!(
        k["blocks.0.multipathway_fusion.conv_fast_to_slow.weight"],
        [16, 8, 5, 1, 1]
    );
    assert_eq!(
        k["blocks.1.multipathway_blocks.0.res_blocks.0.branch2.conv_a.weight"],
        [64, 80, 1, 1, 1]
    );
    assert!(!k
        .keys()
        .any(|k| k.starts_with("blocks.4.multipathway_fusion")));
    assert_eq!(k["blocks.6.proj.weight"], [157, 2304]);

    let vs = nn::VarStore::new(Device::Cpu);
    build(Arch::R2plus1dR50, 400, Activation::Softmax, &vs.root()).expect("builds");
    let k = shapes(&vs);
    assert_eq!(
        k["blocks.1.res_blocks.0.branch2.conv_b.conv_t.weight"],
        [64, 64, 3, 1, 1]
    );
    assert_eq!(
        k["blocks.1.res_blocks.0.branch2.conv_b.conv_xy.weight"],
        [64, 64, 1, 3, 3]
    );
    assert!(k.contains_key("blocks.1.res_blocks.0.branch2.conv_b.norm.running_var"));
}

#[test]
fn unsupported_and_bad_inputs_are_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    for arch in [
        Arch::MvitBase16x4,
        Arch::SlowfastR50Detection,
        Arch::EfficientX3dXs,
    ] {
        let err = build(arch, 400, Activation::Softmax, &vs.root()).err();
        assert!(matches!(err, Some(ModelError::NotImplemented { arch: a }) if a == arch));
    }
    assert!(zoo_config(Arch::SlowR50, 0, Activation::Softmax).is_err());
    let mut cfg = zoo_config(Arch::X3dL, 400, Activation::Softmax).expect("config");
    assert_eq!(cfg.head_pool_kernel_sizes().ok(), Some(vec![[16, 10, 10]]));
    assert!(cfg
        .set_head_pool_kernel_sizes(&[[1, 1, 1], [1, 1, 1]])
        .is_err());
    assert!(cfg.set_head_pool_kernel_sizes(&[[0, 1, 1]]).is_err());
    let sf = zoo_config(Arch::SlowfastR50_4x16, 400, Activation::Softmax).expect("config");
    assert_eq!(
        sf.head_pool_kernel_sizes().ok(),
        Some(vec![[4, 7, 7], [32, 7, 7]])
    );

    let model = build(Arch::X3dXs, 400, Activation::Softmax, &vs.root()).expect("builds");
    let opts = (Kind::Float, Device::Cpu);
    let bad = [
        ModelInput::Single(Tensor::zeros([1, 3, 4, 64], opts)),
        ModelInput::Single(Tensor::zeros([1, 1, 4, 64, 64], opts)),
        ModelInput::Single(Tensor::zeros([1, 3, 4, 64, 64], (Kind::Uint8, Device::Cpu))),
        clip(1, 4, 64, Some(4)),
    ];
    for input in &bad {
        let err = model.forward(input).err();
        assert!(matches!(err, Some(ModelError::BadInput { .. })), "{err:?}");
    }
    // Smaller than the head pool: PyTorch refuses, and so do we, naming the pool.
    let err = model
        .forward(&clip(1, 4, 64, None))
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("blocks.5.pool.pool")));
}

#[test]
fn head_averages_positions_after_the_activation() {
    // A (1,1,1) pool over a [B, C, 1, 2, 2] map leaves 2x2 positions: the scores are the mean of
    // per-position softmaxes, the pre-activation the mean of per-position logits.
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root().sub("blocks").sub(6);
    let pool = crate::head::avg_head_pool(&p, [1, 1, 1]);
    let head = crate::head::create_res_basic_head(&p, pool, 8, 5, crate::layers::ActKind::Softmax)
        .expect("head");
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            v.copy_(&Tensor::randn(v.size(), (Kind::Float, Device::Cpu)));
        }
    });
    let x = Tensor::randn([2, 8, 1, 2, 2], (Kind::Float, Device::Cpu));
    let out = head.forward(&x).expect("runs");
    let vars = vs.variables();
    let (w, b) = (&vars["blocks.6.proj.weight"], &vars["blocks.6.proj.bias"]);
    let logits = x.permute([0, 2, 3, 4, 1]).linear(w, Some(b)); // [2, 1, 2, 2, 5]
    let want_scores =
        logits
            .softmax(-1, Kind::Float)
            .mean_dim(&[1i64, 2, 3][..], false, Kind::Float);
    let want_pre = logits.mean_dim(&[1i64, 2, 3][..], false, Kind::Float);
    assert!(out.scores.allclose(&want_scores, 1e-5, 1e-6, false));
    assert!(out.pre_activation.allclose(&want_pre, 1e-5, 1e-6, false));
    assert!(!want_pre
        .softmax(1, Kind::Float)
        .allclose(&want_scores, 1e-4, 1e-4, false));
}
