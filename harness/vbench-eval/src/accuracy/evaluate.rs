//! The dataset evaluation of one suite entry: the dataset list under `--data-root`, the entry's
//! checkpoint, every video and view through [`crate::accuracy::pipeline`], per-video predictions appended
//! to a resumable file ([`vbench_results::predictions`]), and the metrics recomputed from that file, so a
//! resumed run and an uninterrupted one report the same numbers.

use crate::accuracy::pipeline::{
    run_videos, EvalOptions, FailureKind, VideoFailure, VideoJob, VideoOutcome,
};
use crate::model::{load_model, LoadError};
use crate::run::shard::Shard;
use crate::weights::{sha256_file, WeightsCache, WeightsError};
use std::path::{Path, PathBuf};
use vbench_data::check::label_problem;
use vbench_data::datasets::{
    load_manifest, manifest_hash, Labels, Manifest, ManifestOptions, Sample, Source,
};
use vbench_data::DataError;
use vbench_models::checkpoint::CheckpointError;
use vbench_models::variant::VariantError;
use vbench_models::VideoModel;
use vbench_results::predictions::{
    BoxRecord, DatasetInfo, Done, GtBoxRecord, Header, PredictionsError, PredictionsWriter, Record,
    RecordStatus, ViewRecord, WeightsInfo,
};
use vbench_results::{AccuracyResult, Measure};
use vbench_suite::{Checkpoint, Dataset, Entry, Fold, ModelSource, Task, Variant};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{entry}: {} holds its own weights; --weights {} is not used with it", .model.display(), .weights.display())]
    WeightsForTorchScript {
        entry: String,
        model: PathBuf,
        weights: PathBuf,
    },
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Predictions(#[from] PredictionsError),
    #[error(transparent)]
    Variant(#[from] VariantError),
}

type Result<T, E = EvalError> = std::result::Result<T, E>;

/// Where the entry's weights come from.
#[derive(Debug, Clone)]
pub enum WeightsSource {
    /// The official checkpoint from this cache (verified against its sha256 manifest).
    Cache(PathBuf),
    /// A given file (single-entry runs).
    File(PathBuf),
}

/// A resolved weights file.
#[derive(Debug, Clone)]
pub struct ResolvedWeights {
    pub path: PathBuf,
    pub sha256: String,
    /// Said when a file copied into the cache by hand was imported by this call.
    pub note: Option<String>,
}

/// Resolves the file that decides the entry's numbers and its sha256: a TorchScript entry's file,
/// the `--weights` file, the entry's own checkpoint path, or its official checkpoint from the cache.
/// `Ok(None)`: an official checkpoint not in the cache (a skip, not a failure). A cache file
/// without a record is imported ([`WeightsCache::verify_or_import`]); `fallback` is the manifest
/// that records it when the cache folder is not writable.
pub fn resolve_weights(
    entry: &Entry,
    source: &WeightsSource,
    fallback: Option<&Path>,
) -> Result<Option<ResolvedWeights>> {
    let file = |p: &PathBuf| -> Result<Option<ResolvedWeights>> {
        if !p.exists() {
            return Err(EvalError::Load(LoadError::Checkpoint {
                entry: entry.id.clone(),
                source: Box::new(CheckpointError::NotFound { file: p.clone() }),
            }));
        }
        Ok(Some(ResolvedWeights {
            path: p.clone(),
            sha256: sha256_file(p)?,
            note: None,
        }))
    };
    match (&entry.model, &entry.checkpoint, source) {
        (ModelSource::TorchScript { path, .. }, _, WeightsSource::File(w)) => {
            Err(EvalError::WeightsForTorchScript {
                entry: entry.id.clone(),
                model: path.clone(),
                weights: w.clone(),
            })
        }
        (ModelSource::TorchScript { path, .. }, _, _) => file(path),
        (_, _, WeightsSource::File(p)) => file(p),
        (_, Some(Checkpoint::Path(p)), WeightsSource::Cache(_)) => file(p),
        (_, Some(Checkpoint::Official { file, url }), WeightsSource::Cache(dir)) => {
            Ok(WeightsCache::new(dir)
                .verify_or_import(file, url, fallback)?
                .map(|v| ResolvedWeights {
                    note: v.import_note(),
                    path: v.path,
                    sha256: v.entry.sha256,
                }))
        }
        (_, None, WeightsSource::Cache(_)) => Ok(None),
    }
}

/// Where a run records checkpoints it imported when the weights folder is not writable.
pub const RUN_WEIGHTS_MANIFEST: &str = "weights-manifest.json";

/// The weights to load for `entry` from the resolved file: none for a TorchScript file (it holds
/// them).
pub fn weights_to_load<'a>(entry: &Entry, file: &'a Path) -> Option<&'a Path> {
    match entry.model {
        ModelSource::TorchScript { .. } => None,
        ModelSource::Zoo(_) => Some(file),
    }
}

