//! Zoo architectures under the CPU variants, on random weights and a small input: the variant
//! runs, its outputs are float32 and near fp32's. folded-bn on every architecture: no BatchNorm
//! is left in any CNN (MViT has none: "not applicable"); the precision and layout variants on
//! one architecture of each family. Parity with PyTorch eager on real views is the
//! root package's `tests/variants_oracle.rs`.

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use vbench_suite::{all_suites, Activation, Arch, Protocol, Variant};

use super::{apply, check_device, VariantError};
use crate::op_record::{record_ops, OpKind};
use crate::{zoo_config, ModelConfig, ModelInput, VideoModel, ZooModel};

/// The first built-in entry's protocol for `arch`, at a small crop where the head allows one.
fn protocol(arch: Arch) -> Protocol {
    let plans = all_suites().unwrap();
    let e = plans
        .iter()
        .flat_map(|p| &p.entries)
        .find(|e| e.arch() == Some(arch))
        .unwrap_or_else(|| panic!("no entry for {arch}"));
    let mut p = e.protocol.clone();
    if !matches!(arch, Arch::MvitBase16x4 | Arch::MvitBase32x3) {
        // 64² leaves 2×2 positions after stride 32; detectors pool only in time.
        (p.crop, p.short_side) = (64, 64);
    }
    p.num_classes = 10;
    p.head_activation = Activation::Softmax;
    p
}

/// Head-output frames after the backbone's temporal strides.
fn head_frames(arch: Arch, frames: i64) -> i64 {
    frames
        / match arch {
            Arch::C2dR50 | Arch::I3dR50 => 2,
            Arch::CsnR101 => 8,
            Arch::R2plus1dR50 => 4,
            _ => 1,
        }
}

fn config(arch: Arch, p: &Protocol) -> ModelConfig {
    let mut cfg = zoo_config(arch, p.num_classes as i64, p.head_activation).unwrap();
    let t = head_frames(arch, p.frames as i64);
    let pools: Vec<[i64; 3]> = match (arch.is_detector(), p.alpha) {
        (true, _) => cfg.head_pool_kernel_sizes().unwrap(),
        (false, Some(a)) => vec![[t, 1, 1], [t * a as i64, 1, 1]],
        (false, None) if cfg.head_pool_kernel_sizes().unwrap().is_empty() => vec![],
        (false, None) => vec![[t, 1, 1]],
    };
    cfg.set_head_pool_kernel_sizes(&pools).unwrap();
    cfg
}

/// Seeded random weights: weights of rank ≥ 2 normal with std 1/√fan-in, 1-D weights (BN, layer
/// norm) in [0.5, 1.5] (a residual branch's last BN in [0.1, 0.4], as PyTorchVideo means it to
/// stay small), running variances in [0.5, 1.5], the rest in [−0.2, 0.2].
fn randomise(vs: &VarStore) {
    tch::manual_seed(7);
    let mut names: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (name, mut t) in names {
            if !t.is_floating_point() {
                continue;
            }
            let u = |lo: f64, hi: f64| t.rand_like() * (hi - lo) + lo;
            let v = if t.dim() >= 2 {
                let fan_in = (t.numel() / t.size()[0] as usize).max(1) as f64;
                t.randn_like() / fan_in.sqrt()
            } else if name.ends_with("running_var") {
                u(0.5, 1.5)
            } else if name.ends_with("norm_c.weight") {
                u(0.1, 0.4)
            } else if name.ends_with(".weight") {
                u(0.5, 1.5)
            } else {
                u(-0.2, 0.2)
            };
            t.copy_(&v);
        }
    });
}

fn input(p: &Protocol) -> ModelInput {
    tch::manual_seed(11);
    let (t, s) = (p.frames as i64, p.crop as i64);
    let opts = (Kind::Float, Device::Cpu);
    match p.alpha {
        Some(a) => ModelInput::SlowFast {
            slow: Tensor::randn([1, 3, t, s, s], opts),
            fast: Tensor::randn([1, 3, t * a as i64, s, s], opts),
        },
        None => ModelInput::Single(Tensor::randn([1, 3, t, s, s], opts)),
    }
}

fn rel(a: &Tensor, b: &Tensor) -> f64 {
    let d = (a - b).abs().max().double_value(&[]);
    d / b.abs().max().double_value(&[]).max(1e-12)
}

/// The model of `arch`, as the model seam makes it, with the reference weights copied in.
fn model(arch: Arch, p: &Protocol, reference: &VarStore) -> Box<dyn VideoModel> {
    let mut m = ZooModel::from_config(arch, &config(arch, p), Device::Cpu).unwrap();
    m.var_store_mut().copy(reference).unwrap();
    Box::new(m)
}

