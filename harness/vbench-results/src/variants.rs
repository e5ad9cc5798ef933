//! What results.json and `vbench latency --variant` hold about speed variants: for each entry and
//! variant, what the transformation did, its speed against fp32 timed interleaved in one run, its
//! throughput against batch size (MLPerf's Offline scenario) and its fidelity to fp32 on real
//! views. Measurement code fills these; reports and gates only read them.

use crate::measures::{AccuracyResult, LatencyResult, Measure};
use serde::{Deserialize, Serialize};
use vbench_suite::Variant;

/// One variant of one entry. fp32 has a row of its own when its throughput was measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantResult {
    pub variant: Variant,
    /// What the transformation did, or why the variant does not exist for this entry
    /// (`skipped`: "not applicable: ..." / "not available: ..."), or how applying it failed.
    pub applied: Measure<AppliedVariant>,
    /// Against fp32, one per thread count.
    #[serde(default)]
    pub speed: Vec<Measure<VariantSpeed>>,
    #[serde(default = "not_requested")]
    pub throughput: Measure<Throughput>,
    /// On the views of a folder of videos (`--fidelity-videos`).
    #[serde(default = "not_requested")]
    pub fidelity: Measure<Fidelity>,
    /// With `--data-root`: the variant's own dataset evaluation (`<entry>@<variant>.jsonl`)...
    #[serde(default = "not_requested")]
    pub accuracy: Measure<AccuracyResult>,
    /// ...and its fidelity to fp32's on the same videos, with the paired accuracy difference.
    #[serde(default = "not_requested")]
    pub dataset_fidelity: Measure<Fidelity>,
}

fn not_requested<T>() -> Measure<T> {
    Measure::Skipped {
        reason: "not requested".into(),
    }
}

impl VariantResult {
    /// The measured speed at `threads`, if any.
    pub fn speed_at(&self, threads: i64) -> Option<&VariantSpeed> {
        self.speed
            .iter()
            .filter_map(Measure::value)
            .find(|s| s.threads == threads)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppliedVariant {
    /// One line: what changed (`83 of 83 BatchNorms folded into the preceding convolutions`).
    pub detail: String,
    /// bf16-cast: where float32 was kept, `avg_pool3d at blocks.5.pool.pool`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fp32_ops: Vec<String>,
    /// folded-bn: BatchNorms folded, and those left (none follow a conv).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folded_batch_norms: Option<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfolded_batch_norms: Vec<String>,
}

/// A variant timed against fp32 in one run: forwards alternate fp32, variant, variant, fp32, ...
/// on the same input, so both see the same machine. Each pair whose window another process kept
/// busy beyond the limit is set aside, with its reading kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantSpeed {
    pub device: String,
    pub threads: i64,
    pub batch: i64,
    /// fp32's samples and statistics (`variant: fp32`), the pairs kept.
    pub fp32: LatencyResult,
    /// The variant's.
    pub variant: LatencyResult,
    /// fp32 p50 / variant p50: above 1, the variant is faster.
    pub speedup: f64,
    /// Geometric mean of the per-pair ratios fp32 / variant, with its bootstrap 95 % CI.
    pub pair_speedup: f64,
    pub pair_speedup_ci95: (f64, f64),
    pub pairs: u32,
    pub discarded_pairs: u32,
    /// Too few pairs ran on a quiet machine: all are kept and the ratio is noisy.
    pub under_foreign_load: bool,
    /// Busy fraction of the machine from other processes over the pairs (0..1).
    pub foreign_load: Option<f64>,
    pub loadavg_1m: Option<f64>,
}

/// Clips per second against batch size (MLPerf Offline); p90 at batch 1 is its SingleStream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Throughput {
    pub device: String,
    pub threads: i64,
    pub points: Vec<ThroughputPoint>,
    pub best_batch: i64,
    pub best_clips_per_s: f64,
    /// p90 latency of one clip (MLPerf SingleStream), ms.
    pub single_stream_p90_ms: f64,
    /// Why the sweep stopped: `max_batch`, `time_limit`, `memory_limit`, `out_of_memory`.
    pub stopped_by: String,
    /// The batch that ran out of memory (CUDA), after which the sweep backed off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_memory_at: Option<i64>,
    /// Busy fraction of the machine from other processes during the sweep.
    pub foreign_load: Option<f64>,
    pub loadavg_1m: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThroughputPoint {
    pub batch: i64,
    pub clips_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub samples: u32,
    /// Peak resident memory of the process after this batch (CPU), bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
}

/// How far a variant's predictions move from fp32's on the same views.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fidelity {
    /// Where the views came from: `videos <dir>` or `dataset <manifest>`.
    pub source: String,
    /// The weights both ran with (file name and sha256).
    pub weights: String,
    /// The stored per-view scores and logits, relative to the results folder.
    pub fp32_predictions: String,
    pub variant_predictions: String,
    pub videos: u64,
    pub views: u64,
    /// Percent of views whose top-1 class is fp32's.
    pub view_agreement: f64,
    pub views_agreeing: u64,
    /// Percent of videos whose aggregated top-1 is fp32's.
    pub video_agreement: f64,
    pub videos_agreeing: u64,
    /// Largest |Δ| over every view and class, of the scores (probabilities) and of the logits.
    pub max_abs_prob_diff: f64,
    pub max_abs_logit_diff: Option<f64>,
    /// fp32's top-1 margin (top-1 − top-2 score) over all views: how near the ties are.
    pub fp32_margin_median: f64,
    pub fp32_margin_min: f64,
    /// Every view whose top-1 changed, with fp32's margin there.
    pub changed_views: Vec<ChangedView>,
    /// With a labelled dataset: the variant's accuracy beside fp32's on the same videos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<PairedAccuracy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedView {
    pub video: String,
    pub clip: u32,
    pub crop: u32,
    pub fp32_top1: usize,
    pub variant_top1: usize,
    pub fp32_margin: f64,
}

/// Top-1 of both on the videos both scored, and the paired difference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairedAccuracy {
    pub videos: u64,
    /// Percent.
    pub fp32_top1: f64,
    pub variant_top1: f64,
    /// variant − fp32, points, with its 95 % CI.
    pub difference: f64,
    pub ci95: (f64, f64),
    pub ci_method: String,
    /// McNemar's exact test on the videos only one of them got right.
    pub p_value: f64,
    /// Right only with the variant / only with fp32.
    pub fixed: u64,
    pub broken: u64,
}

/// `vbench latency --variant`: one entry's variants.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantRow {
    pub id: String,
    pub arch: String,
    pub variants: Vec<VariantResult>,
}
