//! `vbench infer`: one video through an entry's whole test protocol (every view, the suite's
//! aggregation) with given weights, through the same [`run_videos`] loop as the dataset
//! evaluation; the highest classes and every score.

use crate::accuracy::evaluate::{
    checkpoint_name, resolve_weights, weights_to_load, EvalError, WeightsSource,
};
use crate::accuracy::pipeline::{run_videos, EvalOptions, VideoJob, VideoOutcome};
use crate::model::{load_model, LoadError};
use crate::timing::{set_threads, BadThreads};
use std::path::PathBuf;
use tch::Device;
use vbench_data::datasets::{format_of, read_class_names, Labels, Sample, Source};
use vbench_data::DataError;
use vbench_models::variant::{self, VariantError};
use vbench_results::{Inference, InferenceView, InferenceWeights, RankedClass};
use vbench_suite::{Dataset, Entry, Variant};

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error(
        "{id} scores person boxes of AVA keyframes, not whole videos: run `vbench run --suite ava \
         --entry {name} --data-root D` on an AVA tree (docs/datasets.md)"
    )]
    Detector { id: String, name: String },
    #[error("{0}: no such video file")]
    NoVideo(PathBuf),
    #[error(transparent)]
    Threads(#[from] BadThreads),
    #[error(
        "checkpoint {file} is not in the weights folder: copy the official file there (it is \
         imported on first use), run `vbench fetch --entry {id}`, or pass --weights"
    )]
    NotCached { file: String, id: String },
    #[error("{names} class names for a {classes}-class model")]
    ClassCount { names: usize, classes: u32 },
    #[error("{id}: {message}")]
    Video { id: String, message: String },
    #[error("{0}: no result")]
    NoResult(PathBuf),
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Variant(#[from] VariantError),
}

/// What `vbench infer` is told.
#[derive(Debug, Clone)]
pub struct InferOptions {
    pub entry: Entry,
    /// The dataset of the entry's suite, if known: Kinetics-400 gets its class names by default,
    /// and the views are extracted as the dataset's (Kinetics' when unknown).
    pub dataset: Option<Dataset>,
    pub video: PathBuf,
    /// `(temporal clips, spatial crops)` instead of the protocol's.
    pub views: Option<(u32, u32)>,
    pub weights: WeightsSource,
    /// Class names, one per line in label order.
    pub class_names: Option<PathBuf>,
    /// How many classes to rank.
    pub top: usize,
    pub device: Device,
    /// Views per forward.
    pub batch: usize,
    /// libtorch intra-op threads on this thread; `None`: libtorch's choice.
    pub threads: Option<usize>,
    /// The model run as this speed variant (fp32: the model itself).
    pub variant: Variant,
    /// The `int8` variant's quantized model.
    pub int8: crate::variants::int8::Int8Source,
}

/// Runs the video through the entry's protocol with its checkpoint.
pub fn infer(opts: &InferOptions) -> Result<Inference, InferError> {
    let mut entry = opts.entry.clone();
    if entry.model.is_detector() {
        return Err(InferError::Detector {
            id: entry.id.clone(),
            name: entry.name.clone(),
        });
    }
    if let Some((t, c)) = opts.views {
        entry.protocol.temporal_clips = t;
        entry.protocol.spatial_crops = c;
    }
    if !opts.video.is_file() {
        return Err(InferError::NoVideo(opts.video.clone()));
    }
    set_threads(opts.threads)?;
    let resolved =
        resolve_weights(&entry, &opts.weights, None)?.ok_or_else(|| InferError::NotCached {
            file: checkpoint_name(&entry),
            id: entry.id.clone(),
        })?;
    let (weights, sha256, note) = (resolved.path, resolved.sha256, resolved.note);
    variant::check_device(opts.variant, opts.device)?;
    let model = load_model(&entry, weights_to_load(&entry, &weights), opts.device)?;
    let (model, _) = crate::variants::int8::transform(&entry, opts.variant, model, &opts.int8)?;
    let names = class_names(opts, &entry)?;
    let sample = Sample {
        id: opts.video.display().to_string(),
        labels: Labels::Single(-1),
        source: Source::Video(opts.video.clone()),
    };
    let eval = EvalOptions {
        device: opts.device,
        batch: opts.batch,
        ..EvalOptions::default()
    };
    let mut outcome = None;
    let stats = run_videos::<InferError>(
        model.as_ref(),
        opts.dataset.unwrap_or(Dataset::Kinetics400),
        &entry.protocol,
        vec![VideoJob { index: 0, sample }],
        &eval,
        &mut |o| {
            outcome = Some(o);
            Ok(())
        },
    )?;
    let prediction = match outcome {
        Some(VideoOutcome::Scored(p)) => p,
        Some(VideoOutcome::Failed(f)) => {
            return Err(InferError::Video {
                id: f.id,
                message: f.message,
            })
        }
        None => return Err(InferError::NoResult(opts.video.clone())),
    };
    let name = |c: usize| names.as_ref().and_then(|n| n.get(c)).cloned();
    Ok(Inference {
        aggregation: entry.protocol.aggregation,
        entry: entry.id.clone(),
        top: ranked(&prediction.scores, opts.top)
            .into_iter()
            .map(|(class, score)| RankedClass {
                class,
                name: name(class),
                score,
            })
            .collect(),
        protocol: entry.protocol,
        seconds: stats.wall_s,
        video: opts.video.clone(),
        views: prediction
            .views
            .iter()
            .map(|v| InferenceView {
                clip: v.view.clip_index,
                crop: v.view.spatial_index,
                end_sec: v.view.end_sec,
                frame_indices: v.view.pathway_frame_indices.clone(),
                scores: v.scores.clone(),
                start_sec: v.view.start_sec,
            })
            .collect(),
        scores: prediction.scores,
        weights: InferenceWeights {
            file: weights,
            sha256,
            note,
        },
        variant: (opts.variant != Variant::Fp32).then_some(opts.variant),
    })
}

/// The class names to print: the given file's, or those built into the suite's dataset format
/// (Kinetics-400's); their number must be the model's.
fn class_names(opts: &InferOptions, entry: &Entry) -> Result<Option<Vec<String>>, InferError> {
    let names = match &opts.class_names {
        Some(f) => Some(read_class_names(f)?),
        None => opts
            .dataset
            .and_then(|d| format_of(d).builtin_class_names()),
    };
    if let Some(n) = &names {
        if n.len() != entry.protocol.num_classes as usize {
            return Err(InferError::ClassCount {
                names: n.len(),
                classes: entry.protocol.num_classes,
            });
        }
    }
    Ok(names)
}

/// The `k` highest aggregated scores, ties by lower class index.
fn ranked(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.into_iter().take(k).map(|c| (c, scores[c])).collect()
}
