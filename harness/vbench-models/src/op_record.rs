//! Shape-level op recorder (`zoo::counting` counts FLOPs from what it records). Every conv / norm /
//! linear / pool / activation in this crate goes through a wrapper in `layers.rs` that reports here
//! while a recording is active.
//!
//! Shapes are exact on a batch-0 input (`[0, 3, T, H, W]`): libtorch computes output shapes without
//! touching data, so a whole model can be "run" for its shapes at no cost.

use std::cell::RefCell;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Conv,
    BatchNorm,
    Linear,
    MaxPool,
    AvgPool,
    /// `nn.AdaptiveAvgPool3d`, and the squeeze-excitation's global mean (same arithmetic).
    AdaptiveAvgPool,
    Relu,
    Sigmoid,
    Softmax,
    /// `x * sigmoid(x)` (PyTorchVideo `Swish`).
    Swish,
    /// Residual sum (`ResBlock.branch_fusion`); `input_shape` is one operand's.
    Add,
    /// Squeeze-excitation rescale; `input_shape` is the feature map's.
    Mul,
    /// `nn.LayerNorm` over the last dim (MViT); `weight_shape` is `[C]`.
    LayerNorm,
    /// `a @ b` (MViT attention: `q @ kᵀ` and `attn @ v`): `input_shape` is `a`'s, `weight_shape`
    /// is `b`'s (an activation, not a parameter), so fvcore's `prod(a) · b[-1]` can be applied.
    Matmul,
    /// `nn.GELU` (exact, erf-based).
    Gelu,
    /// torchvision `roi_align` (AVA heads): `input_shape` is the feature map `[B, C, H, W]`,
    /// `output_shape` is `[K, C, PH, PW]` for K boxes. fvcore has no handle for it.
    RoiAlign,
}

impl OpKind {
    /// The snake_case name, as serialized.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Conv => "conv",
            OpKind::BatchNorm => "batch_norm",
            OpKind::Linear => "linear",
            OpKind::MaxPool => "max_pool",
            OpKind::AvgPool => "avg_pool",
            OpKind::AdaptiveAvgPool => "adaptive_avg_pool",
            OpKind::Relu => "relu",
            OpKind::Sigmoid => "sigmoid",
            OpKind::Softmax => "softmax",
            OpKind::Swish => "swish",
            OpKind::Add => "add",
            OpKind::Mul => "mul",
            OpKind::LayerNorm => "layer_norm",
            OpKind::Matmul => "matmul",
            OpKind::Gelu => "gelu",
            OpKind::RoiAlign => "roi_align",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpRecord {
    /// PyTorch module name, which is the state-dict prefix for modules with parameters
    /// (`blocks.1.res_blocks.0.branch2.conv_a`).
    pub path: String,
    pub op: OpKind,
    pub input_shape: Vec<i64>,
    pub output_shape: Vec<i64>,
    /// Conv: `[out, in/groups, kt, kh, kw]` (`[out, in/groups, kh, kw]` for the 2D convs of the
    /// efficient-X3D deployment form); linear: `[out, in]`; BN / LayerNorm: `[C]`; matmul: the
    /// right operand's shape.
    pub weight_shape: Option<Vec<i64>>,
    /// Conv groups; 1 for everything else.
    pub groups: i64,
}

thread_local! {
    static RECORDER: RefCell<Option<Vec<OpRecord>>> = const { RefCell::new(None) };
}

/// Runs `f` and returns what it recorded on this thread. Nested calls record into the innermost.
pub fn record_ops<F: FnOnce() -> R, R>(f: F) -> (R, Vec<OpRecord>) {
    // Restores the outer recording even if `f` panics.
    struct Restore(Option<Option<Vec<OpRecord>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(outer) = self.0.take() {
                RECORDER.with(|r| *r.borrow_mut() = outer);
            }
        }
    }
    let mut restore = Restore(Some(RECORDER.with(|r| r.replace(Some(Vec::new())))));
    let result = f();
    let ops = RECORDER.with(|r| r.replace(restore.0.take().unwrap_or_default()));
    (result, ops.unwrap_or_default())
}

/// Whether a recording is active on this thread.
pub fn is_recording() -> bool {
    RECORDER.with(|r| r.borrow().is_some())
}

/// Appends `make()` when recording; `make` is not called otherwise, so the hot path allocates nothing.
pub(crate) fn record(make: impl FnOnce() -> OpRecord) {
    RECORDER.with(|r| {
        if let Some(ops) = r.borrow_mut().as_mut() {
            ops.push(make());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(path: &str) -> OpRecord {
        OpRecord {
            path: path.into(),
            op: OpKind::Relu,
            input_shape: vec![1],
            output_shape: vec![1],
            weight_shape: None,
            groups: 1,
        }
    }

    #[test]
    fn records_only_inside_and_nests() {
        record(|| rec("outside"));
        assert!(!is_recording());
        let ((), outer) = record_ops(|| {
            record(|| rec("a"));
            let ((), inner) = record_ops(|| record(|| rec("b")));
            assert_eq!(inner.len(), 1);
            record(|| rec("c"));
        });
        let paths: Vec<_> = outer.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["a", "c"]);
        assert!(!is_recording());
    }
}
