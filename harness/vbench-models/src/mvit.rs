//! `create_multiscale_vision_transformers` (PyTorchVideo `models/vision_transformers.py`,
//! `layers/attention.py`, `layers/positional_encoding.py`) as the hub's `mvit_base_16x4` /
//! `mvit_base_32x3` configure it: conv patch embed, separate space/time position embeddings with a
//! cls token, multiscale blocks with conv pooling of q/k/v (pooling after the q/k/v projections),
//! a max-pooled skip where q is pooled, and `create_vit_basic_head` (cls token → proj).
//!
//! Keys: `patch_embed.patch_model.*`, `cls_positional_encoding.{cls_token, pos_embed_spatial,
//! pos_embed_temporal, pos_embed_class}`, `blocks.N.{norm1, attn.{q,k,v,proj, pool_q, norm_q,
//! pool_k, norm_k, pool_v, norm_v}, norm2, mlp.fc1, mlp.fc2, proj}`, `norm_embed`, `head.proj`.
//! `attn.pool_*` are depthwise Conv3d over one head's channels, shared by all heads; `blocks.N.proj`
//! (present where the width changes) projects the *normalised* input for the MLP residual.

use tch::{nn, Kind, Tensor};
use vbench_suite::{Activation, Arch};

use crate::error::{ModelError, Result};
use crate::layers::{
    matmul, param, prefix, record, residual_add, Act, ActKind, Conv3d, ConvOpts, LayerNorm, Linear,
    MaxPool3d,
};
use crate::op_record::{self, OpKind, OpRecord};

/// `create_multiscale_vision_transformers` arguments the zoo sets; the rest are fixed at the
/// builder's defaults (cls token on, separate position embeddings, conv pooling after the
/// projections, no dropout / drop-path in eval, layer norm with eps 1e-6).
#[derive(Debug, Clone)]
pub struct MvitConfig {
    /// Input (H, W) and frames: they size the position embeddings, so the model takes no other.
    pub spatial_size: [i64; 2],
    pub temporal_size: i64,
    pub depth: usize,
    pub input_channels: i64,
    pub patch_embed_dim: i64,
    pub conv_patch_embed_kernel: [i64; 3],
    pub conv_patch_embed_stride: [i64; 3],
    pub conv_patch_embed_padding: [i64; 3],
    pub num_heads: i64,
    pub mlp_ratio: f64,
    pub qkv_bias: bool,
    /// `[block, multiplier]`: the width multiplies by it from that block on.
    pub embed_dim_mul: Vec<(usize, f64)>,
    pub atten_head_mul: Vec<(usize, f64)>,
    /// `[block, stride]` of the q pooling.
    pub pool_q_stride_size: Vec<(usize, [i64; 3])>,
    /// Initial k/v pooling stride, divided by every q stride met (`pool_kv_stride_adaptive`).
    pub pool_kv_stride_adaptive: [i64; 3],
    pub pool_kvq_kernel: [i64; 3],
    pub head_num_classes: i64,
    pub head_activation: Activation,
}

fn mvit_base(temporal_size: i64, classes: i64, activation: Activation) -> MvitConfig {
    MvitConfig {
        spatial_size: [224, 224],
        temporal_size,
        depth: 16,
        input_channels: 3,
        patch_embed_dim: 96,
        conv_patch_embed_kernel: [3, 7, 7],
        conv_patch_embed_stride: [2, 4, 4],
        conv_patch_embed_padding: [1, 3, 3],
        num_heads: 1,
        mlp_ratio: 4.0,
        qkv_bias: true,
        embed_dim_mul: vec![(1, 2.0), (3, 2.0), (14, 2.0)],
        atten_head_mul: vec![(1, 2.0), (3, 2.0), (14, 2.0)],
        pool_q_stride_size: vec![(1, [1, 2, 2]), (3, [1, 2, 2]), (14, [1, 2, 2])],
        pool_kv_stride_adaptive: [1, 8, 8],
        pool_kvq_kernel: [3, 3, 3],
        head_num_classes: classes,
        head_activation: activation,
    }
}

