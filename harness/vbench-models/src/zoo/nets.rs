//! The zoo's networks behind one trait: each checks the input layout it takes, moves the clip to
//! its weights' device and dtype, and runs under `no_grad`.

use tch::Tensor;
use vbench_suite::Arch;

use crate::detection::DetectionNet;
use crate::efficient_x3d::EfficientX3d;
use crate::efficient_x3d_deploy::DeployEfficientX3d;
use crate::error::{ModelError, Result};
use crate::model::{ModelInput, ModelOutput};
use crate::mvit::Mvit;
use crate::net::Net;
use crate::slowfast::SlowFastNet;

/// A zoo network in eval mode: BN running statistics, no dropout, head activation applied. Forward
/// runs under `tch::no_grad` on the device and dtype of its variables (inputs are moved there),
/// which live in the `VarStore` it was built under ([`crate::zoo::ZooModel`] owns both).
pub trait ZooNet: Send {
    fn arch(&self) -> Arch;

    /// Classifiers: `[B, classes]`. Detectors score one whole-frame box per clip (`[b, 0, 0, W,
    /// H]`), which is what the FLOPs shape pass and latency runs need; real boxes go through
    /// [`ZooNet::forward_boxes`].
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
    fn deploy_form(&self) -> Result<Option<Box<dyn ZooNet>>, ModelError> {
        Ok(None)
    }
}

pub(crate) fn clip<N: ClipNet + 'static>(arch: Arch, net: N) -> Box<dyn ZooNet> {
    Box::new(ClipModel { arch, net })
}

/// A network that takes one clip: the CNNs built as [`Net`], MViT and efficient X3D (both forms).
/// [`ClipModel`] is the one [`ZooNet`] wrapper they share.
pub(crate) trait ClipNet: Send {
    /// The stem's weight, whose device, dtype and input channels a clip is checked against.
    fn first_weight(&self) -> Option<&Tensor>;
    /// The network on a checked clip.
    fn run(&self, x: &Tensor) -> Result<ModelOutput>;
    /// See [`ZooNet::deploy_form`].
    fn deploy_form(&self, _arch: Arch) -> Result<Option<Box<dyn ZooNet>>> {
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
    fn deploy_form(&self, arch: Arch) -> Result<Option<Box<dyn ZooNet>>> {
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
    pub arch: Arch,
    net: N,
}

impl<N: ClipNet> ZooNet for ClipModel<N> {
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

    fn deploy_form(&self) -> Result<Option<Box<dyn ZooNet>>> {
        self.net.deploy_form(self.arch)
    }
}

pub(crate) struct SlowFastModel {
    pub arch: Arch,
    pub net: SlowFastNet,
}

impl ZooNet for SlowFastModel {
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

pub(crate) struct DetectionModel {
    pub arch: Arch,
    pub net: DetectionNet,
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

impl ZooNet for DetectionModel {
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
        model: arch.to_string(),
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
