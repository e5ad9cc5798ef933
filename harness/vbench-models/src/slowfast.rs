//! `create_slowfast` (PyTorchVideo `models/slowfast.py`). Layout:
//! - `blocks.0..4` are `MultiPathWayWithFuse`: `multipathway_blocks.0` (slow) and `.1` (fast) —
//!   stems in `blocks.0`, res stages after — then `multipathway_fusion`, a `FuseFastToSlow`
//!   (`conv_fast_to_slow`, `norm`) after the stems and res2–res4; `blocks.4`'s fusion is an
//!   Identity (no keys);
//! - `blocks.5` is `PoolConcatPathway` (`pool.0`, `pool.1`, no keys);
//! - `blocks.6` is the head (`proj`), which has no pool of its own.

use tch::{nn, Tensor};
use vbench_suite::Activation;

use crate::blocks::{create_res_stage, stage_depths, ConvBKind, StageConfig};
use crate::error::{ModelError, Result};
use crate::head::{create_res_basic_head, HeadOutput, HeadPool, ResNetBasicHead};
use crate::layers::{prefix, Act, ActKind, AvgPool3d, BatchNorm3d, Conv3d, ConvOpts};
use crate::net::NetBlock;
use crate::stem::{create_res_basic_stem, ResStemConfig};

/// `create_slowfast` keyword arguments for two pathways (index 0 slow, 1 fast), defaults as in
/// PyTorchVideo 0.1.5.
#[derive(Debug, Clone)]
pub struct SlowFastConfig {
    /// β⁻¹: the fast pathway has 1/β of the slow one's channels.
    pub slowfast_channel_reduction_ratio: i64,
    pub slowfast_conv_channel_fusion_ratio: i64,
    pub slowfast_fusion_conv_kernel_size: [i64; 3],
    /// (α,1,1): the fast pathway has α× the slow one's frames.
    pub slowfast_fusion_conv_stride: [i64; 3],
    pub input_channels: [i64; 2],
    pub model_depth: i64,
    pub model_num_class: i64,
    pub stem_dim_outs: [i64; 2],
    pub stem_conv_kernel_sizes: [[i64; 3]; 2],
    pub stem_conv_strides: [[i64; 3]; 2],
    pub stem_pool_kernel_sizes: [[i64; 3]; 2],
    pub stem_pool_strides: [[i64; 3]; 2],
    /// Per pathway and stage; a list cycles over the stage's blocks.
    pub stage_conv_a_kernel_sizes: [[Vec<[i64; 3]>; 4]; 2],
    pub stage_conv_b_kernel_sizes: [[[i64; 3]; 4]; 2],
    pub stage_conv_b_num_groups: [[i64; 4]; 2],
    pub stage_conv_b_dilations: [[[i64; 3]; 4]; 2],
    pub stage_spatial_strides: [[i64; 4]; 2],
    pub stage_temporal_strides: [[i64; 4]; 2],
    pub head_pool_kernel_sizes: [[i64; 3]; 2],
    pub head_activation: Activation,
}

impl Default for SlowFastConfig {
    fn default() -> Self {
        let (one, t) = ([1, 1, 1], [3, 1, 1]);
        SlowFastConfig {
            slowfast_channel_reduction_ratio: 8,
            slowfast_conv_channel_fusion_ratio: 2,
            slowfast_fusion_conv_kernel_size: [7, 1, 1],
            slowfast_fusion_conv_stride: [4, 1, 1],
            input_channels: [3, 3],
            model_depth: 50,
            model_num_class: 400,
            stem_dim_outs: [64, 8],
            stem_conv_kernel_sizes: [[1, 7, 7], [5, 7, 7]],
            stem_conv_strides: [[1, 2, 2]; 2],
            stem_pool_kernel_sizes: [[1, 3, 3]; 2],
            stem_pool_strides: [[1, 2, 2]; 2],
            stage_conv_a_kernel_sizes: [
                [vec![one], vec![one], vec![t], vec![t]],
                [vec![t], vec![t], vec![t], vec![t]],
            ],
            stage_conv_b_kernel_sizes: [[[1, 3, 3]; 4]; 2],
            stage_conv_b_num_groups: [[1; 4]; 2],
            stage_conv_b_dilations: [[[1, 1, 1]; 4]; 2],
            stage_spatial_strides: [[1, 2, 2, 2]; 2],
            stage_temporal_strides: [[1, 1, 1, 1]; 2],
            head_pool_kernel_sizes: [[8, 7, 7], [32, 7, 7]],
            head_activation: Activation::Softmax,
        }
    }
}