/// Hub `mvit_base_16x4`: 16 frames of 224².
pub fn mvit_base_16x4(num_classes: i64, activation: Activation) -> MvitConfig {
    mvit_base(16, num_classes, activation)
}

/// Hub `mvit_base_32x3`: 32 frames of 224².
pub fn mvit_base_32x3(num_classes: i64, activation: Activation) -> MvitConfig {
    mvit_base(32, num_classes, activation)
}

/// PyTorchVideo `round_width` with all its knobs (floor rounding).
fn round_width(width: i64, multiplier: f64, min_width: i64, divisor: i64) -> i64 {
    if multiplier == 0.0 {
        return width;
    }
    let w = width as f64 * multiplier;
    let min_width = if min_width == 0 { divisor } else { min_width };
    let mut out = min_width.max((w + divisor as f64 / 2.0) as i64 / divisor * divisor);
    if (out as f64) < 0.9 * w {
        out += divisor;
    }
    out
}

/// One block's shape, as `create_multiscale_vision_transformers` derives it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BlockSpec {
    pub dim: i64,
    pub dim_out: i64,
    pub num_heads: i64,
    /// (kernel, stride) of the q pooling, or none.
    pub pool_q: Option<([i64; 3], [i64; 3])>,
    pub pool_kv: Option<([i64; 3], [i64; 3])>,
    /// The q stride where one is given (even one that pools nothing): it sizes the skip's pool.
    pub stride_q: Option<[i64; 3]>,
}

pub(crate) fn block_specs(cfg: &MvitConfig) -> Result<Vec<BlockSpec>> {
    let depth = cfg.depth;
    let bad = |reason: String| ModelError::BadConfig {
        builder: "create_multiscale_vision_transformers",
        reason,
    };
    let mut dim_mul = vec![1.0; depth + 1];
    let mut head_mul = vec![1.0; depth + 1];
    for (muls, given) in [
        (&mut dim_mul, &cfg.embed_dim_mul),
        (&mut head_mul, &cfg.atten_head_mul),
    ] {
        for &(i, m) in given {
            *muls
                .get_mut(i)
                .ok_or_else(|| bad(format!("multiplier for block {i} of {depth}")))? = m;
        }
    }
    let mut stride_q: Vec<Option<[i64; 3]>> = vec![None; depth];
    for &(i, s) in &cfg.pool_q_stride_size {
        *stride_q
            .get_mut(i)
            .ok_or_else(|| bad(format!("q stride for block {i} of {depth}")))? = Some(s);
    }
    let mut kv = cfg.pool_kv_stride_adaptive;
    let mut specs = Vec::with_capacity(depth);
    let (mut num_heads, mut dim) = (cfg.num_heads, cfg.patch_embed_dim);
    for i in 0..depth {
        if let Some(sq) = stride_q[i] {
            kv = std::array::from_fn(|d| (kv[d] / sq[d]).max(1));
        }
        num_heads = round_width(num_heads, head_mul[i], 1, 1);
        dim = round_width(dim, dim_mul[i], 8, num_heads);
        let dim_out = round_width(
            dim,
            dim_mul[i + 1],
            8,
            round_width(num_heads, head_mul[i + 1], 8, 8),
        );
        if num_heads < 1 || dim % num_heads != 0 {
            return Err(bad(format!(
                "block {i}: width {dim} does not split into {num_heads} heads"
            )));
        }
        let k = cfg.pool_kvq_kernel;
        // MultiScaleAttention drops a pooling whose kernel and stride are both all ones.
        let pooled = |s: [i64; 3]| {
            (k.iter().product::<i64>() != 1 || s.iter().product::<i64>() != 1).then_some((k, s))
        };
        specs.push(BlockSpec {
            dim,
            dim_out,
            num_heads,
            pool_q: stride_q[i].and_then(pooled),
            pool_kv: pooled(kv),
            stride_q: stride_q[i],
        });
    }
    Ok(specs)
}

/// A pooling over the token grid: the attention's learned one (depthwise conv + LayerNorm over a
/// head's channels) or the skip connection's max-pool.
#[derive(Debug)]
enum TokenPool {
    Conv(Conv3d, LayerNorm),
    Max(MaxPool3d),
}

