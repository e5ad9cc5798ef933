//! `create_x3d` (PyTorchVideo `models/x3d.py`). Keys that lie or surprise:
//! - stem `blocks.0.conv.conv_t` is the (1,3,3) *spatial* conv and `blocks.0.conv.conv_xy` the
//!   (5,1,1) depthwise *temporal* one: PyTorchVideo builds `Conv2plus1d(conv_t=<spatial>,
//!   conv_xy=<temporal>)`, and runs `conv_t` first;
//! - `branch2.norm_b` is `Sequential(BN, SE)`: `norm_b.0.*` is the BN, `norm_b.1.block.{0,2}.*` the
//!   squeeze-excitation, present on even block indices only (odd ones hold an Identity);
//! - `branch1_norm` only exists where the channels change, so not in the first stage (24 → 24);
//! - the head's `pool` is a `ProjectedPool` with convs (`blocks.5.pool.pre_conv`, `post_conv`).

use tch::nn;
use vbench_suite::Activation;

use crate::blocks::{
    BottleneckBlock, Conv2plus1d, ConvB, NormB, ResBlock, ResStage, SqueezeExcitation,
};
use crate::error::{ModelError, Result};
use crate::head::{create_res_basic_head, HeadPool, ProjectedPool};
use crate::layers::{prefix, Act, ActKind, AvgPool3d, BatchNorm3d, Conv3d, ConvOpts};
use crate::net::{Net, NetBlock};
use crate::stem::{ResNetBasicStem, StemConv};

/// `create_x3d` keyword arguments, defaults as in PyTorchVideo 0.1.5.
#[derive(Debug, Clone)]
pub struct X3dConfig {
    pub input_channel: i64,
    /// Train clip length and crop: they size the head pool and nothing else.
    pub input_clip_length: i64,
    pub input_crop_size: i64,
    pub model_num_class: i64,
    pub width_factor: f64,
    pub depth_factor: f64,
    pub stem_dim_in: i64,
    pub stem_conv_kernel_size: [i64; 3],
    pub stem_conv_stride: [i64; 3],
    pub stage_conv_kernel_size: [[i64; 3]; 4],
    pub stage_spatial_stride: [i64; 4],
    pub stage_temporal_stride: [i64; 4],
    pub bottleneck_factor: f64,
    pub se_ratio: f64,
    pub head_dim_out: i64,
    pub head_activation: Activation,
    /// Replaces the pool kernel derived from the clip length and crop (not a PyTorchVideo
    /// argument; parity tests use it to run small inputs).
    pub head_pool_kernel_size: Option<[i64; 3]>,
}

impl Default for X3dConfig {
    fn default() -> Self {
        X3dConfig {
            input_channel: 3,
            input_clip_length: 13,
            input_crop_size: 160,
            model_num_class: 400,
            width_factor: 2.0,
            depth_factor: 2.2,
            stem_dim_in: 12,
            stem_conv_kernel_size: [5, 3, 3],
            stem_conv_stride: [1, 2, 2],
            stage_conv_kernel_size: [[3, 3, 3]; 4],
            stage_spatial_stride: [2, 2, 2, 2],
            stage_temporal_stride: [1, 1, 1, 1],
            bottleneck_factor: 2.25,
            se_ratio: 0.0625,
            head_dim_out: 2048,
            head_activation: Activation::Softmax,
            head_pool_kernel_size: None,
        }
    }
}

fn hub(clip: i64, crop: i64, depth_factor: f64, classes: i64, act: Activation) -> X3dConfig {
    X3dConfig {
        input_clip_length: clip,
        input_crop_size: crop,
        depth_factor,
        model_num_class: classes,
        head_activation: act,
        ..Default::default()
    }
}

/// Hub `x3d_xs`: 4 frames, train crop 160.
pub fn x3d_xs(num_classes: i64, activation: Activation) -> X3dConfig {
    hub(4, 160, 2.2, num_classes, activation)
}
/// Hub `x3d_s`: 13 frames, train crop 160.
pub fn x3d_s(num_classes: i64, activation: Activation) -> X3dConfig {
    hub(13, 160, 2.2, num_classes, activation)
}
/// Hub `x3d_m`: 16 frames, train crop 224.
pub fn x3d_m(num_classes: i64, activation: Activation) -> X3dConfig {
    hub(16, 224, 2.2, num_classes, activation)
}
/// Hub `x3d_l`: 16 frames, train crop 312, depth factor 5.
pub fn x3d_l(num_classes: i64, activation: Activation) -> X3dConfig {
    hub(16, 312, 5.0, num_classes, activation)
}

/// PyTorchVideo `round_width` (min width 8, divisor 8, floor rounding), in the same float steps.
fn round_width(width: i64, multiplier: f64) -> i64 {
    let w = width as f64 * multiplier;
    let mut out = (8).max((w + 4.0).trunc() as i64 / 8 * 8);
    if (out as f64) < 0.9 * w {
        out += 8;
    }
    out
}

