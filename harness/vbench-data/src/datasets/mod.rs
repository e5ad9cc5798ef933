//! Dataset manifests behind one trait: every reader turns its annotation files into a list of
//! [`Sample`]s (an id, the label(s), where the pixels are). Formats follow PyTorchVideo / PySlowFast;
//! every parse error names the file and the 1-based line.

mod ava;
mod charades;
mod kinetics;
mod layout;
mod splits;
mod ssv2;

pub use ava::{read_ava_label_map, Ava, AvaBox, AvaFiles, PersonBox, AVA_VALID_SECONDS};
pub use charades::Charades;
pub use kinetics::{read_class_names, Kinetics};
pub use layout::{
    expected_layout, load_manifest, load_manifest_with, manifest_hash, Manifest,
    AVA_DETECTION_SCORE_THRESH, AVA_EXCLUDED, AVA_FRAME_LIST, AVA_GROUNDTRUTH, AVA_LABEL_MAP,
    AVA_PERSON_BOXES,
};
pub use splits::{Hmdb51, HmdbSplit, Ucf101};
pub use ssv2::Ssv2;

use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

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

/// One trait for every dataset reader.
pub trait VideoDataset {
    /// A short name for reports (`kinetics`, `ssv2`, …).
    fn name(&self) -> &str;
    fn samples(&self) -> &[Sample];
    /// Class names by index, when the annotation files give them.
    fn class_names(&self) -> Option<&[String]> {
        None
    }
}

/// Reads a text file and yields (1-based line number, line) for lines that are not blank.
pub(crate) fn read_lines(path: &Path) -> Result<Vec<(usize, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r').to_string()))
        .collect())
}

/// Python's `str.rsplit(None, 1)`: the last whitespace-separated token and everything before it.
pub(crate) fn rsplit_last(line: &str) -> (&str, Option<&str>) {
    let t = line.trim();
    match t.rfind(char::is_whitespace) {
        Some(i) => (t[..i].trim_end(), Some(&t[i + 1..])),
        None => (t, None),
    }
}

/// Joins `rel` to `prefix` as `os.path.join` does (an absolute `rel` wins).
pub(crate) fn join(prefix: &Path, rel: &str) -> PathBuf {
    prefix.join(rel)
}

/// The space-separated frame list SSv2 and Charades share:
/// `original_vido_id video_id frame_id path labels`, with a header row. Returns, per video in
/// order of first appearance, its frame paths and the per-frame label fields (with their lines).
pub(crate) struct FrameList {
    pub videos: Vec<FrameListVideo>,
}

pub(crate) struct FrameListVideo {
    pub id: String,
    pub paths: Vec<PathBuf>,
    /// (1-based line, the `labels` field) per frame.
    pub labels: Vec<(usize, String)>,
}

pub(crate) fn read_frame_list(path: &Path, prefix: &Path) -> Result<FrameList> {
    let lines = read_lines(path)?;
    let Some((hl, header)) = lines.first() else {
        return Err(DataError::Dataset {
            path: path.to_path_buf(),
            message: "the frame list is empty".into(),
        });
    };
    let cols: Vec<&str> = header.split(' ').collect();
    let want = ["original_vido_id", "video_id", "frame_id", "path", "labels"];
    let pos = |name: &str| cols.iter().position(|c| c.trim_matches('"') == name);
    let idx: Vec<usize> = want
        .iter()
        .map(|w| {
            pos(w).ok_or_else(|| {
                DataError::parse(path, *hl, format!("the header lacks the `{w}` column"))
            })
        })
        .collect::<Result<_>>()?;
    let mut order: Vec<FrameListVideo> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (n, line) in &lines[1..] {
        let fields: Vec<&str> = line.split(' ').map(|f| f.trim_matches('"')).collect();
        if fields.len() != cols.len() {
            return Err(DataError::parse(
                path,
                *n,
                format!("{} fields, the header has {}", fields.len(), cols.len()),
            ));
        }
        let video = fields[idx[0]].to_string();
        let i = *index.entry(video.clone()).or_insert_with(|| {
            order.push(FrameListVideo {
                id: video,
                paths: Vec::new(),
                labels: Vec::new(),
            });
            order.len() - 1
        });
        order[i].paths.push(join(prefix, fields[idx[3]]));
        order[i].labels.push((*n, fields[idx[4]].to_string()));
    }
    Ok(FrameList { videos: order })
}

#[cfg(test)]
mod tests;
