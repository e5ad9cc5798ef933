//! Cheap structural tests: every entry builds, names its keys like PyTorchVideo, and runs a
//! batch-0 clip (the FLOPs pass's shape trick) with every op recorded. Numerical parity against
//! PyTorchVideo is the root package's `tests/parity_cnn.rs` and `tests/parity_mvit_ava_efficient_x3d.rs`.

use std::collections::HashMap;

use tch::{nn, Device, Kind, Tensor};
use vbench_suite::{Activation, Arch};

use crate::op_record::{record_ops, OpKind};
use crate::{build, zoo_config, ModelError, ModelInput};

/// (slow or single frames, α) of each entry's protocol.
fn frames(arch: Arch) -> (i64, Option<i64>) {
    match arch {
        Arch::SlowR50_4x16 | Arch::X3dXs | Arch::SlowR50Detection | Arch::EfficientX3dXs => {
            (4, None)
        }
        Arch::SlowfastR50 | Arch::SlowfastR101 | Arch::SlowfastR50Detection => (8, Some(4)),
        Arch::MvitBase16x4 => (16, None),
        Arch::MvitBase32x3 => (32, None),
        Arch::EfficientX3dS => (13, None),
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
    // Every architecture a suite can name is built.
    for arch in Arch::ALL {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = build(arch, 174, Activation::Softmax, &vs.root()).expect("builds");
        let keys = shapes(&vs);
        let (t, alpha) = frames(arch);
        let crop = match arch {
            Arch::X3dXs | Arch::X3dS => 182,
            Arch::X3dL => 356,
            Arch::MvitBase16x4 | Arch::MvitBase32x3 => 224,
            Arch::EfficientX3dXs | Arch::EfficientX3dS => 160,
            _ => 256,
        };
        let (out, ops) = record_ops(|| model.forward(&clip(0, t, crop, alpha)));
        let out = out.unwrap_or_else(|e| panic!("{arch}: batch-0 forward: {e}"));
        assert_eq!(out.scores.size(), [0, 174], "{arch}");
        assert_eq!(out.pre_activation.size(), [0, 174], "{arch}");

        // Every parameterised op names a module whose weight is in the state dict, with the
        // shape the recorder saw, and every conv / BN / linear / layer norm of the model ran once.
        let mut seen = 0;
        for op in &ops {
            if op.op == OpKind::Matmul {
                continue; // its "weight" is the attention's other operand
            }
            if let Some(w) = &op.weight_shape {
                let key = format!("{}.weight", op.path);
                let mut w = w.clone();
                if op.path.contains(".attn.pool_") {
                    // MViT's per-head pool conv, recorded over all heads (`heads` × its weight).
                    let per_head = keys[&key][0];
                    assert!(w[0] % per_head == 0 && op.groups == w[0], "{arch}: {key}");
                    w[0] = per_head;
                }
                assert_eq!(keys.get(&key), Some(&w), "{arch}: {key}");
                assert_eq!(op.input_shape[0], 0, "{arch}: {}", op.path);
                seen += 1;
            }
        }
        let weights = keys.keys().filter(|k| k.ends_with(".weight")).count();
        assert_eq!(
            seen, weights,
            "{arch}: recorded parameterised ops vs weights"
        );
        let last = ops.last().expect("ops recorded").op;
        // Heads that end on their activation (the requested softmax here).
        let want = match arch {
            Arch::MvitBase16x4
            | Arch::MvitBase32x3
            | Arch::SlowR50Detection
            | Arch::SlowfastR50Detection
            | Arch::EfficientX3dXs
            | Arch::EfficientX3dS => OpKind::Softmax,
            _ => OpKind::AdaptiveAvgPool,
        };
        assert_eq!(last, want, "{arch}: last op");
        if arch == Arch::MvitBase16x4 {
            // Two attention matmuls per block, and every layer norm (16 × 2 + 3 × 3 q pools +
            // 16 × 2 k/v pools + the final one).
            let count = |k: OpKind| ops.iter().filter(|o| o.op == k).count();
            assert_eq!(count(OpKind::Matmul), 32);
            assert_eq!(count(OpKind::LayerNorm), 32 + 3 + 32 + 1);
        }
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
fn bad_configs_and_inputs_are_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
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

/// Random weights everywhere (BN statistics included), so no branch is a no-op.
fn randomise(vs: &nn::VarStore) {
    tch::manual_seed(7);
    tch::no_grad(|| {
        for (k, mut v) in vs.variables() {
            if v.kind() != Kind::Float {
                continue;
            }
            let r = Tensor::rand(v.size(), (Kind::Float, Device::Cpu));
            let value = if k.ends_with("running_var") || k.ends_with("bn.weight") {
                r * 0.5 + 0.75
            } else {
                (r - 0.5) * 0.2
            };
            v.copy_(&value);
        }
    });
}

#[test]
fn new_families_name_their_keys_like_pytorchvideo() {
    let vs = nn::VarStore::new(Device::Cpu);
    build(Arch::MvitBase16x4, 400, Activation::Softmax, &vs.root()).expect("builds");
    let k = shapes(&vs);
    assert_eq!(k["patch_embed.patch_model.weight"], [96, 3, 3, 7, 7]);
    assert_eq!(
        k["cls_positional_encoding.pos_embed_spatial"],
        [1, 3136, 96]
    );
    assert_eq!(k["cls_positional_encoding.pos_embed_temporal"], [1, 8, 96]);
    assert_eq!(k["blocks.1.attn.pool_q.weight"], [96, 1, 3, 3, 3]);
    assert!(!k.contains_key("blocks.2.attn.pool_q.weight"));
    assert_eq!(k["blocks.2.proj.weight"], [384, 192]);
    assert_eq!(k["blocks.15.mlp.fc2.weight"], [768, 3072]);
    assert_eq!(k["head.proj.weight"], [400, 768]);
    assert_eq!(k.len(), 377);

    let vs = nn::VarStore::new(Device::Cpu);
    build(
        Arch::SlowfastR50Detection,
        80,
        Activation::Sigmoid,
        &vs.root(),
    )
    .expect("builds");
    let k = shapes(&vs);
    assert_eq!(k["detection_head.proj.weight"], [80, 2304]);
    assert_eq!(
        k["model.blocks.4.multipathway_blocks.0.res_blocks.0.branch2.conv_b.weight"],
        [512, 512, 1, 3, 3]
    );
    assert_eq!(k.len(), 662);

    let vs = nn::VarStore::new(Device::Cpu);
    build(Arch::EfficientX3dS, 400, Activation::Softmax, &vs.root()).expect("builds");
    let k = shapes(&vs);
    assert_eq!(
        k["s1.pathway0_stem_conv_xy.kernel.conv.weight"],
        [24, 3, 1, 3, 3]
    );
    assert_eq!(
        k["s1.pathway0_stem_conv.kernel.conv.weight"],
        [24, 1, 5, 1, 1]
    );
    assert!(k.contains_key("s2.pathway0_res0._res_proj.kernel.bn.running_var"));
    assert_eq!(
        k["s5.pathway0_res2.layers.se.se.block.0.weight"],
        [32, 432, 1, 1, 1]
    );
    assert_eq!(k["head.lin_5.kernel.conv.weight"], [2048, 432, 1, 1, 1]);
    assert_eq!(k["projection.model.weight"], [400, 2048]);
    assert_eq!(k.len(), 568);
}

#[test]
fn deploy_form_equals_the_original_and_runs_any_size() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build(Arch::EfficientX3dXs, 400, Activation::Softmax, &vs.root()).expect("builds");
    assert!(
        build(Arch::X3dXs, 400, Activation::Softmax, &vs.root().sub("x"))
            .expect("builds")
            .deploy_form()
            .expect("no error")
            .is_none()
    );
    randomise(&vs);
    let deploy = model.deploy_form().expect("converts").expect("has one");
    // 182 is not divisible by 32 (PyTorchVideo's converted model refuses it); T = 1 and 3 leave
    // the outer temporal taps with only padding to meet.
    for (t, h, w) in [(4, 96, 128), (3, 70, 64), (1, 64, 64)] {
        let x = ModelInput::Single(Tensor::randn([2, 3, t, h, w], (Kind::Float, Device::Cpu)));
        let (a, b) = (
            model.forward(&x).expect("original"),
            deploy.forward(&x).expect("deploy"),
        );
        let rel = |p: &Tensor, q: &Tensor| {
            let d = (p - q).abs().max().double_value(&[]);
            d / q.abs().max().double_value(&[])
        };
        assert!(
            rel(&b.pre_activation, &a.pre_activation) < 1e-4,
            "{t}x{h}x{w}"
        );
        assert!(rel(&b.scores, &a.scores) < 1e-4, "{t}x{h}x{w}");
    }
    let (out, ops) = record_ops(|| deploy.forward(&clip(0, 4, 160, None)));
    assert_eq!(out.expect("batch 0").scores.size(), [0, 400]);
    assert!(ops
        .iter()
        .all(|o| o.input_shape[0] == 0 || o.op == OpKind::Linear));
}

#[test]
fn detectors_take_boxes_and_refuse_bad_ones() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build(Arch::SlowR50Detection, 80, Activation::Sigmoid, &vs.root()).expect("builds");
    randomise(&vs);
    let x = clip(2, 4, 64, None);
    let boxes = Tensor::from_slice(&[
        0f32, 4., 8., 40., 60., 1., -10., -5., 30., 70., 1., 50., 50., 40., 40.,
    ])
    .view([3, 5]);
    let out = model.forward_boxes(&x, &boxes).expect("runs");
    assert_eq!(out.scores.size(), [3, 80]);
    assert!(out
        .scores
        .allclose(&out.pre_activation.sigmoid(), 1e-6, 1e-6, false));
    // Without boxes: one whole-frame box per clip.
    let whole = Tensor::from_slice(&[0f32, 0., 0., 64., 64., 1., 0., 0., 64., 64.]).view([2, 5]);
    let a = model.forward(&x).expect("runs").scores;
    let b = model.forward_boxes(&x, &whole).expect("runs").scores;
    assert!(a.allclose(&b, 0.0, 0.0, false));
    for rows in [
        [0f32, f32::NAN, 0., 1., 1.],
        [2., 0., 0., 8., 8.],
        [0., 0., 0., f32::INFINITY, 8.],
    ] {
        let err = model
            .forward_boxes(&x, &Tensor::from_slice(&rows).view([1, 5]))
            .err();
        assert!(
            matches!(err, Some(ModelError::BadInput { .. })),
            "{rows:?}: {err:?}"
        );
    }
    // 8 frames pool to 5 with the (4,1,1) head pool: PyTorchVideo raises, so do we.
    let err = model
        .forward(&clip(1, 8, 64, None))
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("Temporal dimension")));
    let classifier =
        build(Arch::SlowR50, 400, Activation::Softmax, &vs.root().sub("c")).expect("builds");
    assert!(classifier.forward_boxes(&x, &whole).is_err());

    let mvit = build(
        Arch::MvitBase16x4,
        400,
        Activation::Softmax,
        &vs.root().sub("m"),
    )
    .expect("builds");
    let err = mvit
        .forward(&clip(0, 16, 192, None))
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("16 frames of 224x224")));
}
