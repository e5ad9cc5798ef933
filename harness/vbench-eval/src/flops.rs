//! FLOPs and params of one entry, from the ops `vbench_models::op_record` records during a batch-0
//! forward (shapes only, no arithmetic), under named counting conventions.
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
use std::time::{Duration, Instant};

use tch::nn::VarStore;
use tch::Device;
use vbench_models::op_record::{record_ops, OpKind, OpRecord};
use vbench_models::{ModelError, ModelInput, VideoModel};
use vbench_results::{ConventionFlops, EntryCounts, EntryStats, FlopsResult, LayerFlops, Measure};
use vbench_suite::{Entry, Printed, Protocol};

use crate::model::build_model;
use crate::params::{params_note, params_result};

#[derive(Debug, thiserror::Error)]
pub enum FlopsError {
    #[error("unknown FLOPs convention `{0}`; use fvcore-2021, conv-linear or fvcore-eval")]
    UnknownConvention(String),
    #[error("{entry}: the batch-0 shape pass failed: {source}")]
    ShapePass {
        entry: String,
        // Boxed: ModelError is large and this enum is returned per op.
        #[source]
        source: Box<ModelError>,
    },
    #[error("{entry}: {path} ({op:?}): {reason}")]
    BadRecord {
        entry: String,
        path: String,
        op: OpKind,
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Convention {
    Fvcore2021,
    ConvLinear,
    FvcoreEval,
}

impl Convention {
    /// Also the order in which `reproduced_by` is chosen when several conventions print the same.
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

    pub fn parse(s: &str) -> Result<Convention, FlopsError> {
        Convention::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| FlopsError::UnknownConvention(s.to_string()))
    }

    pub fn description(self) -> &'static str {
        match self {
            Convention::Fvcore2021 => {
                "conv + linear/matmul, norms at 5 per element (fvcore Mar-Jun 2021; fvcore on a train() model)"
            }
            Convention::ConvLinear => "conv + linear/matmul only, norms not counted (fvcore before Mar 2021)",
            Convention::FvcoreEval => {
                "fvcore's default on an eval() model: BatchNorm at 2 per element, LayerNorm at 5"
            }
        }
    }
}

impl std::fmt::Display for Convention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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
fn counted(name: &str, conv: Convention) -> bool {
    conv != Convention::ConvLinear
        || matches!(name, "conv" | "linear" | "matmul" | "bmm" | "einsum")
}

/// A short name for any recorded op: fvcore's where it has one, else the recorder's own
/// (`max_pool`, `relu`, ...), so ops the recorder gains later show without a change here.
pub fn op_name(rec: &OpRecord) -> String {
    match fvcore_op(rec) {
        Some(name) => name.to_string(),
        None => serde_json::to_value(rec.op)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", rec.op)),
    }
}

fn bad(entry: &str, rec: &OpRecord, reason: impl Into<String>) -> FlopsError {
    FlopsError::BadRecord {
        entry: entry.to_string(),
        path: rec.path.clone(),
        op: rec.op,
        reason: reason.into(),
    }
}

/// Product of `dims`, refusing negative dims and overflow.
fn product(entry: &str, rec: &OpRecord, dims: &[i64]) -> Result<u64, FlopsError> {
    dims.iter().try_fold(1u64, |acc, &d| {
        let d =
            u64::try_from(d).map_err(|_| bad(entry, rec, format!("negative dim in {dims:?}")))?;
        acc.checked_mul(d)
            .ok_or_else(|| bad(entry, rec, format!("FLOPs overflow u64 at {dims:?}")))
    })
}

