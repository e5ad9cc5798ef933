//! The public entry points: `Arch` → PyTorchVideo builder configuration → a `VideoModel`.

use tch::{nn, Device, Kind, Tensor};
use vbench_suite::{Activation, Arch, Protocol};

use crate::csn::{self, CsnConfig};
use crate::detection::{self, DetectionBackbone, DetectionConfig, DetectionNet};
use crate::efficient_x3d::{self, EfficientX3d, EfficientX3dConfig};
use crate::efficient_x3d_deploy::DeployEfficientX3d;
use crate::error::{ModelError, Result};
use crate::mvit::{self, Mvit, MvitConfig};
use crate::net::Net;
use crate::r2plus1d::{self, R2plus1dConfig};
use crate::resnet::{self, ResNetConfig};
use crate::slowfast::{self, SlowFastConfig, SlowFastNet};
use crate::x3d::{self, X3dConfig};

/// One clip, `[B, 3, T, H, W]`, normalised float pixels. SlowFast takes both pathways, the slow
/// one being the fast one subsampled by α in time. The AVA detectors take the same clips (Slow:
/// `Single`, SlowFast: `SlowFast`) plus person boxes, through [`VideoModel::forward_boxes`].
#[derive(Debug)]
pub enum ModelInput {
    Single(Tensor),
    SlowFast { slow: Tensor, fast: Tensor },
}

impl ModelInput {
    /// `batch` views of `protocol`'s test view filled with random pixels (FLOPs shape passes and
    /// latency do not depend on the values): `[batch, 3, T, crop, crop]`, α·T frames on SlowFast's
    /// fast pathway.
    pub fn dummy(protocol: &Protocol, batch: i64, device: Device) -> ModelInput {
        let (t, s) = (protocol.frames as i64, protocol.crop as i64);
        let opts = (Kind::Float, device);
        match protocol.alpha {
            Some(a) => ModelInput::SlowFast {
                slow: Tensor::randn([batch, 3, t, s, s], opts),
                fast: Tensor::randn([batch, 3, t * a as i64, s, s], opts),
            },
            None => ModelInput::Single(Tensor::randn([batch, 3, t, s, s], opts)),
        }
    }
}

/// Both `[B, classes]` (detectors: `[K, classes]`, one row per box). With more positions than the head pool covers (a crop larger than the
/// training crop), `scores` is the mean of per-position post-activation scores and
/// `pre_activation` the mean of per-position logits.
#[derive(Debug)]
pub struct ModelOutput {
    pub scores: Tensor,
    pub pre_activation: Tensor,
}

/// An eval-mode model: BN running statistics, no dropout, head activation applied. Forward runs
/// under `tch::no_grad` on the device and dtype of the model's variables (inputs are moved there).
pub trait VideoModel: Send {
    fn arch(&self) -> Arch;

    /// Classifiers: `[B, classes]`. Detectors score one whole-frame box per clip (`[b, 0, 0, W,
    /// H]`), which is what the FLOPs shape pass and latency runs need; real boxes go through
    /// [`VideoModel::forward_boxes`].
    fn forward(&self, input: &ModelInput) -> Result<ModelOutput, ModelError>;

    /// Detectors (`Arch::is_detector`): `[K, classes]` for person boxes `[K, 5]`, rows of (batch
    /// index, x1, y1, x2, y2) in input pixels, as PyTorchVideo's detection models take them.
    /// Boxes outside the frame, inverted or empty are scored as torchvision's RoIAlign samples
    /// them; non-finite values or a batch index naming no clip are `BadInput`.
    fn forward_boxes(&self, input: &ModelInput, boxes: &Tensor) -> Result<ModelOutput, ModelError> {
        let _ = (input, boxes);
        Err(bad_input(self.arch(), "not a detector: it takes no boxes"))
    }

    /// The deployment form, built from the current weights (load the checkpoint first): for
    /// efficient X3D, what PyTorchVideo's `convert_to_deployable_form` makes (BN folded into the
    /// convs, per-frame 2D convs, linear squeeze-excitation). `None` for models without one.
    fn deploy_form(&self) -> Result<Option<Box<dyn VideoModel>>, ModelError> {
        Ok(None)
    }
}

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
    pub fn build(&self, arch: Arch, vs: &nn::Path) -> Result<Box<dyn VideoModel>> {
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

fn clip<N: ClipNet + 'static>(arch: Arch, net: N) -> Box<dyn VideoModel> {
    Box::new(ClipModel { arch, net })
}

