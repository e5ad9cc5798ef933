//! What `LatencyResult::telemetry` holds: what the machine did while a latency measurement ran
//! (`vbench_eval::timing::telemetry` samples it). Peak memory and threads on the CPU and, on CUDA,
//! NVML's readings or why there are none.

use serde::{Deserialize, Serialize};

/// Stored in `LatencyResult::telemetry`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    pub cpu: CpuTelemetry,
    pub gpu: GpuTelemetry,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuTelemetry {
    /// This process's peak resident memory (VmHWM), bytes.
    pub peak_rss_bytes: Option<u64>,
    /// `measurement` when the high-water mark was reset before measuring; `process` when the reset
    /// was refused and the peak may predate the measurement (model build, an earlier entry).
    pub peak_rss_scope: String,
    pub intra_op_threads: i64,
    pub interop_threads: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum GpuTelemetry {
    /// The measurement ran on the CPU.
    NotApplicable {
        reason: String,
    },
    /// CUDA ran but NVML could not be used: `no NVML: <reason>`.
    Unavailable {
        reason: String,
    },
    Recorded(Box<GpuSummary>),
}

/// Min / mean / max of one reading over the sampler's ticks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GpuSummary {
    /// NVML's index of the device (may differ from the CUDA ordinal: see `index_note`).
    pub nvml_index: u32,
    pub index_note: String,
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub pci_bus_id: Option<String>,
    pub compute_capability: Option<String>,
    pub driver_version: Option<String>,
    pub cuda_driver_version: Option<String>,
    /// The CUDA runtime and cuDNN libtorch was built with.
    pub cuda_runtime_version: Option<String>,
    pub cudnn_version: Option<String>,
    pub power_limit_mw: Option<u32>,
    pub period_ms: u64,
    pub ticks: u32,
    pub duration_s: f64,
    /// Device memory in use (all processes): before the measurement and its peak during it.
    pub memory_used_start_bytes: Option<u64>,
    pub memory_used_peak_bytes: Option<u64>,
    pub memory_total_bytes: Option<u64>,
    /// This process's device memory (CUDA context + the caching allocator's reserved pool), peak.
    pub process_memory_peak_bytes: Option<u64>,
    pub power_mw: Option<Range>,
    /// Energy over the measurement: the driver's counter delta, or mean power × time without one.
    pub energy_j: Option<f64>,
    pub energy_source: Option<String>,
    /// Clips run while sampling (kept and discarded samples × batch) and the energy per clip.
    pub clips: u64,
    pub energy_j_per_clip: Option<f64>,
    pub sm_clock_mhz: Option<Range>,
    pub temperature_c: Option<Range>,
    pub gpu_utilization_pct: Option<Range>,
    pub memory_utilization_pct: Option<Range>,
    /// Every throttle reason seen on any tick, except `GPU_IDLE` and `NONE`.
    pub throttle_reasons: Vec<String>,
    /// Readings the driver refused, with its first error.
    pub unsupported: Vec<String>,
}
