//! Fidelity on real views: fp32 and each variant run over every view of the entry's protocol of
//! every video in a folder (`--fidelity-videos DIR`), each into a predictions file of its own with
//! per-view scores and logits (`OUT/fidelity/<entry>/<variant>.jsonl`, resumable like any
//! predictions file), then compared file against file
//! ([`vbench_results::predictions::fidelity::compare`]), so the numbers can be recomputed from
//! what is stored.

use std::path::{Path, PathBuf};

use vbench_data::datasets::{manifest_hash, Labels, Sample, Source};
use vbench_models::VideoModel;
use vbench_results::predictions::{
    DatasetInfo, Header, PredictionsError, PredictionsWriter, Record, RecordStatus, ViewRecord,
    WeightsInfo,
};
use vbench_suite::{Dataset, Entry, Variant};

use crate::accuracy::pipeline::{run_videos, EvalOptions, VideoJob, VideoOutcome};

/// Video files a fidelity folder may hold (the decoder opens anything FFmpeg does; these are what
/// a folder listing picks up).
const VIDEO_EXTENSIONS: [&str; 7] = ["mp4", "avi", "mkv", "webm", "mov", "m4v", "mpg"];

#[derive(Debug, thiserror::Error)]
pub enum FidelityError {
    #[error("--fidelity-videos {}: {source}", dir.display())]
    Dir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--fidelity-videos {}: no video files ({})", dir.display(), VIDEO_EXTENSIONS.join(", "))]
    Empty { dir: PathBuf },
    #[error(transparent)]
    Predictions(#[from] PredictionsError),
}

/// The videos of `dir`, sorted by file name, as unlabelled samples.
pub fn video_samples(dir: &Path) -> Result<Vec<Sample>, FidelityError> {
    let err = |source| FidelityError::Dir {
        dir: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| VIDEO_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(FidelityError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    Ok(files
        .into_iter()
        .map(|p| Sample {
            id: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            labels: Labels::Single(-1),
            source: Source::Video(p),
        })
        .collect())
}

/// Where one model's views of a fidelity run go, relative to the results folder.
pub fn fidelity_rel_path(entry: &Entry, variant: Variant) -> PathBuf {
    PathBuf::from("fidelity")
        .join(&entry.name)
        .join(format!("{variant}.jsonl"))
}

/// What a fidelity run of one entry is told.
#[derive(Debug, Clone)]
pub struct FidelityRun<'a> {
    pub entry: &'a Entry,
    pub videos_dir: &'a Path,
    pub samples: &'a [Sample],
    /// The weights both models hold: (file, sha256).
    pub weights: (String, String),
    pub out_dir: &'a Path,
    pub eval: EvalOptions,
    pub fresh: bool,
    /// The int8 variant's quantized file, named in its views' header.
    pub int8: super::Int8Source,
}

/// Runs `model` (fp32 or `variant`) over every view of every video into its predictions file;
/// videos already scored there are kept. Views are extracted as `vbench infer` extracts them
/// (the protocol's sampler on a whole video); detectors are not run here (they score AVA boxes). Returns the file's path relative to `out_dir`.
pub fn score_views(
    run: &FidelityRun,
    model: &dyn VideoModel,
    variant: Variant,
) -> Result<PathBuf, FidelityError> {
    let rel = fidelity_rel_path(run.entry, variant);
    let path = run.out_dir.join(&rel);
    let header = Header {
        vbench_predictions: vbench_results::predictions::FORMAT_VERSION,
        entry: run.entry.id.clone(),
        arch: run.entry.model.label(),
        task: match run.entry.protocol.head_activation {
            vbench_suite::Activation::Sigmoid => "multi_label".into(),
            _ => "classification".into(),
        },
        num_classes: run.entry.protocol.num_classes as usize,
        protocol: run.entry.protocol.clone(),
        weights: WeightsInfo {
            file: run.weights.0.clone(),
            sha256: run.weights.1.clone(),
        },
        dataset: DatasetInfo {
            name: "videos".into(),
            manifest: run.videos_dir.display().to_string(),
            videos: run.samples.len(),
            sha256: manifest_hash(run.samples),
        },
        transform: vbench_data::transforms::TRANSFORM_VERSION,
        batch: run.eval.batch,
        device: format!("{:?}", run.eval.device).to_lowercase(),
        vbench_version: env!("CARGO_PKG_VERSION").into(),
        label_map: None,
        variant: (variant != Variant::Fp32).then_some(variant),
        variant_model: run.int8.model_info(run.entry, variant),
        protocol_from: run.entry.protocol_from.clone(),
    };
    let (mut writer, done) = PredictionsWriter::open(&path, &header, run.fresh)?;
    let jobs: Vec<VideoJob> = run
        .samples
        .iter()
        .enumerate()
        .filter(|(i, s)| !done.is_scored(*i, &s.id))
        .map(|(index, s)| VideoJob {
            index,
            sample: s.clone(),
        })
        .collect();
    let record = |index: usize, id: &str, status| Record {
        index,
        id: id.to_string(),
        status,
        label: Some(-1),
        labels: None,
        scores: None,
        views: Vec::new(),
        gt: None,
        boxes: None,
        kind: None,
        error: None,
    };
    run_videos::<FidelityError>(
        model,
        Dataset::Kinetics400,
        &run.entry.protocol,
        jobs,
        &run.eval,
        &mut |outcome| {
            let r = match outcome {
                VideoOutcome::Scored(p) => {
                    let mut r = record(p.index, &p.id, RecordStatus::Ok);
                    r.views = p
                        .views
                        .into_iter()
                        .map(|v| ViewRecord {
                            clip: v.view.clip_index,
                            crop: v.view.spatial_index,
                            scores: v.scores,
                            logits: Some(v.logits),
                        })
                        .collect();
                    r.scores = Some(p.scores);
                    r
                }
                VideoOutcome::Failed(f) => {
                    let mut r = record(f.index, &f.id, RecordStatus::Failed);
                    r.kind = Some(f.kind.as_str().into());
                    r.error = Some(f.message);
                    r
                }
            };
            Ok(writer.append(&r)?)
        },
    )?;
    Ok(rel)
}
