//! The JSON documents of the commands other than `vbench run`: `vbench latency`'s report (what
//! `--output` writes) and `vbench infer`'s prediction of one video. Measurement code fills them;
//! `vbench_report::tables` formats them.

use crate::schema::{LatencyResult, Measure, Provenance};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use vbench_suite::{Aggregation, Precision, Protocol};

/// What libtorch itself knows about CUDA: whether its CUDA runtime is loaded (a CUDA build), the
/// runtime and cuDNN it was built against, and how many devices it sees now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CudaRuntime {
    pub libtorch_has_cuda: bool,
    pub available: bool,
    pub device_count: i64,
    pub cuda_runtime_version: Option<String>,
    pub cudnn_version: Option<String>,
}

/// `vbench latency`: one row per entry and thread count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LatencyReport {
    pub schema_version: u32,
    pub provenance: Provenance,
    pub cuda: CudaRuntime,
    pub results: Vec<LatencyRow>,
    /// `--variant`: each entry's variants timed against fp32 (and their fidelity).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<crate::variants::VariantRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LatencyRow {
    pub id: String,
    pub arch: String,
    pub precision: Precision,
    /// What was timed: `vbench` (the Rust model) or `torchscript:<file>`.
    pub implementation: String,
    pub published_latency_ms: Option<f64>,
    pub published_latency_device: Option<String>,
    pub latency: Measure<LatencyResult>,
}

/// `vbench infer`: one video through an entry's whole test protocol. Fields in alphabetical
/// order, as the JSON has always listed them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inference {
    pub aggregation: Aggregation,
    pub entry: String,
    pub protocol: Protocol,
    /// The views aggregated as the protocol says, one score per class.
    pub scores: Vec<f32>,
    /// Wall time of decoding and inference.
    pub seconds: f64,
    /// The highest aggregated scores, ties by lower class index.
    pub top: Vec<RankedClass>,
    /// The video as given.
    pub video: PathBuf,
    pub views: Vec<InferenceView>,
    pub weights: InferenceWeights,
    /// The speed variant the model ran as (`vbench infer --variant`); absent: the model itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<vbench_suite::Variant>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InferenceWeights {
    pub file: PathBuf,
    pub sha256: String,
    /// Set when this call imported a file copied into the weights folder by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InferenceView {
    pub clip: u32,
    pub crop: u32,
    pub end_sec: f64,
    /// Per pathway, the decoded frame numbers the view holds.
    pub frame_indices: Vec<Vec<i64>>,
    pub scores: Vec<f32>,
    pub start_sec: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RankedClass {
    pub class: usize,
    pub name: Option<String>,
    pub score: f32,
}
