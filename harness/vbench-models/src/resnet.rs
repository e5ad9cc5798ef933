//! `create_resnet` (PyTorchVideo `models/resnet.py`) and the hub entries built on it: C2D, I3D
//! and Slow. Keys: `blocks.0` stem, `blocks.1..` stages (`res_blocks.N.branch{1_conv,1_norm,2}`),
//! C2D/I3D's parameterless `stage1_pool` as `blocks.2`, and the head last (`blocks.N.proj`).

use tch::nn;
use vbench_suite::Activation;

use crate::blocks::{create_res_stage, stage_depths, ConvBKind, StageConfig};
use crate::error::Result;
use crate::head::{avg_head_pool, create_res_basic_head};
use crate::layers::MaxPool3d;
use crate::net::{Net, NetBlock};
use crate::stem::{create_res_basic_stem, ResStemConfig};

/// `create_resnet` keyword arguments, defaults as in PyTorchVideo 0.1.5 (except the head
/// activation, which PyTorchVideo leaves out and the harness always wants).
#[derive(Debug, Clone)]
pub struct ResNetConfig {
    pub input_channel: i64,
    pub model_depth: i64,
    pub model_num_class: i64,
    pub stem_dim_out: i64,
    pub stem_conv_kernel_size: [i64; 3],
    pub stem_conv_stride: [i64; 3],
    pub stem_pool_kernel_size: [i64; 3],
    pub stem_pool_stride: [i64; 3],
    /// `stage1_pool=nn.MaxPool3d` with this kernel (= stride), inserted after the first stage.
    pub stage1_pool_kernel_size: Option<[i64; 3]>,
    /// Per stage; a list cycles over the stage's blocks.
    pub stage_conv_a_kernel_size: [Vec<[i64; 3]>; 4],
    pub stage_conv_b_kernel_size: [[i64; 3]; 4],
    pub stage_conv_b_num_groups: [i64; 4],
    pub stage_conv_b_dilation: [[i64; 3]; 4],
    pub stage_spatial_h_stride: [i64; 4],
    pub stage_spatial_w_stride: [i64; 4],
    pub stage_temporal_stride: [i64; 4],
    pub head_pool_kernel_size: [i64; 3],
    pub head_activation: Activation,
}

impl Default for ResNetConfig {
    fn default() -> Self {
        ResNetConfig {
            input_channel: 3,
            model_depth: 50,
            model_num_class: 400,
            stem_dim_out: 64,
            stem_conv_kernel_size: [3, 7, 7],
            stem_conv_stride: [1, 2, 2],
            stem_pool_kernel_size: [1, 3, 3],
            stem_pool_stride: [1, 2, 2],
            stage1_pool_kernel_size: None,
            stage_conv_a_kernel_size: [
                vec![[1, 1, 1]],
                vec![[1, 1, 1]],
                vec![[3, 1, 1]],
                vec![[3, 1, 1]],
            ],
            stage_conv_b_kernel_size: [[1, 3, 3]; 4],
            stage_conv_b_num_groups: [1; 4],
            stage_conv_b_dilation: [[1, 1, 1]; 4],
            stage_spatial_h_stride: [1, 2, 2, 2],
            stage_spatial_w_stride: [1, 2, 2, 2],
            stage_temporal_stride: [1, 1, 1, 1],
            head_pool_kernel_size: [4, 7, 7],
            head_activation: Activation::Softmax,
        }
    }
}

/// Hub `slow_r50`: no temporal stem kernel, head pool (8,7,7) for 8 frames.
pub fn slow_r50(num_classes: i64, activation: Activation) -> ResNetConfig {
    ResNetConfig {
        stem_conv_kernel_size: [1, 7, 7],
        head_pool_kernel_size: [8, 7, 7],
        model_num_class: num_classes,
        head_activation: activation,
        ..Default::default()
    }
}

/// `slow_r50` for 4-frame clips (SLOW_4x16_R50): only the head pool differs, (4,7,7).
pub fn slow_r50_4x16(num_classes: i64, activation: Activation) -> ResNetConfig {
    ResNetConfig {
        head_pool_kernel_size: [4, 7, 7],
        ..slow_r50(num_classes, activation)
    }
}

