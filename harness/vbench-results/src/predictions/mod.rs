//! The per-video prediction store: JSON Lines, appended, flushed and fsynced one video at a time,
//! so that an evaluation killed at any point resumes where it stopped and scores identically.
//!
//! Format (`docs/predictions.md` has the long version):
//! - line 1, the [`Header`]: format version, entry, protocol, number of classes, the weights'
//!   sha256, the dataset list's sha256 and the speed variant (absent: fp32). A resume against
//!   other inputs is refused.
//! - then one [`Record`] per video: `index` (position in the dataset list), `id`, `label` or
//!   `labels`, `status`; for `ok` the per-view `views[{clip, crop, scores}]` and the aggregated
//!   `scores`; for `failed` the `kind` and `error`. Scores are f32 written in their shortest
//!   round-trip form, so reading them back gives the same bits.
//!
//! A later record for the same `index` replaces an earlier one (failed videos are retried on
//! resume). A last line that does not parse (a write cut by a kill or a crash) is dropped and the
//! file truncated before appending; an unparseable line anywhere else is corruption, and an error.

//!
//! Where each part lives: [`jsonl`] reads (the one torn-tail reader, shared by scoring, resume
//! and `vbench merge`), [`writer`] appends, [`score`] recomputes the metrics from a file, [`ava`]
//! turns AVA keyframe records into frame-mAP.

pub mod ava;
pub mod fidelity;
pub mod jsonl;
pub mod score;
pub mod writer;

pub use score::{score_file, Scored};
pub use writer::{Done, PredictionsWriter};

use crate::metrics::MetricsError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use vbench_suite::{Protocol, Variant};

/// Bump on any incompatible change of [`Header`] or [`Record`].
pub const FORMAT_VERSION: u32 = 1;

/// [`Header::task`] of AVA files.
pub const TASK_DETECTION: &str = "detection";

/// Examples kept per failure kind in results.json.
pub const FAILURE_EXAMPLES: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum PredictionsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The predictions file could not be written (a full disk): the run cannot go on.
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{path}:1: written for other inputs ({field}: the file has {found}, this run has \
         {expected}); refusing to resume: use --fresh or another --out"
    )]
    Mismatch {
        path: PathBuf,
        field: String,
        found: String,
        expected: String,
    },
    #[error("{path}:1: written for {found}, not {expected}")]
    OtherEntry {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{path}:1: its protocol differs from {entry}'s in the suite: {protocol}")]
    OtherProtocol {
        path: PathBuf,
        entry: String,
        protocol: String,
    },
    #[error("{path}: {source}")]
    Metrics {
        path: PathBuf,
        #[source]
        source: MetricsError,
    },
}

pub type Result<T, E = PredictionsError> = std::result::Result<T, E>;

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PredictionsError + '_ {
    move |source| PredictionsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsInfo {
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// `kinetics`, `ssv2`, `charades`, or `video` for a single `vbench infer` video.
    pub name: String,
    /// What was read under the data root (informational: a moved dataset still resumes).
    pub manifest: String,
    pub videos: usize,
    /// [`dataset_sha256`] of the list.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub vbench_predictions: u32,
    pub entry: String,
    pub arch: String,
    /// `classification` (one label, top-k), `multi_label` (mAP) or `detection` (AVA frame-mAP).
    pub task: String,
    pub num_classes: usize,
    pub protocol: Protocol,
    pub weights: WeightsInfo,
    pub dataset: DatasetInfo,
    /// The version of the input pipeline that made the views (`vbench_data::transforms::
    /// TRANSFORM_VERSION`); files from before it was recorded read as 1. A resume never mixes
    /// views of two versions.
    #[serde(default = "first_transform")]
    pub transform: u32,
    /// Views per forward and device of the run that created the file (informational).
    #[serde(default)]
    pub batch: usize,
    #[serde(default)]
    pub device: String,
    #[serde(default)]
    pub vbench_version: String,
    /// Detection files: the evaluated classes `(id, name)` of the AVA label map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_map: Option<Vec<(i64, String)>>,
    /// The speed variant that produced the scores (`bf16`, `folded-bn`, ...); absent: fp32, the
    /// model as loaded. A resume refuses a file of another variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,
    /// The file the variant ran instead of the weights (int8: the quantized TorchScript file);
    /// a resume refuses another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_model: Option<WeightsInfo>,
    /// The zoo entry whose protocol the entry took (`protocol_from`); the model file's sha256 is
    /// `weights.sha256` (a TorchScript file holds its weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_from: Option<String>,
}

