//! Validation: a raw suite plus its reference table become a [`Plan`] whose every entry has a complete,
//! consistent protocol. Every error names the file, the entry and the key.

use crate::arch::Arch;
use crate::entry::{resolve_entry, EntryContext};
use crate::error::{Result, SuiteError};
use crate::model::ModelSource;
use crate::presets::*;
use crate::published::Published;
use crate::raw::{RawProtocol, RawSuite};
use crate::reference::{Precision, ReferenceRow};
use crate::variant::Variant;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

/// Parses and validates suite text. `path` labels errors and anchors the relative paths of model
/// files and checkpoints; `reference` resolves the table it names.
pub fn parse_plan(
    path: &Path,
    text: &str,
    reference: impl Fn(&str) -> Result<Vec<ReferenceRow>>,
) -> Result<Plan> {
    let raw: RawSuite = toml::from_str(text).map_err(|e| SuiteError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().replace('\n', "\n  "),
    })?;
    let invalid = |entry: &str, key: &str, message: String| SuiteError::Invalid {
        path: path.to_path_buf(),
        entry: entry.to_string(),
        key: key.to_string(),
        message,
    };
    let suite = &raw.suite;
    if suite.name.is_empty()
        || !suite
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(invalid(
            "-",
            "suite.name",
            "must be a non-empty [A-Za-z0-9_] word".into(),
        ));
    }
    if suite.split.is_some() && !suite.dataset.has_folds() {
        return Err(invalid(
            "-",
            "suite.split",
            format!(
                "{:?} has no official folds; `split` applies to ucf101 and hmdb51",
                suite.dataset
            )
            .to_lowercase(),
        ));
    }
    if raw.entries.is_empty() {
        return Err(invalid(
            "-",
            "entry",
            "the suite declares no [[entry]]".into(),
        ));
    }
    let variants = suite
        .variants
        .iter()
        .map(|v| v.parse::<Variant>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|err| invalid("-", "suite.variants", err.to_string()))?;
    let table = match &suite.reference {
        Some(file) => Some((file.as_str(), reference(file)?)),
        None => None,
    };
    let ctx = EntryContext {
        dir: path.parent().unwrap_or(Path::new("")),
        defaults: &raw.protocol,
        table: table.as_ref().map(|(f, rows)| (*f, rows.as_slice())),
    };
    let mut entries: Vec<Entry> = Vec::with_capacity(raw.entries.len());
    for e in &raw.entries {
        if entries.iter().any(|x| x.name == e.name) {
            return Err(invalid(&e.name, "name", "duplicate entry name".into()));
        }
        let entry =
            resolve_entry(&ctx, &suite.name, e).map_err(|(k, m)| invalid(&e.name, &k, m))?;
        entries.push(entry);
    }
    Ok(Plan {
        suite: SuiteInfo {
            name: suite.name.clone(),
            title: suite.title.clone(),
            dataset: suite.dataset,
            split: suite.split,
            task: suite.dataset.task(),
            description: suite.description.clone(),
            variants,
        },
        source: path.to_path_buf(),
        entries,
    })
}

pub(crate) type KeyError = (String, String);

pub(crate) fn check_protocol(
    model: &ModelSource,
    p: &Protocol,
) -> std::result::Result<(), KeyError> {
    let err = |k: &str, m: String| Err((k.to_string(), m));
    let positive = [
        ("protocol.frames", p.frames),
        ("protocol.sample_rate", p.sample_rate),
        ("protocol.short_side", p.short_side),
        ("protocol.crop", p.crop),
        ("protocol.temporal_clips", p.temporal_clips),
        ("protocol.target_fps", p.target_fps),
        ("protocol.num_classes", p.num_classes),
    ];
    for (k, v) in positive {
        if v == 0 {
            return err(k, "must be > 0".into());
        }
    }
    if !matches!(p.spatial_crops, 1 | 3) {
        return err(
            "protocol.spatial_crops",
            format!("must be 1 or 3, got {}", p.spatial_crops),
        );
    }
    if p.crop > p.short_side {
        return err(
            "protocol.crop",
            format!("crop {} is larger than short_side {}", p.crop, p.short_side),
        );
    }
    let two = match model {
        ModelSource::Zoo(_) => "is a SlowFast model",
        ModelSource::TorchScript { .. } => "takes the slowfast input layout",
    };
    match (model.is_slowfast(), p.alpha) {
        (true, None) => return err("protocol.alpha", format!("`{model}` {two} and needs α")),
        (false, Some(_)) => {
            return err(
                "protocol.alpha",
                format!("`{model}` has one pathway; α does not apply"),
            )
        }
        (true, Some(a)) if a == 0 || !p.sample_rate.is_multiple_of(a) => {
            return err(
                "protocol.alpha",
                format!(
                    "α {a} must divide sample_rate {} (the fast pathway's stride is τ/α)",
                    p.sample_rate
                ),
            )
        }
        _ => {}
    }
    if model.is_detector() != (p.sampler == Sampler::AvaKeyframe) {
        return err(
            "protocol.sampler",
            format!("`{:?}` does not fit model `{model}`", p.sampler),
        );
    }
    match (model.is_detector(), p.person_score_threshold) {
        (true, None) => err(
            "protocol.person_score_threshold",
            format!("`{model}` scores detected person boxes and needs their score threshold"),
        ),
        (true, Some(t)) if !(0.0..=1.0).contains(&t) => err(
            "protocol.person_score_threshold",
            format!("{t} is not a score in [0, 1]"),
        ),
        (false, Some(_)) => err(
            "protocol.person_score_threshold",
            format!("`{model}` is not a detector; it takes no person boxes"),
        ),
        _ => Ok(()),
    }
}

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
