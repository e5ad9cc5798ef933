//! `EfficientX3d` (PyTorchVideo `models/accelerator/mobile_cpu/efficient_x3d.py`, hub
//! `efficient_x3d_xs` / `efficient_x3d_s`) in its original (trainable) form. Its deployment form,
//! what `convert_to_deployable_form` makes of it, is `efficient_x3d_deploy.rs`.
//!
//! XS and S are the same network (only `expansion="L"` changes depths); they differ in the clip
//! they are run on (4 vs 13 frames). Keys, and the names that lie:
//! - every conv block is `<name>.kernel.{conv, bn}` (an `nn.Sequential` named `kernel`);
//! - `s1.pathway0_stem_conv_xy` is the (1,3,3) spatial stem conv, `s1.pathway0_stem_conv` the
//!   (5,1,1) depthwise *temporal* one (with BN and ReLU);
//! - `sN.pathway0_resM.layers.{conv_0, conv_1, se.se.block.{0,2}, conv_2}`, `_res_proj` where the
//!   block strides or the width changes (so also in `s2`, 24 → 24 channels, unlike `create_x3d`);
//!   the squeeze-excitation sits on even blocks;
//! - `head.lin_5` is a 1×1×1 *conv* without BN (it acts as a linear layer after the global pool);
//!   the classifier is `projection.model` (`FullyConnected` wraps an `nn.Linear` as `model`).

use tch::{nn, Kind, Tensor};
use vbench_suite::Activation;

use crate::blocks::SqueezeExcitation;
use crate::error::{ModelError, Result};
use crate::layers::{
    prefix, residual_add, Act, ActKind, BatchNorm3d, Conv3d, ConvOpts, GlobalAvgPool3d, Linear,
};

/// `EfficientX3d(expansion=...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expansion {
    Xs,
    S,
    M,
    L,
}

/// `EfficientX3d` arguments. PyTorchVideo's `head_act` is "identity" in the hub builders; the
/// harness's activation is applied where `head_act` would be (per position, before the mean), and
/// the pre-activation output is PyTorchVideo's.
#[derive(Debug, Clone)]
pub struct EfficientX3dConfig {
    pub num_classes: i64,
    pub expansion: Expansion,
    pub head_activation: Activation,
}

/// Hub `efficient_x3d_xs`.
pub fn efficient_x3d_xs(num_classes: i64, activation: Activation) -> EfficientX3dConfig {
    EfficientX3dConfig {
        num_classes,
        expansion: Expansion::Xs,
        head_activation: activation,
    }
}

/// Hub `efficient_x3d_s`: the same network as XS.
pub fn efficient_x3d_s(num_classes: i64, activation: Activation) -> EfficientX3dConfig {
    EfficientX3dConfig {
        expansion: Expansion::S,
        ..efficient_x3d_xs(num_classes, activation)
    }
}

/// An accelerator conv block (`Conv3dPwBnAct`, `Conv3d3x3x3DwBnAct`, `Conv3dTemporalKernel1BnAct`,
/// `Conv3d5x1x1BnAct`): `kernel.conv` → optional `kernel.bn` → ReLU or identity.
#[derive(Debug)]
pub(crate) struct ConvBnAct {
    /// The block's name (without `.kernel`).
    pub path: String,
    pub conv: Conv3d,
    pub bn: Option<BatchNorm3d>,
    pub relu: Option<Act>,
}