/// The entry's checkpoint file name, for messages.
pub fn checkpoint_name(entry: &Entry) -> String {
    entry
        .checkpoint
        .as_ref()
        .map_or_else(|| entry.model.label(), |c| c.file_name())
}

/// What the dataset evaluation of one entry needs besides the entry.
#[derive(Debug, Clone)]
pub struct AccuracyOptions {
    pub dataset: Dataset,
    /// The suite's fold, for datasets with official folds (UCF101, HMDB51).
    pub split: Option<Fold>,
    pub suite: String,
    pub data_root: PathBuf,
    pub weights: WeightsSource,
    /// results.json's folder; predictions go to `predictions/<entry name>.jsonl` under it.
    pub out_dir: PathBuf,
    /// Start the predictions over instead of resuming.
    pub fresh: bool,
    pub eval: EvalOptions,
    /// Only this shard's videos (`vbench run --shard i/N`; the rule is in `shard.rs`).
    pub shard: Shard,
    /// The model run as this speed variant; its predictions go to `<entry>@<variant>.jsonl`.
    pub variant: Variant,
    /// Store each view's logits too (runs with variants: fidelity compares them).
    pub logits: bool,
    /// The `int8` variant's quantized model.
    pub int8: crate::variants::int8::Int8Source,
}

/// Progress of [`measure_accuracy`], for a progress bar.
#[derive(Debug)]
pub enum Progress<'a> {
    /// `done` of `total` videos already have a record (resume).
    Start {
        total: usize,
        done: usize,
    },
    Video {
        failure: Option<&'a VideoFailure>,
    },
    /// A line worth showing the user (skipped videos, resume, refusal).
    Note(String),
}

/// The predictions file of an entry, relative to the results folder.
pub fn predictions_rel_path(entry: &Entry) -> PathBuf {
    PathBuf::from("predictions").join(format!("{}.jsonl", entry.name))
}

/// The predictions file of an entry run as `variant`: fp32's own file, or `<entry>@<variant>`.
pub fn variant_predictions_rel_path(entry: &Entry, variant: Variant) -> PathBuf {
    match variant {
        Variant::Fp32 => predictions_rel_path(entry),
        v => PathBuf::from("predictions").join(format!("{}@{v}.jsonl", entry.name)),
    }
}

fn failed(error: impl std::fmt::Display) -> Measure<AccuracyResult> {
    Measure::Failed {
        error: error.to_string(),
    }
}

/// The run's predictions file could not be written (a full disk): the run stops, results.json
/// keeps its last good state, and the file is named.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct WriteFailed(pub PredictionsError);

