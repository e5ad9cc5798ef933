//! The per-entry measurement of a run, step by step: the entry's model through the model seam
//! (random init, or the TorchScript file as it is) → params and FLOPs of one view → latency →
//! accuracy (the dataset evaluation, with the entry's weights). Each step fills its part of the entry's [`EntryResult`] as a [`Measure`],
//! so what is not built or not requested says so instead of showing a number. A new step is one
//! more function called from [`measure_entry`]; the CLI does not change.

use crate::accuracy::evaluate::{
    measure_accuracy, predictions_rel_path, resolve_weights, variant_predictions_rel_path,
    AccuracyOptions, Progress, WeightsSource, WriteFailed,
};
use crate::flops;
use crate::model::build_model;
use crate::params::params_result;
use crate::run::output;
use crate::timing::latency::{self, LatencyOptions};
use crate::variants::{measure_variants, VariantOptions};
use std::path::PathBuf;
use tch::Device;
use vbench_models::VideoModel;
use vbench_results::paired::paired_top1;
use vbench_results::predictions::fidelity::compare;
use vbench_results::{AccuracyResult, VariantResult};
use vbench_results::{EntryResult, Measure};
use vbench_suite::{Entry, ModelSource, Variant};

/// What the steps need besides the entry.
#[derive(Debug, Clone)]
pub struct MeasureOptions {
    pub device: Device,
    /// `None`: no latency measurement.
    pub latency: Option<LatencyOptions>,
    /// Where int8 entries' published TorchScript files are cached.
    pub weights_dir: Option<PathBuf>,
    /// `None`: no dataset evaluation (accuracy says how to get one).
    pub accuracy: Option<AccuracyOptions>,
    /// `None`: no speed variants.
    pub variants: Option<VariantStep>,
}

/// The variants step: everything but the entry's weights, which come from `weights` (the run's
/// `--weights`, or the cached checkpoint when there is one; else the builders' init).
#[derive(Debug, Clone)]
pub struct VariantStep {
    pub opts: VariantOptions,
    pub weights: WeightsSource,
}

/// Measures `e`: every step in order. Latency is measured before the dataset evaluation, on a
/// machine not yet busy decoding. `progress` hears the evaluation's progress. Only an output
/// file that cannot be written is an error; every other problem is the measurement's status.
/// `model`: the entry's model already loaded (a TorchScript file the session probed), else it
/// is built here.
pub fn measure_entry(
    e: &Entry,
    model: Option<Box<dyn VideoModel>>,
    opts: &MeasureOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<EntryResult, WriteFailed> {
    let mut result = output::new_entry(e);
    let model = match model {
        Some(m) => Ok(m),
        None => build_model(e, opts.device),
    };
    match &model {
        Ok(model) => {
            params_and_flops(e, model.as_ref(), &mut result);
            if let Some(lat) = &opts.latency {
                let m = latency::measure_entry(e, model.as_ref(), lat, opts.weights_dir.as_deref());
                result.latency.push(m);
            }
        }
        Err(reason) => not_built(reason.clone(), opts, &mut result),
    }
    if let Some(step) = &opts.variants {
        let mut v = step.opts.clone();
        v.weights = resolve_weights(e, &step.weights, None)
            .ok()
            .flatten()
            .map(|w| w.path);
        result.variants = measure_variants(e, &v, &mut |line| progress(Progress::Note(line)));
    }
    if let Some(acc) = &opts.accuracy {
        let acc = AccuracyOptions {
            logits: opts.variants.is_some(),
            ..acc.clone()
        };
        // A TorchScript file holds its weights: the model measured above is the one to evaluate.
        let loaded = match (&e.model, &model) {
            (ModelSource::TorchScript { .. }, Ok(m)) => Some(m.as_ref()),
            _ => None,
        };
        result.accuracy = measure_accuracy(e, &acc, loaded, progress)?;
        for v in &mut result.variants {
            variant_accuracy(e, &acc, &result.accuracy, v, progress)?;
        }
    }
    Ok(result)
}

/// With a dataset: a variant's own evaluation into `<entry>@<variant>.jsonl`, and its fidelity to
/// fp32's predictions on the same videos.
fn variant_accuracy(
    e: &Entry,
    acc: &AccuracyOptions,
    fp32: &Measure<AccuracyResult>,
    v: &mut VariantResult,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), WriteFailed> {
    if v.variant == Variant::Fp32 || v.applied.value().is_none() {
        return Ok(());
    }
    progress(Progress::Note(format!(
        "variant {}: dataset evaluation",
        v.variant
    )));
    let opts = AccuracyOptions {
        variant: v.variant,
        ..acc.clone()
    };
    v.accuracy = measure_accuracy(e, &opts, None, progress)?;
    if fp32.value().is_none() || v.accuracy.value().is_none() {
        v.dataset_fidelity = Measure::Skipped {
            reason: "needs the fp32 and the variant's dataset evaluations".into(),
        };
        return Ok(());
    }
    let base = predictions_rel_path(e);
    let file = variant_predictions_rel_path(e, v.variant);
    v.dataset_fidelity = match compare(&acc.out_dir.join(&base), &acc.out_dir.join(&file)) {
        Ok(mut f) => {
            f.fp32_predictions = base.display().to_string();
            f.variant_predictions = file.display().to_string();
            match paired_top1(&acc.out_dir.join(&base), &acc.out_dir.join(&file)) {
                Ok(paired) => f.accuracy = paired,
                // The fidelity stands without the paired accuracy; the reason is said.
                Err(err) => progress(Progress::Note(format!(
                    "variant {}: no paired accuracy: {err}",
                    v.variant
                ))),
            }
            Measure::Measured { value: f }
        }
        Err(err) => Measure::Failed {
            error: err.to_string(),
        },
    };
    Ok(())
}

/// FLOPs of one view; results.json keeps the per-block breakdown only. Params are counted even
/// when counting FLOPs fails.
fn params_and_flops(e: &Entry, model: &dyn VideoModel, result: &mut EntryResult) {
    match flops::measure(e, model, flops::Detail::TopLevel, None) {
        Ok(stats) => {
            result.params = Measure::Measured {
                value: stats.params,
            };
            result.flops = Measure::Measured { value: stats.flops };
        }
        Err(err) => {
            result.params = match model.params() {
                Ok(p) => Measure::Measured {
                    value: params_result(e, &p),
                },
                Err(err) => Measure::Failed {
                    error: err.to_string(),
                },
            };
            result.flops = Measure::Failed {
                error: err.to_string(),
            };
        }
    }
}

/// An architecture vbench does not build: every model step says why.
fn not_built(reason: String, opts: &MeasureOptions, result: &mut EntryResult) {
    result.params = Measure::NotImplemented {
        reason: reason.clone(),
    };
    result.flops = Measure::NotImplemented {
        reason: reason.clone(),
    };
    if opts.latency.is_some() {
        result.latency.push(Measure::NotImplemented { reason });
    }
}