/// PyTorchVideo `_attention_pool` on `[B, N, L, C]` tokens (cls token first, never pooled).
fn attention_pool(
    path: &str,
    x: &Tensor,
    pool: &TokenPool,
    thw: [i64; 3],
) -> Result<(Tensor, [i64; 3])> {
    let err = ModelError::torch;
    let size = x.size();
    let &[b, n, l, c] = size.as_slice() else {
        return Err(ModelError::BadConfig {
            builder: "attention_pool",
            reason: format!("{path}: tokens {size:?} are not [B, heads, L, C]"),
        });
    };
    let cls = x.f_narrow(2, 0, 1).map_err(err(path))?;
    let tokens = x.f_narrow(2, 1, l - 1).map_err(err(path))?;
    let [t, h, w] = thw;
    let grid = tokens
        .f_reshape([b * n, t, h, w, c])
        .and_then(|g| g.f_permute([0, 4, 1, 2, 3]))
        .and_then(|g| g.f_contiguous())
        .map_err(|source| ModelError::Torch {
            path: format!("{path}: {} tokens on a {t}x{h}x{w} grid", l - 1),
            source,
        })?;
    let pooled = match pool {
        TokenPool::Conv(conv, _) => {
            let y = conv.forward_unrecorded(&grid)?;
            // PyTorch runs the shared per-head conv with heads in the batch dim; the recorder keeps
            // clips in dim 0, so this is recorded as the equivalent depthwise conv over all heads.
            op_record::record(|| {
                let (mut x_shape, mut y_shape, mut w) =
                    (grid.size(), y.size(), conv.weight().size());
                x_shape[0] = b;
                x_shape[1] *= n;
                y_shape[0] = b;
                y_shape[1] *= n;
                w[0] *= n;
                OpRecord {
                    path: conv.path().to_string(),
                    op: OpKind::Conv,
                    input_shape: x_shape,
                    output_shape: y_shape,
                    weight_shape: Some(w),
                    groups: conv.opts().groups * n,
                }
            });
            y
        }
        TokenPool::Max(pool) => pool.forward(&grid)?,
    };
    let ps = pooled.size();
    let thw = [ps[2], ps[3], ps[4]];
    let pooled = pooled
        .f_reshape([b, n, c, thw.iter().product::<i64>()])
        .and_then(|p| p.f_transpose(2, 3))
        .map_err(err(path))?;
    let out = Tensor::f_cat(&[&cls, &pooled], 2).map_err(err(path))?;
    match pool {
        TokenPool::Conv(_, norm) => Ok((norm.forward(&out)?, thw)),
        TokenPool::Max(_) => Ok((out, thw)),
    }
}

#[derive(Debug)]
struct MultiScaleAttention {
    path: String,
    num_heads: i64,
    scale: f64,
    q: Linear,
    k: Linear,
    v: Linear,
    proj: Linear,
    pool_q: Option<TokenPool>,
    pool_k: Option<TokenPool>,
    pool_v: Option<TokenPool>,
}

impl MultiScaleAttention {
    fn new(p: &nn::Path, spec: &BlockSpec, qkv_bias: bool) -> Result<Self> {
        let (dim, heads) = (spec.dim, spec.num_heads);
        if !qkv_bias {
            return Err(ModelError::BadConfig {
                builder: "MultiScaleAttention",
                reason: format!(
                    "{}: qkv_bias=False is not built (the zoo uses True)",
                    prefix(p)
                ),
            });
        }
        let head_dim = dim / heads;
        // The pools' LayerNorms get `nn.LayerNorm`'s default eps (1e-5): MultiScaleBlock passes the
        // class itself, not the model's eps-1e-6 partial.
        let pool = |name: &str,
                    norm: &str,
                    ks: Option<([i64; 3], [i64; 3])>|
         -> Result<Option<TokenPool>> {
            let Some((k, s)) = ks else { return Ok(None) };
            let opts = ConvOpts::new(k).stride(s).same_padding().groups(head_dim);
            Ok(Some(TokenPool::Conv(
                Conv3d::new(&p.sub(name), head_dim, head_dim, opts)?,
                LayerNorm::new(&p.sub(norm), head_dim, 1e-5)?,
            )))
        };
        Ok(MultiScaleAttention {
            path: prefix(p),
            num_heads: heads,
            scale: (head_dim as f64).powf(-0.5),
            q: Linear::new(&p.sub("q"), dim, dim)?,
            k: Linear::new(&p.sub("k"), dim, dim)?,
            v: Linear::new(&p.sub("v"), dim, dim)?,
            proj: Linear::new(&p.sub("proj"), dim, dim)?,
            pool_q: pool("pool_q", "norm_q", spec.pool_q)?,
            pool_k: pool("pool_k", "norm_k", spec.pool_kv)?,
            pool_v: pool("pool_v", "norm_v", spec.pool_kv)?,
        })
    }

