//! `create_r2plus1d` (PyTorchVideo `models/r2plus1d.py`): a stem without pool, then bottlenecks
//! whose conv_b is factorised (`conv_b.conv_t` temporal (3,1,1) → `conv_b.norm` → ReLU →
//! `conv_b.conv_xy` spatial (1,3,3)), striding spatially in every stage and in time from res4 on.

use tch::nn;
use vbench_suite::Activation;

use crate::blocks::{create_res_stage, stage_depths, ConvBKind, StageConfig};
use crate::error::Result;
use crate::head::{avg_head_pool, create_res_basic_head};
use crate::net::{Net, NetBlock};
use crate::stem::{create_res_basic_stem, ResStemConfig};

/// `create_r2plus1d` keyword arguments, defaults as in PyTorchVideo 0.1.5 (its default head
/// activation is softmax too).
#[derive(Debug, Clone)]
pub struct R2plus1dConfig {
    pub input_channel: i64,
    pub model_depth: i64,
    pub model_num_class: i64,
    pub stem_dim_out: i64,
    pub stem_conv_kernel_size: [i64; 3],
    pub stem_conv_stride: [i64; 3],
    pub stage_conv_a_kernel_size: [[i64; 3]; 4],
    pub stage_conv_b_kernel_size: [[i64; 3]; 4],
    pub stage_spatial_stride: [i64; 4],
    pub stage_temporal_stride: [i64; 4],
    pub head_pool_kernel_size: [i64; 3],
    pub head_activation: Activation,
}

impl Default for R2plus1dConfig {
    fn default() -> Self {
        R2plus1dConfig {
            input_channel: 3,
            model_depth: 50,
            model_num_class: 400,
            stem_dim_out: 64,
            stem_conv_kernel_size: [1, 7, 7],
            stem_conv_stride: [1, 2, 2],
            stage_conv_a_kernel_size: [[1, 1, 1]; 4],
            stage_conv_b_kernel_size: [[3, 3, 3]; 4],
            stage_spatial_stride: [2, 2, 2, 2],
            stage_temporal_stride: [1, 1, 2, 2],
            head_pool_kernel_size: [4, 7, 7],
            head_activation: Activation::Softmax,
        }
    }
}

/// Hub `r2plus1d_r50` (R2PLUS1D_16x4_R50): the builder's defaults.
pub fn r2plus1d_r50(num_classes: i64, activation: Activation) -> R2plus1dConfig {
    R2plus1dConfig {
        model_num_class: num_classes,
        head_activation: activation,
        ..Default::default()
    }
}

pub(crate) fn create_r2plus1d(p: &nn::Path, cfg: &R2plus1dConfig) -> Result<Net> {
    let depths = stage_depths("create_r2plus1d", cfg.model_depth)?;
    let blocks_path = p.sub("blocks");
    let mut blocks = vec![NetBlock::Stem(create_res_basic_stem(
        &blocks_path.sub(0),
        &ResStemConfig {
            in_channels: cfg.input_channel,
            out_channels: cfg.stem_dim_out,
            conv_kernel_size: cfg.stem_conv_kernel_size,
            conv_stride: cfg.stem_conv_stride,
            pool: None,
        },
    )?)];

    let half = |k: [i64; 3]| [k[0] / 2, k[1] / 2, k[2] / 2];
    let mut dim_in = cfg.stem_dim_out;
    let mut dim_out = dim_in * 4;
    for (idx, &depth) in depths.iter().enumerate() {
        let (t, s) = (
            cfg.stage_temporal_stride[idx],
            cfg.stage_spatial_stride[idx],
        );
        let kb = cfg.stage_conv_b_kernel_size[idx];
        let stage = StageConfig {
            depth,
            dim_in,
            dim_inner: dim_out / 4,
            dim_out,
            conv_a_kernels: vec![cfg.stage_conv_a_kernel_size[idx]],
            conv_a_stride: [1, 1, 1],
            conv_b_kernel: kb,
            conv_b_stride: [t, s, s],
            conv_b_padding: half(kb),
            conv_b_groups: 1,
            conv_b_dilation: [1, 1, 1],
            conv_b_kind: ConvBKind::TwoPlusOne,
        };
        let stage_path = blocks_path.sub(blocks.len());
        blocks.push(NetBlock::Stage(create_res_stage(&stage_path, &stage)?));
        dim_in = dim_out;
        dim_out *= 2;
    }

    let head_path = blocks_path.sub(blocks.len());
    let head = create_res_basic_head(
        &head_path,
        avg_head_pool(&head_path, cfg.head_pool_kernel_size),
        dim_in,
        cfg.model_num_class,
        cfg.head_activation.into(),
    )?;
    Ok(Net { blocks, head })
}
