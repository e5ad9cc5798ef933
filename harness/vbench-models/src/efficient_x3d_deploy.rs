//! The deployment form of `EfficientX3d`: what PyTorchVideo's `convert_to_deployable_form`
//! (`accelerator/deployment/mobile_cpu/utils/model_conversion.py`) turns each block into, built
//! from the original form's current weights.
//!
//! Per block (`layers/accelerator/mobile_cpu/*.py`, the fp32 path):
//! - every conv + BN is fused into one conv with bias (`fuse_conv_bn_weights`' arithmetic);
//! - `Conv3dPwBnAct`: the input is viewed as `(B, C, T·H, W)` and run through a 1×1 `Conv2d`
//!   (ReLU fused after it where the block has one);
//! - temporal kernels become 2D convs per frame (`_Conv3dTemporalKernel{1,3,5}Decomposed`): one
//!   `Conv2d` per temporal tap, the bias on the centre tap only, and each output frame the sum of
//!   its taps in tap order — frames past the clip's ends (the zero padding) contribute nothing;
//! - squeeze-excitation: `AdaptiveAvgPool3d(1)` → view `(B, C)` → `Linear` → ReLU → `Linear` →
//!   sigmoid → view `(B, C, 1, 1, 1)` → multiply;
//! - swish is `x * sigmoid(x)` (`_NaiveSwish`), the same arithmetic as the original form's;
//! - the head's `AdaptiveAvgPool3d(1)` becomes `AvgPool3d(kernel = its input's T×H×W)`.
//!
//! PyTorchVideo bakes the input size of the conversion into the result (reshape sizes, the
//! number of per-frame convs, the head pool), and its `X3dBottleneckBlock.convert` floors the
//! strided sizes, so its converted model only runs crops divisible by 32. This one reads sizes at
//! run time and runs each tap's `Conv2d` over all frames in one call (clips × frames in the
//! batch dim) instead of one call per frame: the same per-frame arithmetic, any input size.

use tch::Tensor;

use crate::blocks::SqueezeExcitation;
use crate::efficient_x3d::{head_outputs, ConvBnAct, EfficientX3d, X3dBottleneck, X3dOutput};
use crate::error::{ModelError, Result};
use crate::layers::{record, Act, ActKind, Conv2d, Conv3d, GlobalAvgPool3d, Linear};
use crate::op_record::{self, OpKind, OpRecord};

fn torch_err(path: &str) -> impl Fn(tch::TchError) -> ModelError + '_ {
    ModelError::torch(path)
}

/// `fuse_conv_bn_weights`: `w · (γ / √(var + ε))`, `(b − μ) / √(var + ε) · γ + β`, in that order.
fn fold(block: &ConvBnAct) -> Result<(Tensor, Option<Tensor>)> {
    let err = torch_err(&block.path);
    tch::no_grad(|| {
        let w = block.conv.weight();
        let Some(bn) = &block.bn else {
            let b = block.conv.bias().map(Tensor::copy);
            return Ok((w.copy(), b));
        };
        let (gamma, beta, mean, var, eps) = bn.params();
        let rsqrt = var
            .f_add_scalar(eps)
            .and_then(|v| v.f_rsqrt())
            .map_err(&err)?;
        let scale = gamma
            .f_mul(&rsqrt)
            .and_then(|s| s.f_reshape([-1, 1, 1, 1, 1]));
        let w = scale.and_then(|s| w.f_mul(&s)).map_err(&err)?;
        let b = match block.conv.bias() {
            Some(b) => b.copy(),
            None => mean.zeros_like(),
        };
        let b = b
            .f_sub(mean)
            .and_then(|b| b.f_mul(&rsqrt))
            .and_then(|b| b.f_mul(gamma))
            .and_then(|b| b.f_add(beta))
            .map_err(&err)?;
        Ok((w, Some(b)))
    })
}

#[derive(Debug)]
enum DeployConv {
    /// `Conv3dPwBnAct`: a 1×1 `Conv2d` over `(B, C, T·H, W)`.
    Pointwise { conv: Conv2d },
    /// A temporal kernel decomposed into per-frame `Conv2d`s, one per tap.
    Temporal { path: String, taps: Vec<Conv2d> },
}

