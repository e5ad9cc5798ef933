//! `create_csn` (PyTorchVideo `models/csn.py`): a ResNet whose conv_b is a depthwise 3×3×3 conv
//! (one group per channel), striding in time from res3 on. Same `blocks.N` layout as `create_resnet`.

use tch::nn;
use vbench_suite::Activation;

use crate::blocks::{create_res_stage, stage_depths, ConvBKind, StageConfig};
use crate::error::{ModelError, Result};
use crate::head::{avg_head_pool, create_res_basic_head};
use crate::net::{Net, NetBlock};
use crate::stem::{create_res_basic_stem, ResStemConfig};

/// `create_csn` keyword arguments, defaults as in PyTorchVideo 0.1.5.
#[derive(Debug, Clone)]
pub struct CsnConfig {
    pub input_channel: i64,
    pub model_depth: i64,
    pub model_num_class: i64,
    pub stem_dim_out: i64,
    pub stem_conv_kernel_size: [i64; 3],
    pub stem_conv_stride: [i64; 3],
    /// `stem_pool=nn.MaxPool3d` kernel and stride; PyTorchVideo's default is no pool.
    pub stem_pool: Option<([i64; 3], [i64; 3])>,
    pub stage_conv_a_kernel_size: [i64; 3],
    pub stage_conv_b_kernel_size: [i64; 3],
    /// Channels per conv_b group: 1 makes it depthwise.
    pub stage_conv_b_width_per_group: i64,
    pub stage_spatial_stride: [i64; 4],
    pub stage_temporal_stride: [i64; 4],
    pub bottleneck_ratio: i64,
    pub head_pool_kernel_size: [i64; 3],
    pub head_activation: Activation,
}

impl Default for CsnConfig {
    fn default() -> Self {
        CsnConfig {
            input_channel: 3,
            model_depth: 50,
            model_num_class: 400,
            stem_dim_out: 64,
            stem_conv_kernel_size: [3, 7, 7],
            stem_conv_stride: [1, 2, 2],
            stem_pool: None,
            stage_conv_a_kernel_size: [1, 1, 1],
            stage_conv_b_kernel_size: [3, 3, 3],
            stage_conv_b_width_per_group: 1,
            stage_spatial_stride: [1, 2, 2, 2],
            stage_temporal_stride: [1, 2, 2, 2],
            bottleneck_ratio: 4,
            head_pool_kernel_size: [1, 7, 7],
            head_activation: Activation::Softmax,
        }
    }
}

/// Hub `csn_r101` (CSN_32x2_R101): depth 101, a stem max-pool, head pool (4,7,7) for 32 frames.
pub fn csn_r101(num_classes: i64, activation: Activation) -> CsnConfig {
    CsnConfig {
        model_depth: 101,
        stem_pool: Some(([1, 3, 3], [1, 2, 2])),
        head_pool_kernel_size: [4, 7, 7],
        model_num_class: num_classes,
        head_activation: activation,
        ..Default::default()
    }
}

pub(crate) fn create_csn(p: &nn::Path, cfg: &CsnConfig) -> Result<Net> {
    let depths = stage_depths("create_csn", cfg.model_depth)?;
    if cfg.stage_conv_b_width_per_group < 1 || cfg.bottleneck_ratio < 1 {
        return Err(ModelError::BadConfig {
            builder: "create_csn",
            reason: "width per group and bottleneck ratio must be positive".into(),
        });
    }
    let blocks_path = p.sub("blocks");
    let mut blocks = vec![NetBlock::Stem(create_res_basic_stem(
        &blocks_path.sub(0),
        &ResStemConfig {
            in_channels: cfg.input_channel,
            out_channels: cfg.stem_dim_out,
            conv_kernel_size: cfg.stem_conv_kernel_size,
            conv_stride: cfg.stem_conv_stride,
            pool: cfg.stem_pool,
        },
    )?)];

    let half = |k: [i64; 3]| [k[0] / 2, k[1] / 2, k[2] / 2];
    let mut dim_in = cfg.stem_dim_out;
    let mut dim_out = dim_in * 4;
    for (idx, &depth) in depths.iter().enumerate() {
        let dim_inner = dim_out / cfg.bottleneck_ratio;
        let (t, s) = (
            cfg.stage_temporal_stride[idx],
            cfg.stage_spatial_stride[idx],
        );
        let stage = StageConfig {
            depth,
            dim_in,
            dim_inner,
            dim_out,
            conv_a_kernels: vec![cfg.stage_conv_a_kernel_size],
            conv_a_stride: [1, 1, 1],
            conv_b_kernel: cfg.stage_conv_b_kernel_size,
            conv_b_stride: [t, s, s],
            conv_b_padding: half(cfg.stage_conv_b_kernel_size),
            conv_b_groups: dim_inner / cfg.stage_conv_b_width_per_group,
            conv_b_dilation: [1, 1, 1],
            conv_b_kind: ConvBKind::Plain,
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