/// FLOPs of one op for one clip under `conv`; 0 where the convention does not count the op.
/// `entry` only labels errors.
pub fn op_flops(entry: &str, rec: &OpRecord, conv: Convention) -> Result<u64, FlopsError> {
    let Some(name) = fvcore_op(rec).filter(|n| counted(n, conv)) else {
        return Ok(0);
    };
    if rec.input_shape.is_empty() || rec.output_shape.is_empty() {
        return Err(bad(entry, rec, "a shape has no batch dim"));
    }
    let per_clip_in = || product(entry, rec, &rec.input_shape[1..]);
    let weight = || {
        rec.weight_shape
            .as_deref()
            .ok_or_else(|| bad(entry, rec, "no weight shape recorded"))
    };
    let scaled = |n: u64, k: u64| {
        n.checked_mul(k)
            .ok_or_else(|| bad(entry, rec, "FLOPs overflow u64"))
    };
    match name {
        "conv" => {
            if rec.output_shape.len() < 3 {
                return Err(bad(
                    entry,
                    rec,
                    format!("output {:?} has no spatial dims", rec.output_shape),
                ));
            }
            let w = product(entry, rec, weight()?)?;
            scaled(w, product(entry, rec, &rec.output_shape[2..])?)
        }
        "linear" => {
            let out = *weight()?
                .first()
                .ok_or_else(|| bad(entry, rec, "empty weight shape"))?;
            scaled(per_clip_in()?, product(entry, rec, &[out])?)
        }
        "matmul" => {
            // fvcore's matmul handle: prod(a.shape) · b.shape[-1]; `weight_shape` is b's shape.
            let cols = *weight()?
                .last()
                .ok_or_else(|| bad(entry, rec, "empty right-operand shape"))?;
            scaled(per_clip_in()?, product(entry, rec, &[cols])?)
        }
        "batch_norm" | "layer_norm" => {
            // fvcore's norm_flop_counter: 5 per element with affine params, 4 without; only
            // batch_norm in eval mode has its own rule (2, 1 without affine).
            let affine = rec.weight_shape.is_some();
            let per_element = match (name, conv, affine) {
                ("batch_norm", Convention::FvcoreEval, true) => 2,
                ("batch_norm", Convention::FvcoreEval, false) => 1,
                (_, _, true) => 5,
                (_, _, false) => 4,
            };
            scaled(per_clip_in()?, per_element)
        }
        "adaptive_avg_pool2d" => per_clip_in(),
        _ => Ok(0),
    }
}

/// Per-operator totals for one clip, keyed by fvcore's operator names (what
/// `FlopCountAnalysis.by_operator()` returns); operators the convention skips are absent.
pub fn by_operator(
    entry: &str,
    ops: &[OpRecord],
    conv: Convention,
) -> Result<BTreeMap<&'static str, u64>, FlopsError> {
    let mut totals = BTreeMap::new();
    for rec in ops {
        let Some(name) = fvcore_op(rec).filter(|n| counted(n, conv)) else {
            continue;
        };
        let f = op_flops(entry, rec, conv)?;
        let t: &mut u64 = totals.entry(name).or_default();
        *t = t
            .checked_add(f)
            .ok_or_else(|| bad(entry, rec, "FLOPs overflow u64"))?;
    }
    Ok(totals)
}

pub fn total(entry: &str, ops: &[OpRecord], conv: Convention) -> Result<u64, FlopsError> {
    Ok(by_operator(entry, ops, conv)?.values().sum())
}

/// Runs `model` on a batch-0 input of `protocol`'s view (crop², T frames, α·T on the fast
/// pathway) and returns the ops it recorded: exact shapes, no arithmetic.
pub fn shape_pass(
    entry: &str,
    model: &dyn VideoModel,
    protocol: &Protocol,
    device: Device,
) -> Result<Vec<OpRecord>, FlopsError> {
    let input = ModelInput::dummy(protocol, 0, device);
    let (out, ops) = record_ops(|| model.forward(&input));
    out.map_err(|source| FlopsError::ShapePass {
        entry: entry.to_string(),
        source: Box::new(source),
    })?;
    Ok(ops)
}

/// Trainable parameters per module path (`blocks.0.conv` → weight + bias numel).
pub fn module_params(vs: &VarStore) -> HashMap<String, i64> {
    let mut out: HashMap<String, i64> = HashMap::new();
    for (name, t) in vs.variables() {
        if !t.requires_grad() {
            continue; // BN running stats and counters are buffers, not parameters
        }
        let module = name.rsplit_once('.').map_or("", |(m, _)| m);
        *out.entry(module.to_string()).or_default() += t.numel() as i64;
    }
    out
}

