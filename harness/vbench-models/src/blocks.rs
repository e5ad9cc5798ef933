//! Residual building blocks (PyTorchVideo `models/resnet.py`, `layers/convolutions.py`):
//! `BottleneckBlock` (conv_a → conv_b → conv_c), `ResBlock` (branch1 shortcut + branch2
//! bottleneck + ReLU), `ResStage` (`res_blocks.N`), and the factorised `Conv2plus1d`.

use tch::{nn, Tensor};

use crate::error::Result;
use crate::layers::{
    prefix, residual_add, Act, ActKind, BatchNorm3d, Conv3d, ConvOpts, GlobalAvgPool3d,
};

/// `Conv2plus1d` with `conv_xy_first=False`: `conv_t` → `norm` → `activation` → `conv_xy`.
/// R(2+1)D: `conv_t` is the temporal (k,1,1) conv and `conv_xy` the spatial (1,k,k) one.
/// X3D's stem reuses the class with the two swapped (see `x3d.rs`), so only the run order is fixed.
#[derive(Debug)]
pub(crate) struct Conv2plus1d {
    pub conv_t: Conv3d,
    pub norm: Option<BatchNorm3d>,
    pub activation: Option<Act>,
    pub conv_xy: Conv3d,
}

impl Conv2plus1d {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = self.conv_t.forward(x)?;
        if let Some(norm) = &self.norm {
            x = norm.forward(&x)?;
        }
        if let Some(act) = &self.activation {
            x = act.forward(&x)?;
        }
        self.conv_xy.forward(&x)
    }

    pub fn first_weight(&self) -> &Tensor {
        self.conv_t.weight()
    }
}

/// fvcore `SqueezeExcitation(is_3d=True)`: global mean → 1×1 conv → ReLU → 1×1 conv → sigmoid →
/// rescale. Keys `block.0.*` and `block.2.*` (both convs have biases).
#[derive(Debug)]
pub(crate) struct SqueezeExcitation {
    path: String,
    mean: GlobalAvgPool3d,
    conv1: Conv3d,
    act: Act,
    conv2: Conv3d,
    gate: Act,
}

impl SqueezeExcitation {
    pub fn new(p: &nn::Path, channels: i64, reduced: i64) -> Result<Self> {
        let b = p.sub("block");
        let opts = ConvOpts::new([1, 1, 1]).bias(true);
        Ok(SqueezeExcitation {
            path: prefix(p),
            mean: GlobalAvgPool3d::new(p),
            conv1: Conv3d::new(&b.sub("0"), channels, reduced, opts)?,
            act: Act::new(&b.sub("1"), ActKind::Relu),
            conv2: Conv3d::new(&b.sub("2"), reduced, channels, opts)?,
            gate: Act::new(&b.sub("3"), ActKind::Sigmoid),
        })
    }

    /// The two 1×1×1 convs (`block.0`, `block.2`), for the deployment form's linear layers.
    pub fn convs(&self) -> (&Conv3d, &Conv3d) {
        (&self.conv1, &self.conv2)
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let s = self.mean.forward_mean(x)?;
        let s = self.gate.forward(
            &self
                .conv2
                .forward(&self.act.forward(&self.conv1.forward(&s)?)?)?,
        )?;
        let y = x
            .f_mul(&s)
            .map_err(crate::error::ModelError::torch(&self.path))?;
        crate::op_record::record(|| crate::op_record::OpRecord {
            path: self.path.clone(),
            op: crate::op_record::OpKind::Mul,
            input_shape: x.size(),
            output_shape: y.size(),
            weight_shape: None,
            groups: 1,
        });
        Ok(y)
    }
}

/// `conv_b` of a bottleneck: a plain conv, or R(2+1)D's factorised one.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per model
pub(crate) enum ConvB {
    Plain(Conv3d),
    TwoPlusOne(Conv2plus1d),
}

/// `norm_b`: a BN (`norm_b.*`), or X3D's `Sequential(BN, SE | Identity)` (`norm_b.0.*`,
/// `norm_b.1.*`; an Identity has no keys).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per model
pub(crate) enum NormB {
    Plain(BatchNorm3d),
    WithSe(BatchNorm3d, Option<SqueezeExcitation>),
}

#[derive(Debug)]
pub(crate) struct BottleneckBlock {
    pub conv_a: Conv3d,
    pub norm_a: BatchNorm3d,
    pub act_a: Act,
    pub conv_b: ConvB,
    pub norm_b: NormB,
    pub act_b: Act,
    pub conv_c: Conv3d,
    pub norm_c: BatchNorm3d,
}