/// PyTorchVideo `round_repeats`.
fn round_repeats(repeats: i64, multiplier: f64) -> i64 {
    (multiplier * repeats as f64).ceil() as i64
}

pub(crate) fn create_x3d(p: &nn::Path, cfg: &X3dConfig) -> Result<Net> {
    let blocks_path = p.sub("blocks");
    let stem_dim_out = round_width(cfg.stem_dim_in, cfg.width_factor);
    let stem = create_x3d_stem(&blocks_path.sub(0), cfg, stem_dim_out)?;
    let mut blocks = vec![NetBlock::Stem(stem)];

    let mut stage_dims = [cfg.stem_dim_in; 4];
    for i in 1..4 {
        stage_dims[i] = round_width(stage_dims[i - 1], 2.0);
    }
    let (mut dim_in, mut dim_out, mut dim_inner) = (stem_dim_out, stem_dim_out, stem_dim_out);
    for (idx, base_depth) in [1i64, 2, 5, 3].into_iter().enumerate() {
        dim_out = round_width(stage_dims[idx], cfg.width_factor);
        dim_inner = (cfg.bottleneck_factor * dim_out as f64).trunc() as i64;
        let depth = round_repeats(base_depth, cfg.depth_factor);
        let (t, s) = (
            cfg.stage_temporal_stride[idx],
            cfg.stage_spatial_stride[idx],
        );
        let stage_path = blocks_path.sub(idx + 1);
        let res = stage_path.sub("res_blocks");
        let mut res_blocks = Vec::new();
        for b in 0..depth {
            res_blocks.push(create_x3d_res_block(
                &res.sub(b),
                if b == 0 { dim_in } else { dim_out },
                dim_inner,
                dim_out,
                cfg.stage_conv_kernel_size[idx],
                if b == 0 { [t, s, s] } else { [1, 1, 1] },
                // Squeeze-excitation on every other block, starting with the first.
                if b % 2 == 0 { cfg.se_ratio } else { 0.0 },
            )?);
        }
        blocks.push(NetBlock::Stage(ResStage { res_blocks }));
        dim_in = dim_out;
    }

    let pool_kernel = match cfg.head_pool_kernel_size {
        Some(k) => k,
        None => derived_head_pool(cfg)?,
    };
    let head_path = blocks_path.sub(5);
    let pp = head_path.sub("pool");
    let pool = ProjectedPool {
        pre_conv: Conv3d::new(
            &pp.sub("pre_conv"),
            dim_out,
            dim_inner,
            ConvOpts::new([1, 1, 1]),
        )?,
        pre_norm: BatchNorm3d::new(&pp.sub("pre_norm"), dim_inner)?,
        pre_act: Act::new(&pp.sub("pre_act"), ActKind::Relu),
        pool: AvgPool3d::new(&pp.sub("pool"), pool_kernel, [1, 1, 1]),
        post_conv: Conv3d::new(
            &pp.sub("post_conv"),
            dim_inner,
            cfg.head_dim_out,
            ConvOpts::new([1, 1, 1]),
        )?,
        post_act: Act::new(&pp.sub("post_act"), ActKind::Relu),
    };
    let head = create_res_basic_head(
        &head_path,
        HeadPool::Projected(pool),
        cfg.head_dim_out,
        cfg.model_num_class,
        cfg.head_activation.into(),
    )?;
    Ok(Net { blocks, head })
}

/// (clip // temporal stride, ceil(crop / spatial stride) twice), as `create_x3d` sizes it.
pub(crate) fn derived_head_pool(cfg: &X3dConfig) -> Result<[i64; 3]> {
    let spatial = cfg.stem_conv_stride[1] * cfg.stage_spatial_stride.iter().product::<i64>();
    let temporal = cfg.stem_conv_stride[0] * cfg.stage_temporal_stride.iter().product::<i64>();
    if cfg.input_clip_length < temporal || cfg.input_crop_size < spatial {
        return Err(ModelError::BadConfig {
            builder: "create_x3d",
            reason: format!(
                "clip {} x crop {} is smaller than the total stride {temporal} x {spatial}",
                cfg.input_clip_length, cfg.input_crop_size
            ),
        });
    }
    let hw = (cfg.input_crop_size + spatial - 1) / spatial;
    Ok([cfg.input_clip_length / temporal, hw, hw])
}

