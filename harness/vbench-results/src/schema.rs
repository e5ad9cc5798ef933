//! The `results.json` schema: serde types, versioned. Measurement code fills them; exporters only
//! read them. Bump [`SCHEMA_VERSION`] on any incompatible change.

use serde::{Deserialize, Serialize};
use vbench_suite::{Printed, Protocol};

pub use crate::measures::{
    AccuracyDetails, AccuracyResult, ClassAp, EvalTiming, FailureGroup, LatencyResult, Measure,
};

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
