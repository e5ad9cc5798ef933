//! The suite file exactly as written: serde structs with `deny_unknown_fields`. Validation into a
//! [`crate::Plan`] happens in `plan.rs`.

use crate::model::RawModel;
use crate::presets::*;
use crate::published::RawPublished;
use crate::reference::Precision;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSuite {
    pub suite: RawHeader,
    #[serde(default)]
    pub protocol: RawProtocol,
    #[serde(rename = "entry", default)]
    pub entries: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    pub name: String,
    pub title: String,
    pub dataset: Dataset,
    /// UCF101 / HMDB51: the official fold to evaluate (default 1).
    #[serde(default)]
    pub split: Option<Fold>,
    /// File name in `reference-results/`; a suite of one's own models may have none.
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Speed variants every entry is also measured as (`fp32`, `bf16`, ...), checked in `plan.rs`.
    #[serde(default)]
    pub variants: Vec<String>,
}

/// Protocol fields; `[protocol]` gives suite defaults and each entry's `protocol = { .. }` overrides them.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProtocol {
    pub frames: Option<u32>,
    pub sample_rate: Option<u32>,
    pub alpha: Option<u32>,
    pub short_side: Option<u32>,
    pub crop: Option<u32>,
    pub spatial_crops: Option<u32>,
    pub temporal_clips: Option<u32>,
    pub target_fps: Option<u32>,
    pub num_classes: Option<u32>,
    pub channels: Option<ChannelOrder>,
    pub normalization: Option<Normalization>,
    pub head_activation: Option<Activation>,
    pub aggregation: Option<Aggregation>,
    pub sampler: Option<Sampler>,
    pub person_score_threshold: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntry {
    pub name: String,
    pub model: RawModel,
    /// Zoo models: an official checkpoint file name (that of the reference row's URL, when the
    /// entry has a row), or a path to one's own weights, relative to the suite file.
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// Row id in the suite's reference table.
    #[serde(default)]
    pub reference: Option<String>,
    /// A zoo entry (`k400/x3d_m`) whose whole protocol this entry takes; the suite's
    /// `[protocol]` and the entry's own `protocol` keys override it.
    #[serde(default)]
    pub protocol_from: Option<String>,
    /// Published numbers written inline; they override the reference row's.
    #[serde(default)]
    pub published: Option<RawPublished>,
    #[serde(default)]
    pub precision: Option<Precision>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub protocol: RawProtocol,
}

impl RawProtocol {
    /// Key by key: `self`'s value where set, else `under`'s.
    pub fn or(&self, under: &RawProtocol) -> RawProtocol {
        macro_rules! pick {
            ($($f:ident),*) => {
                RawProtocol { $($f: self.$f.or(under.$f)),* }
            };
        }
        pick!(
            frames,
            sample_rate,
            alpha,
            short_side,
            crop,
            spatial_crops,
            temporal_clips,
            target_fps,
            num_classes,
            channels,
            normalization,
            head_activation,
            aggregation,
            sampler,
            person_score_threshold
        )
    }
}
