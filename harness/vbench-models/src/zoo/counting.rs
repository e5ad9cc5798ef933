//! FLOPs of vbench's own layers, from the shapes `crate::op_record` records during a batch-0 forward
//! (no arithmetic), under the named conventions.
//!
//! The unit is fvcore's: one multiply-add is one FLOP. Per op, with `n(s)` the product of a shape's
//! dims after the batch dim (dim 0 is the batch of clips; every recorded op keeps it there, and the
//! detectors' head ops after RoIAlign have boxes there, one whole-frame box per clip in `forward()`):
//!
//! | op (fvcore's name) | FLOPs per clip |
//! |---|---|
//! | `conv` | `prod(weight) · prod(output[2..])` (bias not counted) |
//! | `linear` | `n(input) · out_features` |
//! | `matmul` | `n(a) · b[-1]` (`a @ b`; MViT's `q @ kᵀ` and `attn @ v`) |
//! | `batch_norm` | `5 · n(input)` (affine) under fvcore-2021, `2 · n(input)` under fvcore-eval |
//! | `layer_norm` | `5 · n(input)` (affine), `4 ·` without, under fvcore-2021 and fvcore-eval |
//! | `adaptive_avg_pool2d` | `n(input)`, 4-D inputs only: fvcore has no handle for the 3-D op |
//! | relu, sigmoid, softmax, swish, gelu, add, mul, max/avg pool, 3-D adaptive pool, roi_align | not counted |
//!
//! The uncounted ones are fvcore's too: it has no handle for `aten::gelu`, `aten::softmax`,
//! `aten::add`/`mul` or `torchvision::roi_align` (`_DEFAULT_SUPPORTED_OPS` in `flop_count.py`).
//!
//! The conventions, after fvcore's history (`fvcore/nn/flop_count.py`, `jit_handles.py`):
//! - **fvcore-2021**: conv + linear/matmul as multiply-adds, every norm at 5 FLOPs per element.
//!   fvcore counted BatchNorm so in any mode from 2021-03-09 (commit 1f43d07) to 2021-06-03
//!   (052545c); since then it does only for a model in `train()` mode. 18 of the 20 published zoo
//!   GFLOPs use it (the two MViT rows tie with fvcore-eval: MViT has no BatchNorm).
//! - **conv-linear**: conv + linear/matmul only, norms not counted: fvcore before 2021-03-09. The
//!   K400 Slow R50 8×8 (54.52) and SlowFast R50 8×8 (65.71) rows use it.
//! - **fvcore-eval**: today's fvcore default on an `eval()` model: BatchNorm at 2 FLOPs per element
//!   (1 without affine), other norms still 5. Equal to fvcore-2021 on a model without BatchNorm.

use std::collections::{BTreeMap, HashMap};

use tch::nn::VarStore;
use vbench_suite::FlopsConvention;

use crate::error::{ModelError, Result};
use crate::model::{ConventionCount, FlopsCount, OpCost};
use crate::op_record::{OpKind, OpRecord};

/// The recorded op's fvcore operator name where fvcore has a handle for it, else `None`.
pub fn fvcore_op(rec: &OpRecord) -> Option<&'static str> {
    match rec.op {
        OpKind::Conv => Some("conv"),
        OpKind::Linear => Some("linear"),
        OpKind::Matmul => Some("matmul"),
        OpKind::BatchNorm => Some("batch_norm"),
        OpKind::LayerNorm => Some("layer_norm"),
        OpKind::AdaptiveAvgPool if rec.input_shape.len() == 4 => Some("adaptive_avg_pool2d"),
        _ => None,
    }
}

/// Whether `conv` counts fvcore's operator `name` at all (conv-linear skips norms and pools).
fn counted(name: &str, conv: FlopsConvention) -> bool {
    conv != FlopsConvention::ConvLinear
        || matches!(name, "conv" | "linear" | "matmul" | "bmm" | "einsum")
}

