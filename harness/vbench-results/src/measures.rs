//! The measured values of `results.json`, shared by an entry's own row (`schema.rs`) and its speed
//! variants (`variants.rs`): a [`Measure`] that may not exist, an accuracy run's
//! [`AccuracyResult`] with its details, and a [`LatencyResult`].

use serde::{Deserialize, Serialize};

/// A measurement that may not exist. A value is only ever shown where one was measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Measure<T> {
    Measured {
        value: T,
    },
    /// The capability is not built yet; the report says so instead of showing a number.
    NotImplemented {
        reason: String,
    },
    /// The capability exists but this run did not measure it (no data, no weights, disabled).
    Skipped {
        reason: String,
    },
    Failed {
        error: String,
    },
}

impl<T> Measure<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Measure::Measured { value } => Some(value),
            _ => None,
        }
    }
    pub fn status(&self) -> &'static str {
        match self {
            Measure::Measured { .. } => "measured",
            Measure::NotImplemented { .. } => "not_implemented",
            Measure::Skipped { .. } => "skipped",
            Measure::Failed { .. } => "failed",
        }
    }
}

/// The metric keys here are the ones `metrics::registry` names; a new metric adds its field(s)
/// here and its entry there.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccuracyResult {
    pub videos: u64,
    pub failed_videos: u64,
    pub top1: Option<f64>,
    pub top5: Option<f64>,
    pub clip_top1: Option<f64>,
    pub clip_top5: Option<f64>,
    pub top1_ci95: Option<(f64, f64)>,
    /// 95 % CI of top-5 (percent), where the evaluation computes one; the gate and report use it.
    #[serde(default)]
    pub top5_ci95: Option<(f64, f64)>,
    pub map: Option<f64>,
    /// 95 % CI of mAP (percent), where the evaluation computes one.
    #[serde(default)]
    pub map_ci95: Option<(f64, f64)>,
    pub predictions: Option<String>,
    /// Skipped videos and why, input hashes, throughput (issue 7); absent in older results.
    #[serde(default)]
    pub details: Option<AccuracyDetails>,
}

/// What an accuracy run saw besides its metrics (issue 7): why videos were not scored, the inputs'
/// hashes and the evaluation's throughput.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccuracyDetails {
    /// Videos in the dataset list (scored + failed + not reached).
    #[serde(default)]
    pub dataset_videos: u64,
    /// Scored videos whose label is −1 (none in the list): in the predictions, not in top-k.
    #[serde(default)]
    pub unknown_label_videos: u64,
    /// Views scored, the clip-level denominator.
    #[serde(default)]
    pub clip_views: u64,
    /// Video-level top-1 verdicts that depend on the order of tied scores (`metrics::topk`).
    #[serde(default)]
    pub ambiguous_top1: u64,
    /// Videos not scored, grouped by kind (`missing`, `label_out_of_range`, `decode`,
    /// `inference`, `unsupported_source`), each with its first few `id: message` examples.
    #[serde(default)]
    pub failures: Vec<FailureGroup>,
    #[serde(default)]
    pub weights_file: Option<String>,
    #[serde(default)]
    pub weights_sha256: Option<String>,
    /// sha256 of the dataset list (index, id, labels of every video), as in the predictions header.
    #[serde(default)]
    pub dataset_sha256: Option<String>,
    /// The last evaluation session's throughput (a resumed run times only what it evaluated).
    #[serde(default)]
    pub timing: Option<EvalTiming>,
    /// AVA: the AP of every label-map class (frame-mAP is the mean over those with ground truth).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_class_ap: Vec<ClassAp>,
    /// With a reference list (`--reference-list`): how this copy covers the videos the published
    /// number was measured on, and the top-1 over the full list that it can explain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_gap: Option<crate::gap::ExplainedGap>,
}

/// One class of a detection mAP.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClassAp {
    pub id: i64,
    pub name: String,
    /// Ground-truth boxes of the class.
    pub gt: u64,
    /// Percent; `None` without ground truth (left out of the mean).
    pub ap: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FailureGroup {
    pub kind: String,
    pub count: u64,
    pub examples: Vec<String>,
}

/// Decode/inference overlap of one evaluation session.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EvalTiming {
    pub videos: u64,
    pub views: u64,
    pub wall_s: f64,
    pub views_per_s: f64,
    /// Summed over decoder threads: decoding, sampling and the test transform.
    pub decode_busy_s: f64,
    /// Model forwards (stacking included).
    pub inference_busy_s: f64,
    /// Time the inference thread waited for decoded views.
    pub inference_wait_s: f64,
    /// 0: decoded inline on the inference thread.
    pub decode_threads: u32,
    /// Views per forward.
    pub batch: u32,
    pub device: String,
    pub threads: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LatencyResult {
    pub device: String,
    pub threads: i64,
    pub batch: i64,
    pub precision: String,
    pub warmup: u32,
    /// Every kept sample, milliseconds per batch.
    pub samples_ms: Vec<f64>,
    pub discarded_samples: u32,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub mean_ci95_ms: (f64, f64),
    pub cv: f64,
    pub clips_per_s: f64,
    /// Busy fraction of the machine from other processes during the measurement (0..1, /proc/stat).
    pub foreign_load: Option<f64>,
    /// True when too few samples ran on a quiet machine and the statistics include samples taken
    /// under foreign load: the numbers are then an upper bound, not a clean measurement.
    #[serde(default)]
    pub under_foreign_load: bool,
    pub loadavg_1m: Option<f64>,
    /// [`crate::telemetry::Telemetry`] as JSON: peak memory and threads; on CUDA the NVML
    /// readings (memory, power, energy per clip, clocks, temperature, throttling) or why none.
    pub telemetry: Option<serde_json::Value>,
    /// OMP_NUM_THREADS, MKL_NUM_THREADS, ... as set while measuring (empty: none set).
    #[serde(default)]
    pub omp_env: Vec<(String, String)>,
    /// What the number is and is not, e.g. a host measurement of a model published on a phone.
    #[serde(default)]
    pub note: Option<String>,
    /// Why sampling ended: `iters`, `min_time`, `attempt_limit` or `max_time`.
    #[serde(default)]
    pub stopped_by: Option<String>,
    /// The speed variant timed (variant measurements only; absent: the entry's own model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<vbench_suite::Variant>,
}