/// `create_x3d_stem`. The names are PyTorchVideo's, swapped relative to what the convs do.
fn create_x3d_stem(p: &nn::Path, cfg: &X3dConfig, dim_out: i64) -> Result<ResNetBasicStem> {
    let [kt, kh, kw] = cfg.stem_conv_kernel_size;
    let [st, sh, sw] = cfg.stem_conv_stride;
    let pc = p.sub("conv");
    let conv = Conv2plus1d {
        // Named `conv_t`, but it is the (1,kh,kw) spatial conv; it runs first.
        conv_t: Conv3d::new(
            &pc.sub("conv_t"),
            cfg.input_channel,
            dim_out,
            ConvOpts::new([1, kh, kw])
                .stride([1, sh, sw])
                .padding([0, kh / 2, kw / 2]),
        )?,
        norm: None,
        activation: None,
        // Named `conv_xy`, but it is the (kt,1,1) depthwise temporal conv.
        conv_xy: Conv3d::new(
            &pc.sub("conv_xy"),
            dim_out,
            dim_out,
            ConvOpts::new([kt, 1, 1])
                .stride([st, 1, 1])
                .padding([kt / 2, 0, 0])
                .groups(dim_out),
        )?,
    };
    ResNetBasicStem::from_parts(p, StemConv::TwoPlusOne(conv), dim_out, None)
}

/// `create_x3d_res_block` + `create_x3d_bottleneck_block`.
#[allow(clippy::too_many_arguments)]
fn create_x3d_res_block(
    p: &nn::Path,
    dim_in: i64,
    dim_inner: i64,
    dim_out: i64,
    kernel: [i64; 3],
    stride: [i64; 3],
    se_ratio: f64,
) -> Result<ResBlock> {
    let strided = stride.iter().product::<i64>() > 1;
    let branch1_conv = match dim_in != dim_out || strided {
        true => Some(Conv3d::new(
            &p.sub("branch1_conv"),
            dim_in,
            dim_out,
            ConvOpts::new([1, 1, 1]).stride(stride),
        )?),
        false => None,
    };
    // Unlike ResNet's, X3D's shortcut norm depends on the channels only.
    let branch1_norm = match dim_in != dim_out {
        true => Some(BatchNorm3d::new(&p.sub("branch1_norm"), dim_out)?),
        false => None,
    };

    let b = p.sub("branch2");
    let nb = b.sub("norm_b");
    let se = match se_ratio > 0.0 {
        true => Some(SqueezeExcitation::new(
            &nb.sub("1"),
            dim_inner,
            round_width(dim_inner, se_ratio),
        )?),
        false => None,
    };
    let branch2 = BottleneckBlock {
        conv_a: Conv3d::new(
            &b.sub("conv_a"),
            dim_in,
            dim_inner,
            ConvOpts::new([1, 1, 1]),
        )?,
        norm_a: BatchNorm3d::new(&b.sub("norm_a"), dim_inner)?,
        act_a: Act::new(&b.sub("act_a"), ActKind::Relu),
        conv_b: ConvB::Plain(Conv3d::new(
            &b.sub("conv_b"),
            dim_inner,
            dim_inner,
            ConvOpts::new(kernel)
                .stride(stride)
                .same_padding()
                .groups(dim_inner),
        )?),
        norm_b: NormB::WithSe(BatchNorm3d::new(&nb.sub("0"), dim_inner)?, se),
        act_b: Act::new(&b.sub("act_b"), ActKind::Swish),
        conv_c: Conv3d::new(
            &b.sub("conv_c"),
            dim_inner,
            dim_out,
            ConvOpts::new([1, 1, 1]),
        )?,
        norm_c: BatchNorm3d::new(&b.sub("norm_c"), dim_out)?,
    };
    Ok(ResBlock {
        path: prefix(p),
        branch1_conv,
        branch1_norm,
        branch2,
        activation: Act::new(&p.sub("activation"), ActKind::Relu),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_depths_match_pytorchvideo() {
        let dims: Vec<_> = [12, 24, 48, 96]
            .iter()
            .map(|&d| round_width(d, 2.0))
            .collect();
        assert_eq!(dims, [24, 48, 96, 192]);
        let se: Vec<_> = [54, 108, 216, 432]
            .iter()
            .map(|&d| round_width(d, 0.0625))
            .collect();
        assert_eq!(se, [8, 8, 16, 32]);
        let d: Vec<_> = [1, 2, 5, 3]
            .iter()
            .map(|&r| round_repeats(r, 2.2))
            .collect();
        assert_eq!(d, [3, 5, 11, 7]);
        let d: Vec<_> = [1, 2, 5, 3]
            .iter()
            .map(|&r| round_repeats(r, 5.0))
            .collect();
        assert_eq!(d, [5, 10, 25, 15]);
    }

    #[test]
    fn head_pool_follows_train_crop() {
        assert_eq!(
            derived_head_pool(&x3d_xs(400, Activation::Softmax)).ok(),
            Some([4, 5, 5])
        );
        assert_eq!(
            derived_head_pool(&x3d_l(400, Activation::Softmax)).ok(),
            Some([16, 10, 10])
        );
    }
}
