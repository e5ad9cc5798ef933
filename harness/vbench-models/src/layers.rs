//! The leaf modules, one thin wrapper per PyTorch layer. Each owns its state-dict prefix, runs the
//! same ATen op PyTorch's module runs (so results match bit for bit where the kernels do), and
//! reports its shapes to `op_record` when a recording is active.
//!
//! Weights start at zero / BN identity: the zoo is only meaningful with a checkpoint loaded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use tch::{nn, Kind, Tensor};

use crate::error::{ModelError, Result};
use crate::op_record::{self, OpKind, OpRecord};
use crate::variant::{fold, precision};

/// The dotted state-dict prefix of a var-store path (`blocks.1.res_blocks.0`).
pub(crate) fn prefix(p: &nn::Path) -> String {
    p.components().collect::<Vec<_>>().join(".")
}

/// A trainable parameter (counted by `param_count`, like `nn.Parameter`).
pub(crate) fn param(p: &nn::Path, name: &str, dims: &[i64], value: f64) -> Result<Tensor> {
    reject_duplicate(p, name)?;
    let init = nn::Init::Const(value);
    p.f_var(name, dims, init)
        .map_err(ModelError::torch(&p.path(name)))
}

/// A buffer (`register_buffer`): in the state dict, not in `parameters()`.
fn buffer(p: &nn::Path, name: &str, dims: &[i64], kind: Kind, value: f64) -> Result<Tensor> {
    reject_duplicate(p, name)?;
    let t = Tensor::f_full(dims, value, (kind, p.device()))
        .map_err(ModelError::torch(&p.path(name)))?;
    Ok(p.add(name, t, false))
}

// tch renames a second variable with the same key to `key__N`; that would break strict loading
// silently, so a builder bug surfaces here instead.
fn reject_duplicate(p: &nn::Path, name: &str) -> Result<()> {
    match p.get(name) {
        Some(_) => Err(ModelError::DuplicateKey { key: p.path(name) }),
        None => Ok(()),
    }
}

pub(crate) fn record(
    path: &str,
    op: OpKind,
    input: &Tensor,
    output: &Tensor,
    weight: Option<&Tensor>,
    groups: i64,
) {
    op_record::record(|| OpRecord {
        path: path.to_string(),
        op,
        input_shape: input.size(),
        output_shape: output.size(),
        weight_shape: weight.map(Tensor::size),
        groups,
    });
}

/// `nn.Conv3d` hyper-parameters; `new` mirrors PyTorch's defaults (stride 1, no padding, no bias).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvOpts {
    pub kernel: [i64; 3],
    pub stride: [i64; 3],
    pub padding: [i64; 3],
    pub dilation: [i64; 3],
    pub groups: i64,
    pub bias: bool,
}

impl ConvOpts {
    pub fn new(kernel: [i64; 3]) -> Self {
        ConvOpts {
            kernel,
            stride: [1; 3],
            padding: [0; 3],
            dilation: [1; 3],
            groups: 1,
            bias: false,
        }
    }
    pub fn stride(mut self, stride: [i64; 3]) -> Self {
        self.stride = stride;
        self
    }
    pub fn padding(mut self, padding: [i64; 3]) -> Self {
        self.padding = padding;
        self
    }
    /// PyTorchVideo's usual `[k // 2 for k in kernel]`.
    pub fn same_padding(self) -> Self {
        let k = self.kernel;
        self.padding([k[0] / 2, k[1] / 2, k[2] / 2])
    }
    pub fn dilation(mut self, dilation: [i64; 3]) -> Self {
        self.dilation = dilation;
        self
    }
    pub fn groups(mut self, groups: i64) -> Self {
        self.groups = groups;
        self
    }
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
}

#[derive(Debug)]
pub(crate) struct Conv3d {
    path: String,
    weight: Tensor,
    bias: Option<Tensor>,
    /// The bias a folded BatchNorm left to a conv built without one (`variant::fold`).
    folded_bias: OnceLock<Tensor>,
    opts: ConvOpts,
}

