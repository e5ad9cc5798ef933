//! The zoo's builder table: `Arch` → PyTorchVideo builder configuration → a [`ZooNet`] whose
//! variables sit in a caller's `VarStore` under the checkpoint's keys.

use tch::nn;
use vbench_suite::{Activation, Arch};

use super::nets::{clip, DetectionModel, SlowFastModel, ZooNet};
use crate::csn::{self, CsnConfig};
use crate::detection::{self, DetectionBackbone, DetectionConfig};
use crate::efficient_x3d::{self, EfficientX3dConfig};
use crate::error::{ModelError, Result};
use crate::mvit::{self, MvitConfig};
use crate::r2plus1d::{self, R2plus1dConfig};
use crate::resnet::{self, ResNetConfig};
use crate::slowfast::{self, SlowFastConfig};
use crate::x3d::{self, X3dConfig};

/// The PyTorchVideo builder and its arguments for one architecture. Public so callers can change
/// what the zoo fixes (the head pools, for small test inputs) before building.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // built once per model
pub enum ModelConfig {
    ResNet(ResNetConfig),
    Csn(CsnConfig),
    R2plus1d(R2plus1dConfig),
    X3d(X3dConfig),
    SlowFast(SlowFastConfig),
    Mvit(MvitConfig),
    Detection(DetectionConfig),
    EfficientX3d(EfficientX3dConfig),
}

/// The zoo entry's configuration with the requested head, as PySlowFast's `PTV*` wrappers set it.
pub fn zoo_config(arch: Arch, num_classes: i64, activation: Activation) -> Result<ModelConfig> {
    let (n, a) = (num_classes, activation);
    if n < 1 {
        return Err(ModelError::BadConfig {
            builder: "zoo_config",
            reason: format!("{arch}: num_classes {n} must be positive"),
        });
    }
    Ok(match arch {
        Arch::C2dR50 => ModelConfig::ResNet(resnet::c2d_r50(n, a)),
        Arch::I3dR50 => ModelConfig::ResNet(resnet::i3d_r50(n, a)),
        Arch::SlowR50 => ModelConfig::ResNet(resnet::slow_r50(n, a)),
        Arch::SlowR50_4x16 => ModelConfig::ResNet(resnet::slow_r50_4x16(n, a)),
        Arch::SlowfastR50 => ModelConfig::SlowFast(slowfast::slowfast_r50(n, a)),
        Arch::SlowfastR50_4x16 => ModelConfig::SlowFast(slowfast::slowfast_r50_4x16(n, a)),
        Arch::SlowfastR101 => ModelConfig::SlowFast(slowfast::slowfast_r101(n, a)),
        Arch::Slowfast16x8R101_50_50 => {
            ModelConfig::SlowFast(slowfast::slowfast_16x8_r101_50_50(n, a))
        }
        Arch::CsnR101 => ModelConfig::Csn(csn::csn_r101(n, a)),
        Arch::R2plus1dR50 => ModelConfig::R2plus1d(r2plus1d::r2plus1d_r50(n, a)),
        Arch::X3dXs => ModelConfig::X3d(x3d::x3d_xs(n, a)),
        Arch::X3dS => ModelConfig::X3d(x3d::x3d_s(n, a)),
        Arch::X3dM => ModelConfig::X3d(x3d::x3d_m(n, a)),
        Arch::X3dL => ModelConfig::X3d(x3d::x3d_l(n, a)),
        Arch::MvitBase16x4 => ModelConfig::Mvit(mvit::mvit_base_16x4(n, a)),
        Arch::MvitBase32x3 => ModelConfig::Mvit(mvit::mvit_base_32x3(n, a)),
        Arch::SlowR50Detection => ModelConfig::Detection(detection::slow_r50_detection(n, a)),
        Arch::SlowfastR50Detection => {
            ModelConfig::Detection(detection::slowfast_r50_detection(n, a))
        }
        Arch::EfficientX3dXs => ModelConfig::EfficientX3d(efficient_x3d::efficient_x3d_xs(n, a)),
        Arch::EfficientX3dS => ModelConfig::EfficientX3d(efficient_x3d::efficient_x3d_s(n, a)),
    })
}