impl Header {
    /// The variant, absent meaning fp32.
    pub fn variant(&self) -> Variant {
        self.variant.unwrap_or(Variant::Fp32)
    }
}

/// The transform version of files written before the header recorded one.
fn first_transform() -> u32 {
    1
}

impl Header {
    /// The fields that decide the numbers; everything else may differ on resume.
    pub(crate) fn check_same_inputs(&self, new: &Header, path: &Path) -> Result<()> {
        let mismatch = |field: &str, found: String, expected: String| {
            Err(PredictionsError::Mismatch {
                path: path.to_path_buf(),
                field: field.into(),
                found,
                expected,
            })
        };
        let json = |p: &Protocol| serde_json::to_string(p).unwrap_or_default();
        if self.vbench_predictions != new.vbench_predictions {
            return mismatch(
                "format version",
                self.vbench_predictions.to_string(),
                new.vbench_predictions.to_string(),
            );
        }
        if self.entry != new.entry {
            return mismatch("entry", self.entry.clone(), new.entry.clone());
        }
        if self.transform != new.transform {
            return mismatch(
                "input transform version",
                self.transform.to_string(),
                new.transform.to_string(),
            );
        }
        if self.protocol != new.protocol {
            return mismatch("protocol", json(&self.protocol), json(&new.protocol));
        }
        if self.variant() != new.variant() {
            return mismatch(
                "variant",
                self.variant().to_string(),
                new.variant().to_string(),
            );
        }
        // The file's content decides: the same quantized file under another name resumes.
        let sha = |w: &Option<WeightsInfo>| w.as_ref().map(|w| w.sha256.clone());
        if sha(&self.variant_model) != sha(&new.variant_model) {
            let show = |w: &Option<WeightsInfo>| {
                w.as_ref().map_or("none".into(), |w| {
                    format!("{} (sha256 {})", w.file, w.sha256)
                })
            };
            return mismatch(
                "variant model",
                show(&self.variant_model),
                show(&new.variant_model),
            );
        }
        if self.num_classes != new.num_classes {
            return mismatch(
                "num_classes",
                self.num_classes.to_string(),
                new.num_classes.to_string(),
            );
        }
        if self.protocol_from != new.protocol_from {
            let show = |p: &Option<String>| p.clone().unwrap_or_else(|| "none".into());
            return mismatch(
                "protocol_from",
                show(&self.protocol_from),
                show(&new.protocol_from),
            );
        }
        if self.weights.sha256 != new.weights.sha256 {
            return mismatch(
                "weights sha256",
                format!("{} ({})", self.weights.sha256, self.weights.file),
                format!("{} ({})", new.weights.sha256, new.weights.file),
            );
        }
        if self.dataset.sha256 != new.dataset.sha256 || self.dataset.videos != new.dataset.videos {
            return mismatch(
                "dataset list sha256",
                format!("{} ({} videos)", self.dataset.sha256, self.dataset.videos),
                format!("{} ({} videos)", new.dataset.sha256, new.dataset.videos),
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Ok,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewRecord {
    pub clip: u32,
    pub crop: u32,
    pub scores: Vec<f32>,
    /// The head's output before its activation (the projection averaged over its positions),
    /// stored for variant runs and fidelity files, so that logit differences can be recomputed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logits: Option<Vec<f32>>,
}

/// An AVA ground-truth box of a keyframe: normalised `[x1, y1, x2, y2]` and its action ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GtBoxRecord {
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
    pub actions: Vec<u32>,
}

/// An AVA person box the detector scored: normalised `[x1, y1, x2, y2]` as read, the person
/// detector's score, and one score per class (index i = action id i + 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxRecord {
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
    pub person_score: f64,
    pub scores: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub index: usize,
    pub id: String,
    pub status: RecordStatus,
    /// Single-label datasets (−1: no label in the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<i64>,
    /// Multi-label datasets (Charades).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<i64>>,
    /// The views aggregated as the protocol says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<ViewRecord>,
    /// AVA: the keyframe's ground-truth boxes (the label map's classes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<Vec<GtBoxRecord>>,
    /// AVA, `ok` only: the scored person boxes (empty: none above the detection threshold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boxes: Option<Vec<BoxRecord>>,
    /// Failed only: `missing`, `label_out_of_range`, `decode`, `inference`, `unsupported_source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests;
