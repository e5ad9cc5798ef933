//! FLOPs of captured ops, mirroring fvcore (`fvcore/nn/flop_count.py`, `jit_handles.py`,
//! `jit_analysis.py`, fvcore 0.1.5.post20221221 as in the venv) under vbench's conventions.
//!
//! fvcore walks the nodes of a traced graph: an op in `_DEFAULT_SUPPORTED_OPS` is counted by its
//! handle (one multiply-add = one FLOP), an op in `_IGNORED_OPS` (or any `prim::` op) is skipped,
//! and every other op is "unsupported": listed by name and count, never estimated. This module
//! does the same over the ops the shim recorded:
//!
//! | op | fvcore name | FLOPs |
//! |---|---|---|
//! | `aten::_convolution` | conv | `N · prod(w) · prod(out[2..])` (`x[2..]` if transposed) |
//! | `aten::linear` | linear | `prod(x) · w[0]` |
//! | `aten::addmm` | addmm | `a[0] · a[1] · b[1]` |
//! | `aten::matmul`, `aten::mm` | matmul, mm | `prod(a) · b[-1]` |
//! | `aten::bmm` | bmm | `n · c · t · b[-1]` |
//! | `aten::einsum` | einsum | two bmm-like equations directly, else numpy's `einsum_path` |
//! | `aten::batch_norm` | batch_norm | training: `5·prod(x)` (4 without affine); eval: 2 (1) |
//! | `aten::{group,layer,instance}_norm` | group_norm, ... | `5·prod(x)` (4 without affine) |
//! | `aten::upsample_nearest2d` / `_bilinear2d` | | `1 ·` / `4 · prod(out)` |
//! | `aten::adaptive_avg_pool2d` | | `prod(x)` |
//! | `aten::grid_sampler` | | `4 · prod(out)` |
//!
//! Conventions (as in `vbench-eval`'s `flops.rs`):
//! - **fvcore-2021**: every handle, BatchNorm at the training rule whatever the module's mode
//!   (fvcore March-June 2021; today's fvcore on a `train()` model).
//! - **conv-linear**: only the multiply-add ops (conv, linear, addmm, matmul, mm, bmm, einsum).
//! - **fvcore-eval**: every handle, BatchNorm by the `training` flag the module passed (today's
//!   fvcore; an exported `eval()` module passes false: 2 per element).
//!
//! Unlike vbench's own recorder, counts are for the whole input (all clips of the batch), as
//! fvcore gives them.

use std::collections::BTreeMap;
use std::path::Path;

use crate::einsum;
use crate::error::TorchExtError;
use crate::flop_ctx::Ctx;
use crate::ops::{Arg, OpRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Convention {
    Fvcore2021,
    ConvLinear,
    FvcoreEval,
}

impl Convention {
    pub const ALL: [Convention; 3] = [
        Convention::Fvcore2021,
        Convention::ConvLinear,
        Convention::FvcoreEval,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Convention::Fvcore2021 => "fvcore-2021",
            Convention::ConvLinear => "conv-linear",
            Convention::FvcoreEval => "fvcore-eval",
        }
    }

    pub fn parse(s: &str) -> Result<Convention, TorchExtError> {
        Convention::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| TorchExtError::UnknownConvention(s.to_string()))
    }
}

impl std::fmt::Display for Convention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One forward's count under one convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlopCount {
    pub convention: Convention,
    pub total: u64,
    /// fvcore's `by_operator()`: per fvcore op name (`conv`, `linear`, `batch_norm`, ...), the ops
    /// the convention counts; zero totals included.
    pub by_operator: BTreeMap<String, u64>,
    /// fvcore's `unsupported_ops()`: ops with no handle and not ignored, by qualified name, with
    /// how many times each ran. The same under every convention.
    pub uncounted: BTreeMap<String, usize>,
}

/// fvcore's `_IGNORED_OPS` (`jit_analysis.py`): skipped, neither counted nor listed.
const IGNORED: &[&str] = &[
    "aten::Int",
    "aten::ScalarImplicit",
    "aten::__and__",
    "aten::arange",
    "aten::bitwise_not",
    "aten::cat",
    "aten::chunk",
    "aten::clamp",
    "aten::clamp_",
    "aten::constant_pad_nd",
    "aten::contiguous",
    "aten::copy_",
    "aten::detach",
    "aten::dropout",
    "aten::empty",
    "aten::eq",
    "aten::expand",
    "aten::flatten",
    "aten::floor",
    "aten::floor_divide",
    "aten::full",
    "aten::full_like",
    "aten::gather",
    "aten::ge",
    "aten::gt",
    "aten::index",
    "aten::index_put_",
    "aten::masked_fill",
    "aten::max",
    "aten::narrow",
    "aten::new_empty",
    "aten::new_full",
    "aten::new_zeros",
    "aten::nonzero",
    "aten::ones",
    "aten::permute",
    "aten::relu",
    "aten::relu_",
    "aten::remainder",
    "aten::reshape",
    "aten::roll",
    "aten::select",
    "aten::size",
    "aten::slice",
    "aten::split",
    "aten::split_with_sizes",
    "aten::squeeze",
    "aten::stack",
    "aten::t",
    "aten::to",
    "aten::transpose",
    "aten::type_as",
    "aten::unbind",
    "aten::unsqueeze",
    "aten::unsqueeze_",
    "aten::view",
    "aten::zeros",
    "aten::zeros_like",
];