/// Evaluates `entry` on its dataset: skips, failures and not-built pieces come back as the
/// matching [`Measure`], each with a message that says what to do; only a predictions file that
/// cannot be written stops the run ([`WriteFailed`]). `loaded`: the entry's model already loaded
/// with the weights it is evaluated with (a TorchScript file), else loaded here.
pub fn measure_accuracy(
    entry: &Entry,
    opts: &AccuracyOptions,
    loaded: Option<&dyn VideoModel>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Measure<AccuracyResult>, WriteFailed> {
    let fallback = opts.out_dir.join(RUN_WEIGHTS_MANIFEST);
    let weights = match resolve_weights(entry, &opts.weights, Some(&fallback)) {
        Ok(Some(w)) => {
            if let Some(n) = &w.note {
                progress(Progress::Note(n.clone()));
            }
            (w.path, w.sha256)
        }
        Ok(None) => {
            let dir = match &opts.weights {
                WeightsSource::Cache(d) => d.display().to_string(),
                WeightsSource::File(f) => f.display().to_string(),
            };
            // A data root asks for accuracy: without weights that request fails.
            return Ok(failed(format!(
                "checkpoint {} is not in the weights folder {dir}: copy the official file \
                 there (it is imported on first use), run `vbench fetch --suite {} --entry {}`, \
                 or pass --weights FILE for a single entry",
                checkpoint_name(entry),
                opts.suite,
                entry.name
            )));
        }
        Err(e) => return Ok(failed(e)),
    };
    let list = ManifestOptions::for_entry(&entry.protocol, opts.split);
    let dataset = match load_manifest(opts.dataset, &opts.data_root, &list) {
        Ok(d) => d,
        Err(e) => return Ok(failed(e)),
    };
    match evaluate_dataset(entry, opts, &dataset, &weights, loaded, progress) {
        Ok(m) => Ok(m),
        Err(EvalError::Predictions(e @ PredictionsError::Write { .. })) => Err(WriteFailed(e)),
        Err(e) => Ok(failed(e)),
    }
}

fn evaluate_dataset(
    entry: &Entry,
    opts: &AccuracyOptions,
    dataset: &Manifest,
    (weights, sha256): &(PathBuf, String),
    loaded: Option<&dyn VideoModel>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Measure<AccuracyResult>> {
    let own;
    let model: &dyn VideoModel = match loaded {
        // A variant transforms its own copy of the model.
        Some(m) if opts.variant == Variant::Fp32 => m,
        _ => {
            let m = load_model(entry, weights_to_load(entry, weights), opts.eval.device)?;
            own = crate::variants::int8::transform(entry, opts.variant, m, &opts.int8)?.0;
            own.as_ref()
        }
    };
    // X3D XS/S/M share every shape: a strict load cannot tell their checkpoints apart.
    if let (WeightsSource::File(f), Some(Checkpoint::Official { file, .. })) =
        (&opts.weights, &entry.checkpoint)
    {
        if f.file_name().is_some_and(|n| *n != **file) {
            progress(Progress::Note(format!(
                "--weights {} is not named like the entry's checkpoint {file}",
                f.display(),
            )));
        }
    }
    let header = predictions_header(entry, opts, dataset, weights, sha256);
    let rel = variant_predictions_rel_path(entry, opts.variant);
    let path = opts.out_dir.join(&rel);
    let (mut writer, done) = PredictionsWriter::open(&path, &header, opts.fresh)?;

    // Videos that cannot be evaluated are known before decoding starts.
    let (jobs, early) = triage(entry, opts, dataset, &done);
    let resumed = done.scored();
    if resumed > 0 {
        progress(Progress::Note(format!(
            "resuming {}: {resumed} of {} videos already scored",
            path.display(),
            dataset.samples.len()
        )));
    }
    if !early.is_empty() {
        progress(Progress::Note(summarise(&early, dataset.samples.len())));
    }
    let write_failure = |w: &mut PredictionsWriter, f: &VideoFailure| -> Result<()> {
        if done.has_failure(f.index, &f.id, &f.message) {
            return Ok(());
        }
        let mut r = record_for_sample(f.index, &dataset.samples[f.index], RecordStatus::Failed);
        r.kind = Some(f.kind.as_str().into());
        r.error = Some(f.message.clone());
        Ok(w.append(&r)?)
    };
    for f in &early {
        write_failure(&mut writer, f)?;
    }
    let total = opts.shard.len_of(dataset.samples.len());
    progress(Progress::Start {
        total,
        done: total - jobs.len(),
    });
    let stats = run_videos::<EvalError>(
        model,
        opts.dataset,
        &entry.protocol,
        jobs,
        &opts.eval,
        &mut |outcome| {
            match &outcome {
                VideoOutcome::Scored(p) => {
                    let mut r =
                        record_for_sample(p.index, &dataset.samples[p.index], RecordStatus::Ok);
                    r.views = p
                        .views
                        .iter()
                        .map(|v| ViewRecord {
                            clip: v.view.clip_index,
                            crop: v.view.spatial_index,
                            scores: v.scores.clone(),
                            logits: opts.logits.then(|| v.logits.clone()),
                        })
                        .collect();
                    if let Some(scores) = &p.box_scores {
                        r.boxes = Some(box_records(&dataset.samples[p.index], scores));
                    } else {
                        r.scores = Some(p.scores.clone());
                    }
                    writer.append(&r)?;
                    progress(Progress::Video { failure: None });
                }
                VideoOutcome::Failed(f) => {
                    write_failure(&mut writer, f)?;
                    progress(Progress::Video { failure: Some(f) });
                }
            }
            Ok(())
        },
    )?;
    drop(writer);
    // The metrics always come from the file, so a resumed run and an uninterrupted one agree.
    let scored = vbench_results::predictions::score_file(&path, None)?;
    let mut accuracy = scored.accuracy;
    accuracy.predictions = Some(rel.display().to_string());
    if let Some(d) = &mut accuracy.details {
        d.timing = Some(stats.timing(&opts.eval));
    }
    // A shard leaves the other shards' videos without records.
    if scored.not_reached > 0 && opts.shard.is_whole() {
        progress(Progress::Note(format!(
            "{} videos have no record in {}",
            scored.not_reached,
            path.display()
        )));
    }
    Ok(judge(accuracy))
}

/// A scored predictions file is a result unless it has failures and not one scored video: one
/// video that fails among many is counted by kind in the result; all of them fail the entry.
pub fn judge(accuracy: AccuracyResult) -> Measure<AccuracyResult> {
    if accuracy.videos > 0 || accuracy.failed_videos == 0 {
        return Measure::Measured { value: accuracy };
    }
    let kinds: Vec<String> = accuracy
        .details
        .iter()
        .flat_map(|d| &d.failures)
        .map(|g| match g.examples.first() {
            Some(x) => format!("{} {} (e.g. {x})", g.count, g.kind),
            None => format!("{} {}", g.count, g.kind),
        })
        .collect();
    failed(format!(
        "no video could be scored: all {} failed: {}",
        accuracy.failed_videos,
        kinds.join(", ")
    ))
}

/// Line 1 of the entry's predictions file: what decides its numbers, and what ran it.
fn predictions_header(
    entry: &Entry,
    opts: &AccuracyOptions,
    dataset: &Manifest,
    weights: &Path,
    sha256: &str,
) -> Header {
    Header {
        vbench_predictions: vbench_results::predictions::FORMAT_VERSION,
        transform: vbench_data::transforms::TRANSFORM_VERSION,
        entry: entry.id.clone(),
        arch: entry.model.label(),
        task: match opts.dataset.task() {
            Task::MultiLabel => "multi_label".into(),
            Task::Detection => vbench_results::predictions::TASK_DETECTION.into(),
            _ => "classification".into(),
        },
        num_classes: entry.protocol.num_classes as usize,
        protocol: entry.protocol.clone(),
        weights: WeightsInfo {
            file: weights
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256: sha256.to_string(),
        },
        dataset: DatasetInfo {
            name: dataset.name.clone(),
            manifest: dataset.manifest.clone(),
            videos: dataset.samples.len(),
            sha256: manifest_hash(&dataset.samples),
        },
        batch: opts.eval.batch,
        device: format!("{:?}", opts.eval.device).to_lowercase(),
        vbench_version: env!("CARGO_PKG_VERSION").into(),
        label_map: dataset.label_map.as_ref().map(|m| {
            m.iter()
                .map(|(id, name)| (*id as i64, name.clone()))
                .collect()
        }),
        variant: (opts.variant != Variant::Fp32).then_some(opts.variant),
        variant_model: opts.int8.model_info(entry, opts.variant),
        protocol_from: entry.protocol_from.clone(),
    }
}

/// The shard's videos without a scored record, split into those to decode and those that cannot
/// be evaluated (a label out of range, a missing file).
fn triage(
    entry: &Entry,
    opts: &AccuracyOptions,
    dataset: &Manifest,
    done: &Done,
) -> (Vec<VideoJob>, Vec<VideoFailure>) {
    let mut jobs = Vec::new();
    let mut early: Vec<VideoFailure> = Vec::new();
    for (index, sample) in dataset.samples.iter().enumerate() {
        if !opts.shard.contains(index) {
            continue;
        }
        if done.is_scored(index, &sample.id) {
            continue;
        }
        let failure = match (
            &sample.source,
            label_problem(&sample.labels, entry.protocol.num_classes),
        ) {
            (_, Some(message)) => Some((FailureKind::LabelOutOfRange, message)),
            (Source::Video(p), None) if !p.exists() => Some((
                FailureKind::Missing,
                format!("{}: no such file", p.display()),
            )),
            _ => None,
        };
        match failure {
            Some((kind, message)) => early.push(VideoFailure {
                index,
                id: sample.id.clone(),
                kind,
                message,
            }),
            None => jobs.push(VideoJob {
                index,
                sample: sample.clone(),
            }),
        }
    }
    (jobs, early)
}

/// A predictions record carrying `sample`'s label(s) and nothing else yet.
pub fn record_for_sample(index: usize, sample: &Sample, status: RecordStatus) -> Record {
    let (label, labels, gt) = match &sample.labels {
        Labels::Single(l) => (Some(*l), None, None),
        Labels::Multi(ls) => (None, Some(ls.clone()), None),
        Labels::Boxes(bs) => {
            let gt = bs
                .iter()
                .map(|b| GtBoxRecord {
                    bbox: b.bbox,
                    actions: b.actions.clone(),
                })
                .collect();
            (None, None, Some(gt))
        }
    };
    Record {
        index,
        id: sample.id.clone(),
        status,
        label,
        labels,
        scores: None,
        views: Vec::new(),
        gt,
        boxes: None,
        kind: None,
        error: None,
    }
}

/// An AVA keyframe's person boxes with the scores the detector gave them (same order).
fn box_records(sample: &Sample, scores: &[Vec<f32>]) -> Vec<BoxRecord> {
    let Source::Keyframe { person_boxes, .. } = &sample.source else {
        return Vec::new();
    };
    person_boxes
        .iter()
        .zip(scores)
        .map(|(b, s)| BoxRecord {
            bbox: b.bbox,
            person_score: b.score,
            scores: s.clone(),
        })
        .collect()
}

/// "2 of 8 videos cannot be evaluated: 1 missing (first: a.mp4: …); 1 label_out_of_range (…)".
fn summarise(failures: &[VideoFailure], total: usize) -> String {
    let mut kinds: Vec<(FailureKind, usize, &VideoFailure)> = Vec::new();
    for f in failures {
        match kinds.iter_mut().find(|(k, _, _)| *k == f.kind) {
            Some(k) => k.1 += 1,
            None => kinds.push((f.kind, 1, f)),
        }
    }
    let parts: Vec<String> = kinds
        .iter()
        .map(|(k, n, first)| {
            format!(
                "{n} {} (first: {}: {})",
                k.as_str(),
                first.id,
                first.message
            )
        })
        .collect();
    format!(
        "{} of {total} videos cannot be evaluated: {}",
        failures.len(),
        parts.join("; ")
    )
}