    fn forward(&self, x: &Tensor, thw: [i64; 3]) -> Result<(Tensor, [i64; 3])> {
        let err = ModelError::torch;
        let path = self.path.as_str();
        let size = x.size();
        let (b, n, c) = (size[0], size[1], size[2]);
        let heads = self.num_heads;
        let split = |lin: &Linear| -> Result<Tensor> {
            lin.forward(x)?
                .f_reshape([b, n, heads, c / heads])
                .and_then(|t| t.f_permute([0, 2, 1, 3]))
                .map_err(err(path))
        };
        let pool = |t: Tensor, pool: &Option<TokenPool>| match pool {
            Some(pool) => attention_pool(path, &t, pool, thw),
            None => Ok((t, thw)),
        };
        let (q, q_thw) = pool(split(&self.q)?, &self.pool_q)?;
        let (k, _) = pool(split(&self.k)?, &self.pool_k)?;
        let (v, _) = pool(split(&self.v)?, &self.pool_v)?;

        let kt = k.f_transpose(-2, -1).map_err(err(path))?;
        let attn = matmul(path, &q, &kt)?
            .f_mul_scalar(self.scale)
            .map_err(err(path))?;
        let probs = attn.f_softmax(-1, None::<Kind>).map_err(err(path))?;
        record(path, OpKind::Softmax, &attn, &probs, None, 1);
        let nq = q.size()[2];
        let out = matmul(path, &probs, &v)?
            .f_transpose(1, 2)
            .and_then(|t| t.f_reshape([b, nq, c]))
            .map_err(err(path))?;
        Ok((self.proj.forward(&out)?, q_thw))
    }
}

#[derive(Debug)]
struct MultiScaleBlock {
    path: String,
    norm1: LayerNorm,
    attn: MultiScaleAttention,
    pool_skip: Option<TokenPool>,
    norm2: LayerNorm,
    fc1: Linear,
    act: Act,
    fc2: Linear,
    proj: Option<Linear>,
}

impl MultiScaleBlock {
    fn new(p: &nn::Path, spec: &BlockSpec, cfg: &MvitConfig) -> Result<Self> {
        let (dim, dim_out) = (spec.dim, spec.dim_out);
        let hidden = (dim as f64 * cfg.mlp_ratio) as i64;
        // The skip is max-pooled with the q stride (kernel s+1 where s > 1) so it meets the pooled q.
        let pool_skip = spec.stride_q.map(|s| {
            let k = s.map(|s| if s > 1 { s + 1 } else { s });
            TokenPool::Max(MaxPool3d::new(&p.sub("pool_skip"), k, s, k.map(|k| k / 2)))
        });
        let mlp = p.sub("mlp");
        Ok(MultiScaleBlock {
            path: prefix(p),
            norm1: LayerNorm::new(&p.sub("norm1"), dim, 1e-6)?,
            attn: MultiScaleAttention::new(&p.sub("attn"), spec, cfg.qkv_bias)?,
            pool_skip,
            norm2: LayerNorm::new(&p.sub("norm2"), dim, 1e-6)?,
            fc1: Linear::new(&mlp.sub("fc1"), dim, hidden)?,
            act: Act::new(&mlp.sub("act"), ActKind::Gelu),
            fc2: Linear::new(&mlp.sub("fc2"), hidden, dim_out)?,
            proj: match dim != dim_out {
                true => Some(Linear::new(&p.sub("proj"), dim, dim_out)?),
                false => None,
            },
        })
    }

