//! The validated suite: a [`Plan`] of [`Entry`]s, each with its complete [`Protocol`] and
//! [`Checkpoint`]. Parsing (`plan.rs`) and entry resolution (`entry.rs`) build these.

use crate::arch::Arch;
use crate::model::ModelSource;
use crate::presets::*;
use crate::published::Published;
use crate::raw::RawProtocol;
use crate::reference::{Precision, ReferenceRow};
use crate::variant::Variant;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One view's input and the whole test protocol of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// T of "T×τ"; for SlowFast, the slow pathway's frame count.
    pub frames: u32,
    /// τ: the stride in frames at the target frame rate.
    pub sample_rate: u32,
    /// SlowFast only: the fast pathway gets α·T frames.
    pub alpha: Option<u32>,
    pub short_side: u32,
    pub crop: u32,
    pub spatial_crops: u32,
    pub temporal_clips: u32,
    pub target_fps: u32,
    pub num_classes: u32,
    pub channels: ChannelOrder,
    pub normalization: Normalization,
    pub head_activation: Activation,
    pub aggregation: Aggregation,
    pub sampler: Sampler,
    /// AVA: person detections scored by the model need at least this detector score
    /// (PySlowFast's `AVA.DETECTION_SCORE_THRESH`, 0.8 in its v2.2 configs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_score_threshold: Option<f64>,
}

impl Protocol {
    /// Frames decoded for one clip: α·T for SlowFast (the slow pathway subsamples them), else T.
    pub fn input_frames(&self) -> u32 {
        self.frames * self.alpha.unwrap_or(1)
    }
    pub fn views(&self) -> u32 {
        self.spatial_crops * self.temporal_clips
    }
    /// Clip duration in seconds as an exact fraction (numerator, denominator): T·τ / target_fps.
    /// For SlowFast, T is the fast pathway's α·T at stride τ/α, so the span is the same T·τ.
    pub fn clip_duration(&self) -> (u64, u64) {
        (
            self.frames as u64 * self.sample_rate as u64,
            self.target_fps as u64,
        )
    }
}

/// A zoo model's weights. Serialized as `{"file", "url"}` (`url` null and `path` set for one's own).
#[derive(Debug, Clone, PartialEq)]
pub enum Checkpoint {
    /// A file of the published zoo, by name; `vbench fetch` downloads it from `url`.
    Official { file: String, url: String },
    /// One's own weights (fine-tuned, another class count): a path, resolved against the suite
    /// file's folder. Loaded as strictly as the official files.
    Path(PathBuf),
}

impl Checkpoint {
    /// The file name: the official name, or the last segment of the path.
    pub fn file_name(&self) -> String {
        match self {
            Checkpoint::Official { file, .. } => file.clone(),
            Checkpoint::Path(p) => p
                .file_name()
                .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into()),
        }
    }

    pub fn url(&self) -> Option<&str> {
        match self {
            Checkpoint::Official { url, .. } => Some(url),
            Checkpoint::Path(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// `<suite>/<name>`.
    pub id: String,
    pub name: String,
    /// The network: a zoo architecture or a TorchScript file.
    pub model: ModelSource,
    pub precision: Precision,
    pub protocol: Protocol,
    /// Zoo models' weights; `None` for TorchScript files, which hold their own.
    pub checkpoint: Option<Checkpoint>,
    /// The reference-table row, when the entry names one.
    pub reference: Option<ReferenceRow>,
    /// What the entry is judged against: the row's numbers, overridden by inline ones.
    pub published: Published,
    /// The zoo entry whose protocol this entry took (`k400/x3d_m`).
    pub protocol_from: Option<String>,
    pub notes: Option<String>,
}

impl Serialize for Checkpoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Checkpoint", 3)?;
        st.serialize_field("file", &self.file_name())?;
        st.serialize_field("url", &self.url())?;
        if let Checkpoint::Path(p) = self {
            st.serialize_field("path", p)?;
        }
        st.end()
    }
}

/// `arch` is the model's label (the zoo name, or `torchscript:<file>`), so tables keyed on it keep
/// working; `model` says where the network comes from.
impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Entry", 11)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("arch", &self.model.label())?;
        st.serialize_field("model", &self.model)?;
        st.serialize_field("precision", &self.precision)?;
        st.serialize_field("protocol", &self.protocol)?;
        st.serialize_field("checkpoint", &self.checkpoint)?;
        st.serialize_field("reference", &self.reference)?;
        st.serialize_field("published", &self.published)?;
        st.serialize_field("protocol_from", &self.protocol_from)?;
        st.serialize_field("notes", &self.notes)?;
        st.end()
    }
}

impl Entry {
    /// The zoo architecture, for entries that are one.
    pub fn arch(&self) -> Option<Arch> {
        self.model.arch()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SuiteInfo {
    pub name: String,
    pub title: String,
    pub dataset: Dataset,
    /// The official fold (`split`), for datasets that have folds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Fold>,
    pub task: Task,
    pub description: Option<String>,
    /// `variants = [...]`: each entry is also measured as these (fp32, the reference, always is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub suite: SuiteInfo,
    /// Where the suite came from: a file path, or `builtin:<name>`.
    pub source: PathBuf,
    pub entries: Vec<Entry>,
}

impl Plan {
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name || e.id == name)
    }
}

/// A validation error of one entry: (key, message); the caller adds the file and the entry.
pub(crate) type KeyError = (String, String);

impl From<&Protocol> for RawProtocol {
    fn from(p: &Protocol) -> RawProtocol {
        RawProtocol {
            frames: Some(p.frames),
            sample_rate: Some(p.sample_rate),
            alpha: p.alpha,
            short_side: Some(p.short_side),
            crop: Some(p.crop),
            spatial_crops: Some(p.spatial_crops),
            temporal_clips: Some(p.temporal_clips),
            target_fps: Some(p.target_fps),
            num_classes: Some(p.num_classes),
            channels: Some(p.channels),
            normalization: Some(p.normalization),
            head_activation: Some(p.head_activation),
            aggregation: Some(p.aggregation),
            sampler: Some(p.sampler),
            person_score_threshold: p.person_score_threshold,
        }
    }
}