/// Hub `slowfast_r50` (SLOWFAST_8x8_R50): α 4, fusion kernel 7.
pub fn slowfast_r50(num_classes: i64, activation: Activation) -> SlowFastConfig {
    SlowFastConfig {
        model_num_class: num_classes,
        head_activation: activation,
        ..Default::default()
    }
}

/// SLOWFAST_4x16_R50 (no hub builder): PySlowFast's `PTVSlowFast` with its yaml — α 8 (fusion
/// stride 8), fusion kernel 5, head pools (32/8, 7, 7) and (32, 7, 7).
pub fn slowfast_r50_4x16(num_classes: i64, activation: Activation) -> SlowFastConfig {
    SlowFastConfig {
        slowfast_fusion_conv_kernel_size: [5, 1, 1],
        slowfast_fusion_conv_stride: [8, 1, 1],
        head_pool_kernel_sizes: [[4, 7, 7], [32, 7, 7]],
        ..slowfast_r50(num_classes, activation)
    }
}

/// Hub `slowfast_r101` (SLOWFAST_8x8_R101): depth 101, fusion kernel 5.
pub fn slowfast_r101(num_classes: i64, activation: Activation) -> SlowFastConfig {
    SlowFastConfig {
        model_depth: 101,
        slowfast_fusion_conv_kernel_size: [5, 1, 1],
        ..slowfast_r50(num_classes, activation)
    }
}

/// Hub `slowfast_16x8_r101_50_50`: R101 where only the first 6 of res4's 23 blocks have a temporal
/// conv_a (both pathways), 16/64 frames, fusion kernel 5.
pub fn slowfast_16x8_r101_50_50(num_classes: i64, activation: Activation) -> SlowFastConfig {
    let (one, t) = ([1, 1, 1], [3, 1, 1]);
    let res4: Vec<[i64; 3]> = (0..23).map(|i| if i < 6 { t } else { one }).collect();
    SlowFastConfig {
        stage_conv_a_kernel_sizes: [
            [vec![one], vec![one], res4.clone(), vec![t]],
            [vec![t], vec![t], res4, vec![t]],
        ],
        head_pool_kernel_sizes: [[16, 7, 7], [64, 7, 7]],
        ..slowfast_r101(num_classes, activation)
    }
}

/// `FuseFastToSlow`: slow ← cat(slow, ReLU(BN(conv_fast_to_slow(fast)))).
#[derive(Debug)]
struct FuseFastToSlow {
    path: String,
    conv_fast_to_slow: Conv3d,
    norm: BatchNorm3d,
    activation: Act,
}

impl FuseFastToSlow {
    fn new(p: &nn::Path, cfg: &SlowFastConfig, fusion_dim_in: i64) -> Result<Self> {
        let dim_in = fusion_dim_in / cfg.slowfast_channel_reduction_ratio;
        let dim_out = dim_in * cfg.slowfast_conv_channel_fusion_ratio;
        Ok(FuseFastToSlow {
            path: prefix(p),
            conv_fast_to_slow: Conv3d::new(
                &p.sub("conv_fast_to_slow"),
                dim_in,
                dim_out,
                ConvOpts::new(cfg.slowfast_fusion_conv_kernel_size)
                    .stride(cfg.slowfast_fusion_conv_stride)
                    .same_padding(),
            )?,
            norm: BatchNorm3d::new(&p.sub("norm"), dim_out)?,
            activation: Act::new(&p.sub("activation"), ActKind::Relu),
        })
    }

