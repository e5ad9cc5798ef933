//! The AVA detectors: `create_resnet_with_roi_head` (hub `slow_r50_detection`) and
//! `create_slowfast_with_roi_head` (hub `slowfast_r50_detection`), PyTorchVideo `models/resnet.py`,
//! `models/slowfast.py`, `models/head.py::ResNetRoIHead`, wrapped in `DetectionBBoxNetwork`.
//!
//! Keys: the backbone under `model.` (`create_resnet` / `create_slowfast` with `head=None`: res5
//! keeps stride 16 with dilation 2), the head under `detection_head.` (`proj.*` only: its
//! temporal pool, RoIAlign, spatial max-pool and sigmoid have no parameters). SlowFast pools time
//! in the backbone's `PoolConcatPathway` (`model.blocks.5`); Slow in the head's `pool`.
//!
//! Head in eval mode: pool time to 1 → RoIAlign each box on the `[B, C, H/16, W/16]` map
//! (torchvision `RoIAlign((7, 7), 1/16, sampling_ratio=0, aligned=False)`) → `MaxPool2d(7, 1)`
//! → (dropout: identity) → `proj` → activation → `[K, classes]`.

use tch::{nn, Tensor};
use vbench_suite::{Activation, Arch};

use crate::error::{ModelError, Result};
use crate::layers::{prefix, record, Act, AvgPool3d, Linear, MaxPool2d};
use crate::net::{first_weight, run_blocks, NetBlock};
use crate::op_record::OpKind;
use crate::resnet::{create_resnet_blocks, ResNetConfig};
use crate::roi_align::{roi_align, RoiAlignOpts};
use crate::slowfast::{create_slowfast_backbone, SlowFastBackbone, SlowFastConfig};

/// The backbone builder and its arguments.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // built once per model
pub enum DetectionBackbone {
    /// `head_pool_kernel_size` is the RoI head's temporal pool.
    Slow(ResNetConfig),
    /// `head_pool_kernel_sizes` are `PoolConcatPathway`'s per-pathway pools.
    SlowFast(SlowFastConfig),
}

/// `create_*_with_roi_head` arguments.
#[derive(Debug, Clone)]
pub struct DetectionConfig {
    pub backbone: DetectionBackbone,
    pub model_num_class: i64,
    pub head_activation: Activation,
    /// `head_spatial_resolution`, `head_spatial_scale`, `head_sampling_ratio`; torchvision's
    /// `RoIAlign` default `aligned=False`.
    pub roi: RoiAlignOpts,
}

const AVA_ROI: RoiAlignOpts = RoiAlignOpts {
    output_size: [7, 7],
    spatial_scale: 1.0 / 16.0,
    sampling_ratio: 0,
    aligned: false,
};

/// Hub `slow_r50_detection` (SLOW_4x16_R50_DETECTION): 4 frames; res5 dilated, stride 16.
pub fn slow_r50_detection(num_classes: i64, activation: Activation) -> DetectionConfig {
    let one = [1, 1, 1];
    DetectionConfig {
        backbone: DetectionBackbone::Slow(ResNetConfig {
            stem_conv_kernel_size: [1, 7, 7],
            stage_conv_b_dilation: [one, one, one, [1, 2, 2]],
            stage_spatial_h_stride: [1, 2, 2, 1],
            stage_spatial_w_stride: [1, 2, 2, 1],
            head_pool_kernel_size: [4, 1, 1],
            model_num_class: num_classes,
            head_activation: activation,
            ..Default::default()
        }),
        model_num_class: num_classes,
        head_activation: activation,
        roi: AVA_ROI,
    }
}

/// Hub `slowfast_r50_detection` (SLOWFAST_8x8_R50_DETECTION): 8/32 frames, α 4; res5 dilated.
pub fn slowfast_r50_detection(num_classes: i64, activation: Activation) -> DetectionConfig {
    let (one, dilated) = ([1, 1, 1], [1, 2, 2]);
    DetectionConfig {
        backbone: DetectionBackbone::SlowFast(SlowFastConfig {
            stage_conv_b_dilations: [[one, one, one, dilated]; 2],
            stage_spatial_strides: [[1, 2, 2, 1]; 2],
            head_pool_kernel_sizes: [[8, 1, 1], [32, 1, 1]],
            model_num_class: num_classes,
            head_activation: activation,
            ..Default::default()
        }),
        model_num_class: num_classes,
        head_activation: activation,
        roi: AVA_ROI,
    }
}

/// `ResNetRoIHead` without `output_pool` (`head_output_with_global_average=False`).
#[derive(Debug)]
struct ResNetRoiHead {
    arch: Arch,
    path: String,
    pool: Option<AvgPool3d>,
    roi_path: String,
    roi: RoiAlignOpts,
    pool_spatial: MaxPool2d,
    proj: Linear,
    activation: Act,
}