/// One row per recorded op, FLOPs under `conv` (0 where not counted), params of the op's module.
pub fn breakdown(
    entry: &str,
    ops: &[OpRecord],
    conv: Convention,
    params: &HashMap<String, i64>,
) -> Result<Vec<LayerFlops>, FlopsError> {
    ops.iter()
        .map(|rec| {
            Ok(LayerFlops {
                path: rec.path.clone(),
                op: op_name(rec),
                input_shape: rec.input_shape.clone(),
                output_shape: rec.output_shape.clone(),
                flops: op_flops(entry, rec, conv)?,
                params: params.get(&rec.path).copied().unwrap_or(0),
            })
        })
        .collect()
}

/// `breakdown` summed per top-level block (`blocks.3`): one row each, input of its first op,
/// output of its last. What `vbench run` stores, to keep results.json small.
pub fn top_level(rows: &[LayerFlops]) -> Vec<LayerFlops> {
    let mut out: Vec<LayerFlops> = Vec::new();
    for r in rows {
        let top: String = r.path.split('.').take(2).collect::<Vec<_>>().join(".");
        match out.last_mut() {
            Some(last) if last.path == top => {
                last.output_shape = r.output_shape.clone();
                last.flops += r.flops;
                last.params += r.params;
            }
            _ => out.push(LayerFlops {
                path: top,
                op: "block".into(),
                input_shape: r.input_shape.clone(),
                output_shape: r.output_shape.clone(),
                flops: r.flops,
                params: r.params,
            }),
        }
    }
    out
}

/// Which rows the breakdown holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    None,
    TopLevel,
    PerOp,
}

/// Every convention's count, the one that prints as the published GFLOPs (if any), a note where
/// the published value is not fvcore-2021's, and the breakdown under `shown`, by default
/// `reproduced_by` (fvcore-2021 where none reproduces it).
pub fn flops_result(
    entry: &Entry,
    ops: &[OpRecord],
    vs: &VarStore,
    detail: Detail,
    shown: Option<Convention>,
) -> Result<FlopsResult, FlopsError> {
    let mut conventions = Vec::with_capacity(Convention::ALL.len());
    for c in Convention::ALL {
        let flops = total(&entry.id, ops, c)?;
        conventions.push(ConventionFlops {
            convention: c.name().to_string(),
            flops,
            gflops: flops as f64 / 1e9,
        });
    }
    let published = entry.reference.gflops;
    let matching: Vec<(Convention, &ConventionFlops)> = Convention::ALL
        .into_iter()
        .zip(&conventions)
        .filter(|(_, cf)| published.is_some_and(|p| p.matches(cf.gflops)))
        .collect();
    let reproduced = matching.first().map(|(c, _)| *c);
    let note = published.and_then(|p| flops_note(p, &conventions, &matching));
    let shown = shown.or(reproduced).unwrap_or(Convention::Fvcore2021);
    let rows = match detail {
        Detail::None => Vec::new(),
        _ => breakdown(&entry.id, ops, shown, &module_params(vs))?,
    };
    Ok(FlopsResult {
        conventions,
        reproduced_by: reproduced.map(|c| c.name().to_string()),
        note,
        breakdown: match detail {
            Detail::TopLevel => top_level(&rows),
            _ => rows,
        },
    })
}