    fn forward(&self, slow: &Tensor, fast: &Tensor) -> Result<Tensor> {
        let fuse = self.conv_fast_to_slow.forward(fast)?;
        let fuse = self.activation.forward(&self.norm.forward(&fuse)?)?;
        // A slow clip that is not fast/α frames long fails here: say which shapes met.
        Tensor::f_cat(&[slow, &fuse], 1).map_err(|source| ModelError::Torch {
            path: format!(
                "{} (slow {:?} + fused fast {:?})",
                self.path,
                slow.size(),
                fuse.size()
            ),
            source,
        })
    }
}

/// `MultiPathWayWithFuse`: one block per pathway, then the optional fusion. It always gets fresh
/// tensors here, so PyTorchVideo's in-place list overwrite has no counterpart.
#[derive(Debug)]
struct MultiPathWayWithFuse {
    multipathway_blocks: [NetBlock; 2],
    multipathway_fusion: Option<FuseFastToSlow>,
}

impl MultiPathWayWithFuse {
    fn forward(&self, slow: &Tensor, fast: &Tensor) -> Result<(Tensor, Tensor)> {
        let slow = self.multipathway_blocks[0].forward(slow)?;
        let fast = self.multipathway_blocks[1].forward(fast)?;
        match &self.multipathway_fusion {
            Some(fusion) => Ok((fusion.forward(&slow, &fast)?, fast)),
            None => Ok((slow, fast)),
        }
    }
}

/// `create_slowfast(head=None)`: the pathways, their fusions and `PoolConcatPathway`.
#[derive(Debug)]
pub(crate) struct SlowFastBackbone {
    blocks: Vec<MultiPathWayWithFuse>,
    path_concat: String,
    pools: [AvgPool3d; 2],
    /// Channels of the concatenated output.
    pub dim_out: i64,
}

impl SlowFastBackbone {
    /// Both pathways pooled and concatenated over channels.
    pub fn forward(&self, slow: &Tensor, fast: &Tensor) -> Result<Tensor> {
        let (mut slow, mut fast) = (slow.shallow_clone(), fast.shallow_clone());
        for block in &self.blocks {
            (slow, fast) = block.forward(&slow, &fast)?;
        }
        let slow = self.pools[0].forward(&slow)?;
        let fast = self.pools[1].forward(&fast)?;
        Tensor::f_cat(&[slow, fast], 1).map_err(ModelError::torch(&self.path_concat))
    }