    fn forward(&self, x: &Tensor, thw: [i64; 3]) -> Result<(Tensor, [i64; 3])> {
        let (x_block, thw_new) = self.attn.forward(&self.norm1.forward(x)?, thw)?;
        let x_res = match &self.pool_skip {
            Some(pool) => {
                let tokens = x.f_unsqueeze(1).map_err(ModelError::torch(&self.path))?;
                let (pooled, _) = attention_pool(&self.path, &tokens, pool, thw)?;
                pooled
                    .f_squeeze_dim(1)
                    .map_err(ModelError::torch(&self.path))?
            }
            None => x.shallow_clone(),
        };
        let x = residual_add(&self.path, &x_res, &x_block)?;
        let x_norm = self.norm2.forward(&x)?;
        let x_mlp = self
            .fc2
            .forward(&self.act.forward(&self.fc1.forward(&x_norm)?)?)?;
        let x = match &self.proj {
            Some(proj) => proj.forward(&x_norm)?,
            None => x,
        };
        Ok((residual_add(&self.path, &x, &x_mlp)?, thw_new))
    }
}

/// `SpatioTemporalClsPositionalEncoding(sep_pos_embed=True, has_cls=True)`.
#[derive(Debug)]
struct ClsPositionalEncoding {
    path: String,
    cls_token: Tensor,
    pos_embed_spatial: Tensor,
    pos_embed_temporal: Tensor,
    pos_embed_class: Tensor,
    /// (T, H, W) after the patch embed.
    patch_embed_shape: [i64; 3],
}

impl ClsPositionalEncoding {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let err = ModelError::torch(&self.path);
        let [t, h, w] = self.patch_embed_shape;
        let b = x.size()[0];
        let cls = self.cls_token.f_expand([b, -1, -1], false).map_err(&err)?;
        let x = Tensor::f_cat(&[&cls, x], 1).map_err(&err)?;
        let spatial = self.pos_embed_spatial.f_repeat([1, t, 1]).map_err(&err)?;
        let temporal = self
            .pos_embed_temporal
            .f_repeat_interleave_self_int(h * w, 1, None)
            .map_err(&err)?;
        let pos = spatial.f_add(&temporal).map_err(&err)?;
        let pos = Tensor::f_cat(&[&self.pos_embed_class, &pos], 1).map_err(&err)?;
        x.f_add(&pos).map_err(err)
    }
}

/// `MultiscaleVisionTransformers` in eval mode.
#[derive(Debug)]
pub(crate) struct Mvit {
    arch: Arch,
    patch_embed: Conv3d,
    pos: ClsPositionalEncoding,
    blocks: Vec<MultiScaleBlock>,
    norm_embed: LayerNorm,
    head_path: String,
    proj: Linear,
    activation: Act,
    /// `[T, H, W]` the position embeddings were sized for.
    input_size: [i64; 3],
}

/// What the model computes: `[B, classes]` scores and logits.
pub(crate) struct MvitOutput {
    pub scores: Tensor,
    pub logits: Tensor,
}

impl Mvit {
    pub fn forward(&self, x: &Tensor) -> Result<MvitOutput> {
        let path = self.patch_embed.path();
        let x = self.patch_embed.forward(x)?;
        let size = x.size();
        if size[2..] != self.pos.patch_embed_shape {
            let [t, h, w] = self.input_size;
            return Err(ModelError::BadInput {
                model: self.arch.to_string(),
                reason: format!(
                    "{path}: the clip makes a {:?} patch grid; the position embeddings are sized \
                     for {:?}, i.e. {t} frames of {h}x{w}",
                    &size[2..],
                    self.pos.patch_embed_shape
                ),
            });
        }
        // B C T H W -> B (T H W) C
        let x = x
            .f_flatten(2, -1)
            .and_then(|x| x.f_transpose(1, 2))
            .map_err(ModelError::torch(path))?;
        let mut x = self.pos.forward(&x)?;
        let mut thw = self.pos.patch_embed_shape;
        for block in &self.blocks {
            (x, thw) = block.forward(&x, thw)?;
        }
        let x = self.norm_embed.forward(&x)?;
        // SequencePool("cls") → dropout (identity in eval) → proj → activation.
        let cls = x
            .f_select(1, 0)
            .map_err(ModelError::torch(&self.head_path))?;
        let logits = self.proj.forward(&cls)?;
        let scores = self.activation.forward(&logits)?;
        Ok(MvitOutput { scores, logits })
    }