/// Hub `c2d_r50`: 2D kernels throughout, a (2,1,1) max-pool after res2 halves T (8 → 4).
pub fn c2d_r50(num_classes: i64, activation: Activation) -> ResNetConfig {
    ResNetConfig {
        stem_conv_kernel_size: [1, 7, 7],
        stage1_pool_kernel_size: Some([2, 1, 1]),
        stage_conv_a_kernel_size: std::array::from_fn(|_| vec![[1, 1, 1]]),
        model_num_class: num_classes,
        head_activation: activation,
        ..Default::default()
    }
}

/// Hub `i3d_r50`: (5,7,7) stem, inflated conv_a on alternating blocks, the same res2 pool as C2D.
pub fn i3d_r50(num_classes: i64, activation: Activation) -> ResNetConfig {
    let (t, one) = ([3, 1, 1], [1, 1, 1]);
    ResNetConfig {
        stem_conv_kernel_size: [5, 7, 7],
        stage1_pool_kernel_size: Some([2, 1, 1]),
        stage_conv_a_kernel_size: [vec![t], vec![t, one], vec![t, one], vec![one, t]],
        model_num_class: num_classes,
        head_activation: activation,
        ..Default::default()
    }
}

pub(crate) fn create_resnet(p: &nn::Path, cfg: &ResNetConfig) -> Result<Net> {
    let blocks_path = p.sub("blocks");
    let (blocks, dim) = create_resnet_blocks(&blocks_path, cfg)?;
    let head_path = blocks_path.sub(blocks.len());
    let head = create_res_basic_head(
        &head_path,
        avg_head_pool(&head_path, cfg.head_pool_kernel_size),
        dim,
        cfg.model_num_class,
        cfg.head_activation.into(),
    )?;
    Ok(Net { blocks, head })
}

/// `create_resnet(head=None)`: stem, stages and the optional res2 pool under `blocks_path`, and
/// the output width.
pub(crate) fn create_resnet_blocks(
    blocks_path: &nn::Path,
    cfg: &ResNetConfig,
) -> Result<(Vec<NetBlock>, i64)> {
    let depths = stage_depths("create_resnet", cfg.model_depth)?;
    let mut blocks = Vec::new();
    let stem = create_res_basic_stem(
        &blocks_path.sub(0),
        &ResStemConfig {
            in_channels: cfg.input_channel,
            out_channels: cfg.stem_dim_out,
            conv_kernel_size: cfg.stem_conv_kernel_size,
            conv_stride: cfg.stem_conv_stride,
            pool: Some((cfg.stem_pool_kernel_size, cfg.stem_pool_stride)),
        },
    )?;
    blocks.push(NetBlock::Stem(stem));

    let mut dim_in = cfg.stem_dim_out;
    let mut dim_out = dim_in * 4;
    for (idx, &depth) in depths.iter().enumerate() {
        let kb = cfg.stage_conv_b_kernel_size[idx];
        let dil = cfg.stage_conv_b_dilation[idx];
        // PyTorchVideo pads a dilated spatial conv by its dilation, otherwise by k // 2.
        let pad = |i: usize| if dil[i] > 1 { dil[i] } else { kb[i] / 2 };
        let stage = StageConfig {
            depth,
            dim_in,
            dim_inner: dim_out / 4,
            dim_out,
            conv_a_kernels: cfg.stage_conv_a_kernel_size[idx].clone(),
            conv_a_stride: [cfg.stage_temporal_stride[idx], 1, 1],
            conv_b_kernel: kb,
            conv_b_stride: [
                1,
                cfg.stage_spatial_h_stride[idx],
                cfg.stage_spatial_w_stride[idx],
            ],
            conv_b_padding: [kb[0] / 2, pad(1), pad(2)],
            conv_b_groups: cfg.stage_conv_b_num_groups[idx],
            conv_b_dilation: dil,
            conv_b_kind: ConvBKind::Plain,
        };
        let stage_path = blocks_path.sub(blocks.len());
        blocks.push(NetBlock::Stage(create_res_stage(&stage_path, &stage)?));
        dim_in = dim_out;
        dim_out *= 2;
        if let (0, Some(k)) = (idx, cfg.stage1_pool_kernel_size) {
            let pool = MaxPool3d::new(&blocks_path.sub(blocks.len()), k, k, [0, 0, 0]);
            blocks.push(NetBlock::Pool(pool));
        }
    }

    Ok((blocks, dim_in))
}