    /// The slow stem's weight: the dtype and device inputs are cast to.
    pub fn first_weight(&self) -> Option<&Tensor> {
        match self.blocks.first().map(|b| &b.multipathway_blocks[0]) {
            Some(NetBlock::Stem(stem)) => Some(stem.first_weight()),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct SlowFastNet {
    backbone: SlowFastBackbone,
    head: ResNetBasicHead,
}

impl SlowFastNet {
    pub fn forward(&self, slow: &Tensor, fast: &Tensor) -> Result<HeadOutput> {
        self.head.forward(&self.backbone.forward(slow, fast)?)
    }

    pub fn first_weight(&self) -> Option<&Tensor> {
        self.backbone.first_weight()
    }
}

pub(crate) fn create_slowfast(p: &nn::Path, cfg: &SlowFastConfig) -> Result<SlowFastNet> {
    let backbone = create_slowfast_backbone(p, cfg)?;
    let head = create_res_basic_head(
        &p.sub("blocks").sub(backbone.blocks.len() + 1),
        HeadPool::None,
        backbone.dim_out,
        cfg.model_num_class,
        cfg.head_activation.into(),
    )?;
    Ok(SlowFastNet { backbone, head })
}

pub(crate) fn create_slowfast_backbone(
    p: &nn::Path,
    cfg: &SlowFastConfig,
) -> Result<SlowFastBackbone> {
    let depths = stage_depths("create_slowfast", cfg.model_depth)?;
    let beta_inv = cfg.slowfast_channel_reduction_ratio;
    if beta_inv < 1 {
        return Err(ModelError::BadConfig {
            builder: "create_slowfast",
            reason: format!("channel reduction ratio {beta_inv} must be positive"),
        });
    }
    let blocks_path = p.sub("blocks");
    let mut blocks = Vec::new();

    let b0 = blocks_path.sub(0);
    let stems = [0usize, 1].map(|i| {
        create_res_basic_stem(
            &b0.sub("multipathway_blocks").sub(i),
            &ResStemConfig {
                in_channels: cfg.input_channels[i],
                out_channels: cfg.stem_dim_outs[i],
                conv_kernel_size: cfg.stem_conv_kernel_sizes[i],
                conv_stride: cfg.stem_conv_strides[i],
                pool: Some((cfg.stem_pool_kernel_sizes[i], cfg.stem_pool_strides[i])),
            },
        )
    });
    let [slow_stem, fast_stem] = stems;
    blocks.push(MultiPathWayWithFuse {
        multipathway_blocks: [NetBlock::Stem(slow_stem?), NetBlock::Stem(fast_stem?)],
        multipathway_fusion: Some(FuseFastToSlow::new(
            &b0.sub("multipathway_fusion"),
            cfg,
            cfg.stem_dim_outs[0],
        )?),
    });

    let mut dim_in = cfg.stem_dim_outs[0];
    let mut dim_out = dim_in * 4;
    for (idx, &depth) in depths.iter().enumerate() {
        let fused_in = dim_in + dim_in * cfg.slowfast_conv_channel_fusion_ratio / beta_inv;
        let pathway_in = [fused_in, dim_in / beta_inv];
        let pathway_inner = [dim_out / 4, dim_out / 4 / beta_inv];
        let pathway_out = [dim_out, dim_out / beta_inv];
        let bp = blocks_path.sub(idx + 1);
        let stage = |pw: usize| -> Result<NetBlock> {
            let kb = cfg.stage_conv_b_kernel_sizes[pw][idx];
            let dil = cfg.stage_conv_b_dilations[pw][idx];
            let pad = |i: usize| if dil[i] > 1 { dil[i] } else { kb[i] / 2 };
            let s = cfg.stage_spatial_strides[pw][idx];
            let stage = StageConfig {
                depth,
                dim_in: pathway_in[pw],
                dim_inner: pathway_inner[pw],
                dim_out: pathway_out[pw],
                conv_a_kernels: cfg.stage_conv_a_kernel_sizes[pw][idx].clone(),
                conv_a_stride: [cfg.stage_temporal_strides[pw][idx], 1, 1],
                conv_b_kernel: kb,
                conv_b_stride: [1, s, s],
                conv_b_padding: [kb[0] / 2, pad(1), pad(2)],
                conv_b_groups: cfg.stage_conv_b_num_groups[pw][idx],
                conv_b_dilation: dil,
                conv_b_kind: ConvBKind::Plain,
            };
            let path = bp.sub("multipathway_blocks").sub(pw);
            Ok(NetBlock::Stage(create_res_stage(&path, &stage)?))
        };
        let (slow, fast) = (stage(0)?, stage(1)?);
        // FastToSlowFusionBuilder: fusions after res2..res4, an Identity after res5.
        let multipathway_fusion = match idx + 1 < depths.len() {
            true => Some(FuseFastToSlow::new(
                &bp.sub("multipathway_fusion"),
                cfg,
                dim_out,
            )?),
            false => None,
        };
        blocks.push(MultiPathWayWithFuse {
            multipathway_blocks: [slow, fast],
            multipathway_fusion,
        });
        dim_in = dim_out;
        dim_out *= 2;
    }

    let concat = blocks_path.sub(blocks.len());
    let pool_path = concat.sub("pool");
    let pools = [0usize, 1]
        .map(|i| AvgPool3d::new(&pool_path.sub(i), cfg.head_pool_kernel_sizes[i], [1, 1, 1]));
    Ok(SlowFastBackbone {
        blocks,
        path_concat: prefix(&concat),
        pools,
        dim_out: dim_in + dim_in / beta_inv,
    })
}