fn check_arch(arch: Arch, all: bool) {
    let p = protocol(arch);
    let reference = VarStore::new(Device::Cpu);
    let fp32 = config(arch, &p).build(arch, &reference.root()).unwrap();
    randomise(&reference);
    let x = input(&p);
    let want = fp32.forward(&x).unwrap().pre_activation;
    let has_bn = reference
        .variables()
        .keys()
        .any(|k| k.ends_with("running_var"));
    let variants: &[Variant] = match all {
        true => &[
            Variant::Bf16,
            Variant::Bf16Cast,
            Variant::ChannelsLast,
            Variant::FoldedBn,
        ],
        false => &[Variant::FoldedBn],
    };
    for &v in variants {
        let m = model(arch, &p, &reference);
        let applied = apply(v, m, &p);
        if v == Variant::FoldedBn && !has_bn {
            let err = applied.err().expect("folded-bn without BatchNorm");
            assert!(
                matches!(&err, VariantError::NotApplicable { .. })
                    && err.to_string().contains("no BatchNorm"),
                "{arch}: {err}"
            );
            continue;
        }
        let (m, applied) = applied.unwrap_or_else(|e| panic!("{arch} {v}: {e}"));
        let (out, ops) = record_ops(|| m.forward(&x));
        let got = out
            .unwrap_or_else(|e| panic!("{arch} {v}: {e}"))
            .pre_activation;
        assert_eq!(got.kind(), Kind::Float, "{arch} {v}");
        let d = rel(&got, &want);
        // bf16 keeps 8 mantissa bits: a few 1e-3 over a deep net; exact rewrites stay at 1e-6.
        let bound = match v {
            Variant::Bf16 | Variant::Bf16Cast => 0.1,
            _ => 1e-4,
        };
        assert!(
            d < bound && d.is_finite(),
            "{arch} {v}: {d:e} ({})",
            applied.detail
        );
        if v == Variant::FoldedBn {
            let f = applied.fold.unwrap();
            assert!(f.unfolded.is_empty(), "{arch}: {:?}", f.unfolded);
            assert!(
                !ops.iter().any(|o| o.op == OpKind::BatchNorm),
                "{arch}: a BatchNorm still runs"
            );
        }
        if v == Variant::Bf16Cast {
            assert!(
                applied
                    .fp32_ops
                    .iter()
                    .all(|o| o.starts_with("avg_pool3d at ")),
                "{arch}: {:?}",
                applied.fp32_ops
            );
        }
    }
}

macro_rules! every_arch {
    ($($name:ident: $arch:expr, $all:expr;)*) => {$(
        #[test]
        fn $name() {
            check_arch($arch, $all);
        }
    )*};
}

every_arch! {
    folded_bn_of_c2d_r50: Arch::C2dR50, false;
    folded_bn_of_i3d_r50: Arch::I3dR50, false;
    variants_of_slow_r50: Arch::SlowR50, true;
    folded_bn_of_slow_r50_4x16: Arch::SlowR50_4x16, false;
    variants_of_slowfast_r50: Arch::SlowfastR50, true;
    folded_bn_of_slowfast_r50_4x16: Arch::SlowfastR50_4x16, false;
    folded_bn_of_slowfast_r101: Arch::SlowfastR101, false;
    folded_bn_of_slowfast_16x8_r101_50_50: Arch::Slowfast16x8R101_50_50, false;
    variants_of_csn_r101: Arch::CsnR101, true;
    variants_of_r2plus1d_r50: Arch::R2plus1dR50, true;
    variants_of_x3d_xs: Arch::X3dXs, true;
    folded_bn_of_x3d_s: Arch::X3dS, false;
    folded_bn_of_x3d_m: Arch::X3dM, false;
    folded_bn_of_x3d_l: Arch::X3dL, false;
    variants_of_mvit_base_16x4: Arch::MvitBase16x4, true;
    variants_of_slow_r50_detection: Arch::SlowR50Detection, true;
    folded_bn_of_slowfast_r50_detection: Arch::SlowfastR50Detection, false;
    variants_of_efficient_x3d_xs: Arch::EfficientX3dXs, true;
    folded_bn_of_efficient_x3d_s: Arch::EfficientX3dS, false;
}

#[test]
fn fp32_returns_the_model_itself_and_int8_fp16_say_why_not() {
    let arch = Arch::X3dXs;
    let p = protocol(arch);
    let reference = VarStore::new(Device::Cpu);
    let m0 = config(arch, &p).build(arch, &reference.root()).unwrap();
    randomise(&reference);
    let x = input(&p);
    let want = m0.forward(&x).unwrap().pre_activation;
    let m = model(arch, &p, &reference);
    let (m, applied) = apply(Variant::Fp32, m, &p).unwrap();
    let got = m.forward(&x).unwrap().pre_activation;
    // Bit for bit: fp32 is no transformation at all.
    assert!(got.equal(&want));
    assert_eq!(applied.detail, "unchanged");
    let m = model(arch, &p, &reference);
    let err = apply(Variant::Int8, m, &p).err().unwrap().to_string();
    assert!(
        err.contains("int8") && err.contains("no quantized model"),
        "{err}"
    );
    let err = check_device(Variant::Fp16, Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fp16") && err.contains("CUDA only"), "{err}");
    let err = check_device(Variant::Bf16, Device::Cuda(0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bf16") && err.contains("cuda:0"), "{err}");
}

#[test]
fn channels_last_strides_are_those_of_to_memory_format() {
    let t = Tensor::randn([24, 1, 5, 1, 1], (Kind::Float, Device::Cpu));
    let cl = super::channels_last_3d(&t).unwrap();
    // torch.randn(24, 1, 5, 1, 1).to(memory_format=torch.channels_last_3d).stride()
    assert_eq!(cl.stride(), [5, 1, 1, 1, 1]);
    assert!(cl.equal(&t));
    let x = Tensor::randn([2, 3, 4, 6, 8], (Kind::Float, Device::Cpu));
    assert_eq!(
        super::channels_last_3d(&x).unwrap().stride(),
        [576, 1, 144, 24, 3]
    );
    assert!(super::channels_last_3d(&Tensor::zeros([2, 3], (Kind::Float, Device::Cpu))).is_err());
}