/// Per-box outputs, both `[K, classes]`.
pub(crate) struct BoxScores {
    pub scores: Tensor,
    pub logits: Tensor,
}

impl ResNetRoiHead {
    fn forward(&self, x: &Tensor, boxes: &Tensor) -> Result<BoxScores> {
        let err = ModelError::torch(&self.path);
        let x = match &self.pool {
            Some(pool) => pool.forward(x)?,
            None => x.shallow_clone(),
        };
        let t = x.size()[2];
        if t != 1 {
            return Err(ModelError::BadInput {
                model: self.arch.to_string(),
                reason: format!(
                    "{}: {t} frames reach the RoI layer; the clip length must pool to 1 \
                     (PyTorchVideo: \"Temporal dimension should be 1\")",
                    self.path
                ),
            });
        }
        let x = x.f_squeeze_dim(-3).map_err(&err)?;
        let rois = roi_align(&x, boxes, &self.roi).map_err(|e| match e {
            ModelError::BadBoxes { reason } => ModelError::BadInput {
                model: self.arch.to_string(),
                reason: format!("boxes: {reason}"),
            },
            e => e,
        })?;
        record(&self.roi_path, OpKind::RoiAlign, &x, &rois, None, 1);
        let x = self
            .pool_spatial
            .forward(&rois)?
            .f_unsqueeze(-3)
            .map_err(&err)?;
        let x = x.f_permute([0, 2, 3, 4, 1]).map_err(&err)?;
        let logits = self
            .proj
            .forward(&x)?
            .f_permute([0, 4, 1, 2, 3])
            .map_err(&err)?;
        let scores = self.activation.forward(&logits)?;
        // DetectionBBoxNetwork's `out.view(out.shape[0], -1)`, with the class count spelled out
        // so that an empty box list keeps its shape.
        let classes = self.proj.weight().size()[0];
        let flat = |t: &Tensor| t.f_reshape([t.size()[0], classes]).map_err(&err);
        Ok(BoxScores {
            scores: flat(&scores)?,
            logits: flat(&logits)?,
        })
    }
}

#[derive(Debug)]
enum Backbone {
    Slow(Vec<NetBlock>),
    SlowFast(SlowFastBackbone),
}

/// `DetectionBBoxNetwork(model, detection_head)`.
#[derive(Debug)]
pub(crate) struct DetectionNet {
    backbone: Backbone,
    head: ResNetRoiHead,
}

impl DetectionNet {
    /// `clips`: one clip, or (slow, fast). `boxes`: `[K, 5]` (batch index, x1, y1, x2, y2) in
    /// input pixels.
    pub fn forward(&self, clips: &[Tensor], boxes: &Tensor) -> Result<BoxScores> {
        let features = match (&self.backbone, clips) {
            (Backbone::Slow(blocks), [x]) => run_blocks(blocks, x)?,
            (Backbone::SlowFast(b), [slow, fast]) => b.forward(slow, fast)?,
            _ => {
                return Err(ModelError::BadInput {
                    model: self.head.arch.to_string(),
                    reason: format!("{} clip tensors for this backbone", clips.len()),
                })
            }
        };
        self.head.forward(&features, boxes)
    }

    pub fn first_weight(&self) -> Option<&Tensor> {
        match &self.backbone {
            Backbone::Slow(blocks) => first_weight(blocks),
            Backbone::SlowFast(b) => b.first_weight(),
        }
    }
}

pub(crate) fn create_detection(
    arch: Arch,
    p: &nn::Path,
    cfg: &DetectionConfig,
) -> Result<DetectionNet> {
    let model = p.sub("model");
    let (backbone, dim, pool) = match &cfg.backbone {
        DetectionBackbone::Slow(c) => {
            let (blocks, dim) = create_resnet_blocks(&model.sub("blocks"), c)?;
            (Backbone::Slow(blocks), dim, Some(c.head_pool_kernel_size))
        }
        DetectionBackbone::SlowFast(c) => {
            let b = create_slowfast_backbone(&model, c)?;
            let dim = b.dim_out;
            (Backbone::SlowFast(b), dim, None)
        }
    };
    let h = p.sub("detection_head");
    let [ph, pw] = cfg.roi.output_size;
    Ok(DetectionNet {
        backbone,
        head: ResNetRoiHead {
            arch,
            path: prefix(&h),
            pool: pool.map(|k| AvgPool3d::new(&h.sub("pool"), k, [1, 1, 1])),
            roi_path: prefix(&h.sub("roi_layer")),
            roi: cfg.roi,
            pool_spatial: MaxPool2d::new(&h.sub("pool_spatial"), [ph, pw], [1, 1]),
            proj: Linear::new(&h.sub("proj"), dim, cfg.model_num_class)?,
            activation: Act::new(&h.sub("activation"), cfg.head_activation.into()),
        },
    })
}
