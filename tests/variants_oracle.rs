//! Speed variants against PyTorch eager doing the same conversion on the same weights and views.
//!
//! The views are real: a video from `../shared/data/videos` through vbench's test pipeline. The
//! weights are random (every BN randomised) and written by the eager script
//! (`harness/vbench-eval/benches/variants_eager.py`, the one a user reruns side by side), which
//! also runs each variant of PyTorchVideo's model on the views, one view per forward. vbench loads
//! the same checkpoint strictly, applies each variant through `vbench_models::variant::apply` and
//! runs the same views one per forward.
//!
//! Tolerances, and why (`max|Δ|` of the logits, relative to the largest fp32 logit):
//! - fp32, channels-last, folded-bn, bf16: both sides run the same ATen kernels on the same
//!   layouts and dtypes (autocast through the shim's CPU guard; folded weights computed in
//!   `fuse_conv_bn_weights`' order), so the outputs are expected bit for bit; 1e-6 leaves room
//!   for a reduction order libtorch picks from the thread count alone.
//! - bf16-cast: the same, bit for bit expected as well, with the same 1e-6.
//!
//! Separately, each variant's distance from fp32 must be real (bf16: > 1e-4 relative, a rounding
//! to 8 mantissa bits) or tiny (folded-bn, channels-last: < 1e-4), so a variant that silently did
//! nothing, or did something else, fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use tch::{Device, Kind, Tensor};
use vbench_models::checkpoint::{load_strict, read_state_dict};
use vbench_models::variant::{self, Applied};
use vbench_models::{zoo_config, ModelInput, VideoModel, ZooModel};
use vbench_suite::{find_entry, Arch, Protocol, Variant};
use vbench_testkit::{repo_root, shared_dir, venv_python, OracleIo};

const VARIANTS: [Variant; 5] = [
    Variant::Fp32,
    Variant::Bf16,
    Variant::Bf16Cast,
    Variant::ChannelsLast,
    Variant::FoldedBn,
];

struct Case {
    entry: &'static str,
    /// (temporal clips, spatial crops) of the real video's views.
    views: (u32, u32),
    /// A smaller crop (short side = crop) with head pools that fit it, for the heavy models.
    small: Option<(u32, Vec<[i64; 3]>)>,
}

fn protocol(c: &Case) -> Protocol {
    let (plan, i) = find_entry(c.entry).unwrap();
    let mut p = plan.entries[i].protocol.clone();
    (p.temporal_clips, p.spatial_crops) = c.views;
    if let Some((crop, _)) = &c.small {
        p.crop = *crop;
        p.short_side = *crop;
    }
    p
}

fn arch(c: &Case) -> Arch {
    let (plan, i) = find_entry(c.entry).unwrap();
    plan.entries[i].arch().unwrap()
}

/// The real video's views, stacked per pathway, written for the oracle.
fn write_views(p: &Protocol, file: &Path) -> ModelInput {
    let video = shared_dir().join("data/videos/k400_demo.mp4");
    let views = vbench_data::views::extract_views(&video, p).unwrap();
    let stack = |k: usize| {
        let parts: Vec<&Tensor> = views.iter().map(|v| &v.pathways[k]).collect();
        Tensor::stack(&parts, 0)
    };
    let input = match p.alpha {
        Some(_) => ModelInput::SlowFast {
            slow: stack(0),
            fast: stack(1),
        },
        None => ModelInput::Single(stack(0)),
    };
    let named: Vec<(&str, Tensor)> = match &input {
        ModelInput::SlowFast { slow, fast } => {
            vec![
                ("slow", slow.shallow_clone()),
                ("fast", fast.shallow_clone()),
            ]
        }
        ModelInput::Single(x) => vec![("input", x.shallow_clone())],
    };
    Tensor::write_safetensors(&named, file).unwrap();
    input
}

fn run_oracle(c: &Case, dir: &Path) -> (PathBuf, OracleIo) {
    let weights = dir.join("w.pyth");
    let (views, out) = (dir.join("views.safetensors"), dir.join("out.safetensors"));
    let script = repo_root().join("harness/vbench-eval/benches/variants_eager.py");
    let names: Vec<&str> = VARIANTS.iter().map(|v| v.name()).collect();
    let mut cmd = Command::new(venv_python());
    cmd.arg(&script)
        .args(["--arch", arch(c).name(), "--variants", &names.join(",")])
        .arg("--export-weights")
        .arg(&weights)
        .arg("--views")
        .arg(&views)
        .arg("--outputs")
        .arg(&out)
        .env("OMP_NUM_THREADS", "2");
    if let Some((_, pools)) = &c.small {
        let spec: Vec<String> = pools
            .iter()
            .map(|k| format!("{},{},{}", k[0], k[1], k[2]))
            .collect();
        cmd.args(["--head-pools", &spec.join(";")]);
    }
    let st = cmd.status().unwrap();
    assert!(st.success(), "{}: {st}", script.display());
    (weights, OracleIo::read(&out))
}

