//! The decode → inference loop behind `vbench run` (the dataset evaluation in `evaluate`) and
//! `vbench infer`. Decoding overlaps inference through `vbench_data::ViewLoader`: decoder threads
//! (`decode_threads`, one libtorch thread each) turn samples into their views, ahead of the model
//! by at most `queue` videos, delivered in list order; the calling thread owns the model and runs
//! forwards of up to `batch` views.
//!
//! Batches never mix videos, so a video's scores do not depend on its neighbours: a resumed run
//! scores exactly what an uninterrupted one does. Memory is about `queue + decode_threads + 1`
//! videos of views (a SlowFast 16×8 video is 1.9 GB of floats at 30 views: keep `queue` small).

use std::time::Instant;
use tch::{Device, Kind, Tensor};
use vbench_data::check::{classify, ProblemKind};
use vbench_data::datasets::Sample;
use vbench_data::{extract_sample_views, LoaderOptions, View, ViewLoader, ViewTensor};
use vbench_models::{ModelInput, VideoModel};
use vbench_results::metrics::aggregate::aggregate;
use vbench_results::EvalTiming;
use vbench_suite::{Dataset, Protocol, Sampler};

#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub device: Device,
    /// Views per forward (of one video).
    pub batch: usize,
    /// Decoder threads; 0 decodes on the inference thread (no overlap, for measuring).
    pub decode_threads: usize,
    /// Videos decoded ahead of inference, at most.
    pub queue: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            device: Device::Cpu,
            batch: 10,
            decode_threads: 1,
            queue: 2,
        }
    }
}

/// Why a video has no scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Missing,
    LabelOutOfRange,
    Decode,
    Inference,
    UnsupportedSource,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Missing => "missing",
            FailureKind::LabelOutOfRange => "label_out_of_range",
            FailureKind::Decode => "decode",
            FailureKind::Inference => "inference",
            FailureKind::UnsupportedSource => "unsupported_source",
        }
    }
}

#[derive(Debug, Clone)]
pub struct VideoFailure {
    pub index: usize,
    pub id: String,
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug)]
pub struct ScoredView {
    pub view: View,
    pub scores: Vec<f32>,
    /// The head's output before its activation (`ModelOutput::pre_activation`).
    pub logits: Vec<f32>,
}

#[derive(Debug)]
pub struct VideoPrediction {
    pub index: usize,
    pub id: String,
    /// In the sampler's order (clip-major, then crop).
    pub views: Vec<ScoredView>,
    /// The views aggregated as the protocol says (empty for AVA keyframes).
    pub scores: Vec<f32>,
    /// AVA: one score vector per person box, in the sample's box order (empty: no boxes).
    pub box_scores: Option<Vec<Vec<f32>>>,
}

#[derive(Debug)]
pub enum VideoOutcome {
    Scored(VideoPrediction),
    Failed(VideoFailure),
}

/// One video to evaluate: its position in the dataset list and the sample.
#[derive(Debug, Clone)]
pub struct VideoJob {
    pub index: usize,
    pub sample: Sample,
}

/// Where one [`run_videos`] call spent its time.
#[derive(Debug, Clone, Default)]
pub struct EvalStats {
    pub videos: usize,
    pub failed: usize,
    pub views: usize,
    pub wall_s: f64,
    pub decode_s: f64,
    pub infer_s: f64,
    pub wait_s: f64,
}

impl EvalStats {
    pub fn timing(&self, opts: &EvalOptions) -> EvalTiming {
        EvalTiming {
            videos: self.videos as u64,
            views: self.views as u64,
            wall_s: self.wall_s,
            views_per_s: if self.wall_s > 0.0 {
                self.views as f64 / self.wall_s
            } else {
                0.0
            },
            decode_busy_s: self.decode_s,
            inference_busy_s: self.infer_s,
            inference_wait_s: self.wait_s,
            decode_threads: opts.decode_threads as u32,
            batch: opts.batch as u32,
            device: format!("{:?}", opts.device).to_lowercase(),
            threads: tch::get_num_threads() as i64,
        }
    }
}

