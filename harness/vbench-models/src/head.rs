//! `ResNetBasicHead` (PyTorchVideo `models/head.py`) in eval mode: pool → (dropout: identity in
//! eval) → `proj` over channels at every pooled position → activation → `output_pool`
//! (`AdaptiveAvgPool3d(1)`) → `[B, classes]`.
//!
//! When the clip or crop is larger than the pool kernel (stride 1), several positions survive the
//! pool and their *post-activation* scores are averaged, as PySlowFast's fully convolutional test
//! does. The pre-activation output averages the projections instead (what the same head gives with
//! `activation=None`).

use tch::{nn, Tensor};

use crate::error::{ModelError, Result};
use crate::layers::{
    prefix, Act, ActKind, AvgPool3d, BatchNorm3d, Conv3d, GlobalAvgPool3d, Linear,
};

/// X3D's `ProjectedPool` (`pool.*` in the head): pre_conv → pre_norm → ReLU → AvgPool →
/// post_conv → ReLU. PyTorchVideo's `bn_lin5_on=False` leaves out `post_norm` for every zoo entry.
#[derive(Debug)]
pub(crate) struct ProjectedPool {
    pub pre_conv: Conv3d,
    pub pre_norm: BatchNorm3d,
    pub pre_act: Act,
    pub pool: AvgPool3d,
    pub post_conv: Conv3d,
    pub post_act: Act,
}

impl ProjectedPool {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self
            .pre_act
            .forward(&self.pre_norm.forward(&self.pre_conv.forward(x)?)?)?;
        let x = self.pool.forward(&x)?;
        self.post_act.forward(&self.post_conv.forward(&x)?)
    }
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per model
pub(crate) enum HeadPool {
    /// SlowFast: pooling happens per pathway before the concat (`PoolConcatPathway`).
    None,
    Avg(AvgPool3d),
    Projected(ProjectedPool),
}

#[derive(Debug)]
pub(crate) struct ResNetBasicHead {
    path: String,
    pool: HeadPool,
    proj: Linear,
    activation: Act,
    output_pool: GlobalAvgPool3d,
}

/// What a head produces: both `[B, classes]`.
pub(crate) struct HeadOutput {
    pub scores: Tensor,
    pub pre_activation: Tensor,
}

impl ResNetBasicHead {
    pub fn forward(&self, x: &Tensor) -> Result<HeadOutput> {
        let x = match &self.pool {
            HeadPool::None => x.shallow_clone(),
            HeadPool::Avg(pool) => pool.forward(x)?,
            HeadPool::Projected(pool) => pool.forward(x)?,
        };
        let err = ModelError::torch;
        let x = x.f_permute([0, 2, 3, 4, 1]).map_err(err(&self.path))?;
        let x = self.proj.forward(&x)?;
        let logits = x.f_permute([0, 4, 1, 2, 3]).map_err(err(&self.path))?;
        let scores = self
            .output_pool
            .forward(&self.activation.forward(&logits)?)?;
        let pre_activation = self.output_pool.forward_unrecorded(&logits)?;
        Ok(HeadOutput {
            scores: flatten(&scores, &self.path)?,
            pre_activation: flatten(&pre_activation, &self.path)?,
        })
    }
}

// PyTorchVideo's `x.view(x.shape[0], -1)` cannot infer -1 on an empty batch; the class count is
// known, so spell it out and batch-0 shape passes keep working.
fn flatten(x: &Tensor, path: &str) -> Result<Tensor> {
    let size = x.size();
    let (batch, rest) = (size[0], size[1..].iter().product::<i64>());
    x.f_reshape([batch, rest]).map_err(ModelError::torch(path))
}

/// `create_res_basic_head` with a pool built by the caller (`pool.*` keys live under `p.sub("pool")`).
pub(crate) fn create_res_basic_head(
    p: &nn::Path,
    pool: HeadPool,
    in_features: i64,
    out_features: i64,
    activation: ActKind,
) -> Result<ResNetBasicHead> {
    Ok(ResNetBasicHead {
        path: prefix(p),
        pool,
        proj: Linear::new(&p.sub("proj"), in_features, out_features)?,
        activation: Act::new(&p.sub("activation"), activation),
        output_pool: GlobalAvgPool3d::new(&p.sub("output_pool")),
    })
}

/// The `nn.AvgPool3d(kernel, stride=1)` that ResNet-family heads use.
pub(crate) fn avg_head_pool(p: &nn::Path, kernel: [i64; 3]) -> HeadPool {
    HeadPool::Avg(AvgPool3d::new(&p.sub("pool"), kernel, [1, 1, 1]))
}