impl ConvBnAct {
    fn new(
        p: &nn::Path,
        c_in: i64,
        c_out: i64,
        opts: ConvOpts,
        bn: bool,
        relu: bool,
    ) -> Result<Self> {
        let k = p.sub("kernel");
        Ok(ConvBnAct {
            path: prefix(p),
            conv: Conv3d::new(&k.sub("conv"), c_in, c_out, opts)?,
            bn: match bn {
                true => Some(BatchNorm3d::new(&k.sub("bn"), c_out)?),
                false => None,
            },
            relu: relu.then(|| Act::new(&k.sub("act"), ActKind::Relu)),
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = self.conv.forward(x)?;
        if let Some(bn) = &self.bn {
            x = bn.forward(&x)?;
        }
        match &self.relu {
            Some(act) => act.forward(&x),
            None => Ok(x),
        }
    }
}

fn pointwise(p: &nn::Path, c_in: i64, c_out: i64, bn: bool, relu: bool) -> Result<ConvBnAct> {
    ConvBnAct::new(p, c_in, c_out, ConvOpts::new([1, 1, 1]), bn, relu)
}

/// `X3dBottleneckBlock(act_functions=("relu", "swish", "relu"))`.
#[derive(Debug)]
pub(crate) struct X3dBottleneck {
    pub path: String,
    pub res_proj: Option<ConvBnAct>,
    pub conv_0: ConvBnAct,
    pub conv_1: ConvBnAct,
    pub se: Option<SqueezeExcitation>,
    pub act_func_1: Act,
    pub conv_2: ConvBnAct,
    pub final_act: Act,
}

impl X3dBottleneck {
    fn new(p: &nn::Path, c_in: i64, mid: i64, c_out: i64, stride: i64, se: bool) -> Result<Self> {
        let layers = p.sub("layers");
        let res_proj = match stride != 1 || c_in != c_out {
            true => Some(ConvBnAct::new(
                &p.sub("_res_proj"),
                c_in,
                c_out,
                ConvOpts::new([1, 1, 1]).stride([1, stride, stride]),
                true,
                false,
            )?),
            false => None,
        };
        let dw = ConvOpts::new([3, 3, 3])
            .stride([1, stride, stride])
            .padding([1, 1, 1])
            .groups(mid);
        Ok(X3dBottleneck {
            path: prefix(p),
            res_proj,
            conv_0: pointwise(&layers.sub("conv_0"), c_in, mid, true, true)?,
            // Its activation is "identity": the swish comes after the squeeze-excitation.
            conv_1: ConvBnAct::new(&layers.sub("conv_1"), mid, mid, dw, true, false)?,
            se: match se {
                // round_width(mid, 0.0625): 8, 8, 16, 32 for the four stages.
                true => Some(SqueezeExcitation::new(
                    &layers.sub("se").sub("se"),
                    mid,
                    se_width(mid),
                )?),
                false => None,
            },
            act_func_1: Act::new(&layers.sub("act_func_1"), ActKind::Swish),
            conv_2: pointwise(&layers.sub("conv_2"), mid, c_out, true, false)?,
            final_act: Act::new(&p.sub("final_act"), ActKind::Relu),
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut out = self.conv_1.forward(&self.conv_0.forward(x)?)?;
        if let Some(se) = &self.se {
            out = se.forward(&out)?;
        }
        let out = self.conv_2.forward(&self.act_func_1.forward(&out)?)?;
        let shortcut = match &self.res_proj {
            Some(proj) => proj.forward(x)?,
            None => x.shallow_clone(),
        };
        self.final_act
            .forward(&residual_add(&self.path, &shortcut, &out)?)
    }
}

/// PyTorchVideo `round_width(mid, 0.0625)` (min width 8, divisor 8).
fn se_width(mid: i64) -> i64 {
    let w = mid as f64 * 0.0625;
    let mut out = 8.max((w + 4.0) as i64 / 8 * 8);
    if (out as f64) < 0.9 * w {
        out += 8;
    }
    out
}

#[derive(Debug)]
pub(crate) struct EfficientX3d {
    pub stem_conv_xy: ConvBnAct,
    pub stem_conv: ConvBnAct,
    /// s2..s5.
    pub stages: Vec<Vec<X3dBottleneck>>,
    pub conv_5: ConvBnAct,
    pub avg_pool: GlobalAvgPool3d,
    pub lin_5: ConvBnAct,
    pub projection: Linear,
    pub activation: Act,
    pub head_path: String,
}

/// `[B, classes]` scores (activation per position, then the mean) and logits.
pub(crate) struct X3dOutput {
    pub scores: Tensor,
    pub logits: Tensor,
}

impl EfficientX3d {
    pub fn forward(&self, x: &Tensor) -> Result<X3dOutput> {
        let mut x = self.stem_conv.forward(&self.stem_conv_xy.forward(x)?)?;
        for block in self.stages.iter().flatten() {
            x = block.forward(&x)?;
        }
        let x = self
            .lin_5
            .forward(&self.avg_pool.forward(&self.conv_5.forward(&x)?)?)?;
        let err = ModelError::torch(&self.head_path);
        // (N, C, T, H, W) -> (N, T, H, W, C) → projection; back to channels-first for the
        // activation over classes, then `mean([1, 2, 3])` over positions.
        let x = x.f_permute([0, 2, 3, 4, 1]).map_err(&err)?;
        let logits = self
            .projection
            .forward(&x)?
            .f_permute([0, 4, 1, 2, 3])
            .map_err(&err)?;
        head_outputs(&self.activation, &logits, &self.head_path)
    }

    pub fn first_weight(&self) -> &Tensor {
        self.stem_conv_xy.conv.weight()
    }
}

/// Activation over classes at every position, then the mean over positions; and the mean logits.
pub(crate) fn head_outputs(act: &Act, logits: &Tensor, path: &str) -> Result<X3dOutput> {
    let mean = |t: &Tensor| {
        t.f_mean_dim(&[2i64, 3, 4][..], false, None::<Kind>)
            .map_err(ModelError::torch(path))
    };
    Ok(X3dOutput {
        scores: mean(&act.forward(logits)?)?,
        logits: mean(logits)?,
    })
}

pub(crate) fn create_efficient_x3d(p: &nn::Path, cfg: &EfficientX3dConfig) -> Result<EfficientX3d> {
    let s1 = p.sub("s1");
    let stem_conv_xy = ConvBnAct::new(
        &s1.sub("pathway0_stem_conv_xy"),
        3,
        24,
        ConvOpts::new([1, 3, 3])
            .stride([1, 2, 2])
            .padding([0, 1, 1]),
        false,
        false,
    )?;
    let stem_conv = ConvBnAct::new(
        &s1.sub("pathway0_stem_conv"),
        24,
        24,
        ConvOpts::new([5, 1, 1]).padding([2, 0, 0]).groups(24),
        true,
        true,
    )?;
    let depths = match cfg.expansion {
        Expansion::L => [5, 10, 25, 15],
        _ => [3, 5, 11, 7],
    };
    let widths = [(24, 54), (48, 108), (96, 216), (192, 432)];
    let mut stages = Vec::new();
    let mut c_in = 24;
    for (i, (&depth, &(c_out, mid))) in depths.iter().zip(&widths).enumerate() {
        let sp = p.sub(format!("s{}", i + 2));
        let blocks = (0..depth)
            .map(|b| {
                let block_in = if b == 0 { c_in } else { c_out };
                let stride = if b == 0 { 2 } else { 1 };
                let path = sp.sub(format!("pathway0_res{b}"));
                X3dBottleneck::new(&path, block_in, mid, c_out, stride, b % 2 == 0)
            })
            .collect::<Result<Vec<_>>>()?;
        stages.push(blocks);
        c_in = c_out;
    }
    let head = p.sub("head");
    Ok(EfficientX3d {
        stem_conv_xy,
        stem_conv,
        stages,
        conv_5: pointwise(&head.sub("conv_5"), 192, 432, true, true)?,
        avg_pool: GlobalAvgPool3d::new(&head.sub("avg_pool")),
        lin_5: pointwise(&head.sub("lin_5"), 432, 2048, false, true)?,
        projection: Linear::new(&p.sub("projection").sub("model"), 2048, cfg.num_classes)?,
        activation: Act::new(&p.sub("act"), cfg.head_activation.into()),
        head_path: prefix(&head),
    })
}