/// Runs one batch of views (all of one video) through the model: per view, its scores and logits.
type Rows = (Vec<Vec<f32>>, Vec<Vec<f32>>);

fn forward(model: &dyn VideoModel, views: &[ViewTensor]) -> std::result::Result<Rows, String> {
    let pathways = views.first().map_or(0, |v| v.pathways.len());
    let stacked = (0..pathways)
        .map(|p| {
            let parts: Vec<&Tensor> = views.iter().filter_map(|v| v.pathways.get(p)).collect();
            Tensor::f_stack(&parts, 0).map_err(|e| e.to_string())
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let input = match <[Tensor; 2]>::try_from(stacked) {
        Ok([slow, fast]) => ModelInput::SlowFast { slow, fast },
        Err(mut one) if one.len() == 1 => ModelInput::Single(one.remove(0)),
        Err(other) => return Err(format!("views with {} pathways", other.len())),
    };
    let out = model.forward(&input).map_err(|e| e.to_string())?;
    Ok((
        score_rows(&out.scores, views.len(), "views")?,
        score_rows(&out.pre_activation, views.len(), "views")?,
    ))
}

/// `[n, classes]` model scores as `n` float32 rows on the CPU.
fn score_rows(scores: &Tensor, n: usize, what: &str) -> std::result::Result<Vec<Vec<f32>>, String> {
    let scores = scores
        .f_to_kind(Kind::Float)
        .and_then(|t| t.f_to_device(Device::Cpu))
        .and_then(|t| t.f_contiguous())
        .map_err(|e| e.to_string())?;
    let size = scores.size();
    if size.len() != 2 || size[0] != n as i64 {
        return Err(format!("scores of shape {size:?} for {n} {what}"));
    }
    let flat = Vec::<f32>::try_from(&scores.flatten(0, -1)).map_err(|e| e.to_string())?;
    Ok(flat
        .chunks(size[1].max(1) as usize)
        .map(<[f32]>::to_vec)
        .collect())
}

/// Scores an AVA keyframe's one view: `[K, classes]` for its K person boxes (batch index 0).
fn forward_boxes(
    model: &dyn VideoModel,
    view: &ViewTensor,
) -> std::result::Result<Vec<Vec<f32>>, String> {
    let boxes = view
        .boxes
        .as_ref()
        .ok_or("an AVA view without person boxes")?;
    let k = boxes.size().first().copied().unwrap_or(0);
    let input = match view.pathways.as_slice() {
        [x] => ModelInput::Single(x.unsqueeze(0)),
        [slow, fast] => ModelInput::SlowFast {
            slow: slow.unsqueeze(0),
            fast: fast.unsqueeze(0),
        },
        other => return Err(format!("a view with {} pathways", other.len())),
    };
    let rois = Tensor::f_cat(
        &[
            Tensor::zeros([k, 1], (Kind::Float, Device::Cpu)),
            boxes.shallow_clone(),
        ],
        1,
    )
    .map_err(|e| e.to_string())?;
    let out = model
        .forward_boxes(&input, &rois)
        .map_err(|e| e.to_string())?;
    score_rows(&out.scores, k as usize, "boxes")
}

/// A decoding error's kind: the file is not there, or it is and cannot be used.
fn decode_failure(e: &vbench_data::DataError) -> (FailureKind, String) {
    let kind = match classify(e) {
        ProblemKind::Missing => FailureKind::Missing,
        _ => FailureKind::Decode,
    };
    (kind, e.to_string())
}

/// What one sample scored: its views and their aggregate, or (AVA) per-box scores.
type Scored = (Vec<ScoredView>, Vec<f32>, Option<Vec<Vec<f32>>>);

/// Scores one video's views in batches of `batch` and aggregates them; an AVA keyframe's view
/// (if it has person boxes) is scored per box instead.
fn score_video(
    model: &dyn VideoModel,
    views: Vec<ViewTensor>,
    batch: usize,
    protocol: &Protocol,
    id: &str,
    stats: &mut EvalStats,
) -> Result<Scored, (FailureKind, String)> {
    if protocol.sampler == Sampler::AvaKeyframe {
        let mut boxes = Vec::new();
        for v in &views {
            let started = Instant::now();
            let result = forward_boxes(model, v);
            stats.infer_s += started.elapsed().as_secs_f64();
            boxes.extend(result.map_err(|m| (FailureKind::Inference, m))?);
            stats.views += 1;
        }
        return Ok((Vec::new(), Vec::new(), Some(boxes)));
    }
    let method = protocol.aggregation;
    let mut scored = Vec::with_capacity(views.len());
    let mut rest = views;
    while !rest.is_empty() {
        let tail = rest.split_off(batch.min(rest.len()));
        let started = Instant::now();
        let result = forward(model, &rest);
        stats.infer_s += started.elapsed().as_secs_f64();
        let (scores, logits) = result.map_err(|m| (FailureKind::Inference, m))?;
        stats.views += rest.len();
        scored.extend(rest.into_iter().zip(scores.into_iter().zip(logits)).map(
            |(v, (scores, logits))| ScoredView {
                view: v.view,
                scores,
                logits,
            },
        ));
        rest = tail;
    }
    let refs: Vec<&[f32]> = scored.iter().map(|v| v.scores.as_slice()).collect();
    let scores =
        aggregate(id, &refs, method).map_err(|e| (FailureKind::Inference, e.to_string()))?;
    Ok((scored, scores, None))
}

/// Evaluates `jobs` (samples of `dataset`) with `model` under `protocol`, calling `on_video` once
/// per video, in list order. An error from `on_video` stops the run (the decoders stop after
/// their current video).
pub fn run_videos<E>(
    model: &dyn VideoModel,
    dataset: Dataset,
    protocol: &Protocol,
    jobs: Vec<VideoJob>,
    opts: &EvalOptions,
    on_video: &mut dyn FnMut(VideoOutcome) -> Result<(), E>,
) -> Result<EvalStats, E> {
    let started = Instant::now();
    let mut stats = EvalStats::default();
    let batch = opts.batch.max(1);
    let mut finish = |stats: &mut EvalStats,
                      index: usize,
                      id: String,
                      views: Result<Vec<ViewTensor>, (FailureKind, String)>|
     -> Result<(), E> {
        let outcome = match views.and_then(|v| score_video(model, v, batch, protocol, &id, stats)) {
            Ok((views, scores, box_scores)) => {
                stats.videos += 1;
                VideoOutcome::Scored(VideoPrediction {
                    index,
                    id,
                    views,
                    scores,
                    box_scores,
                })
            }
            Err((kind, message)) => {
                stats.failed += 1;
                VideoOutcome::Failed(VideoFailure {
                    index,
                    id,
                    kind,
                    message,
                })
            }
        };
        on_video(outcome)
    };
    if opts.decode_threads == 0 {
        for job in jobs {
            let t = Instant::now();
            let views = extract_sample_views(&job.sample, dataset, protocol)
                .map_err(|e| decode_failure(&e));
            stats.decode_s += t.elapsed().as_secs_f64();
            finish(&mut stats, job.index, job.sample.id, views)?;
        }
    } else {
        let loader = ViewLoader::spawn(
            jobs.into_iter().map(|j| (j.index, j.sample)).collect(),
            dataset,
            protocol.clone(),
            LoaderOptions {
                workers: opts.decode_threads,
                capacity: opts.queue.max(1),
                // Decoders resize on one thread each: the cores belong to inference.
                intra_op_threads: Some(1),
                ..LoaderOptions::default()
            },
        );
        let mut loader = loader.into_iter();
        loop {
            let waited = Instant::now();
            let Some(item) = loader.next() else { break };
            stats.wait_s += waited.elapsed().as_secs_f64();
            stats.decode_s += item.decode_s;
            let views = item.views.map_err(|e| decode_failure(&e));
            finish(&mut stats, item.position, item.id, views)?;
        }
    }
    stats.wall_s = started.elapsed().as_secs_f64();
    Ok(stats)
}