impl BottleneckBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self
            .act_a
            .forward(&self.norm_a.forward(&self.conv_a.forward(x)?)?)?;
        let x = match &self.conv_b {
            ConvB::Plain(c) => c.forward(&x)?,
            ConvB::TwoPlusOne(c) => c.forward(&x)?,
        };
        let x = match &self.norm_b {
            NormB::Plain(bn) => bn.forward(&x)?,
            NormB::WithSe(bn, se) => {
                let x = bn.forward(&x)?;
                match se {
                    Some(se) => se.forward(&x)?,
                    None => x,
                }
            }
        };
        let x = self.act_b.forward(&x)?;
        self.norm_c.forward(&self.conv_c.forward(&x)?)
    }
}

/// Which `conv_b` a ResNet-style bottleneck gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConvBKind {
    /// `create_bottleneck_block`.
    Plain,
    /// `create_2plus1d_bottleneck_block`: conv_t (kt,1,1) → BN → ReLU → conv_xy (1,kh,kw).
    TwoPlusOne,
}

/// `create_bottleneck_block` / `create_2plus1d_bottleneck_block` arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BottleneckConfig {
    pub dim_in: i64,
    pub dim_inner: i64,
    pub dim_out: i64,
    pub conv_a_kernel: [i64; 3],
    pub conv_a_stride: [i64; 3],
    pub conv_a_padding: [i64; 3],
    pub conv_b_kernel: [i64; 3],
    pub conv_b_stride: [i64; 3],
    pub conv_b_padding: [i64; 3],
    pub conv_b_groups: i64,
    pub conv_b_dilation: [i64; 3],
    pub conv_b_kind: ConvBKind,
}

pub(crate) fn create_bottleneck_block(
    p: &nn::Path,
    c: &BottleneckConfig,
) -> Result<BottleneckBlock> {
    let conv_a = Conv3d::new(
        &p.sub("conv_a"),
        c.dim_in,
        c.dim_inner,
        ConvOpts::new(c.conv_a_kernel)
            .stride(c.conv_a_stride)
            .padding(c.conv_a_padding),
    )?;
    let norm_a = BatchNorm3d::new(&p.sub("norm_a"), c.dim_inner)?;
    let act_a = Act::new(&p.sub("act_a"), ActKind::Relu);
    let pb = p.sub("conv_b");
    let conv_b = match c.conv_b_kind {
        ConvBKind::Plain => ConvB::Plain(Conv3d::new(
            &pb,
            c.dim_inner,
            c.dim_inner,
            ConvOpts::new(c.conv_b_kernel)
                .stride(c.conv_b_stride)
                .padding(c.conv_b_padding)
                .groups(c.conv_b_groups)
                .dilation(c.conv_b_dilation),
        )?),
        // create_conv_2plus1d asserts groups == 1 and dilation == 1; the zoo never asks otherwise.
        ConvBKind::TwoPlusOne => {
            let [kt, kh, kw] = c.conv_b_kernel;
            let [st, sh, sw] = c.conv_b_stride;
            let [pt, ph, pw] = c.conv_b_padding;
            ConvB::TwoPlusOne(Conv2plus1d {
                conv_t: Conv3d::new(
                    &pb.sub("conv_t"),
                    c.dim_inner,
                    c.dim_inner,
                    ConvOpts::new([kt, 1, 1])
                        .stride([st, 1, 1])
                        .padding([pt, 0, 0]),
                )?,
                norm: Some(BatchNorm3d::new(&pb.sub("norm"), c.dim_inner)?),
                activation: Some(Act::new(&pb.sub("activation"), ActKind::Relu)),
                conv_xy: Conv3d::new(
                    &pb.sub("conv_xy"),
                    c.dim_inner,
                    c.dim_inner,
                    ConvOpts::new([1, kh, kw])
                        .stride([1, sh, sw])
                        .padding([0, ph, pw]),
                )?,
            })
        }
    };
    Ok(BottleneckBlock {
        conv_a,
        norm_a,
        act_a,
        conv_b,
        norm_b: NormB::Plain(BatchNorm3d::new(&p.sub("norm_b"), c.dim_inner)?),
        act_b: Act::new(&p.sub("act_b"), ActKind::Relu),
        conv_c: Conv3d::new(
            &p.sub("conv_c"),
            c.dim_inner,
            c.dim_out,
            ConvOpts::new([1, 1, 1]),
        )?,
        norm_c: BatchNorm3d::new(&p.sub("norm_c"), c.dim_out)?,
    })
}

/// `ResBlock`: `activation(branch1(x) + branch2(x))`, branch1 being the identity when absent.
#[derive(Debug)]
pub(crate) struct ResBlock {
    pub path: String,
    pub branch1_conv: Option<Conv3d>,
    pub branch1_norm: Option<BatchNorm3d>,
    pub branch2: BottleneckBlock,
    pub activation: Act,
}

