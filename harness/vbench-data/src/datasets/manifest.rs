//! A dataset list as read from under a data root, and the hash that names it, so two labs (or
//! two shards) can tell they used the same set. `vbench check-data` prints the hash; predictions
//! headers record it.

use super::format::ClassList;
use super::sample::{Labels, Sample, Source};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::PathBuf;
use vbench_suite::Dataset;

/// A dataset list as read from under a data root.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub dataset: Dataset,
    /// The reader's name (`kinetics`, `ssv2`, `charades`, `ava`, `ucf101`, `hmdb51`).
    pub name: String,
    pub root: PathBuf,
    /// The list that was read, relative to the root.
    pub manifest: String,
    pub samples: Vec<Sample>,
    pub classes: Option<Vec<String>>,
    /// The class list labels map through (checked against the model's output size).
    pub class_list: Option<ClassList>,
    /// AVA: the evaluated classes `(id, name)` of the `.pbtxt`, in file order.
    pub label_map: Option<Vec<(u32, String)>>,
}

impl Manifest {
    /// [`manifest_hash`] of the samples.
    pub fn hash(&self) -> String {
        manifest_hash(&self.samples)
    }
}

/// The hash that names a dataset list: lowercase hex sha256 over one UTF-8 line per sample, in
/// list order (the order decides sharding, so it is part of the identity):
///
/// `{position}\t{id}\t{labels}\n`
///
/// - `position`: 0-based index in the list;
/// - `id`: the sample id: the path as written in a Kinetics or UCF101 list (relative to the data
///   root; class folder + file for folder layouts), the video file name of an HMDB51 split file,
///   the SSv2/Charades video id, `video_id,SSSS` (keyframe second, 4 digits) for AVA;
/// - `labels`: single label → decimal (`-1` = none); multi-label → `[a, b, c]` ascending (Rust's
///   `{:?}` of the sorted list); AVA → the keyframe's boxes as `x1,y1,x2,y2:a+b` joined by `;`
///   (shortest round-trip decimals, action ids as in the CSV), then ` | ` and the person boxes the
///   detector scores as `x1,y1,x2,y2@score` joined by `;`.
///
/// Paths beyond the id are left out: the same list under another root is the same dataset.
pub fn manifest_hash(samples: &[Sample]) -> String {
    let mut h = Sha256::new();
    let mut line = String::new();
    for (i, s) in samples.iter().enumerate() {
        line.clear();
        let _ = write!(line, "{i}\t{}\t", s.id);
        match &s.labels {
            Labels::Single(l) => {
                let _ = write!(line, "{l}");
            }
            Labels::Multi(ls) => {
                let _ = write!(line, "{ls:?}");
            }
            Labels::Boxes(bs) => {
                for (k, b) in bs.iter().enumerate() {
                    let [x1, y1, x2, y2] = b.bbox;
                    let acts: Vec<String> = b.actions.iter().map(u32::to_string).collect();
                    let sep = if k == 0 { "" } else { ";" };
                    let _ = write!(line, "{sep}{x1},{y1},{x2},{y2}:{}", acts.join("+"));
                }
            }
        }
        if let Source::Keyframe { person_boxes, .. } = &s.source {
            line.push_str(" | ");
            for (k, b) in person_boxes.iter().enumerate() {
                let [x1, y1, x2, y2] = b.bbox;
                let sep = if k == 0 { "" } else { ";" };
                let _ = write!(line, "{sep}{x1},{y1},{x2},{y2}@{}", b.score);
            }
        }
        line.push('\n');
        h.update(line.as_bytes());
    }
    h.finalize()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