/// A short name for any recorded op: fvcore's where it has one, else the recorder's own
/// (`max_pool`, `relu`, ...), so ops the recorder gains later show without a change here.
pub fn op_name(rec: &OpRecord) -> String {
    match fvcore_op(rec) {
        Some(name) => name.to_string(),
        None => rec.op.name().to_string(),
    }
}

fn bad(rec: &OpRecord, reason: impl Into<String>) -> ModelError {
    ModelError::BadOpRecord {
        path: rec.path.clone(),
        op: rec.op.name(),
        reason: reason.into(),
    }
}

/// Product of `dims`, refusing negative dims and overflow.
fn product(rec: &OpRecord, dims: &[i64]) -> Result<u64> {
    dims.iter().try_fold(1u64, |acc, &d| {
        let d = u64::try_from(d).map_err(|_| bad(rec, format!("negative dim in {dims:?}")))?;
        acc.checked_mul(d)
            .ok_or_else(|| bad(rec, format!("FLOPs overflow u64 at {dims:?}")))
    })
}

/// FLOPs of one op for one clip under `conv`; `None` where the convention does not count the op.
pub fn op_flops(rec: &OpRecord, conv: FlopsConvention) -> Result<Option<u64>> {
    let Some(name) = fvcore_op(rec).filter(|n| counted(n, conv)) else {
        return Ok(None);
    };
    if rec.input_shape.is_empty() || rec.output_shape.is_empty() {
        return Err(bad(rec, "a shape has no batch dim"));
    }
    let per_clip_in = || product(rec, &rec.input_shape[1..]);
    let weight = || {
        rec.weight_shape
            .as_deref()
            .ok_or_else(|| bad(rec, "no weight shape recorded"))
    };
    let scaled = |n: u64, k: u64| {
        n.checked_mul(k)
            .ok_or_else(|| bad(rec, "FLOPs overflow u64"))
    };
    let flops = match name {
        "conv" => {
            if rec.output_shape.len() < 3 {
                return Err(bad(
                    rec,
                    format!("output {:?} has no spatial dims", rec.output_shape),
                ));
            }
            let w = product(rec, weight()?)?;
            scaled(w, product(rec, &rec.output_shape[2..])?)?
        }
        "linear" => {
            let out = *weight()?
                .first()
                .ok_or_else(|| bad(rec, "empty weight shape"))?;
            scaled(per_clip_in()?, product(rec, &[out])?)?
        }
        "matmul" => {
            // fvcore's matmul handle: prod(a.shape) · b.shape[-1]; `weight_shape` is b's shape.
            let cols = *weight()?
                .last()
                .ok_or_else(|| bad(rec, "empty right-operand shape"))?;
            scaled(per_clip_in()?, product(rec, &[cols])?)?
        }
        "batch_norm" | "layer_norm" => {
            // fvcore's norm_flop_counter: 5 per element with affine params, 4 without; only
            // batch_norm in eval mode has its own rule (2, 1 without affine).
            let affine = rec.weight_shape.is_some();
            let per_element = match (name, conv, affine) {
                ("batch_norm", FlopsConvention::FvcoreEval, true) => 2,
                ("batch_norm", FlopsConvention::FvcoreEval, false) => 1,
                (_, _, true) => 5,
                (_, _, false) => 4,
            };
            scaled(per_clip_in()?, per_element)?
        }
        "adaptive_avg_pool2d" => per_clip_in()?,
        _ => 0,
    };
    Ok(Some(flops))
}

/// Trainable parameters per module path (`blocks.0.conv` → weight + bias numel).
pub fn module_params(vs: &VarStore) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for (name, t) in vs.variables() {
        if !t.requires_grad() {
            continue; // BN running stats and counters are buffers, not parameters
        }
        let module = name.rsplit_once('.').map_or("", |(m, _)| m);
        *out.entry(module.to_string()).or_default() += t.numel() as i64;
    }
    out
}

