//! FLOPs and params of one entry as results: every convention's count of one view, from the
//! model's own count through the model seam (`VideoModel::flops`: vbench's layer records for the
//! zoo, the shim's op capture for a TorchScript file; the formulas are in `vbench_models::zoo::
//! counting` and `vbench_torch_ext::flops`), the convention that reproduces the published GFLOPs
//! (or the one the published numbers declare), and notes where they differ.
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

use std::time::{Duration, Instant};

use tch::Device;
use vbench_models::{FlopsCount, ModelError, VideoModel};
use vbench_results::{ConventionFlops, EntryCounts, EntryStats, FlopsResult, LayerFlops, Measure};
use vbench_suite::{Entry, Printed};

pub use vbench_suite::FlopsConvention as Convention;

use crate::model::build_model;
use crate::params::{params_note, params_result};

#[derive(Debug, thiserror::Error)]
pub enum FlopsError {
    #[error("unknown FLOPs convention `{0}`; use fvcore-2021, conv-linear or fvcore-eval")]
    UnknownConvention(String),
    #[error("{entry}: counting FLOPs failed: {source}")]
    Count {
        entry: String,
        // Boxed: ModelError is large.
        #[source]
        source: Box<ModelError>,
    },
}

/// A convention by name (`fvcore-2021`, `conv-linear`, `fvcore-eval`).
pub fn parse_convention(s: &str) -> Result<Convention, FlopsError> {
    Convention::from_name(s).ok_or_else(|| FlopsError::UnknownConvention(s.to_string()))
}

/// The rows of a breakdown summed per top-level block (`blocks.3`): one row each, input of its
/// first op, output of its last. What `vbench run` stores, to keep results.json small.
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

/// Every convention's count, the one that prints as the published GFLOPs (if any; only the
/// declared one when the published numbers name their convention), a note where the published
/// value is not fvcore-2021's, the ops no convention counts, and the breakdown (per op where the
/// model records its modules) under `shown`, by default the declared or reproducing convention
/// (fvcore-2021 where there is none).
pub fn flops_result(
    entry: &Entry,
    count: &FlopsCount,
    detail: Detail,
    shown: Option<Convention>,
) -> FlopsResult {
    let conventions: Vec<ConventionFlops> = count
        .conventions
        .iter()
        .map(|c| ConventionFlops {
            convention: c.convention.name().to_string(),
            flops: c.total,
            gflops: c.total as f64 / 1e9,
        })
        .collect();
    let published = entry.published.gflops;
    let declared = entry.published.gflops_convention;
    let matching: Vec<(Convention, &ConventionFlops)> = count
        .conventions
        .iter()
        .map(|c| c.convention)
        .zip(&conventions)
        .filter(|(_, cf)| published.is_some_and(|p| p.matches(cf.gflops)))
        .collect();
    let (reproduced, note) = match (published, declared) {
        (Some(p), Some(d)) => declared_note(p, d, &conventions, &matching),
        (Some(p), None) => (
            matching.first().map(|(c, _)| *c),
            flops_note(p, &conventions, &matching),
        ),
        (None, _) => (None, None),
    };
    let shown = shown
        .or(declared)
        .or(reproduced)
        .unwrap_or(Convention::Fvcore2021);
    let at = Convention::ALL
        .iter()
        .position(|c| *c == shown)
        .unwrap_or(0);
    let rows: Vec<LayerFlops> = match detail {
        Detail::None => Vec::new(),
        _ => count
            .ops
            .iter()
            .map(|o| LayerFlops {
                path: o.path.clone(),
                op: o.op.clone(),
                input_shape: o.input_shape.clone(),
                output_shape: o.output_shape.clone(),
                flops: o.flops[at].unwrap_or(0),
                params: o.params,
            })
            .collect(),
    };
    FlopsResult {
        conventions,
        reproduced_by: reproduced.map(|c| c.name().to_string()),
        note,
        breakdown: match detail {
            Detail::TopLevel => top_level(&rows),
            _ => rows,
        },
        uncounted_ops: count.uncounted.clone(),
    }
}

