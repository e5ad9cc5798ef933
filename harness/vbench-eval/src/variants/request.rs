//! `vbench latency --variant` as a request: each entry's weights resolved (the `--weights` file, or
//! the weights cache where it holds the checkpoint; otherwise the builders' init), then its
//! variants measured beside fp32 with the speed, throughput and fidelity the request asks for.

use std::path::PathBuf;
use std::time::Duration;

use vbench_results::VariantRow;
use vbench_suite::{Entry, Variant};

use super::int8::{check_int8_model, Int8FlagError};
use super::speed::PairOptions;
use super::throughput::ThroughputOptions;
use super::{variant_rows, FidelityPlan, Int8Source, SpeedPlan, VariantOptions};
use crate::accuracy::evaluate::{resolve_weights, EvalError, WeightsSource};
use crate::accuracy::pipeline::EvalOptions;
use crate::timing::latency::LatencyOptions;

/// What `vbench latency --variant` asks for.
#[derive(Debug, Clone)]
pub struct VariantRequest {
    pub variants: Vec<Variant>,
    pub latency: LatencyOptions,
    /// Thread counts to time at; empty: the count in effect.
    pub threads: Vec<usize>,
    /// Interleaved pairs per variant and thread count.
    pub pairs: u32,
    /// One checkpoint for the (single) entry; else the weights cache.
    pub weights: Option<PathBuf>,
    pub weights_dir: PathBuf,
    /// The `int8` variant's quantized TorchScript file (single entry); else the published one.
    pub int8_model: Option<PathBuf>,
    /// Clips/s against batch size up to this batch.
    pub throughput: Option<i64>,
    /// Fidelity on every view of the videos in this folder, views written under `out_dir`.
    pub fidelity_videos: Option<PathBuf>,
    pub out_dir: PathBuf,
}

/// A request that cannot be measured: bad input, exit 2.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("--weights needs exactly one --entry (other entries have other checkpoints)")]
    WeightsNeedOneEntry,
    #[error("--int8-model needs exactly one --entry (other entries have other networks)")]
    Int8ModelNeedsOneEntry,
    #[error("--weights {}: no such file", .0.display())]
    NoWeights(PathBuf),
    #[error(transparent)]
    Int8(#[from] Int8FlagError),
}

impl VariantRequest {
    /// The files given for one entry: only with one entry, and present; `--int8-model` only
    /// with the int8 variant.
    pub fn check(&self, entries: &[Entry]) -> Result<(), RequestError> {
        check_int8_model(self.int8_model.as_deref(), &self.variants)?;
        if entries.len() != 1 {
            if self.weights.is_some() {
                return Err(RequestError::WeightsNeedOneEntry);
            }
            if self.int8_model.is_some() {
                return Err(RequestError::Int8ModelNeedsOneEntry);
            }
        }
        match &self.weights {
            Some(w) if !w.is_file() => Err(RequestError::NoWeights(w.clone())),
            _ => Ok(()),
        }
    }
}

/// Every entry's variants, in entry order.
pub fn measure_variant_request(
    entries: &[Entry],
    req: &VariantRequest,
    note: &mut dyn FnMut(String),
) -> Result<Vec<VariantRow>, EvalError> {
    let device = req.latency.device;
    let mut rows = Vec::new();
    for e in entries {
        let weights = match &req.weights {
            Some(w) => {
                resolve_weights(e, &WeightsSource::File(w.clone()), None)?;
                Some(w.clone())
            }
            None => resolve_weights(e, &WeightsSource::Cache(req.weights_dir.clone()), None)
                .ok()
                .flatten()
                .map(|w| w.path),
        };
        let opts = VariantOptions {
            variants: req.variants.clone(),
            device,
            speed: Some(SpeedPlan {
                threads: if req.threads.is_empty() {
                    vec![None]
                } else {
                    req.threads.iter().map(|&n| Some(n)).collect()
                },
                pairs: PairOptions {
                    device,
                    threads: None,
                    batch: req.latency.batch,
                    warmup: req.latency.warmup,
                    pairs: req.pairs,
                    max_time: req.latency.max_time.max(Duration::from_secs(600)),
                    max_foreign_load: req.latency.max_foreign_load,
                },
            }),
            throughput: req.throughput.map(|max_batch| ThroughputOptions {
                device,
                threads: req.threads.first().copied(),
                max_batch,
                ..ThroughputOptions::default()
            }),
            fidelity: req.fidelity_videos.as_ref().map(|dir| FidelityPlan {
                videos_dir: dir.clone(),
                out_dir: req.out_dir.clone(),
                eval: EvalOptions {
                    device,
                    ..EvalOptions::default()
                },
                fresh: false,
            }),
            weights,
            int8: Int8Source {
                file: req.int8_model.clone(),
                weights_dir: Some(req.weights_dir.clone()),
            },
        };
        rows.extend(variant_rows(std::slice::from_ref(e), &opts, note));
    }
    Ok(rows)
}