/// The handle fvcore's `_DEFAULT_SUPPORTED_OPS` has for `op`, by its counted name.
fn handled(op: &str) -> Option<&'static str> {
    Some(match op {
        "aten::addmm" => "addmm",
        "aten::bmm" => "bmm",
        "aten::_convolution" => "conv",
        "aten::einsum" => "einsum",
        "aten::matmul" => "matmul",
        "aten::mm" => "mm",
        "aten::linear" => "linear",
        "aten::batch_norm" => "batch_norm",
        "aten::group_norm" => "group_norm",
        "aten::layer_norm" => "layer_norm",
        "aten::instance_norm" => "instance_norm",
        "aten::upsample_nearest2d" => "upsample_nearest2d",
        "aten::upsample_bilinear2d" => "upsample_bilinear2d",
        "aten::adaptive_avg_pool2d" => "adaptive_avg_pool2d",
        "aten::grid_sampler" => "grid_sampler",
        _ => return None,
    })
}

fn counted_by(name: &str, convention: Convention) -> bool {
    convention != Convention::ConvLinear
        || matches!(
            name,
            "conv" | "linear" | "addmm" | "matmul" | "mm" | "bmm" | "einsum"
        )
}

/// fvcore's `norm_flop_counter(affine_arg_index)`.
fn norm(c: &Ctx, affine_index: usize) -> Result<u64, TorchExtError> {
    let x = c.shape(0)?;
    if !(2..=5).contains(&x.len()) {
        return Err(c.bad(format!("norm input {x:?} is not 2-D to 5-D")));
    }
    let affine = c.input(affine_index)?.shape().is_some();
    c.mul(c.prod(x)?, if affine { 5 } else { 4 })
}

/// FLOPs of one op under `convention`, by fvcore's handle `name`.
fn handle(c: &Ctx, name: &str, convention: Convention) -> Result<u64, TorchExtError> {
    match name {
        "conv" => {
            let (x, w, out) = (c.shape(0)?, c.shape(1)?, c.out_shape()?);
            let transposed = match c.input(6)? {
                Arg::Bool(b) => *b,
                other => return Err(c.bad(format!("argument 6 (transposed) is {other:?}"))),
            };
            let spatial = if transposed { x } else { out };
            if spatial.len() < 2 {
                return Err(c.bad(format!("conv shape {spatial:?} has no spatial dims")));
            }
            let f = c.mul(c.dim(x, 0)?, c.prod(w)?)?;
            c.mul(f, c.prod(&spatial[2..])?)
        }
        "linear" => {
            let (x, w) = (c.shape(0)?, c.shape(1)?);
            if x.last() != w.last() {
                return Err(c.bad(format!("linear input {x:?} does not fit weight {w:?}")));
            }
            c.mul(c.prod(x)?, c.dim(w, 0)?)
        }
        "addmm" => {
            let (a, b) = (c.shape(1)?, c.shape(2)?);
            if a.len() != 2 || b.len() != 2 {
                return Err(c.bad(format!("addmm operands {a:?}, {b:?} are not 2-D")));
            }
            c.mul(c.prod(a)?, c.dim(b, 1)?)
        }
        "matmul" | "mm" => {
            let (a, b) = (c.shape(0)?, c.shape(1)?);
            if a.is_empty() || b.len() < 2 || a[a.len() - 1] != b[b.len() - 2] {
                // fvcore asserts a[-1] == b[-2] (so a 1-D right operand fails there too).
                return Err(c.unmirrored(format!("operands {a:?} @ {b:?}: fvcore asserts")));
            }
            c.mul(c.prod(a)?, c.dim(b, -1)?)
        }
        "bmm" => {
            let (a, b) = (c.shape(0)?, c.shape(1)?);
            if a.len() != 3 {
                return Err(c.bad(format!("bmm operand {a:?} is not 3-D")));
            }
            c.mul(c.prod(a)?, c.dim(b, -1)?)
        }
        "einsum" => einsum::flops(c),
        "batch_norm" => {
            let training = match c.input(5)? {
                Arg::Bool(b) => *b,
                other => return Err(c.bad(format!("argument 5 (training) is {other:?}"))),
            };
            if training || convention == Convention::Fvcore2021 {
                return norm(c, 1);
            }
            let affine = c.input(1)?.shape().is_some();
            c.mul(c.prod(c.shape(0)?)?, if affine { 2 } else { 1 })
        }
        "group_norm" | "layer_norm" => norm(c, 2),
        "instance_norm" => norm(c, 1),
        "upsample_nearest2d" => c.prod(c.out_shape()?),
        "upsample_bilinear2d" | "grid_sampler" => c.mul(c.prod(c.out_shape()?)?, 4),
        "adaptive_avg_pool2d" => c.prod(c.shape(0)?),
        _ => Ok(0),
    }
}

