//! Speed variants of one entry, measured beside fp32 (`--variant`, a suite's `variants`): each
//! variant is the entry's model transformed behind the model seam (`vbench_models::variant`),
//! with the same weights as fp32; its speed is timed interleaved with fp32 ([`speed`]), its
//! throughput swept over batch sizes ([`throughput`]) and its fidelity measured on real views
//! ([`fidelity`]). A variant that does not exist for an entry, or fails on it, is recorded so and
//! the others go on.

pub mod fidelity;
pub mod int8;
pub mod request;
pub mod speed;
pub mod throughput;

use std::path::{Path, PathBuf};

use tch::Device;
use vbench_models::variant::{Applied, VariantError};
use vbench_models::{ModelInput, VideoModel};
use vbench_results::predictions::fidelity::compare;
use vbench_results::{AppliedVariant, Fidelity, Measure, VariantResult, VariantSpeed};
use vbench_suite::{Entry, ModelSource, Variant};

use crate::accuracy::evaluate::weights_to_load;
use crate::accuracy::pipeline::EvalOptions;
use crate::model::{build_model, load_model};
use crate::weights::sha256_file;
use fidelity::{score_views, video_samples, FidelityRun};
pub use int8::{transform, Int8Source};
use speed::PairOptions;
use throughput::ThroughputOptions;

/// Speed against fp32: one interleaved pairing per thread count.
#[derive(Debug, Clone)]
pub struct SpeedPlan {
    /// `None`: the thread count in effect.
    pub threads: Vec<Option<usize>>,
    /// Everything but `threads`.
    pub pairs: PairOptions,
}

/// Fidelity on a folder of real videos.
#[derive(Debug, Clone)]
pub struct FidelityPlan {
    pub videos_dir: PathBuf,
    /// The results folder: views go under `fidelity/<entry>/`.
    pub out_dir: PathBuf,
    pub eval: EvalOptions,
    pub fresh: bool,
}

#[derive(Debug, Clone)]
pub struct VariantOptions {
    /// The variants besides fp32 (fp32 itself, if listed, gets a throughput row).
    pub variants: Vec<Variant>,
    pub device: Device,
    pub speed: Option<SpeedPlan>,
    pub throughput: Option<ThroughputOptions>,
    pub fidelity: Option<FidelityPlan>,
    /// The weights every model of the entry loads; `None`: the builders' init (speed only).
    pub weights: Option<PathBuf>,
    /// The `int8` variant's quantized model.
    pub int8: Int8Source,
}

fn skipped<T>(reason: impl Into<String>) -> Measure<T> {
    Measure::Skipped {
        reason: reason.into(),
    }
}

fn failed<T>(error: impl std::fmt::Display) -> Measure<T> {
    Measure::Failed {
        error: error.to_string(),
    }
}

fn not_requested<T>() -> Measure<T> {
    skipped("not requested")
}

/// `entry`'s model as fp32 or `v`, with `weights` (or the builders' init).
pub fn variant_model(
    entry: &Entry,
    weights: Option<&Path>,
    device: Device,
    v: Variant,
    int8: &Int8Source,
) -> Result<(Box<dyn VideoModel>, Applied), VariantError> {
    let model_err = |message: String| VariantError::Model {
        variant: v,
        model: entry.id.clone(),
        source: Box::new(vbench_models::ModelError::BadConfig {
            builder: "load",
            reason: message,
        }),
    };
    let model = match weights {
        Some(w) => load_model(entry, weights_to_load(entry, w), device)
            .map_err(|e| model_err(e.to_string()))?,
        None => build_model(entry, device).map_err(model_err)?,
    };
    transform(entry, v, model, int8)
}

fn applied_result(a: &Applied) -> AppliedVariant {
    AppliedVariant {
        detail: a.detail.clone(),
        fp32_ops: a.fp32_ops.clone(),
        folded_batch_norms: a.fold.as_ref().map(|f| f.folded.len()),
        unfolded_batch_norms: a
            .fold
            .as_ref()
            .map(|f| f.unfolded.clone())
            .unwrap_or_default(),
    }
}

