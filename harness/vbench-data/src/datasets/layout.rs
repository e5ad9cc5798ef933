//! Where each dataset's list lives under `--data-root`, and the hash that names a list.
//!
//! Layouts (paths in the lists are relative to the data root, as PySlowFast's `PATH_PREFIX`):
//!
//! | dataset | files under the root (first match wins) |
//! |---|---|
//! | Kinetics-400 | `test.csv` or `val.csv` (`<path> <label>` lines), or a `test/` or `val/` folder of class folders named as `kinetics400_classnames.txt` |
//! | SSv2 | `something-something-v2-labels.json`, `something-something-v2-validation.json`, `val.csv` (frame list) |
//! | Charades | `test.csv` or `val.csv` (frame list) |
//! | AVA v2.2 | `annotations/ava_val_v2.2.csv`, `annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt`, `annotations/ava_val_predicted_boxes.csv`, optional `annotations/ava_val_excluded_timestamps_v2.2.csv`, frames in `frames/<video_id>/` (listed by `frame_lists/val.csv` if present) |
//!
//! `vbench check-data` and the evaluation loop read lists through [`load_manifest`] and name them
//! with [`manifest_hash`], so two labs (or two shards) can tell they used the same set.

use super::{Ava, AvaFiles, Charades, Kinetics, Labels, Sample, Source, Ssv2, VideoDataset};
use crate::error::{DataError, Result};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use vbench_suite::Dataset;

/// A dataset list as read from under a data root.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub dataset: Dataset,
    /// The reader's name (`kinetics`, `ssv2`, `charades`, `ava`).
    pub name: String,
    pub root: PathBuf,
    /// The list that was read, relative to the root.
    pub manifest: String,
    pub samples: Vec<Sample>,
    pub classes: Option<Vec<String>>,
    /// AVA: the evaluated classes `(id, name)` of the `.pbtxt`, in file order.
    pub label_map: Option<Vec<(u32, String)>>,
}

/// AVA v2.2 file names (PySlowFast's defaults), under `annotations/` unless said otherwise.
pub const AVA_GROUNDTRUTH: &str = "ava_val_v2.2.csv";
pub const AVA_LABEL_MAP: &str = "ava_action_list_v2.2_for_activitynet_2019.pbtxt";
pub const AVA_EXCLUDED: &str = "ava_val_excluded_timestamps_v2.2.csv";
pub const AVA_PERSON_BOXES: &str = "ava_val_predicted_boxes.csv";
/// Relative to the data root; frame paths in it are relative to `frames/`.
pub const AVA_FRAME_LIST: &str = "frame_lists/val.csv";

impl Manifest {
    /// [`manifest_hash`] of the samples.
    pub fn hash(&self) -> String {
        manifest_hash(&self.samples)
    }
}

/// The files a dataset's layout needs, for messages and `--help`.
pub fn expected_layout(dataset: Dataset) -> &'static str {
    match dataset {
        Dataset::Kinetics400 => {
            "test.csv or val.csv (`<path> <label>` lines, paths relative to the root), or a test/ \
             or val/ folder of class folders"
        }
        Dataset::Ssv2 => {
            "something-something-v2-labels.json, something-something-v2-validation.json and \
             val.csv (the frame list, paths relative to the root)"
        }
        Dataset::Charades => "test.csv or val.csv (the frame list, paths relative to the root)",
        Dataset::Ava => {
            "annotations/ava_val_v2.2.csv, annotations/ava_action_list_v2.2_for_activitynet_2019.\
             pbtxt, annotations/ava_val_predicted_boxes.csv (person detections), optional \
             annotations/ava_val_excluded_timestamps_v2.2.csv, frames/<video_id>/*.jpg at 30 fps \
             (frame 0 = second 900), optional frame_lists/val.csv"
        }
    }
}

fn first_existing(root: &Path, names: &[&str]) -> Option<(String, PathBuf)> {
    names
        .iter()
        .map(|n| (n.to_string(), root.join(n)))
        .find(|(_, p)| p.exists())
}