/// Counts `ops` (recorded from `file`) as fvcore would count the same graph nodes.
pub fn count(
    file: &Path,
    ops: &[OpRecord],
    convention: Convention,
) -> Result<FlopCount, TorchExtError> {
    let mut by_operator: BTreeMap<String, u64> = BTreeMap::new();
    let mut uncounted: BTreeMap<String, usize> = BTreeMap::new();
    for (index, rec) in ops.iter().enumerate() {
        let Some(name) = handled(&rec.name) else {
            let ignored = IGNORED.contains(&rec.name.as_str()) || rec.name.starts_with("prim::");
            if !ignored {
                *uncounted.entry(rec.name.clone()).or_default() += 1;
            }
            continue;
        };
        if !counted_by(name, convention) {
            continue;
        }
        let c = Ctx { file, index, rec };
        let f = handle(&c, name, convention)?;
        let t = by_operator.entry(name.to_string()).or_default();
        *t = t
            .checked_add(f)
            .ok_or_else(|| c.bad("FLOPs overflow u64"))?;
    }
    let total = by_operator
        .values()
        .try_fold(0u64, |a, &b| a.checked_add(b));
    Ok(FlopCount {
        convention,
        total: total.ok_or_else(|| TorchExtError::BadRecord {
            file: file.to_path_buf(),
            index: ops.len(),
            op: "total".into(),
            reason: "FLOPs overflow u64".into(),
        })?,
        by_operator,
        uncounted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[i64]) -> Arg {
        Arg::Tensor {
            shape: shape.to_vec(),
            dtype: "Float".into(),
        }
    }

    fn rec(name: &str, inputs: Vec<Arg>, out: &[i64]) -> OpRecord {
        OpRecord {
            name: name.into(),
            interpreter: false,
            inputs,
            outputs: vec![t(out)],
        }
    }

    fn conv(transposed: bool) -> OpRecord {
        let mut args = vec![t(&[2, 3, 4, 8, 8]), t(&[6, 3, 1, 3, 3]), Arg::None];
        args.extend([Arg::IntList(vec![1; 3]), Arg::IntList(vec![0; 3])]);
        args.extend([Arg::IntList(vec![1; 3]), Arg::Bool(transposed)]);
        rec("aten::_convolution", args, &[2, 6, 4, 6, 6])
    }

    fn bn(training: bool, affine: bool) -> OpRecord {
        let w = || if affine { t(&[6]) } else { Arg::None };
        let args = vec![
            t(&[2, 6, 4, 6, 6]),
            w(),
            w(),
            t(&[6]),
            t(&[6]),
            Arg::Bool(training),
        ];
        rec("aten::batch_norm", args, &[2, 6, 4, 6, 6])
    }

    #[test]
    fn conventions_apply_fvcore_handles() {
        let ops = vec![
            conv(false),
            conv(true),
            bn(false, true),
            bn(false, false),
            rec(
                "aten::linear",
                vec![t(&[2, 10]), t(&[4, 10]), Arg::None],
                &[2, 4],
            ),
            rec("aten::relu_", vec![t(&[2, 4])], &[2, 4]),
            rec(
                "aten::softmax",
                vec![t(&[2, 4]), Arg::Int(1), Arg::None],
                &[2, 4],
            ),
            rec(
                "aten::softmax",
                vec![t(&[2, 4]), Arg::Int(1), Arg::None],
                &[2, 4],
            ),
        ];
        let file = Path::new("m.pt");
        let conv_f = 2 * (6 * 3 * 9) * (4 * 6 * 6);
        let conv_t = 2 * (6 * 3 * 9) * (4 * 8 * 8);
        let n = 2 * 6 * 4 * 6 * 6;
        let eval = count(file, &ops, Convention::FvcoreEval).unwrap();
        assert_eq!(eval.by_operator["conv"], conv_f + conv_t);
        assert_eq!(eval.by_operator["batch_norm"], 2 * n + n);
        assert_eq!(eval.by_operator["linear"], 80);
        assert_eq!(
            eval.uncounted,
            BTreeMap::from([("aten::softmax".into(), 2)])
        );
        let y2021 = count(file, &ops, Convention::Fvcore2021).unwrap();
        assert_eq!(y2021.by_operator["batch_norm"], 5 * n + 4 * n);
        let cl = count(file, &ops, Convention::ConvLinear).unwrap();
        assert!(!cl.by_operator.contains_key("batch_norm"));
        assert_eq!(cl.total, conv_f + conv_t + 80);
        assert_eq!(cl.uncounted, eval.uncounted);
    }

    #[test]
    fn malformed_counted_op_names_file_and_op() {
        let ops = vec![rec("aten::linear", vec![t(&[2, 10])], &[2, 4])];
        let err = count(Path::new("dir/m.pt"), &ops, Convention::FvcoreEval).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("dir/m.pt") && msg.contains("op #0 aten::linear"),
            "{msg}"
        );
    }

    #[test]
    fn conventions_parse_by_name() {
        for c in Convention::ALL {
            assert_eq!(Convention::parse(c.name()).unwrap(), c);
        }
        assert!(Convention::parse("fvcore").is_err());
    }
}