impl ResBlock {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let branch = self.branch2.forward(x)?;
        let sum = match &self.branch1_conv {
            None => residual_add(&self.path, x, &branch)?,
            Some(conv) => {
                let mut shortcut = conv.forward(x)?;
                if let Some(norm) = &self.branch1_norm {
                    shortcut = norm.forward(&shortcut)?;
                }
                residual_add(&self.path, &shortcut, &branch)?
            }
        };
        self.activation.forward(&sum)
    }
}

/// `create_res_block`: branch1 (1×1×1 conv + BN, stride = conv_a_stride × conv_b_stride) exists
/// when the channels change or the block strides.
pub(crate) fn create_res_block(p: &nn::Path, c: &BottleneckConfig) -> Result<ResBlock> {
    let stride: [i64; 3] = std::array::from_fn(|i| c.conv_a_stride[i] * c.conv_b_stride[i]);
    let has_branch1 = c.dim_in != c.dim_out || stride.iter().product::<i64>() != 1;
    let (branch1_conv, branch1_norm) = if has_branch1 {
        (
            Some(Conv3d::new(
                &p.sub("branch1_conv"),
                c.dim_in,
                c.dim_out,
                ConvOpts::new([1, 1, 1]).stride(stride),
            )?),
            Some(BatchNorm3d::new(&p.sub("branch1_norm"), c.dim_out)?),
        )
    } else {
        (None, None)
    };
    Ok(ResBlock {
        path: prefix(p),
        branch1_conv,
        branch1_norm,
        branch2: create_bottleneck_block(&p.sub("branch2"), c)?,
        activation: Act::new(&p.sub("activation"), ActKind::Relu),
    })
}

#[derive(Debug)]
pub(crate) struct ResStage {
    pub res_blocks: Vec<ResBlock>,
}

impl ResStage {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut blocks = self.res_blocks.iter();
        let Some(first) = blocks.next() else {
            return Ok(x.shallow_clone());
        };
        let mut x = first.forward(x)?;
        for block in blocks {
            x = block.forward(&x)?;
        }
        Ok(x)
    }
}

/// `create_res_stage` arguments. `conv_a_kernels` cycles over the blocks (PyTorchVideo's
/// `(kernels * depth)[:depth]`); conv_a padding is `k // 2`; strides apply to the first block only.
#[derive(Debug, Clone)]
pub(crate) struct StageConfig {
    pub depth: i64,
    pub dim_in: i64,
    pub dim_inner: i64,
    pub dim_out: i64,
    pub conv_a_kernels: Vec<[i64; 3]>,
    pub conv_a_stride: [i64; 3],
    pub conv_b_kernel: [i64; 3],
    pub conv_b_stride: [i64; 3],
    pub conv_b_padding: [i64; 3],
    pub conv_b_groups: i64,
    pub conv_b_dilation: [i64; 3],
    pub conv_b_kind: ConvBKind,
}

pub(crate) fn create_res_stage(p: &nn::Path, c: &StageConfig) -> Result<ResStage> {
    if c.conv_a_kernels.is_empty() {
        return Err(crate::error::ModelError::BadConfig {
            builder: "create_res_stage",
            reason: format!("{}: no conv_a kernel size", prefix(p)),
        });
    }
    let blocks = p.sub("res_blocks");
    let mut res_blocks = Vec::new();
    for ind in 0..c.depth {
        let k = c.conv_a_kernels[ind as usize % c.conv_a_kernels.len()];
        let first = ind == 0;
        let cfg = BottleneckConfig {
            dim_in: if first { c.dim_in } else { c.dim_out },
            dim_inner: c.dim_inner,
            dim_out: c.dim_out,
            conv_a_kernel: k,
            conv_a_stride: if first { c.conv_a_stride } else { [1, 1, 1] },
            conv_a_padding: [k[0] / 2, k[1] / 2, k[2] / 2],
            conv_b_kernel: c.conv_b_kernel,
            conv_b_stride: if first { c.conv_b_stride } else { [1, 1, 1] },
            conv_b_padding: c.conv_b_padding,
            conv_b_groups: c.conv_b_groups,
            conv_b_dilation: c.conv_b_dilation,
            conv_b_kind: c.conv_b_kind,
        };
        res_blocks.push(create_res_block(&blocks.sub(ind), &cfg)?);
    }
    Ok(ResStage { res_blocks })
}

/// ResNet depth → blocks per stage (PyTorchVideo `_MODEL_STAGE_DEPTH`).
pub(crate) fn stage_depths(builder: &'static str, model_depth: i64) -> Result<[i64; 4]> {
    match model_depth {
        50 => Ok([3, 4, 6, 3]),
        101 => Ok([3, 4, 23, 3]),
        152 => Ok([3, 8, 36, 3]),
        d => Err(crate::error::ModelError::BadConfig {
            builder,
            reason: format!("model_depth {d} is not one of 50, 101, 152"),
        }),
    }
}
