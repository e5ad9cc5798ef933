//! `vbench latency`: forward latency of entries, once per requested thread count: the entry's own
//! model (zoo or TorchScript), an int8 entry's published TorchScript file, or a given TorchScript
//! module under the entry's protocol, each through the model seam. Every row says what happened;
//! the sweep as a whole does not fail.

use crate::model::{build_model, load_model};
use crate::provenance;
use crate::timing::latency::{
    int8_torchscript, measure_model, missing_torchscript, LatencyError, LatencyOptions,
};
use std::path::PathBuf;
use vbench_models::VideoModel;
use vbench_results::{LatencyReport, LatencyResult, LatencyRow, Measure, SCHEMA_VERSION};
use vbench_suite::{Entry, InputLayout, ModelSource, Precision, Sampler};

/// What a sweep is told.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Everything but `threads` and `precision`, which each row sets.
    pub latency: LatencyOptions,
    /// One measurement per count; empty: one at libtorch's choice.
    pub threads: Vec<usize>,
    /// Time this module instead of each entry's own model.
    pub torchscript: Option<PathBuf>,
    /// Where int8 entries' published TorchScript files are cached.
    pub weights_dir: Option<PathBuf>,
    /// The command line, for provenance.
    pub command: Vec<String>,
}

/// Measures every entry at every thread count.
pub fn sweep(entries: &[Entry], opts: &SweepOptions) -> LatencyReport {
    let mut report = LatencyReport {
        schema_version: SCHEMA_VERSION,
        provenance: provenance::collect(opts.command.clone()),
        cuda: provenance::cuda_runtime(),
        results: Vec::new(),
        variants: Vec::new(),
    };
    for e in entries {
        report.results.extend(entry_rows(e, opts));
    }
    report.provenance.finished_at = Some(provenance::now_utc());
    report
}

/// What to time for `e` and the row's implementation label: a given TorchScript module (an int8
/// entry's file, or a module under the entry's protocol), an int8 entry's published file, or the
/// entry's own model. `Err`: why there is nothing to time (a `Skipped` or `Failed` row).
fn model_for(
    opts: &SweepOptions,
    e: &Entry,
) -> (String, Result<Box<dyn VideoModel>, Measure<LatencyResult>>) {
    let device = opts.latency.device;
    let failed = |error: String| Measure::Failed { error };
    let file = opts
        .torchscript
        .clone()
        .or_else(|| int8_torchscript(e, opts.weights_dir.as_deref()));
    let Some(path) = file else {
        let label = match e.model {
            ModelSource::Zoo(_) => "vbench".to_string(),
            _ => e.model.label(),
        };
        let model = build_model(e, device).map_err(|reason| Measure::NotImplemented { reason });
        return (label, model);
    };
    let label = format!("torchscript:{}", path.display());
    if !path.is_file() {
        let reason = missing_torchscript(e, &path);
        return (label, Err(Measure::Skipped { reason }));
    }
    let model = if e.precision == Precision::Int8 {
        load_model(e, Some(&path), device)
    } else {
        let mut own = e.clone();
        own.model = ModelSource::TorchScript {
            path,
            input: InputLayout::implied(
                e.protocol.alpha.is_some(),
                e.protocol.sampler == Sampler::AvaKeyframe,
            ),
        };
        own.checkpoint = None;
        load_model(&own, None, device)
    };
    (label, model.map_err(|err| failed(err.to_string())))
}

/// `e` once per thread count.
fn entry_rows(e: &Entry, opts: &SweepOptions) -> Vec<LatencyRow> {
    let row = |implementation: &str, latency| LatencyRow {
        id: e.id.clone(),
        arch: e.model.label(),
        precision: e.precision,
        implementation: implementation.to_string(),
        published_latency_ms: e.published.latency_ms.map(|p| p.value),
        published_latency_device: e.published.latency_device.clone(),
        latency,
    };
    let counts: Vec<Option<usize>> = if opts.threads.is_empty() {
        vec![None]
    } else {
        opts.threads.iter().copied().map(Some).collect()
    };
    let (implementation, model) = model_for(opts, e);
    counts
        .iter()
        .map(|&threads| {
            let o = LatencyOptions {
                threads,
                precision: format!("{:?}", e.precision).to_lowercase(),
                ..opts.latency.clone()
            };
            let m = match &model {
                Ok(model) => done(measure_model(e, model.as_ref(), &o)),
                Err(why) => why.clone(),
            };
            row(&implementation, m)
        })
        .collect()
}

fn done(r: Result<LatencyResult, LatencyError>) -> Measure<LatencyResult> {
    match r {
        Ok(value) => Measure::Measured { value },
        Err(err) => Measure::Failed {
            error: err.to_string(),
        },
    }
}
