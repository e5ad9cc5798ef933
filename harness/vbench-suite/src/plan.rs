//! Validation: a raw suite plus its reference table become a [`Plan`] whose every entry has a complete,
//! consistent protocol. Every error names the file, the entry and the key.

use crate::arch::Arch;
use crate::error::{Result, SuiteError};
use crate::presets::*;
use crate::raw::{RawEntry, RawProtocol, RawSuite};
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

#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    pub file: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// `<suite>/<name>`.
    pub id: String,
    pub name: String,
    pub arch: Arch,
    pub precision: Precision,
    pub protocol: Protocol,
    pub checkpoint: Checkpoint,
    pub reference: ReferenceRow,
    pub notes: Option<String>,
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

/// Parses and validates suite text. `path` labels errors; `reference` resolves the table it names.
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
    let rows = reference(&suite.reference)?;
    let mut entries = Vec::with_capacity(raw.entries.len());
    for e in &raw.entries {
        if entries.iter().any(|x: &Entry| x.name == e.name) {
            return Err(invalid(&e.name, "name", "duplicate entry name".into()));
        }
        let protocol =
            merge(&raw.protocol, &e.protocol, e).map_err(|(k, m)| invalid(&e.name, k, m))?;
        check_protocol(e.model, &protocol).map_err(|(k, m)| invalid(&e.name, k, m))?;
        let row = rows
            .iter()
            .find(|r| r.row == e.reference)
            .ok_or_else(|| {
                invalid(
                    &e.name,
                    "reference",
                    format!(
                        "no row `{}` in reference-results/{}",
                        e.reference, suite.reference
                    ),
                )
            })?
            .clone();
        check_against_row(&protocol, &row, e).map_err(|(k, m)| invalid(&e.name, k, m))?;
        let precision = e.precision.unwrap_or(Precision::Fp32);
        if precision != row.precision {
            return Err(invalid(
                &e.name,
                "precision",
                format!("the reference row is {:?}", row.precision),
            ));
        }
        entries.push(Entry {
            id: format!("{}/{}", suite.name, e.name),
            name: e.name.clone(),
            arch: e.model,
            precision,
            protocol,
            checkpoint: Checkpoint {
                file: e.checkpoint.clone(),
                url: row.checkpoint_url.clone(),
            },
            reference: row,
            notes: e.notes.clone(),
        });
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

type KeyError = (&'static str, String);

fn merge(
    defaults: &RawProtocol,
    over: &RawProtocol,
    e: &RawEntry,
) -> std::result::Result<Protocol, KeyError> {
    macro_rules! field {
        ($f:ident) => {
            over.$f.or(defaults.$f).ok_or_else(|| {
                (
                    concat!("protocol.", stringify!($f)),
                    format!(
                        "missing for model `{}` (set it in [protocol] or in the entry)",
                        e.model
                    ),
                )
            })?
        };
    }
    Ok(Protocol {
        frames: field!(frames),
        sample_rate: field!(sample_rate),
        alpha: over.alpha.or(defaults.alpha),
        short_side: field!(short_side),
        crop: field!(crop),
        spatial_crops: field!(spatial_crops),
        temporal_clips: field!(temporal_clips),
        target_fps: field!(target_fps),
        num_classes: field!(num_classes),
        channels: field!(channels),
        normalization: field!(normalization),
        head_activation: field!(head_activation),
        aggregation: field!(aggregation),
        sampler: field!(sampler),
        person_score_threshold: over
            .person_score_threshold
            .or(defaults.person_score_threshold),
    })
}

fn check_protocol(arch: Arch, p: &Protocol) -> std::result::Result<(), KeyError> {
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
            return Err((k, "must be > 0".into()));
        }
    }
    if !matches!(p.spatial_crops, 1 | 3) {
        return Err((
            "protocol.spatial_crops",
            format!("must be 1 or 3, got {}", p.spatial_crops),
        ));
    }
    if p.crop > p.short_side {
        return Err((
            "protocol.crop",
            format!("crop {} is larger than short_side {}", p.crop, p.short_side),
        ));
    }
    match (arch.is_slowfast(), p.alpha) {
        (true, None) => {
            return Err((
                "protocol.alpha",
                format!("`{arch}` is a SlowFast model and needs α"),
            ))
        }
        (false, Some(_)) => {
            return Err((
                "protocol.alpha",
                format!("`{arch}` has one pathway; α does not apply"),
            ))
        }
        (true, Some(a)) if a == 0 || !p.sample_rate.is_multiple_of(a) => {
            return Err((
                "protocol.alpha",
                format!(
                    "α {a} must divide sample_rate {} (the fast pathway's stride is τ/α)",
                    p.sample_rate
                ),
            ))
        }
        _ => {}
    }
    if arch.is_detector() != (p.sampler == Sampler::AvaKeyframe) {
        return Err((
            "protocol.sampler",
            format!("`{:?}` does not fit model `{arch}`", p.sampler),
        ));
    }
    match (arch.is_detector(), p.person_score_threshold) {
        (true, None) => {
            return Err((
                "protocol.person_score_threshold",
                format!("`{arch}` scores detected person boxes and needs their score threshold"),
            ))
        }
        (true, Some(t)) if !(0.0..=1.0).contains(&t) => {
            return Err((
                "protocol.person_score_threshold",
                format!("{t} is not a score in [0, 1]"),
            ))
        }
        (false, Some(_)) => {
            return Err((
                "protocol.person_score_threshold",
                format!("`{arch}` is not a detector; it takes no person boxes"),
            ))
        }
        _ => {}
    }
    Ok(())
}

fn check_against_row(
    p: &Protocol,
    row: &ReferenceRow,
    e: &RawEntry,
) -> std::result::Result<(), KeyError> {
    if (p.frames, p.sample_rate) != (row.frames, row.sample_rate) {
        return Err((
            "protocol.frames",
            format!(
                "{}x{} disagrees with the reference row's {}x{}",
                p.frames, p.sample_rate, row.frames, row.sample_rate
            ),
        ));
    }
    if let Some(s) = row.spatial_views {
        if s != p.spatial_crops {
            return Err((
                "protocol.spatial_crops",
                format!("{} but the table says {s}", p.spatial_crops),
            ));
        }
    }
    if let Some(t) = row.temporal_views {
        if t != p.temporal_clips {
            return Err((
                "protocol.temporal_clips",
                format!("{} but the table says {t}", p.temporal_clips),
            ));
        }
    }
    if row.checkpoint_file() != e.checkpoint {
        return Err((
            "checkpoint",
            format!(
                "`{}` but the reference row's URL ends in `{}`",
                e.checkpoint,
                row.checkpoint_file()
            ),
        ));
    }
    Ok(())
}
