//! The per-entry measurement of a run, step by step: the entry's model built with random init →
//! params and FLOPs (a batch-0 shape pass) → latency → accuracy (the dataset evaluation, with the
//! entry's checkpoint). Each step fills its part of the entry's [`EntryResult`] as a [`Measure`],
//! so what is not built or not requested says so instead of showing a number. A new step is one
//! more function called from [`measure_entry`]; the CLI does not change.

use crate::accuracy::evaluate::{measure_accuracy, AccuracyOptions, Progress, WriteFailed};
use crate::flops;
use crate::model::build_model;
use crate::params::params_result;
use crate::run::output;
use crate::timing::latency::{self, LatencyOptions};
use std::path::PathBuf;
use tch::nn::VarStore;
use tch::Device;
use vbench_models::VideoModel;
use vbench_results::{EntryResult, Measure};
use vbench_suite::Entry;

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
}

/// Measures `e`: every step in order. Latency is measured before the dataset evaluation, on a
/// machine not yet busy decoding. `progress` hears the evaluation's progress. Only an output
/// file that cannot be written is an error; every other problem is the measurement's status.
pub fn measure_entry(
    e: &Entry,
    opts: &MeasureOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<EntryResult, WriteFailed> {
    let mut result = output::new_entry(e);
    match build_model(e, opts.device) {
        Ok((vs, model)) => {
            params_and_flops(e, model.as_ref(), &vs, &mut result);
            if let Some(lat) = &opts.latency {
                let m = latency::measure_entry(e, model.as_ref(), lat, opts.weights_dir.as_deref());
                result.latency.push(m);
            }
        }
        Err(reason) => not_built(reason, opts, &mut result),
    }
    if let Some(acc) = &opts.accuracy {
        result.accuracy = measure_accuracy(e, acc, progress)?;
    }
    Ok(result)
}

/// FLOPs from a batch-0 shape pass; results.json keeps the per-block breakdown only. Params are
/// counted even when the pass fails.
fn params_and_flops(e: &Entry, model: &dyn VideoModel, vs: &VarStore, result: &mut EntryResult) {
    match flops::measure(e, model, vs, flops::Detail::TopLevel, None) {
        Ok(stats) => {
            result.params = Measure::Measured {
                value: stats.params,
            };
            result.flops = Measure::Measured { value: stats.flops };
        }
        Err(err) => {
            result.params = Measure::Measured {
                value: params_result(e, vs),
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