/// Published GFLOPs that name their convention: reproduced by that convention or by none.
fn declared_note(
    published: Printed,
    declared: Convention,
    all: &[ConventionFlops],
    matching: &[(Convention, &ConventionFlops)],
) -> (Option<Convention>, Option<String>) {
    if matching.iter().any(|(c, _)| *c == declared) {
        return (Some(declared), None);
    }
    let counted = all
        .iter()
        .find(|c| c.convention == declared.name())
        .map_or(0.0, |c| c.gflops);
    let list = all
        .iter()
        .map(|c| format!("{} {:.3}", c.convention, c.gflops))
        .collect::<Vec<_>>()
        .join(", ");
    (
        None,
        Some(format!(
            "the published {published} GFLOPs, declared as {declared}, is not what vbench counts \
             under {declared} ({counted:.3}); all conventions: {list}"
        )),
    )
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

/// The model's count + params + notes: what `vbench stats` shows and `vbench run` stores.
pub fn measure(
    entry: &Entry,
    model: &dyn VideoModel,
    detail: Detail,
    shown: Option<Convention>,
) -> Result<EntryStats, FlopsError> {
    let failed = |source| FlopsError::Count {
        entry: entry.id.clone(),
        source: Box::new(source),
    };
    let count = model.flops(&entry.protocol).map_err(failed)?;
    let mut params = params_result(entry, &model.params().map_err(failed)?);
    params.note = params_note(entry, params.count, &count.ops);
    let flops = flops_result(entry, &count, detail, shown);
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
            Ok(model) => match measure(e, model.as_ref(), detail, shown) {
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
    use vbench_models::zoo::{counting, ZooModel};
    use vbench_models::{LoadOptions, Weights};
    use vbench_suite::find_entry;

    fn entry(id: &str) -> Entry {
        let (plan, i) = find_entry(id).unwrap();
        plan.entries[i].clone()
    }

    #[test]
    fn flops_conventions_parse_by_name() {
        for c in Convention::ALL {
            assert_eq!(parse_convention(c.name()).unwrap(), c);
        }
        let err = parse_convention("fvcore").unwrap_err().to_string();
        assert!(
            err.contains("`fvcore`") && err.contains("conv-linear"),
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
        let opts = LoadOptions {
            device: Device::Cpu,
            weights: Weights::Random,
        };
        let model = ZooModel::load(&e, &opts).unwrap();
        let s = measure(&e, &model, Detail::None, None).unwrap();
        let deploy = model
            .net()
            .deploy_form()
            .unwrap()
            .expect("efficient X3D has a deploy form");
        let input = vbench_models::ModelInput::dummy(&e.protocol, 0, Device::Cpu);
        let (out, dops) = vbench_models::op_record::record_ops(|| deploy.forward(&input));
        out.unwrap();
        let d = counting::count(&dops, &Default::default()).unwrap();
        // The deploy form folds BN away and keeps every multiply-add: its count under any
        // convention is the original's conv-linear count (605,256,512 for XS at 4×160²).
        let conv_linear = s.flops.conventions[1].flops;
        assert_eq!(s.flops.conventions[1].convention, "conv-linear");
        for c in &d.conventions {
            assert_eq!(c.total, conv_linear, "{}", c.convention);
        }
        assert!(!d.ops.iter().any(|o| o.op == "batch_norm"));
    }

    /// X3D-XS reproduces its published value under fvcore-2021 only; the per-op breakdown has the
    /// params of each op's module.
    #[test]
    fn flops_x3d_xs_is_fvcore_2021_with_a_per_op_breakdown() {
        let e = entry("k400/x3d_xs");
        let model = build_model(&e, Device::Cpu).unwrap();
        let count = model.flops(&e.protocol).unwrap();
        let r = flops_result(&e, &count, Detail::PerOp, None);
        assert_eq!(r.reproduced_by.as_deref(), Some("fvcore-2021"));
        let matching = r
            .conventions
            .iter()
            .filter(|c| e.published.gflops.unwrap().matches(c.gflops))
            .count();
        assert_eq!(matching, 1);
        assert_eq!(r.breakdown.len(), count.ops.len());
        let conv_params: i64 = r
            .breakdown
            .iter()
            .filter(|l| l.op == "conv")
            .map(|l| l.params)
            .sum();
        assert!(conv_params > 0);
        assert!(r.uncounted_ops.contains_key("relu"));
    }

    /// Inline published GFLOPs that name their convention are judged under it alone.
    #[test]
    fn flops_declared_convention_is_the_one_judged() {
        let mut e = entry("k400/x3d_xs");
        let model = build_model(&e, Device::Cpu).unwrap();
        let count = model.flops(&e.protocol).unwrap();
        let eval = count.total(Convention::FvcoreEval).unwrap() as f64 / 1e9;
        e.published.gflops = Printed::parse(&format!("{eval:.3}"));
        e.published.gflops_convention = Some(Convention::FvcoreEval);
        let r = flops_result(&e, &count, Detail::TopLevel, None);
        assert_eq!(r.reproduced_by.as_deref(), Some("fvcore-eval"));
        assert_eq!(r.note, None);
        e.published.gflops_convention = Some(Convention::Fvcore2021);
        let r = flops_result(&e, &count, Detail::None, None);
        assert_eq!(r.reproduced_by, None);
        let note = r.note.unwrap();
        assert!(note.contains("declared as fvcore-2021"), "{note}");
    }
}