    pub fn first_weight(&self) -> &Tensor {
        self.patch_embed.weight()
    }
}

pub(crate) fn create_multiscale_vision_transformers(
    arch: Arch,
    p: &nn::Path,
    cfg: &MvitConfig,
) -> Result<Mvit> {
    let specs = block_specs(cfg)?;
    let stride = cfg.conv_patch_embed_stride;
    let input = [cfg.temporal_size, cfg.spatial_size[0], cfg.spatial_size[1]];
    let patch_embed_shape: [i64; 3] = std::array::from_fn(|i| input[i] / stride[i]);
    let e = cfg.patch_embed_dim;
    let patch_embed = Conv3d::new(
        &p.sub("patch_embed").sub("patch_model"),
        cfg.input_channels,
        e,
        ConvOpts::new(cfg.conv_patch_embed_kernel)
            .stride(stride)
            .padding(cfg.conv_patch_embed_padding)
            .bias(true),
    )?;
    let pp = p.sub("cls_positional_encoding");
    let [t, h, w] = patch_embed_shape;
    let pos = ClsPositionalEncoding {
        path: prefix(&pp),
        cls_token: param(&pp, "cls_token", &[1, 1, e], 0.0)?,
        pos_embed_spatial: param(&pp, "pos_embed_spatial", &[1, h * w, e], 0.0)?,
        pos_embed_temporal: param(&pp, "pos_embed_temporal", &[1, t, e], 0.0)?,
        pos_embed_class: param(&pp, "pos_embed_class", &[1, 1, e], 0.0)?,
        patch_embed_shape,
    };
    let bp = p.sub("blocks");
    let blocks = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| MultiScaleBlock::new(&bp.sub(i), spec, cfg))
        .collect::<Result<Vec<_>>>()?;
    let embed_dim = specs.last().map_or(e, |s| s.dim_out);
    let head = p.sub("head");
    Ok(Mvit {
        arch,
        input_size: input,
        patch_embed,
        pos,
        blocks,
        norm_embed: LayerNorm::new(&p.sub("norm_embed"), embed_dim, 1e-6)?,
        head_path: prefix(&head),
        proj: Linear::new(&head.sub("proj"), embed_dim, cfg.head_num_classes)?,
        activation: Act::new(&head.sub("activation"), cfg.head_activation.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_matches_pytorchvideo() {
        let specs = block_specs(&mvit_base_16x4(400, Activation::Softmax)).expect("specs");
        let dims: Vec<_> = specs
            .iter()
            .map(|s| (s.dim, s.dim_out, s.num_heads))
            .collect();
        assert_eq!(dims[0], (96, 192, 1));
        assert_eq!(dims[1], (192, 192, 2));
        assert_eq!(dims[2], (192, 384, 2));
        assert_eq!(dims[3], (384, 384, 4));
        assert_eq!(dims[13], (384, 768, 4));
        assert_eq!(dims[14], (768, 768, 8));
        let kv: Vec<_> = specs.iter().map(|s| s.pool_kv.map(|(_, s)| s)).collect();
        assert_eq!(kv[0], Some([1, 8, 8]));
        assert_eq!(kv[1], Some([1, 4, 4]));
        assert_eq!(kv[3], Some([1, 2, 2]));
        // Stride 1 with a 3x3x3 kernel still pools (kernel != 1).
        assert_eq!(kv[15], Some([1, 1, 1]));
        let q: Vec<_> = specs.iter().map(|s| s.pool_q.is_some()).collect();
        assert_eq!(q.iter().filter(|&&q| q).count(), 3);
        assert!(q[1] && q[3] && q[14]);
    }
}