impl ModelConfig {
    /// Head pool kernel(s): one for single-pathway models, `[slow, fast]` for SlowFast (and the
    /// detectors' temporal pools: Slow's RoI head pool, SlowFast's `PoolConcatPathway`). None for
    /// MViT (cls token) and efficient X3D (global average).
    pub fn head_pool_kernel_sizes(&self) -> Result<Vec<[i64; 3]>> {
        Ok(match self {
            ModelConfig::ResNet(c) => vec![c.head_pool_kernel_size],
            ModelConfig::Csn(c) => vec![c.head_pool_kernel_size],
            ModelConfig::R2plus1d(c) => vec![c.head_pool_kernel_size],
            ModelConfig::X3d(c) => vec![match c.head_pool_kernel_size {
                Some(k) => k,
                None => x3d::derived_head_pool(c)?,
            }],
            ModelConfig::SlowFast(c) => c.head_pool_kernel_sizes.to_vec(),
            ModelConfig::Detection(c) => match &c.backbone {
                DetectionBackbone::Slow(r) => vec![r.head_pool_kernel_size],
                DetectionBackbone::SlowFast(sf) => sf.head_pool_kernel_sizes.to_vec(),
            },
            ModelConfig::Mvit(_) | ModelConfig::EfficientX3d(_) => Vec::new(),
        })
    }

    /// Replaces the head pool kernel(s); the count must match `head_pool_kernel_sizes()`.
    pub fn set_head_pool_kernel_sizes(&mut self, kernels: &[[i64; 3]]) -> Result<()> {
        let bad = |want: usize| ModelError::BadConfig {
            builder: "set_head_pool_kernel_sizes",
            reason: format!("{} kernel(s) given, {want} expected", kernels.len()),
        };
        if kernels.iter().flatten().any(|&k| k < 1) {
            return Err(ModelError::BadConfig {
                builder: "set_head_pool_kernel_sizes",
                reason: format!("kernel sizes must be positive: {kernels:?}"),
            });
        }
        match (self, kernels) {
            (ModelConfig::ResNet(c), [k]) => c.head_pool_kernel_size = *k,
            (ModelConfig::Csn(c), [k]) => c.head_pool_kernel_size = *k,
            (ModelConfig::R2plus1d(c), [k]) => c.head_pool_kernel_size = *k,
            (ModelConfig::X3d(c), [k]) => c.head_pool_kernel_size = Some(*k),
            (ModelConfig::SlowFast(c), [s, f]) => c.head_pool_kernel_sizes = [*s, *f],
            (ModelConfig::SlowFast(_), _) => return Err(bad(2)),
            (ModelConfig::Detection(c), k) => match (&mut c.backbone, k) {
                (DetectionBackbone::Slow(r), [k]) => r.head_pool_kernel_size = *k,
                (DetectionBackbone::SlowFast(sf), [s, f]) => sf.head_pool_kernel_sizes = [*s, *f],
                (DetectionBackbone::Slow(_), _) => return Err(bad(1)),
                (DetectionBackbone::SlowFast(_), _) => return Err(bad(2)),
            },
            (ModelConfig::Mvit(_) | ModelConfig::EfficientX3d(_), []) => {}
            (ModelConfig::Mvit(_) | ModelConfig::EfficientX3d(_), _) => return Err(bad(0)),
            (_, _) => return Err(bad(1)),
        }
        Ok(())
    }

    /// Registers the variables under `vs` (state-dict keys) and returns the model.
    pub fn build(&self, arch: Arch, vs: &nn::Path) -> Result<Box<dyn ZooNet>> {
        Ok(match self {
            ModelConfig::ResNet(c) => clip(arch, resnet::create_resnet(vs, c)?),
            ModelConfig::Csn(c) => clip(arch, csn::create_csn(vs, c)?),
            ModelConfig::R2plus1d(c) => clip(arch, r2plus1d::create_r2plus1d(vs, c)?),
            ModelConfig::X3d(c) => clip(arch, x3d::create_x3d(vs, c)?),
            ModelConfig::SlowFast(c) => Box::new(SlowFastModel {
                arch,
                net: slowfast::create_slowfast(vs, c)?,
            }),
            ModelConfig::Mvit(c) => clip(
                arch,
                mvit::create_multiscale_vision_transformers(arch, vs, c)?,
            ),
            ModelConfig::Detection(c) => Box::new(DetectionModel {
                arch,
                net: detection::create_detection(arch, vs, c)?,
            }),
            ModelConfig::EfficientX3d(c) => clip(arch, efficient_x3d::create_efficient_x3d(vs, c)?),
        })
    }
}

/// Builds a zoo entry with the requested head under `vs` (pass `vs.root()` so the keys are the
/// checkpoint's).
pub fn build(
    arch: Arch,
    num_classes: i64,
    activation: Activation,
    vs: &nn::Path,
) -> Result<Box<dyn ZooNet>> {
    zoo_config(arch, num_classes, activation)?.build(arch, vs)
}

/// What `sum(p.numel() for p in model.parameters())` gives: trainable variables only, so BN
/// running statistics and `num_batches_tracked` are left out.
pub fn param_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}