/// Reads `dataset`'s list under `root` (layouts in the module doc). `kinetics_classes` maps
/// Kinetics class folders to label indices (without it, folders are indexed in sorted order).
pub fn load_manifest(
    dataset: Dataset,
    root: &Path,
    kinetics_classes: Option<&[String]>,
) -> Result<Manifest> {
    load_manifest_with(dataset, root, kinetics_classes, AVA_DETECTION_SCORE_THRESH)
}

/// PySlowFast's `AVA.DETECTION_SCORE_THRESH` in its AVA v2.2 configs.
pub const AVA_DETECTION_SCORE_THRESH: f64 = 0.8;

/// [`load_manifest`] with AVA's person-box score threshold given.
pub fn load_manifest_with(
    dataset: Dataset,
    root: &Path,
    kinetics_classes: Option<&[String]>,
    ava_threshold: f64,
) -> Result<Manifest> {
    let mut ava_label_map = None;
    let layout = |message: String| DataError::Dataset {
        path: root.to_path_buf(),
        message: format!("{message}; expected {}", expected_layout(dataset)),
    };
    if !root.is_dir() {
        return Err(DataError::Dataset {
            path: root.to_path_buf(),
            message: "the data root is not a directory".into(),
        });
    }
    let (manifest, ds): (String, Box<dyn VideoDataset>) = match dataset {
        Dataset::Kinetics400 => {
            let names = ["test.csv", "val.csv", "test", "val"];
            let (name, path) =
                first_existing(root, &names).ok_or_else(|| layout("no Kinetics list".into()))?;
            let ds = if path.is_dir() {
                Kinetics::from_dir(&path, kinetics_classes)?
            } else {
                Kinetics::from_list(&path, root)?
            };
            (name, Box::new(ds))
        }
        Dataset::Ssv2 => {
            let files = [
                "something-something-v2-labels.json",
                "something-something-v2-validation.json",
                "val.csv",
            ];
            if let Some(f) = files.iter().find(|f| !root.join(f).exists()) {
                return Err(layout(format!("no {f}")));
            }
            let p = |i: usize| root.join(files[i]);
            let ds = Ssv2::new(&p(0), &p(1), &p(2), root)?;
            ("val.csv".into(), Box::new(ds))
        }
        Dataset::Charades => {
            let (name, path) = first_existing(root, &["test.csv", "val.csv"])
                .ok_or_else(|| layout("no Charades frame list".into()))?;
            (name, Box::new(Charades::from_frame_list(&path, root)?))
        }
        Dataset::Ava => {
            let ann = root.join("annotations");
            let need = |f: &str| {
                let p = ann.join(f);
                if p.exists() {
                    Ok(p)
                } else {
                    Err(layout(format!("no annotations/{f}")))
                }
            };
            let gt = need(AVA_GROUNDTRUTH)?;
            let label_map = need(AVA_LABEL_MAP)?;
            let person_boxes = need(AVA_PERSON_BOXES)?;
            let excluded = Some(ann.join(AVA_EXCLUDED)).filter(|p| p.exists());
            let frame_list = Some(root.join(AVA_FRAME_LIST)).filter(|p| p.exists());
            let ds = Ava::new(&AvaFiles {
                groundtruth: &gt,
                label_map: Some(&label_map),
                excluded: excluded.as_deref(),
                person_boxes: &person_boxes,
                score_threshold: ava_threshold,
                frame_list: frame_list.as_deref(),
                frames_root: &root.join("frames"),
            })?;
            ava_label_map = ds.label_map.clone();
            (format!("annotations/{AVA_GROUNDTRUTH}"), Box::new(ds))
        }
    };
    Ok(Manifest {
        dataset,
        name: ds.name().to_string(),
        root: root.to_path_buf(),
        manifest,
        samples: ds.samples().to_vec(),
        classes: ds.class_names().map(<[String]>::to_vec),
        label_map: ava_label_map,
    })
}

/// The hash that names a dataset list: lowercase hex sha256 over one UTF-8 line per sample, in
/// list order (the order decides sharding, so it is part of the identity):
///
/// `{position}\t{id}\t{labels}\n`
///
/// - `position`: 0-based index in the list;
/// - `id`: the sample id: the path as written in a Kinetics list (relative to the data root;
///   class folder + file for folder layouts), the SSv2/Charades video id, `video_id,SSSS` (keyframe second, 4 digits) for AVA;
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