/// Why a variant has no model for this entry: "not applicable: ...", "not available: ...".
fn unavailable(e: &VariantError) -> Option<String> {
    match e {
        VariantError::NotApplicable { reason, .. } => Some(format!("not applicable: {reason}")),
        VariantError::NotAvailable { reason, .. } => Some(format!("not available: {reason}")),
        _ => None,
    }
}

/// The fidelity run's shared part: the videos and the fp32 views, once per entry.
struct FidelityBase<'a> {
    run: FidelityRun<'a>,
    fp32_file: PathBuf,
}

/// Every requested variant of `entry`. `note` hears progress lines.
pub fn measure_variants(
    entry: &Entry,
    opts: &VariantOptions,
    note: &mut dyn FnMut(String),
) -> Vec<VariantResult> {
    let fresh = |v: Variant, applied: Measure<AppliedVariant>| VariantResult {
        variant: v,
        applied,
        speed: Vec::new(),
        throughput: not_requested(),
        fidelity: not_requested(),
        accuracy: not_requested(),
        dataset_fidelity: not_requested(),
    };
    let w = opts.weights.as_deref();
    let (fp32, _) = match variant_model(entry, w, opts.device, Variant::Fp32, &opts.int8) {
        Ok(m) => m,
        Err(e) => {
            return opts
                .variants
                .iter()
                .map(|&v| fresh(v, failed(format!("fp32 model: {e}"))))
                .collect()
        }
    };
    let mut out = Vec::new();
    if opts.variants.contains(&Variant::Fp32) {
        let mut r = fresh(
            Variant::Fp32,
            Measure::Measured {
                value: AppliedVariant {
                    detail: "the reference".into(),
                    ..AppliedVariant::default()
                },
            },
        );
        if let Some(t) = &opts.throughput {
            note(format!("{}: fp32 throughput", entry.id));
            r.throughput = measure_throughput(fp32.as_ref(), entry, t);
        }
        r.fidelity = skipped("the reference");
        out.push(r);
    }
    let samples = opts.fidelity.as_ref().map(|f| video_samples(&f.videos_dir));
    // What the views were scored with: the checkpoint, or the TorchScript file holding its own.
    let identity = match &entry.model {
        ModelSource::TorchScript { path, .. } => Some(path),
        ModelSource::Zoo(_) => opts.weights.as_ref(),
    };
    let weights = identity.map(|w| {
        let name = w
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (name, sha256_file(w).map_err(|e| e.to_string()))
    });
    let mut base: Option<Result<FidelityBase, String>> = None;
    for &v in opts.variants.iter().filter(|v| **v != Variant::Fp32) {
        note(format!("{}: variant {v}", entry.id));
        let (model, applied) = match variant_model(entry, w, opts.device, v, &opts.int8) {
            Ok(m) => m,
            Err(e) => {
                let m = match unavailable(&e) {
                    Some(reason) => skipped(reason),
                    None => failed(e),
                };
                out.push(fresh(v, m));
                continue;
            }
        };
        let mut r = fresh(
            v,
            Measure::Measured {
                value: applied_result(&applied),
            },
        );
        if let Some(plan) = &opts.speed {
            r.speed = measure_speed(entry, fp32.as_ref(), model.as_ref(), v, plan);
        }
        if let Some(t) = &opts.throughput {
            r.throughput = measure_throughput(model.as_ref(), entry, t);
        }
        if let Some(plan) = &opts.fidelity {
            if base.is_none() {
                base = Some(fidelity_base(
                    entry,
                    plan,
                    &samples,
                    &weights,
                    &opts.int8,
                    fp32.as_ref(),
                ));
            }
            r.fidelity = match base.as_ref() {
                Some(Ok(b)) => fidelity_of(b, model.as_ref(), v),
                Some(Err(reason)) => skipped(reason.clone()),
                None => not_requested(),
            };
        }
        out.push(r);
    }
    out
}