fn flops_note(
    published: Printed,
    all: &[ConventionFlops],
    matching: &[(Convention, &ConventionFlops)],
) -> Option<String> {
    let list = || {
        all.iter()
            .map(|c| format!("{} {:.3}", c.convention, c.gflops))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(&(first, first_cf)) = matching.first() else {
        return Some(format!(
            "no convention reproduces the published {published} GFLOPs: {}",
            list()
        ));
    };
    let mut parts = Vec::new();
    if first == Convention::ConvLinear {
        parts.push(format!(
            "the published {published} counts conv + linear only (BatchNorm not counted, as fvcore \
             did before March 2021), unlike the table's other rows; fvcore-2021 gives {:.2}",
            all[0].gflops
        ));
    }
    let same: Vec<&str> = matching[1..]
        .iter()
        .filter(|(_, cf)| cf.flops == first_cf.flops)
        .map(|(c, _)| c.name())
        .collect();
    if !same.is_empty() {
        parts.push(format!(
            "{} gives the same count (no BatchNorm)",
            same.join(", ")
        ));
    }
    let other: Vec<String> = matching[1..]
        .iter()
        .filter(|(_, cf)| cf.flops != first_cf.flops)
        .map(|(c, cf)| format!("{} {:.3}", c.name(), cf.gflops))
        .collect();
    if !other.is_empty() {
        parts.push(format!(
            "ambiguous: {} also prints as {published}",
            other.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Shape pass + counting + notes: what `vbench stats` shows and `vbench run` stores.
pub fn measure(
    entry: &Entry,
    model: &dyn VideoModel,
    vs: &VarStore,
    detail: Detail,
    shown: Option<Convention>,
) -> Result<EntryStats, FlopsError> {
    let ops = shape_pass(&entry.id, model, &entry.protocol, vs.device())?;
    let mut params = params_result(entry, vs);
    params.note = params_note(entry, params.count, &ops);
    let flops = flops_result(entry, &ops, vs, detail, shown)?;
    Ok(EntryStats { params, flops })
}

/// Where `vbench stats`' counting spent its time.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountTimes {
    pub total: Duration,
    /// Building the models (random init).
    pub building: Duration,
    /// Shape passes and counting.
    pub counting: Duration,
}

/// `vbench stats`: every entry built on the CPU and counted (`detail`, `shown` as in
/// [`measure`]). Counting does no arithmetic, and building fills ~700 M parameters (all suites):
/// libtorch's intra-op threads only contend over that on a loaded machine (measured 5-6 s with 2
/// threads, under 1 s with one), so this thread counts with one.
pub fn count_entries(
    entries: &[Entry],
    detail: Detail,
    shown: Option<Convention>,
) -> (Vec<EntryCounts>, CountTimes) {
    tch::set_num_threads(1);
    let start = Instant::now();
    let mut times = CountTimes::default();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let t = Instant::now();
        let built = build_model(e, Device::Cpu);
        times.building += t.elapsed();
        let t = Instant::now();
        let stats = match built {
            Err(reason) => Measure::NotImplemented { reason },
            Ok((vs, model)) => match measure(e, model.as_ref(), &vs, detail, shown) {
                Ok(value) => Measure::Measured { value },
                Err(err) => Measure::Failed {
                    error: err.to_string(),
                },
            },
        };
        times.counting += t.elapsed();
        rows.push(EntryCounts {
            entry: e.clone(),
            stats,
        });
    }
    times.total = start.elapsed();
    (rows, times)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vbench_suite::find_entry;

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

    fn entry(id: &str) -> Entry {
        let (plan, i) = find_entry(id).unwrap();
        plan.entries[i].clone()
    }

    #[test]
    fn flops_conventions_parse_by_name() {
        for c in Convention::ALL {
            assert_eq!(Convention::parse(c.name()).unwrap(), c);
        }
        let err = Convention::parse("fvcore").unwrap_err().to_string();
        assert!(
            err.contains("`fvcore`") && err.contains("conv-linear"),
            "{err}"
        );
    }

    #[test]
    fn flops_per_op_formulas() {
        use Convention::*;
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
        let f = |r: &OpRecord, c| op_flops("t", r, c).unwrap();
        for c in Convention::ALL {
            assert_eq!(
                f(&mm, c),
                25089 * 96 * 784,
                "{c}: matmul counts under every convention"
            );
            assert_eq!(
                (f(&gelu, c), f(&roi, c)),
                (0, 0),
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
        for c in Convention::ALL {
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
        let eval = by_operator("t", &ops, FvcoreEval).unwrap();
        assert_eq!(
            eval.keys().copied().collect::<Vec<_>>(),
            ["batch_norm", "conv", "linear"]
        );
        assert!(!by_operator("t", &ops, ConvLinear)
            .unwrap()
            .contains_key("batch_norm"));
        let mut broken = conv;
        broken.weight_shape = None;
        let err = op_flops("k400/x", &broken, Fvcore2021)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("k400/x") && err.contains("blocks.0.x"),
            "{err}"
        );
    }

    #[test]
    fn flops_top_level_sums_per_block() {
        let row = |path: &str, flops| LayerFlops {
            path: path.into(),
            op: "conv".into(),
            input_shape: vec![0, 1],
            output_shape: vec![0, 2],
            flops,
            params: 1,
        };
        let rows = [
            row("blocks.0.conv", 3),
            row("blocks.0.norm", 4),
            row("blocks.1.res_blocks.0.a", 5),
        ];
        let top = top_level(&rows);
        assert_eq!(top.len(), 2);
        assert_eq!(
            (top[0].path.as_str(), top[0].flops, top[0].params),
            ("blocks.0", 7, 2)
        );
        assert_eq!(top[1].path, "blocks.1");
    }

    /// vbench counts efficient X3D's original form, the one PyTorchVideo builds and fvcore counts,
    /// not the deployment form (BN folded into the convs, 3-D convs as 2-D taps).
    #[test]
    fn flops_efficient_x3d_counts_the_original_form() {
        let e = entry("mobile/efficient_x3d_xs");
        let (vs, model) = build_model(&e, Device::Cpu).unwrap();
        let s = measure(&e, model.as_ref(), &vs, Detail::None, None).unwrap();
        let ops = shape_pass(&e.id, model.as_ref(), &e.protocol, Device::Cpu).unwrap();
        let deploy = model
            .deploy_form()
            .unwrap()
            .expect("efficient X3D has a deploy form");
        let dops = shape_pass(&e.id, deploy.as_ref(), &e.protocol, Device::Cpu).unwrap();
        // The deploy form folds BN away and keeps every multiply-add: its count under any
        // convention is the original's conv-linear count (605,256,512 for XS at 4×160²).
        let conv_linear = total(&e.id, &ops, Convention::ConvLinear).unwrap();
        for (c, cf) in Convention::ALL.into_iter().zip(&s.flops.conventions) {
            assert_eq!(cf.flops, total(&e.id, &ops, c).unwrap(), "{c}");
            assert_eq!(total(&e.id, &dops, c).unwrap(), conv_linear, "{c}");
        }
        assert!(!dops.iter().any(|o| o.op == OpKind::BatchNorm));
    }

    /// The batch-0 shape pass records the shapes of a real batch-2 forward but for dim 0 (so the
    /// per-clip formulas hold), and X3D-XS reproduces its published value under fvcore-2021 only.
    #[test]
    fn flops_shape_pass_is_exact_and_x3d_xs_is_fvcore_2021() {
        let e = entry("k400/x3d_xs");
        let (vs, model) = build_model(&e, Device::Cpu).unwrap();
        let ops = shape_pass(&e.id, model.as_ref(), &e.protocol, Device::Cpu).unwrap();
        let input = ModelInput::dummy(&e.protocol, 2, Device::Cpu);
        let (out, real) = record_ops(|| model.forward(&input));
        out.unwrap();
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
        let r = flops_result(&e, &ops, &vs, Detail::PerOp, None).unwrap();
        assert_eq!(r.reproduced_by.as_deref(), Some("fvcore-2021"));
        let matching = r
            .conventions
            .iter()
            .filter(|c| e.reference.gflops.unwrap().matches(c.gflops))
            .count();
        assert_eq!(matching, 1);
        assert_eq!(r.breakdown.len(), ops.len());
        let conv_params: i64 = r
            .breakdown
            .iter()
            .filter(|l| l.op == "conv")
            .map(|l| l.params)
            .sum();
        assert!(conv_params > 0);
    }
}
