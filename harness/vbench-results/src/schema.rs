//! The `results.json` schema: serde types, versioned. Measurement code fills them; exporters only
//! read them. Bump [`SCHEMA_VERSION`] on any incompatible change.

use serde::{Deserialize, Serialize};
use vbench_suite::{Printed, Protocol};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub schema_version: u32,
    pub suite: SuiteSummary,
    pub provenance: Provenance,
    pub entries: Vec<EntryResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuiteSummary {
    pub name: String,
    pub title: String,
    pub dataset: String,
    pub task: String,
    pub source: String,
    pub description: Option<String>,
}

/// Where and how a run happened, so a number can be traced and re-run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Provenance {
    pub vbench_version: String,
    pub git_sha: Option<String>,
    pub command: Vec<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub host: Host,
    pub gpu: GpuProvenance,
    pub libtorch_version: Option<String>,
    pub ffmpeg_version: Option<String>,
    /// Intra-op threads libtorch used (in effect on the measuring thread).
    pub threads: i64,
    /// OMP_NUM_THREADS / MKL_NUM_THREADS as set in the environment, if at all.
    pub omp_env: Vec<(String, String)>,
    /// Intra-op threads the run asked for (`--threads`); absent: libtorch's choice. OpenMP's count
    /// is per OS thread, so `threads` says what was in effect where the run measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads_requested: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Host {
    pub hostname: Option<String>,
    pub cpu_model: String,
    pub logical_cores: usize,
    pub physical_cores: Option<usize>,
    pub memory_bytes: u64,
    pub os: String,
    pub kernel: Option<String>,
}

/// NVML's view of the GPUs, or why there is none.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum GpuProvenance {
    Available {
        driver_version: String,
        cuda_driver_version: Option<String>,
        devices: Vec<GpuDevice>,
    },
    Unavailable {
        reason: String,
    },
}

impl Default for GpuProvenance {
    fn default() -> Self {
        GpuProvenance::Unavailable {
            reason: "not probed".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GpuDevice {
    pub index: u32,
    pub name: String,
    pub memory_total_bytes: u64,
    pub uuid: Option<String>,
}

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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryResult {
    pub id: String,
    pub name: String,
    /// The model's label: the zoo architecture, or `torchscript:<file name>`.
    pub arch: String,
    pub protocol: Protocol,
    /// The official checkpoint's URL; empty for one's own weights and TorchScript files.
    pub checkpoint_url: String,
    /// The zoo entry whose protocol this entry took (`protocol_from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_from: Option<String>,
    /// One's own model or weights file, and its sha256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_file: Option<ModelFile>,
    pub published: Published,
    pub notes: Option<String>,
    pub params: Measure<ParamsResult>,
    pub flops: Measure<FlopsResult>,
    pub accuracy: Measure<AccuracyResult>,
    pub latency: Vec<Measure<LatencyResult>>,
    /// Speed variants beside fp32 (`--variant`, a suite's `variants`); absent without any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<crate::variants::VariantResult>,
}

/// A file of the user's that decides an entry's numbers: a TorchScript model or a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    pub path: String,
    pub sha256: String,
}

/// The published numbers an entry is judged against, as printed: its reference row's, or numbers
/// written in the suite.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Published {
    pub top1: Option<Printed>,
    pub top5: Option<Printed>,
    pub map: Option<Printed>,
    pub gflops: Option<Printed>,
    pub params_m: Option<Printed>,
    pub views: Option<(u32, u32)>,
    pub latency_ms: Option<Printed>,
    pub latency_device: Option<String>,
    /// The FLOPs convention the published GFLOPs were counted under, where the source says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gflops_convention: Option<String>,
    /// Where the numbers come from when not (only) a reference row: `inline`, `table+inline`,
    /// `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Published {
    /// What an entry is judged against: its reference row's numbers, or those written in the
    /// suite (`source` says which, absent for a plain table row).
    pub fn from_suite(p: &vbench_suite::Published) -> Published {
        use vbench_suite::PublishedSource;
        Published {
            top1: p.top1,
            top5: p.top5,
            map: p.map,
            gflops: p.gflops,
            params_m: p.params_m,
            views: p.views,
            latency_ms: p.latency_ms,
            latency_device: p.latency_device.clone(),
            gflops_convention: p.gflops_convention.map(|c| c.name().to_string()),
            source: match &p.source {
                PublishedSource::Table { .. } => None,
                PublishedSource::TableAndInline { .. } => Some("table+inline".into()),
                PublishedSource::Inline => Some("inline".into()),
                PublishedSource::None => Some("none".into()),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParamsResult {
    pub count: i64,
    pub millions: f64,
    /// Whether the count prints as the published M at its precision.
    pub matches_published: Option<bool>,
    /// Why it differs, where the cause is known.
    pub note: Option<String>,
    /// `frozen_constants`: a frozen TorchScript module has no parameters; its weights are graph
    /// constants and those were counted. Absent: `parameters()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_from: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlopsResult {
    /// GFLOPs for one view under each counting convention.
    pub conventions: Vec<ConventionFlops>,
    /// The convention whose value prints as the published one, if any.
    pub reproduced_by: Option<String>,
    pub note: Option<String>,
    pub breakdown: Vec<LayerFlops>,
    /// Ops that ran and that no convention counts (fvcore has no handle for them), with how often
    /// each ran: listed, never estimated.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub uncounted_ops: std::collections::BTreeMap<String, usize>,
}

impl FlopsResult {
    /// The conventions that print as the published value, where they all give `reproduced_by`'s
    /// count: `fvcore-2021 = fvcore-eval` for a model without BatchNorm. What `vbench stats` shows.
    pub fn reproduced_label(&self) -> Option<String> {
        let by = self.reproduced_by.as_deref()?;
        let count = self.conventions.iter().find(|c| c.convention == by)?.flops;
        let same: Vec<&str> = self
            .conventions
            .iter()
            .filter(|c| c.flops == count)
            .map(|c| c.convention.as_str())
            .collect();
        Some(same.join(" = "))
    }
}

/// Params and FLOPs of one view of an entry, for a model built from it (values do not matter).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryStats {
    pub params: ParamsResult,
    pub flops: FlopsResult,
}

/// `vbench stats`: an entry and its counts (not implemented: the architecture is not built;
/// failed: the shape pass failed).
#[derive(Debug, Clone)]
pub struct EntryCounts {
    pub entry: vbench_suite::Entry,
    pub stats: Measure<EntryStats>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConventionFlops {
    pub convention: String,
    pub flops: u64,
    pub gflops: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerFlops {
    pub path: String,
    pub op: String,
    pub input_shape: Vec<i64>,
    pub output_shape: Vec<i64>,
    pub flops: u64,
    pub params: i64,
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