fn measure_speed(
    entry: &Entry,
    fp32: &dyn VideoModel,
    model: &dyn VideoModel,
    v: Variant,
    plan: &SpeedPlan,
) -> Vec<Measure<VariantSpeed>> {
    let counts = if plan.threads.is_empty() {
        vec![None]
    } else {
        plan.threads.clone()
    };
    counts
        .into_iter()
        .map(|threads| {
            let opts = PairOptions {
                threads,
                ..plan.pairs.clone()
            };
            let input = ModelInput::dummy(&entry.protocol, opts.batch, opts.device);
            match speed::interleaved(fp32, model, v, &input, &opts) {
                Ok(value) => Measure::Measured { value },
                Err(e) => failed(e),
            }
        })
        .collect()
}

fn measure_throughput(
    model: &dyn VideoModel,
    entry: &Entry,
    opts: &ThroughputOptions,
) -> Measure<vbench_results::Throughput> {
    match throughput::sweep(model, &entry.protocol, opts) {
        Ok(value) => Measure::Measured { value },
        Err(e) => failed(e),
    }
}

/// The videos, the weights and fp32's views, or why fidelity cannot be measured for the entry.
fn fidelity_base<'a>(
    entry: &'a Entry,
    plan: &'a FidelityPlan,
    samples: &'a Option<Result<Vec<vbench_data::datasets::Sample>, fidelity::FidelityError>>,
    weights: &Option<(String, Result<String, String>)>,
    int8: &Int8Source,
    fp32: &dyn VideoModel,
) -> Result<FidelityBase<'a>, String> {
    if entry.model.is_detector() {
        return Err(format!(
            "{} scores person boxes of AVA keyframes, not whole videos: measure its fidelity \
             with --data-root on an AVA tree",
            entry.id
        ));
    }
    let samples = match samples {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err("no --fidelity-videos".into()),
    };
    let weights =
        match weights {
            Some((name, Ok(sha))) => (name.clone(), sha.clone()),
            Some((name, Err(e))) => return Err(format!("weights {name}: {e}")),
            None => return Err(
                "fidelity needs real or saved weights (--weights FILE, or the cached checkpoint): \
                 the builders' zero init makes every view a tie"
                    .into(),
            ),
        };
    let run = FidelityRun {
        entry,
        videos_dir: &plan.videos_dir,
        samples,
        weights,
        out_dir: &plan.out_dir,
        eval: plan.eval.clone(),
        fresh: plan.fresh,
        int8: int8.clone(),
    };
    let fp32_file = score_views(&run, fp32, Variant::Fp32).map_err(|e| e.to_string())?;
    Ok(FidelityBase { run, fp32_file })
}

fn fidelity_of(base: &FidelityBase, model: &dyn VideoModel, v: Variant) -> Measure<Fidelity> {
    let file = match score_views(&base.run, model, v) {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let dir = base.run.out_dir;
    match compare(&dir.join(&base.fp32_file), &dir.join(&file)) {
        // A variant that failed on every video has nothing to agree with: a failure, not 0 %.
        Ok(value) if value.views == 0 => failed(format!(
            "no view of the variant was scored: see the `error` of each video in {}",
            dir.join(&file).display()
        )),
        Ok(mut value) => {
            value.fp32_predictions = base.fp32_file.display().to_string();
            value.variant_predictions = file.display().to_string();
            Measure::Measured { value }
        }
        Err(e) => failed(e),
    }
}

/// `vbench latency --variant`: every entry's variants.
pub fn variant_rows(
    entries: &[Entry],
    opts: &VariantOptions,
    note: &mut dyn FnMut(String),
) -> Vec<vbench_results::VariantRow> {
    entries
        .iter()
        .map(|e| vbench_results::VariantRow {
            id: e.id.clone(),
            arch: e.model.label(),
            variants: measure_variants(e, opts, note),
        })
        .collect()
}
