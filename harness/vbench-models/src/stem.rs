//! `ResNetBasicStem` (PyTorchVideo `models/stem.py`): conv → BN → ReLU → optional max-pool.
//! Keys: `conv.weight`, `norm.*`; the activation and pool have none.

use tch::{nn, Tensor};

use crate::blocks::Conv2plus1d;
use crate::error::Result;
use crate::layers::{Act, ActKind, BatchNorm3d, Conv3d, ConvOpts, MaxPool3d};

/// The stem's convolution: a plain `Conv3d`, or X3D's factorised `Conv2plus1d`.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per model
pub(crate) enum StemConv {
    Plain(Conv3d),
    TwoPlusOne(Conv2plus1d),
}

impl StemConv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            StemConv::Plain(c) => c.forward(x),
            StemConv::TwoPlusOne(c) => c.forward(x),
        }
    }

    fn first_weight(&self) -> &Tensor {
        match self {
            StemConv::Plain(c) => c.weight(),
            StemConv::TwoPlusOne(c) => c.first_weight(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct ResNetBasicStem {
    conv: StemConv,
    norm: BatchNorm3d,
    activation: Act,
    pool: Option<MaxPool3d>,
}

impl ResNetBasicStem {
    pub fn from_parts(
        p: &nn::Path,
        conv: StemConv,
        dim_out: i64,
        pool: Option<MaxPool3d>,
    ) -> Result<Self> {
        Ok(ResNetBasicStem {
            conv,
            norm: BatchNorm3d::new(&p.sub("norm"), dim_out)?,
            activation: Act::new(&p.sub("activation"), ActKind::Relu),
            pool,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.conv.forward(x)?;
        let x = self.norm.forward(&x)?;
        let x = self.activation.forward(&x)?;
        match &self.pool {
            Some(pool) => pool.forward(&x),
            None => Ok(x),
        }
    }

    /// The first weight the input meets: its dtype and device are the model's.
    pub fn first_weight(&self) -> &Tensor {
        self.conv.first_weight()
    }
}

/// `create_res_basic_stem` arguments; paddings are PyTorchVideo's `k // 2`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResStemConfig {
    pub in_channels: i64,
    pub out_channels: i64,
    pub conv_kernel_size: [i64; 3],
    pub conv_stride: [i64; 3],
    /// `MaxPool3d` kernel and stride; `None` for no pool (R(2+1)D).
    pub pool: Option<([i64; 3], [i64; 3])>,
}

pub(crate) fn create_res_basic_stem(p: &nn::Path, cfg: &ResStemConfig) -> Result<ResNetBasicStem> {
    let conv = Conv3d::new(
        &p.sub("conv"),
        cfg.in_channels,
        cfg.out_channels,
        ConvOpts::new(cfg.conv_kernel_size)
            .stride(cfg.conv_stride)
            .same_padding(),
    )?;
    let pool = cfg
        .pool
        .map(|(k, s)| MaxPool3d::new(&p.sub("pool"), k, s, [k[0] / 2, k[1] / 2, k[2] / 2]));
    ResNetBasicStem::from_parts(p, StemConv::Plain(conv), cfg.out_channels, pool)
}