/// vbench's model of `c` with the oracle's weights, run as `v`.
fn vbench_variant(c: &Case, weights: &Path, v: Variant) -> (Box<dyn VideoModel>, Applied) {
    let a = arch(c);
    let p = protocol(c);
    let mut cfg = zoo_config(a, p.num_classes as i64, p.head_activation).unwrap();
    if let Some((_, pools)) = &c.small {
        cfg.set_head_pool_kernel_sizes(pools).unwrap();
    }
    let mut model = ZooModel::from_config(a, &cfg, Device::Cpu).unwrap();
    load_strict(
        model.var_store_mut(),
        read_state_dict(weights).unwrap(),
        weights,
    )
    .unwrap();
    variant::apply(v, Box::new(model), &p).unwrap()
}

/// One view per forward, as the oracle ran them: `[views, classes]` logits.
fn logits(model: &dyn VideoModel, input: &ModelInput) -> Tensor {
    let n = match input {
        ModelInput::Single(x) | ModelInput::SlowFast { slow: x, .. } => x.size()[0],
    };
    let rows: Vec<Tensor> = (0..n)
        .map(|i| {
            let one = match input {
                ModelInput::Single(x) => ModelInput::Single(x.narrow(0, i, 1)),
                ModelInput::SlowFast { slow, fast } => ModelInput::SlowFast {
                    slow: slow.narrow(0, i, 1),
                    fast: fast.narrow(0, i, 1),
                },
            };
            let out = model.forward(&one).unwrap();
            assert_eq!(out.pre_activation.kind(), Kind::Float);
            out.pre_activation
        })
        .collect();
    Tensor::cat(&rows, 0)
}

fn max_abs(t: &Tensor) -> f64 {
    t.abs().max().double_value(&[])
}

fn check(c: Case) {
    tch::set_num_threads(2);
    let dir = tempfile::tempdir().unwrap();
    let p = protocol(&c);
    let input = write_views(&p, &dir.path().join("views.safetensors"));
    let (weights, oracle) = run_oracle(&c, dir.path());
    let fp32 = oracle.get("fp32.logits");
    let scale = max_abs(&fp32);
    assert!(
        scale > 0.5,
        "{}: logits too flat to compare ({scale})",
        c.entry
    );
    for v in VARIANTS {
        let (model, applied) = vbench_variant(&c, &weights, v);
        let ours = logits(model.as_ref(), &input);
        let theirs = oracle.get(&format!("{v}.logits"));
        let vs_oracle = max_abs(&(&ours - &theirs)) / scale;
        let vs_fp32 = max_abs(&(&ours - &fp32)) / scale;
        eprintln!(
            "{} {v}: |Δ| vs PyTorch {vs_oracle:.2e}, vs fp32 {vs_fp32:.2e} ({})",
            c.entry, applied.detail
        );
        assert!(
            vs_oracle <= 1e-6,
            "{} {v}: {vs_oracle:e} from PyTorch",
            c.entry
        );
        match v {
            Variant::Fp32 => assert_eq!(vs_fp32, vs_oracle),
            Variant::Bf16 | Variant::Bf16Cast => {
                assert!(vs_fp32 > 1e-4, "{} {v}: {vs_fp32:e}: no bf16?", c.entry)
            }
            _ => assert!(vs_fp32 < 1e-4, "{} {v}: {vs_fp32:e} from fp32", c.entry),
        }
        if v == Variant::FoldedBn {
            let f = applied.fold.unwrap();
            assert!(f.unfolded.is_empty(), "{:?}", f.unfolded);
        }
        if v == Variant::Bf16Cast {
            assert!(
                applied
                    .fp32_ops
                    .iter()
                    .all(|o| o.starts_with("avg_pool3d at ")),
                "{:?}",
                applied.fp32_ops
            );
        }
    }
}

#[test]
fn variants_of_x3d_xs_equal_pytorch_eager_on_real_views() {
    check(Case {
        entry: "k400/x3d_xs",
        views: (1, 3),
        small: None,
    });
}

#[test]
fn variants_of_slowfast_r50_equal_pytorch_eager_on_real_views() {
    // 64² keeps a 2×2 head position grid after stride 32 (T: 8 slow, 32 fast frames).
    check(Case {
        entry: "k400/slowfast_r50",
        views: (2, 1),
        small: Some((64, vec![[8, 1, 1], [32, 1, 1]])),
    });
}

#[test]
fn variants_of_r2plus1d_r50_equal_pytorch_eager_on_real_views() {
    // R(2+1)D: the factorised conv_b (conv_t → BN → ReLU → conv_xy) folds twice per block.
    check(Case {
        entry: "k400/r2plus1d_r50",
        views: (1, 1),
        small: Some((64, vec![[4, 1, 1]])),
    });
}