/// Builds a zoo entry with the requested head under `vs` (pass `vs.root()` so the keys are the
/// checkpoint's).
pub fn build(
    arch: Arch,
    num_classes: i64,
    activation: Activation,
    vs: &nn::Path,
) -> Result<Box<dyn VideoModel>> {
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

/// A network that takes one clip: the CNNs built as [`Net`], MViT and efficient X3D (both forms).
/// [`ClipModel`] is the one [`VideoModel`] wrapper they share.
trait ClipNet: Send {
    /// The stem's weight, whose device, dtype and input channels a clip is checked against.
    fn first_weight(&self) -> Option<&Tensor>;
    /// The network on a checked clip.
    fn run(&self, x: &Tensor) -> Result<ModelOutput>;
    /// See [`VideoModel::deploy_form`].
    fn deploy_form(&self, _arch: Arch) -> Result<Option<Box<dyn VideoModel>>> {
        Ok(None)
    }
}

impl ClipNet for Net {
    fn first_weight(&self) -> Option<&Tensor> {
        Net::first_weight(self)
    }
    fn run(&self, x: &Tensor) -> Result<ModelOutput> {
        let out = self.forward(x)?;
        Ok(ModelOutput {
            scores: out.scores,
            pre_activation: out.pre_activation,
        })
    }
}

impl ClipNet for Mvit {
    fn first_weight(&self) -> Option<&Tensor> {
        Some(Mvit::first_weight(self))
    }
    fn run(&self, x: &Tensor) -> Result<ModelOutput> {
        let out = self.forward(x)?;
        Ok(ModelOutput {
            scores: out.scores,
            pre_activation: out.logits,
        })
    }
}

impl ClipNet for EfficientX3d {
    fn first_weight(&self) -> Option<&Tensor> {
        Some(EfficientX3d::first_weight(self))
    }
    fn run(&self, x: &Tensor) -> Result<ModelOutput> {
        let out = self.forward(x)?;
        Ok(ModelOutput {
            scores: out.scores,
            pre_activation: out.logits,
        })
    }
    fn deploy_form(&self, arch: Arch) -> Result<Option<Box<dyn VideoModel>>> {
        Ok(Some(clip(arch, DeployEfficientX3d::new(self)?)))
    }
}

impl ClipNet for DeployEfficientX3d {
    fn first_weight(&self) -> Option<&Tensor> {
        Some(DeployEfficientX3d::first_weight(self))
    }
    fn run(&self, x: &Tensor) -> Result<ModelOutput> {
        let out = self.forward(x)?;
        Ok(ModelOutput {
            scores: out.scores,
            pre_activation: out.logits,
        })
    }
}

struct ClipModel<N> {
    arch: Arch,
    net: N,
}

impl<N: ClipNet> VideoModel for ClipModel<N> {
    fn arch(&self) -> Arch {
        self.arch
    }

    fn forward(&self, input: &ModelInput) -> Result<ModelOutput> {
        let x = single_clip(self.arch, input)?;
        tch::no_grad(|| {
            let x = prepare(self.arch, "clip", x, self.net.first_weight())?;
            self.net.run(&x)
        })
    }

    fn deploy_form(&self) -> Result<Option<Box<dyn VideoModel>>> {
        self.net.deploy_form(self.arch)
    }
}

struct SlowFastModel {
    arch: Arch,
    net: SlowFastNet,
}

impl VideoModel for SlowFastModel {
    fn arch(&self) -> Arch {
        self.arch
    }

    fn forward(&self, input: &ModelInput) -> Result<ModelOutput> {
        let ModelInput::SlowFast { slow, fast } = input else {
            return Err(bad_input(
                self.arch,
                "expects slow and fast pathways, got one clip",
            ));
        };
        if slow.size().first() != fast.size().first() {
            return Err(bad_input(
                self.arch,
                format!(
                    "slow {:?} and fast {:?} batch sizes differ",
                    slow.size(),
                    fast.size()
                ),
            ));
        }
        tch::no_grad(|| {
            let weight = self.net.first_weight();
            let slow = prepare(self.arch, "slow pathway", slow, weight)?;
            let fast = prepare(self.arch, "fast pathway", fast, weight)?;
            let out = self.net.forward(&slow, &fast)?;
            Ok(ModelOutput {
                scores: out.scores,
                pre_activation: out.pre_activation,
            })
        })
    }
}

struct DetectionModel {
    arch: Arch,
    net: DetectionNet,
}

impl DetectionModel {
    /// The clip tensors the backbone takes, moved to the weights' device and dtype.
    fn clips(&self, input: &ModelInput) -> Result<Vec<Tensor>> {
        let weight = self.net.first_weight();
        match (input, self.arch.is_slowfast()) {
            (ModelInput::Single(x), false) => Ok(vec![prepare(self.arch, "clip", x, weight)?]),
            (ModelInput::SlowFast { slow, fast }, true) => {
                if slow.size().first() != fast.size().first() {
                    return Err(bad_input(self.arch, "slow and fast batch sizes differ"));
                }
                Ok(vec![
                    prepare(self.arch, "slow pathway", slow, weight)?,
                    prepare(self.arch, "fast pathway", fast, weight)?,
                ])
            }
            (_, true) => Err(bad_input(
                self.arch,
                "expects slow and fast pathways, got one clip",
            )),
            (_, false) => Err(bad_input(
                self.arch,
                "expects a single clip, got two pathways",
            )),
        }
    }
}

impl VideoModel for DetectionModel {
    fn arch(&self) -> Arch {
        self.arch
    }

    fn forward(&self, input: &ModelInput) -> Result<ModelOutput> {
        let x = match input {
            ModelInput::Single(x) | ModelInput::SlowFast { slow: x, .. } => x,
        };
        let size = x.size();
        let (batch, h, w) = match size.as_slice() {
            [b, _, _, h, w] => (*b, *h as f32, *w as f32),
            _ => {
                return Err(bad_input(
                    self.arch,
                    format!("clip {size:?} is not [B, C, T, H, W]"),
                ))
            }
        };
        let rows: Vec<f32> = (0..batch)
            .flat_map(|b| [b as f32, 0.0, 0.0, w, h])
            .collect();
        let boxes = Tensor::from_slice(&rows).reshape([batch, 5]);
        self.forward_boxes(input, &boxes)
    }

    fn forward_boxes(&self, input: &ModelInput, boxes: &Tensor) -> Result<ModelOutput> {
        tch::no_grad(|| {
            let clips = self.clips(input)?;
            let out = self.net.forward(&clips, boxes)?;
            Ok(ModelOutput {
                scores: out.scores,
                pre_activation: out.logits,
            })
        })
    }
}

fn single_clip(arch: Arch, input: &ModelInput) -> Result<&Tensor> {
    match input {
        ModelInput::Single(x) => Ok(x),
        ModelInput::SlowFast { .. } => {
            Err(bad_input(arch, "expects a single clip, got two pathways"))
        }
    }
}

fn bad_input(arch: Arch, reason: impl Into<String>) -> ModelError {
    ModelError::BadInput {
        arch,
        reason: reason.into(),
    }
}

/// Checks rank, channels and dtype class, then moves the clip to the weights' device and dtype.
fn prepare(arch: Arch, what: &str, x: &Tensor, weight: Option<&Tensor>) -> Result<Tensor> {
    let size = x.size();
    if size.len() != 5 {
        return Err(bad_input(
            arch,
            format!("{what} must be [B, C, T, H, W], got {size:?}"),
        ));
    }
    if !x.is_floating_point() {
        return Err(bad_input(
            arch,
            format!("{what} must be normalised float pixels, got {:?}", x.kind()),
        ));
    }
    let Some(w) = weight else {
        return Ok(x.shallow_clone());
    };
    // Stem convs are never grouped, so the weight's second dimension is the input channel count.
    let channels = w.size().get(1).copied().unwrap_or(0);
    if size[1] != channels {
        return Err(bad_input(
            arch,
            format!(
                "{what} has {} channels, the model takes {channels}",
                size[1]
            ),
        ));
    }
    x.f_to_device_(w.device(), w.kind(), false, false)
        .map_err(|source| ModelError::Torch {
            path: format!("{what} input"),
            source,
        })
}