impl Conv3d {
    pub fn new(p: &nn::Path, c_in: i64, c_out: i64, opts: ConvOpts) -> Result<Self> {
        let path = prefix(p);
        if opts.groups < 1 || c_in % opts.groups != 0 || c_out % opts.groups != 0 {
            return Err(ModelError::BadConfig {
                builder: "Conv3d",
                reason: format!(
                    "{path}: {c_in} -> {c_out} channels do not split into {} groups",
                    opts.groups
                ),
            });
        }
        let [kt, kh, kw] = opts.kernel;
        let weight = param(p, "weight", &[c_out, c_in / opts.groups, kt, kh, kw], 0.0)?;
        let bias = match opts.bias {
            true => Some(param(p, "bias", &[c_out], 0.0)?),
            false => None,
        };
        Ok(Conv3d {
            path,
            weight,
            bias,
            folded_bias: OnceLock::new(),
            opts,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.forward_unrecorded(x)?;
        let o = &self.opts;
        record(
            &self.path,
            OpKind::Conv,
            x,
            &y,
            Some(&self.weight),
            o.groups,
        );
        Ok(y)
    }

    /// The convolution alone; for callers that record it with shapes of their own.
    pub fn forward_unrecorded(&self, x: &Tensor) -> Result<Tensor> {
        fold::before_conv(
            &self.path,
            &self.weight,
            self.bias.as_ref(),
            &self.folded_bias,
        )?;
        let o = &self.opts;
        let y = x
            .f_conv3d(
                &self.weight,
                self.bias.as_ref().or(self.folded_bias.get()),
                o.stride,
                o.padding,
                o.dilation,
                o.groups,
            )
            .map_err(ModelError::torch(&self.path))?;
        fold::after_conv(&self.path, &y);
        Ok(y)
    }

    /// The weight's dtype and device: what inputs are cast to.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    pub fn opts(&self) -> &ConvOpts {
        &self.opts
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

/// `nn.Conv2d` over derived weights (the efficient-X3D deployment form): no var-store entry.
#[derive(Debug)]
pub(crate) struct Conv2d {
    pub path: String,
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub stride: [i64; 2],
    pub padding: [i64; 2],
    pub groups: i64,
}

impl Conv2d {
    /// The convolution alone; the caller records it (with shapes that keep clips in dim 0).
    pub fn forward_unrecorded(&self, x: &Tensor) -> Result<Tensor> {
        x.f_conv2d(
            &self.weight,
            self.bias.as_ref(),
            self.stride,
            self.padding,
            [1, 1],
            self.groups,
        )
        .map_err(ModelError::torch(&self.path))
    }
}

/// `nn.LayerNorm(C)` over the last dim.
#[derive(Debug)]
pub(crate) struct LayerNorm {
    path: String,
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn new(p: &nn::Path, channels: i64, eps: f64) -> Result<Self> {
        Ok(LayerNorm {
            path: prefix(p),
            weight: param(p, "weight", &[channels], 1.0)?,
            bias: param(p, "bias", &[channels], 0.0)?,
            eps,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = self.weight.size();
        let y = x
            .f_layer_norm(&c, Some(&self.weight), Some(&self.bias), self.eps, true)
            .map_err(ModelError::torch(&self.path))?;
        record(&self.path, OpKind::LayerNorm, x, &y, Some(&self.weight), 1);
        Ok(y)
    }
}

/// `a @ b`, recorded as a matmul under `path` (the attention module's name).
pub(crate) fn matmul(path: &str, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let y = a.f_matmul(b).map_err(ModelError::torch(path))?;
    record(path, OpKind::Matmul, a, &y, Some(b), 1);
    Ok(y)
}

/// `nn.BatchNorm3d` in eval mode: running statistics, never updated.
#[derive(Debug)]
pub(crate) struct BatchNorm3d {
    path: String,
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    eps: f64,
    /// Folded into the conv before it (`variant::fold`): the identity from then on.
    folded: AtomicBool,
}

impl BatchNorm3d {
    pub fn new(p: &nn::Path, channels: i64) -> Result<Self> {
        let kind = p.kind();
        let bn = BatchNorm3d {
            path: prefix(p),
            weight: param(p, "weight", &[channels], 1.0)?,
            bias: param(p, "bias", &[channels], 0.0)?,
            running_mean: buffer(p, "running_mean", &[channels], kind, 0.0)?,
            running_var: buffer(p, "running_var", &[channels], kind, 1.0)?,
            eps: 1e-5,
            folded: AtomicBool::new(false),
        };
        // Unused in eval, but PyTorch state dicts carry it and strict loading compares key sets.
        let _ = buffer(p, "num_batches_tracked", &[], Kind::Int64, 0.0)?;
        Ok(bn)
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if fold::at_batch_norm(&self.path, x, self.params()) {
            self.folded.store(true, Ordering::Relaxed);
        }
        if self.folded.load(Ordering::Relaxed) {
            return Ok(x.shallow_clone());
        }
        let y = x
            .f_batch_norm(
                Some(&self.weight),
                Some(&self.bias),
                Some(&self.running_mean),
                Some(&self.running_var),
                false,
                0.1,
                self.eps,
                true,
            )
            .map_err(ModelError::torch(&self.path))?;
        record(&self.path, OpKind::BatchNorm, x, &y, Some(&self.weight), 1);
        Ok(y)
    }

    /// (weight, bias, running mean, running var, eps): what folding into a conv needs.
    pub fn params(&self) -> (&Tensor, &Tensor, &Tensor, &Tensor, f64) {
        (
            &self.weight,
            &self.bias,
            &self.running_mean,
            &self.running_var,
            self.eps,
        )
    }
}

/// `nn.Linear` over the last dimension.
#[derive(Debug)]
pub(crate) struct Linear {
    path: String,
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    pub fn new(p: &nn::Path, c_in: i64, c_out: i64) -> Result<Self> {
        Ok(Linear {
            path: prefix(p),
            weight: param(p, "weight", &[c_out, c_in], 0.0)?,
            bias: param(p, "bias", &[c_out], 0.0)?,
        })
    }

    /// A linear layer outside any var store (derived weights: the deployment forms).
    pub fn from_tensors(path: String, weight: Tensor, bias: Tensor) -> Self {
        Linear { path, weight, bias }
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    pub fn bias(&self) -> &Tensor {
        &self.bias
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x
            .f_linear(&self.weight, Some(&self.bias))
            .map_err(ModelError::torch(&self.path))?;
        record(&self.path, OpKind::Linear, x, &y, Some(&self.weight), 1);
        Ok(y)
    }
}

/// `nn.MaxPool3d` (dilation 1, floor mode).
#[derive(Debug)]
pub(crate) struct MaxPool3d {
    path: String,
    kernel: [i64; 3],
    stride: [i64; 3],
    padding: [i64; 3],
}

impl MaxPool3d {
    pub fn new(p: &nn::Path, kernel: [i64; 3], stride: [i64; 3], padding: [i64; 3]) -> Self {
        MaxPool3d {
            path: prefix(p),
            kernel,
            stride,
            padding,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x
            .f_max_pool3d(self.kernel, self.stride, self.padding, [1, 1, 1], false)
            .map_err(ModelError::torch(&self.path))?;
        record(&self.path, OpKind::MaxPool, x, &y, None, 1);
        Ok(y)
    }
}

/// `nn.MaxPool2d(kernel, stride)` (no padding, floor mode): the AVA head's `pool_spatial`.
#[derive(Debug)]
pub(crate) struct MaxPool2d {
    path: String,
    kernel: [i64; 2],
    stride: [i64; 2],
}

impl MaxPool2d {
    pub fn new(p: &nn::Path, kernel: [i64; 2], stride: [i64; 2]) -> Self {
        MaxPool2d {
            path: prefix(p),
            kernel,
            stride,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x
            .f_max_pool2d(self.kernel, self.stride, [0, 0], [1, 1], false)
            .map_err(ModelError::torch(&self.path))?;
        record(&self.path, OpKind::MaxPool, x, &y, None, 1);
        Ok(y)
    }
}

/// `nn.AvgPool3d` with PyTorch's defaults (floor mode, padding counted).
#[derive(Debug)]
pub(crate) struct AvgPool3d {
    path: String,
    kernel: [i64; 3],
    stride: [i64; 3],
}

impl AvgPool3d {
    pub fn new(p: &nn::Path, kernel: [i64; 3], stride: [i64; 3]) -> Self {
        AvgPool3d {
            path: prefix(p),
            kernel,
            stride,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let pool =
            |x: &Tensor| x.f_avg_pool3d(self.kernel, self.stride, [0, 0, 0], false, true, None);
        // libtorch has no bfloat16 avg_pool3d on the CPU: the bf16-cast variant pools in float32.
        let y = match precision::fp32_fallback(&self.path, "avg_pool3d", x) {
            Some(kind) => pool(&x.to_kind(Kind::Float)).and_then(|y| y.f_to_kind(kind)),
            None => pool(x),
        }
        .map_err(ModelError::torch(&self.path))?;
        record(&self.path, OpKind::AvgPool, x, &y, None, 1);
        Ok(y)
    }
}

/// `nn.AdaptiveAvgPool3d(1)`: the global average.
#[derive(Debug)]
pub(crate) struct GlobalAvgPool3d {
    path: String,
}

impl GlobalAvgPool3d {
    pub fn new(p: &nn::Path) -> Self {
        GlobalAvgPool3d { path: prefix(p) }
    }

    /// For modules outside any var store (deployment forms).
    pub fn named(path: String) -> Self {
        GlobalAvgPool3d { path }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.forward_unrecorded(x)?;
        record(&self.path, OpKind::AdaptiveAvgPool, x, &y, None, 1);
        Ok(y)
    }

    /// fvcore's squeeze-excitation takes `mean(dim=[2,3,4], keepdim=True)`: the same average as
    /// adaptive pooling, but through the reduction kernel, whose summation order differs.
    pub fn forward_mean(&self, x: &Tensor) -> Result<Tensor> {
        let y = x
            .f_mean_dim(&[2i64, 3, 4][..], true, None::<Kind>)
            .map_err(ModelError::torch(&self.path))?;
        record(&self.path, OpKind::AdaptiveAvgPool, x, &y, None, 1);
        Ok(y)
    }

    /// For side outputs PyTorch does not compute (the pre-activation scores).
    pub fn forward_unrecorded(&self, x: &Tensor) -> Result<Tensor> {
        x.f_adaptive_avg_pool3d([1, 1, 1])
            .map_err(ModelError::torch(&self.path))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActKind {
    Relu,
    Sigmoid,
    /// Over dim 1 (classes), as PyTorchVideo's heads build it.
    Softmax,
    Swish,
    /// `nn.GELU()` (exact).
    Gelu,
    /// A head built with `activation=None`: scores are the logits. Records nothing (no op runs).
    Identity,
}

impl From<vbench_suite::Activation> for ActKind {
    fn from(a: vbench_suite::Activation) -> Self {
        match a {
            vbench_suite::Activation::Softmax => ActKind::Softmax,
            vbench_suite::Activation::Sigmoid => ActKind::Sigmoid,
            vbench_suite::Activation::None => ActKind::Identity,
        }
    }
}

/// A parameterless activation module.
#[derive(Debug)]
pub(crate) struct Act {
    path: String,
    kind: ActKind,
}

impl Act {
    pub fn new(p: &nn::Path, kind: ActKind) -> Self {
        Act {
            path: prefix(p),
            kind,
        }
    }

    /// For modules outside any var store (deployment forms).
    pub fn named(path: String, kind: ActKind) -> Self {
        Act { path, kind }
    }

    pub fn kind(&self) -> ActKind {
        self.kind
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (y, op) = match self.kind {
            ActKind::Identity => return Ok(x.shallow_clone()),
            ActKind::Relu => (x.f_relu(), OpKind::Relu),
            ActKind::Sigmoid => (x.f_sigmoid(), OpKind::Sigmoid),
            ActKind::Softmax => (x.f_softmax(1, None::<Kind>), OpKind::Softmax),
            // PyTorchVideo's SwishFunction computes exactly `x * sigmoid(x)`.
            ActKind::Swish => (x.f_sigmoid().and_then(|s| x.f_mul(&s)), OpKind::Swish),
            ActKind::Gelu => (x.f_gelu("none"), OpKind::Gelu),
        };
        let y = y.map_err(ModelError::torch(&self.path))?;
        record(&self.path, op, x, &y, None, 1);
        Ok(y)
    }
}

/// Elementwise sum of a residual block's two branches, recorded under the block's own name.
pub(crate) fn residual_add(path: &str, shortcut: &Tensor, branch: &Tensor) -> Result<Tensor> {
    let y = shortcut.f_add(branch).map_err(ModelError::torch(path))?;
    record(path, OpKind::Add, branch, &y, None, 1);
    Ok(y)
}
