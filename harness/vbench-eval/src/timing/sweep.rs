//! `vbench latency`: forward latency of entries, once per requested thread count: the entry's own
//! model, an int8 entry's published TorchScript file, or a given TorchScript module. Every row
//! says what happened; the sweep as a whole does not fail.

use crate::provenance;
use crate::timing::latency::{
    int8_torchscript, load_torchscript, measure_model, measure_torchscript, missing_torchscript,
    LatencyError, LatencyOptions,
};
use std::path::{Path, PathBuf};
use vbench_results::{LatencyReport, LatencyResult, LatencyRow, Measure, SCHEMA_VERSION};
use vbench_suite::{Entry, Precision};

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

/// The TorchScript file to time for `e`, if any: the given one, or an int8 entry's published file.
fn torchscript_for(opts: &SweepOptions, e: &Entry) -> Option<PathBuf> {
    opts.torchscript
        .clone()
        .or_else(|| int8_torchscript(e, opts.weights_dir.as_deref()))
}

/// `e` once per thread count.
fn entry_rows(e: &Entry, opts: &SweepOptions) -> Vec<LatencyRow> {
    let row = |implementation: &str, latency| LatencyRow {
        id: e.id.clone(),
        arch: e.arch.to_string(),
        precision: e.precision,
        implementation: implementation.to_string(),
        published_latency_ms: e.reference.latency_ms.map(|p| p.value),
        published_latency_device: e.reference.latency_device.clone(),
        latency,
    };
    let counts: Vec<Option<usize>> = if opts.threads.is_empty() {
        vec![None]
    } else {
        opts.threads.iter().copied().map(Some).collect()
    };
    let per_threads = |f: &mut dyn FnMut(&LatencyOptions) -> Measure<LatencyResult>| {
        counts
            .iter()
            .map(|&threads| {
                f(&LatencyOptions {
                    threads,
                    precision: format!("{:?}", e.precision).to_lowercase(),
                    ..opts.latency.clone()
                })
            })
            .collect::<Vec<_>>()
    };
    let done = |r: Result<LatencyResult, LatencyError>| match r {
        Ok(value) => Measure::Measured { value },
        Err(err) => Measure::Failed {
            error: err.to_string(),
        },
    };
    let device = opts.latency.device;
    if let Some(path) = torchscript_for(opts, e) {
        let imp = format!("torchscript:{}", path.display());
        let measures = torchscript_rows(e, &path, device, per_threads, done);
        return measures.into_iter().map(|m| row(&imp, m)).collect();
    }
    let measures = match crate::model::build_model(e, device) {
        Ok((_vs, model)) => per_threads(&mut |o| done(measure_model(e, model.as_ref(), o))),
        Err(reason) => per_threads(&mut |_| Measure::NotImplemented {
            reason: reason.clone(),
        }),
    };
    measures.into_iter().map(|m| row("vbench", m)).collect()
}

/// A TorchScript file's measurements, or why there are none (missing file, failed load).
fn torchscript_rows(
    e: &Entry,
    path: &Path,
    device: tch::Device,
    per_threads: impl Fn(
        &mut dyn FnMut(&LatencyOptions) -> Measure<LatencyResult>,
    ) -> Vec<Measure<LatencyResult>>,
    done: impl Fn(Result<LatencyResult, LatencyError>) -> Measure<LatencyResult>,
) -> Vec<Measure<LatencyResult>> {
    if !path.is_file() {
        let reason = missing_torchscript(e, path);
        return per_threads(&mut |_| Measure::Skipped {
            reason: reason.clone(),
        });
    }
    match load_torchscript(path, device, e.precision == Precision::Int8) {
        Ok(module) => per_threads(&mut |o| done(measure_torchscript(e, &module, o))),
        Err(err) => per_threads(&mut |_| Measure::Failed {
            error: err.to_string(),
        }),
    }
}
