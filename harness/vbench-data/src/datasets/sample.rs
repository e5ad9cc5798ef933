//! What a dataset list is made of: samples with their labels and where their pixels are. Every
//! format produces these; views, checks and the evaluation consume them.

use std::path::PathBuf;

/// What a sample is labelled with.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    /// One class index; -1 when the list gives none (PyTorchVideo's convention for test splits).
    Single(i64),
    /// Several class indices (Charades: the union over the video's frames), sorted.
    Multi(Vec<i64>),
    /// AVA: the annotated boxes of one keyframe.
    Boxes(Vec<AvaBox>),
}

/// Where a sample's pixels come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Video(PathBuf),
    /// JPEG frames in temporal order.
    Frames(Vec<PathBuf>),
    /// AVA: the keyframe at `timestamp` seconds of a movie whose frames are under `frames_dir`.
    Keyframe {
        video_id: String,
        timestamp: u32,
        frames_dir: PathBuf,
        /// Every frame of the movie in list order (frame 0 = second 900), shared by its keyframes.
        frames: std::sync::Arc<Vec<PathBuf>>,
        /// The person boxes the detector scores; none: nothing to infer (ground truth all missed).
        person_boxes: Vec<PersonBox>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub id: String,
    pub labels: Labels,
    pub source: Source,
}

/// One person box of a keyframe.
#[derive(Clone, Debug, PartialEq)]
pub struct AvaBox {
    /// `[x1, y1, x2, y2]`, normalised (float64, as the evaluator reads them).
    pub bbox: [f64; 4],
    /// AVA action ids (1-based, as in the CSV).
    pub actions: Vec<u32>,
    /// The 8th column: a person id in ground truth, a score in detections.
    pub extra: Vec<f64>,
}

/// One person box the detector scores: normalised `[x1, y1, x2, y2]` as read (float64, as
/// PySlowFast's `ori_boxes`), and the person detector's score.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonBox {
    pub bbox: [f64; 4],
    pub score: f64,
}