/// Every convention's count of `ops` (one clip), per-op rows with the params of each op's module,
/// and the recorded ops that no convention counts.
pub fn count(ops: &[OpRecord], params: &BTreeMap<String, i64>) -> Result<FlopsCount> {
    let mut rows = Vec::with_capacity(ops.len());
    let mut conventions: Vec<ConventionCount> = FlopsConvention::ALL
        .into_iter()
        .map(|convention| ConventionCount {
            convention,
            total: 0,
            by_operator: BTreeMap::new(),
        })
        .collect();
    let mut uncounted: HashMap<String, usize> = HashMap::new();
    for rec in ops {
        let mut flops = [None; 3];
        for (i, c) in conventions.iter_mut().enumerate() {
            flops[i] = op_flops(rec, c.convention)?;
            if let Some(f) = flops[i] {
                let name = fvcore_op(rec).unwrap_or_default().to_string();
                let t = c.by_operator.entry(name).or_default();
                *t = t
                    .checked_add(f)
                    .ok_or_else(|| bad(rec, "FLOPs overflow u64"))?;
                c.total = c
                    .total
                    .checked_add(f)
                    .ok_or_else(|| bad(rec, "FLOPs overflow u64"))?;
            }
        }
        if flops.iter().all(Option::is_none) {
            *uncounted.entry(op_name(rec)).or_default() += 1;
        }
        rows.push(OpCost {
            path: rec.path.clone(),
            op: op_name(rec),
            input_shape: rec.input_shape.clone(),
            output_shape: rec.output_shape.clone(),
            flops,
            params: params.get(&rec.path).copied().unwrap_or(0),
        });
    }
    Ok(FlopsCount {
        conventions,
        uncounted: uncounted.into_iter().collect(),
        ops: rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelInput;
    use crate::op_record::record_ops;
    use tch::Device;
    use FlopsConvention::*;

    fn rec(op: OpKind, input: &[i64], output: &[i64], weight: Option<&[i64]>) -> OpRecord {
        OpRecord {
            path: "blocks.0.x".into(),
            op,
            input_shape: input.to_vec(),
            output_shape: output.to_vec(),
            weight_shape: weight.map(<[i64]>::to_vec),
            groups: 1,
        }
    }

    #[test]
    fn flops_per_op_formulas() {
        let conv = rec(
            OpKind::Conv,
            &[0, 3, 8, 256, 256],
            &[0, 64, 8, 128, 128],
            Some(&[64, 3, 1, 7, 7]),
        );
        let bn = rec(
            OpKind::BatchNorm,
            &[0, 64, 8, 128, 128],
            &[0, 64, 8, 128, 128],
            Some(&[64]),
        );
        let lin = rec(
            OpKind::Linear,
            &[0, 1, 2, 2, 2048],
            &[0, 1, 2, 2, 400],
            Some(&[400, 2048]),
        );
        let pool3 = rec(
            OpKind::AdaptiveAvgPool,
            &[0, 400, 1, 2, 2],
            &[0, 400, 1, 1, 1],
            None,
        );
        let pool2 = rec(
            OpKind::AdaptiveAvgPool,
            &[0, 400, 2, 2],
            &[0, 400, 1, 1],
            None,
        );
        let relu = rec(
            OpKind::Relu,
            &[0, 64, 8, 128, 128],
            &[0, 64, 8, 128, 128],
            None,
        );
        // MViT-B's first attention: 8 heads, 25089 tokens, head dim 12; q @ kᵀ over pooled keys.
        let mm = rec(
            OpKind::Matmul,
            &[0, 1, 25089, 96],
            &[0, 1, 25089, 784],
            Some(&[0, 1, 96, 784]),
        );
        let ln = rec(
            OpKind::LayerNorm,
            &[0, 25089, 96],
            &[0, 25089, 96],
            Some(&[96]),
        );
        let mut ln_plain = ln.clone();
        ln_plain.weight_shape = None;
        let gelu = rec(OpKind::Gelu, &[0, 25089, 384], &[0, 25089, 384], None);
        let roi = rec(OpKind::RoiAlign, &[0, 2048, 16, 16], &[0, 2048, 7, 7], None);
        let f = |r: &OpRecord, c| op_flops(r, c).unwrap().unwrap_or(0);
        for c in FlopsConvention::ALL {
            assert_eq!(
                f(&mm, c),
                25089 * 96 * 784,
                "{c}: matmul counts under every convention"
            );
            assert_eq!(
                (op_flops(&gelu, c).unwrap(), op_flops(&roi, c).unwrap()),
                (None, None),
                "{c}: fvcore has no handle"
            );
        }
        assert_eq!(
            [f(&ln, Fvcore2021), f(&ln, FvcoreEval), f(&ln, ConvLinear)],
            [5 * 25089 * 96, 5 * 25089 * 96, 0]
        );
        assert_eq!(f(&ln_plain, FvcoreEval), 4 * 25089 * 96);
        let conv_flops = 64 * 3 * 49 * 8 * 128 * 128;
        let bn_elems = 64 * 8 * 128 * 128;
        for c in FlopsConvention::ALL {
            assert_eq!(f(&conv, c), conv_flops);
            assert_eq!(f(&lin, c), 4 * 2048 * 400);
            assert_eq!(f(&pool3, c), 0, "fvcore has no adaptive_avg_pool3d handle");
            assert_eq!(f(&relu, c), 0);
        }
        assert_eq!(
            [f(&bn, Fvcore2021), f(&bn, FvcoreEval), f(&bn, ConvLinear)],
            [5 * bn_elems, 2 * bn_elems, 0]
        );
        assert_eq!([f(&pool2, Fvcore2021), f(&pool2, ConvLinear)], [1600, 0]);
        let ops = [conv.clone(), bn, lin, pool3, relu];
        let count = count(&ops, &BTreeMap::new()).unwrap();
        let eval = &count.conventions[2];
        assert_eq!(eval.convention, FvcoreEval);
        assert_eq!(
            eval.by_operator
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["batch_norm", "conv", "linear"]
        );
        assert!(!count.conventions[1].by_operator.contains_key("batch_norm"));
        assert_eq!(
            count.uncounted,
            [
                ("adaptive_avg_pool".to_string(), 1),
                ("relu".to_string(), 1)
            ]
            .into()
        );
        let mut broken = conv;
        broken.weight_shape = None;
        let err = op_flops(&broken, Fvcore2021).unwrap_err().to_string();
        assert!(err.contains("blocks.0.x") && err.contains("conv"), "{err}");
    }

    /// The batch-0 shape pass records the shapes of a real batch-2 forward but for dim 0, so the
    /// per-clip formulas hold.
    #[test]
    fn flops_shape_pass_is_exact() {
        let (plan, i) = vbench_suite::find_entry("k400/x3d_xs").unwrap();
        let e = &plan.entries[i];
        let vs = VarStore::new(Device::Cpu);
        let net = crate::build(
            vbench_suite::Arch::X3dXs,
            400,
            e.protocol.head_activation,
            &vs.root(),
        )
        .unwrap();
        let pass = |batch| {
            let input = ModelInput::dummy(&e.protocol, batch, Device::Cpu);
            let (out, ops) = record_ops(|| net.forward(&input));
            out.unwrap();
            ops
        };
        let (ops, real) = (pass(0), pass(2));
        assert_eq!(ops.len(), real.len());
        for (a, b) in ops.iter().zip(&real) {
            assert_eq!(
                (&a.path, a.op, &a.weight_shape),
                (&b.path, b.op, &b.weight_shape)
            );
            for (s0, s2) in [
                (&a.input_shape, &b.input_shape),
                (&a.output_shape, &b.output_shape),
            ] {
                assert_eq!((s0[0], s2[0]), (0, 2), "{}", a.path);
                assert_eq!(s0[1..], s2[1..], "{}", a.path);
            }
        }
    }
}
