//! Measures one suite entry: params, FLOPs, latency and accuracy, each as a [`Measure`] so that what
//! is not built or not requested says so instead of showing a number.

use crate::flops;
use crate::latency::{self, LatencyOptions};
use tch::{nn::VarStore, Device, Kind, Tensor};
use vbench_models::{ModelInput, VideoModel};
use vbench_results::{EntryResult, Measure, ParamsResult, Published};
use vbench_suite::{Entry, Protocol};

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub device: Device,
    /// `None`: no latency measurement.
    pub latency: Option<LatencyOptions>,
    pub data_root: Option<std::path::PathBuf>,
    pub weights_dir: Option<std::path::PathBuf>,
}

/// One view's model input (random pixels; latency and shapes do not depend on values).
pub fn dummy_input(p: &Protocol, batch: i64, device: Device) -> ModelInput {
    let (t, s) = (p.frames as i64, p.crop as i64);
    let opts = (Kind::Float, device);
    match p.alpha {
        Some(a) => ModelInput::SlowFast {
            slow: Tensor::randn([batch, 3, t, s, s], opts),
            fast: Tensor::randn([batch, 3, t * a as i64, s, s], opts),
        },
        None => ModelInput::Single(Tensor::randn([batch, 3, t, s, s], opts)),
    }
}

fn published(e: &Entry) -> Published {
    let r = &e.reference;
    Published {
        top1: r.top1,
        top5: r.top5,
        map: r.map,
        gflops: r.gflops,
        params_m: r.params_m,
        views: r.spatial_views.zip(r.temporal_views),
        latency_ms: r.latency_ms,
        latency_device: r.latency_device.clone(),
    }
}

/// A freshly built model with PyTorchVideo-style random init, on `device`.
pub fn build_model(e: &Entry, device: Device) -> Result<(VarStore, Box<dyn VideoModel>), String> {
    let vs = VarStore::new(device);
    let model = vbench_models::build(
        e.arch,
        e.protocol.num_classes as i64,
        e.protocol.head_activation,
        &vs.root(),
    )
    .map_err(|err| err.to_string())?;
    Ok((vs, model))
}

pub fn params_result(e: &Entry, vs: &VarStore) -> ParamsResult {
    let count = vbench_models::param_count(vs);
    let millions = count as f64 / 1e6;
    ParamsResult {
        count,
        millions,
        matches_published: e.reference.params_m.map(|p| p.matches(millions)),
        note: None,
    }
}

/// Everything measurable without a dataset; accuracy is filled by the evaluation loop when data is given.
pub fn measure_entry(e: &Entry, opts: &RunOptions) -> EntryResult {
    let mut result = EntryResult {
        id: e.id.clone(),
        name: e.name.clone(),
        arch: e.arch.to_string(),
        protocol: e.protocol.clone(),
        checkpoint_url: e.checkpoint.url.clone(),
        published: published(e),
        notes: e.notes.clone(),
        params: Measure::NotImplemented { reason: String::new() },
        flops: Measure::NotImplemented { reason: String::new() },
        accuracy: Measure::Skipped {
            reason: "accuracy needs the dataset and the official weights: \
                     `vbench fetch --suite <suite>` then `vbench run --suite <suite> --data-root <dir>`"
                .into(),
        },
        latency: Vec::new(),
    };
    if opts.data_root.is_some() {
        result.accuracy = Measure::Skipped {
            reason: "the dataset evaluation is `runner::measure_entry_with_accuracy`".into(),
        };
    }
    let (vs, model) = match build_model(e, opts.device) {
        Ok(m) => m,
        Err(reason) => {
            result.params = Measure::NotImplemented {
                reason: reason.clone(),
            };
            result.flops = Measure::NotImplemented {
                reason: reason.clone(),
            };
            if opts.latency.is_some() {
                result.latency.push(Measure::NotImplemented { reason });
            }
            return result;
        }
    };
    // FLOPs from a batch-0 shape pass; results.json keeps the per-block breakdown only.
    match flops::measure(e, model.as_ref(), &vs, flops::Detail::TopLevel, None) {
        Ok(stats) => {
            result.params = Measure::Measured {
                value: stats.params,
            };
            result.flops = Measure::Measured { value: stats.flops };
        }
        Err(err) => {
            result.params = Measure::Measured {
                value: params_result(e, &vs),
            };
            result.flops = Measure::Failed {
                error: err.to_string(),
            };
        }
    }
    if let Some(lat) = &opts.latency {
        let m = latency::measure_entry(e, model.as_ref(), lat, opts.weights_dir.as_deref());
        result.latency.push(m);
    }
    result
}

/// [`measure_entry`], then the dataset evaluation (issue 7) when `accuracy` is given: latency is
/// measured first, on a machine not yet busy decoding.
pub fn measure_entry_with_accuracy(
    e: &Entry,
    opts: &RunOptions,
    accuracy: Option<&crate::evaluate::AccuracyOptions>,
    progress: &mut dyn FnMut(crate::evaluate::Progress),
) -> EntryResult {
    let mut result = measure_entry(e, opts);
    if let Some(acc) = accuracy {
        result.accuracy = crate::evaluate::measure_accuracy(e, acc, progress);
    }
    result
}