/// A converted conv block: the conv, then ReLU where the block has one.
#[derive(Debug)]
struct DeployBlock {
    conv: DeployConv,
    relu: Option<Act>,
}

impl DeployBlock {
    fn pointwise(block: &ConvBnAct) -> Result<Self> {
        let (w, b) = fold(block)?;
        let weight = w.f_squeeze_dim(2).map_err(torch_err(&block.path))?;
        Ok(DeployBlock {
            conv: DeployConv::Pointwise {
                conv: Conv2d {
                    path: format!("{}.kernel.1.conv", block.path),
                    weight,
                    bias: b,
                    stride: [1, 1],
                    padding: [0, 0],
                    groups: 1,
                },
            },
            relu: relu(block),
        })
    }

    fn temporal(block: &ConvBnAct) -> Result<Self> {
        let (w, b) = fold(block)?;
        let o = *block.conv.opts();
        let kt = o.kernel[0];
        // PyTorchVideo's decompositions exist for temporal kernels 1, 3, 5 padded by k // 2.
        if !matches!(kt, 1 | 3 | 5) || o.padding[0] != kt / 2 || o.stride[0] != 1 {
            return Err(ModelError::BadConfig {
                builder: "convert_to_deployable_form",
                reason: format!("{}: no 2D decomposition of {o:?}", block.path),
            });
        }
        let names: Vec<String> = match kt {
            1 => vec!["conv2d_eq".into()],
            3 => (0..3).map(|k| format!("_conv2d_3_3_{k}")).collect(),
            _ => (0..5).map(|k| format!("_conv2d_{k}")).collect(),
        };
        let taps = names
            .into_iter()
            .enumerate()
            .map(|(k, name)| {
                let weight = w
                    .f_select(2, k as i64)
                    .and_then(|t| t.f_contiguous())
                    .map_err(torch_err(&block.path))?;
                Ok(Conv2d {
                    path: format!("{}.kernel.conv.{name}", block.path),
                    weight,
                    bias: if k as i64 == kt / 2 {
                        b.as_ref().map(Tensor::shallow_clone)
                    } else {
                        None
                    },
                    stride: [o.stride[1], o.stride[2]],
                    padding: [o.padding[1], o.padding[2]],
                    groups: o.groups,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DeployBlock {
            conv: DeployConv::Temporal {
                path: block.path.clone(),
                taps,
            },
            relu: relu(block),
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = match &self.conv {
            DeployConv::Pointwise { conv } => pointwise(conv, x)?,
            DeployConv::Temporal { path, taps } => temporal(path, taps, x)?,
        };
        match &self.relu {
            Some(act) => act.forward(&y),
            None => Ok(y),
        }
    }
}

fn relu(block: &ConvBnAct) -> Option<Act> {
    block
        .relu
        .as_ref()
        .map(|_| Act::named(format!("{}.kernel.act", block.path), ActKind::Relu))
}

fn dims5(x: &Tensor, path: &str) -> Result<[i64; 5]> {
    let s = x.size();
    <[i64; 5]>::try_from(s.as_slice()).map_err(|_| ModelError::BadConfig {
        builder: "convert_to_deployable_form",
        reason: format!("{path}: input {s:?} is not [B, C, T, H, W]"),
    })
}

fn pointwise(conv: &Conv2d, x: &Tensor) -> Result<Tensor> {
    let [b, c, t, h, w] = dims5(x, &conv.path)?;
    let err = torch_err(&conv.path);
    let x2 = x.f_reshape([b, c, t * h, w]).map_err(&err)?;
    let y = conv.forward_unrecorded(&x2)?;
    // A (B, C, T·H, W) conv keeps clips in dim 0: its real shapes are the FLOPs shapes.
    record(&conv.path, OpKind::Conv, &x2, &y, Some(&conv.weight), 1);
    let o = y.size()[1];
    y.f_reshape([b, o, t, h, w]).map_err(err)
}

/// Each tap's `Conv2d` over every frame, then output frame `t` = Σₖ tapₖ(frame `t + k − centre`)
/// over the frames that exist, added in tap order (exact zeros stand in for the rest).
fn temporal(path: &str, taps: &[Conv2d], x: &Tensor) -> Result<Tensor> {
    let [b, c, t, h, w] = dims5(x, path)?;
    let err = torch_err(path);
    let frames = x
        .f_permute([0, 2, 1, 3, 4])
        .and_then(|f| f.f_reshape([b * t, c, h, w]))
        .map_err(&err)?;
    let centre = (taps.len() / 2) as i64;
    let mut acc: Option<Tensor> = None;
    for (k, tap) in taps.iter().enumerate() {
        let y = tap.forward_unrecorded(&frames)?;
        let ys = y.size();
        let (o, ho, wo) = (ys[1], ys[2], ys[3]);
        let y = y.f_reshape([b, t, o, ho, wo]).map_err(&err)?;
        // Recorded as the 3D conv of one tap over the clip: clips in dim 0, frames in dim 2.
        op_record::record(|| OpRecord {
            path: tap.path.clone(),
            op: OpKind::Conv,
            input_shape: vec![b, c, t, h, w],
            output_shape: vec![b, o, t, ho, wo],
            weight_shape: Some({
                let mut ws = tap.weight.size();
                ws.insert(2, 1);
                ws
            }),
            groups: tap.groups,
        });
        let shift = k as i64 - centre;
        if shift.abs() >= t {
            continue; // this tap only ever meets padding
        }
        // out[t] += y[t + shift]
        let kept = y.f_narrow(1, shift.max(0), t - shift.abs()).map_err(&err)?;
        let pad =
            Tensor::f_zeros([b, shift.abs(), o, ho, wo], (y.kind(), y.device())).map_err(&err)?;
        let parts = if shift > 0 {
            [&kept, &pad]
        } else {
            [&pad, &kept]
        };
        let shifted = Tensor::f_cat(&parts, 1).map_err(&err)?;
        acc = Some(match acc {
            None => shifted,
            Some(a) => a.f_add(&shifted).map_err(&err)?,
        });
    }
    let acc = acc.ok_or_else(|| ModelError::BadConfig {
        builder: "convert_to_deployable_form",
        reason: format!("{path}: no taps"),
    })?;
    acc.f_permute([0, 2, 1, 3, 4])
        .and_then(|y| y.f_contiguous())
        .map_err(err)
}

/// The squeeze-excitation with its 1×1×1 convs as linear layers.
#[derive(Debug)]
struct DeploySe {
    path: String,
    pool: GlobalAvgPool3d,
    fc0: Linear,
    act: Act,
    fc1: Linear,
    gate: Act,
}

impl DeploySe {
    fn new(block_path: &str, se: &SqueezeExcitation) -> Result<Self> {
        let path = format!("{block_path}.layers.se.se");
        let (c0, c1) = se.convs();
        let linear = |conv: &Conv3d, name: &str| -> Result<Linear> {
            let err = torch_err(conv.path());
            let w = conv.weight().f_flatten(1, -1).map_err(&err)?.copy();
            let b = conv
                .bias()
                .map(Tensor::copy)
                .ok_or_else(|| ModelError::BadConfig {
                    builder: "convert_to_deployable_form",
                    reason: format!("{}: squeeze-excitation conv without bias", conv.path()),
                })?;
            Ok(Linear::from_tensors(format!("{path}.{name}"), w, b))
        };
        Ok(DeploySe {
            pool: GlobalAvgPool3d::named(format!("{path}.0")),
            fc0: linear(c0, "2")?,
            act: Act::named(format!("{path}.3"), ActKind::Relu),
            fc1: linear(c1, "4")?,
            gate: Act::named(format!("{path}.5"), ActKind::Sigmoid),
            path,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let err = torch_err(&self.path);
        let [b, c, ..] = dims5(x, &self.path)?;
        let s = self.pool.forward(x)?.f_reshape([b, c]).map_err(&err)?;
        let s = self.gate.forward(
            &self
                .fc1
                .forward(&self.act.forward(&self.fc0.forward(&s)?)?)?,
        )?;
        let s = s.f_reshape([b, c, 1, 1, 1]).map_err(&err)?;
        let y = x.f_mul(&s).map_err(&err)?;
        record(&self.path, OpKind::Mul, x, &y, None, 1);
        Ok(y)
    }
}

#[derive(Debug)]
struct DeployBottleneck {
    path: String,
    res_proj: Option<DeployBlock>,
    conv_0: DeployBlock,
    conv_1: DeployBlock,
    se: Option<DeploySe>,
    swish: Act,
    conv_2: DeployBlock,
    final_act: Act,
}

impl DeployBottleneck {
    fn new(b: &X3dBottleneck) -> Result<Self> {
        Ok(DeployBottleneck {
            path: b.path.clone(),
            res_proj: b.res_proj.as_ref().map(DeployBlock::temporal).transpose()?,
            conv_0: DeployBlock::pointwise(&b.conv_0)?,
            conv_1: DeployBlock::temporal(&b.conv_1)?,
            se: b
                .se
                .as_ref()
                .map(|se| DeploySe::new(&b.path, se))
                .transpose()?,
            swish: Act::named(format!("{}.layers.act_func_1.act", b.path), ActKind::Swish),
            conv_2: DeployBlock::pointwise(&b.conv_2)?,
            final_act: Act::named(format!("{}.final_act.act", b.path), ActKind::Relu),
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut out = self.conv_1.forward(&self.conv_0.forward(x)?)?;
        if let Some(se) = &self.se {
            out = se.forward(&out)?;
        }
        let out = self.conv_2.forward(&self.swish.forward(&out)?)?;
        let shortcut = match &self.res_proj {
            Some(proj) => proj.forward(x)?,
            None => x.shallow_clone(),
        };
        self.final_act
            .forward(&crate::layers::residual_add(&self.path, &shortcut, &out)?)
    }
}

/// `convert_to_deployable_form(EfficientX3d)`, owning its fused weights (not in any var store).
#[derive(Debug)]
pub(crate) struct DeployEfficientX3d {
    stem: [DeployBlock; 2],
    blocks: Vec<DeployBottleneck>,
    conv_5: DeployBlock,
    pool_path: String,
    lin_5: DeployBlock,
    projection: Linear,
    activation: Act,
    head_path: String,
    first_weight: Tensor,
}

impl DeployEfficientX3d {
    pub fn new(m: &EfficientX3d) -> Result<Self> {
        let stem = [
            DeployBlock::temporal(&m.stem_conv_xy)?,
            DeployBlock::temporal(&m.stem_conv)?,
        ];
        let first_weight = match &stem[0].conv {
            DeployConv::Temporal { taps, .. } => taps[0].weight.shallow_clone(),
            DeployConv::Pointwise { conv } => conv.weight.shallow_clone(),
        };
        let p = &m.projection;
        Ok(DeployEfficientX3d {
            stem,
            blocks: m
                .stages
                .iter()
                .flatten()
                .map(DeployBottleneck::new)
                .collect::<Result<_>>()?,
            conv_5: DeployBlock::pointwise(&m.conv_5)?,
            pool_path: format!("{}.avg_pool.pool", m.head_path),
            lin_5: DeployBlock::pointwise(&m.lin_5)?,
            projection: tch::no_grad(|| {
                Linear::from_tensors(
                    "projection.model".into(),
                    p.weight().copy(),
                    p.bias().copy(),
                )
            }),
            activation: Act::named("act.act".into(), m.activation.kind()),
            head_path: m.head_path.clone(),
            first_weight,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<X3dOutput> {
        let mut x = self.stem[1].forward(&self.stem[0].forward(x)?)?;
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        let x = self.conv_5.forward(&x)?;
        // AdaptiveAvgPool3dOutSize1 → AvgPool3d over the whole T×H×W it was converted at.
        let [_, _, t, h, w] = dims5(&x, &self.pool_path)?;
        let pooled = x
            .f_avg_pool3d([t, h, w], [t, h, w], [0, 0, 0], false, true, None)
            .map_err(torch_err(&self.pool_path))?;
        record(&self.pool_path, OpKind::AvgPool, &x, &pooled, None, 1);
        let x = self.lin_5.forward(&pooled)?;
        let err = torch_err(&self.head_path);
        let x = x.f_permute([0, 2, 3, 4, 1]).map_err(&err)?;
        let logits = self
            .projection
            .forward(&x)?
            .f_permute([0, 4, 1, 2, 3])
            .map_err(&err)?;
        head_outputs(&self.activation, &logits, &self.head_path)
    }

    /// The stem's first tap: the dtype and device inputs are cast to.
    pub fn first_weight(&self) -> &Tensor {
        &self.first_weight
    }
}
