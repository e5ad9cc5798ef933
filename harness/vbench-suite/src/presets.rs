//! Typed presets for the protocol fields of a suite file: each is one word in TOML, and its
//! constants live here, once.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dataset {
    Kinetics400,
    Ssv2,
    Charades,
    Ava,
    Ucf101,
    Hmdb51,
}

impl Dataset {
    /// What is measured on this dataset: single-label top-k, multi-label mAP, or box-level detection mAP.
    pub fn task(self) -> Task {
        match self {
            Dataset::Kinetics400 | Dataset::Ssv2 | Dataset::Ucf101 | Dataset::Hmdb51 => {
                Task::Classification
            }
            Dataset::Charades => Task::MultiLabel,
            Dataset::Ava => Task::Detection,
        }
    }

    /// Whether the dataset ships official train/test folds, one of which the suite's `split`
    /// key chooses.
    pub fn has_folds(self) -> bool {
        matches!(self, Dataset::Ucf101 | Dataset::Hmdb51)
    }
}

/// One of the three official train/test folds of UCF101 and HMDB51: `split = 1|2|3` in a
/// suite's `[suite]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct Fold(u8);

impl Fold {
    /// The fold evaluated when a suite gives none (the one most papers report).
    pub const FIRST: Fold = Fold(1);

    pub fn number(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Fold {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match v {
            1..=3 => Ok(Fold(v as u8)),
            _ => Err(format!("split {v}: the official folds are 1, 2 and 3")),
        }
    }
}

impl From<Fold> for u8 {
    fn from(f: Fold) -> u8 {
        f.0
    }
}

impl std::fmt::Display for Fold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    MultiLabel,
    Detection,
}

/// Channel order the model was trained on. SSv2 and Charades models take BGR (PySlowFast `rgb2bgr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

/// Per-channel normalization, applied to pixels already divided by 255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// PySlowFast's DATA.MEAN = [0.45]*3, DATA.STD = [0.225]*3, used by every zoo entry.
    Kinetics,
}

impl Normalization {
    pub fn mean(self) -> [f32; 3] {
        match self {
            Normalization::Kinetics => [0.45; 3],
        }
    }
    pub fn std(self) -> [f32; 3] {
        match self {
            Normalization::Kinetics => [0.225; 3],
        }
    }
}

/// The head's eval-time activation. `None` serves a model whose output is already a score (a
/// TorchScript module that ends in softmax or sigmoid): vbench then aggregates its output as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Softmax,
    Sigmoid,
    None,
}

/// How per-view scores become one video score (PySlowFast TestMeter, DATA.ENSEMBLE_METHOD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Sum,
    Max,
}

/// Which clips of a video are views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampler {
    /// PyTorchVideo 0.1.5's `ConstantClipsPerVideoSampler`, the one the zoo was evaluated with: clip k
    /// of n starts at k·max(d − c, 0)/n s, with c = Fraction(float(T·τ/30)). Upstream changed the
    /// spacing to /max(n − 1, 1) in April 2022, after 0.1.5; vbench-data offers that as an option
    /// (`ClipSpacing::PerGap`) but replays 0.1.5 by default.
    ConstantClipsPerVideo,
    /// AVA: one clip centred on each annotated keyframe (1 Hz), frames 902–1798 at 30 fps.
    AvaKeyframe,
}

/// How FLOPs are counted, after fvcore's history. The published tables mix the first two; the
/// counting itself lives with the FLOPs code, the names live here so suites can declare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
pub enum FlopsConvention {
    /// conv + linear/matmul as multiply-adds, every norm at 5 FLOPs per element (fvcore Mar–Jun
    /// 2021; fvcore on a `train()` model).
    #[serde(rename = "fvcore-2021")]
    Fvcore2021,
    /// conv + linear/matmul only, norms not counted (fvcore before Mar 2021).
    #[serde(rename = "conv-linear")]
    ConvLinear,
    /// Today's fvcore default on an `eval()` model: BatchNorm at 2 per element, other norms at 5.
    #[serde(rename = "fvcore-eval")]
    FvcoreEval,
}

impl FlopsConvention {
    /// Also the order in which a reproducing convention is chosen when several print the same.
    pub const ALL: [FlopsConvention; 3] = [
        FlopsConvention::Fvcore2021,
        FlopsConvention::ConvLinear,
        FlopsConvention::FvcoreEval,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FlopsConvention::Fvcore2021 => "fvcore-2021",
            FlopsConvention::ConvLinear => "conv-linear",
            FlopsConvention::FvcoreEval => "fvcore-eval",
        }
    }

    pub fn from_name(s: &str) -> Option<FlopsConvention> {
        FlopsConvention::ALL.into_iter().find(|c| c.name() == s)
    }

    pub fn description(self) -> &'static str {
        match self {
            FlopsConvention::Fvcore2021 => {
                "conv + linear/matmul, norms at 5 per element (fvcore Mar-Jun 2021; fvcore on a train() model)"
            }
            FlopsConvention::ConvLinear => {
                "conv + linear/matmul only, norms not counted (fvcore before Mar 2021)"
            }
            FlopsConvention::FvcoreEval => {
                "fvcore's default on an eval() model: BatchNorm at 2 per element, LayerNorm at 5"
            }
        }
    }
}

impl std::fmt::Display for FlopsConvention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
