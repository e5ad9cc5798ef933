//! AVA v2.2: box CSV rows `video_id,timestamp,x1,y1,x2,y2,action_id,person_id` (boxes
//! normalised to [0, 1]), the `.pbtxt` label map, the excluded timestamps, the person detections
//! the detector scores, and the frame list.
//!
//! As PySlowFast's `ava_helper` (test split) and `ava_eval_helper`:
//! - keyframes are the timestamps 902–1798; frame 0 of a movie's list is second 900 (30 fps);
//! - the model scores the **detected** person boxes (`ava_val_predicted_boxes.csv`, rows
//!   `video,sec,x1,y1,x2,y2,,score`), those with `score >= threshold` (PySlowFast drops
//!   `score < DETECTION_SCORE_THRESH`), one box per distinct coordinate string, in file order;
//! - ground-truth rows whose action is not in the label map are dropped (60 of 80 classes); a
//!   keyframe's rows with the same coordinate strings are one box with several labels;
//! - excluded keyframes are dropped from both (the evaluator ignores them);
//! - a sample is every keyframe with ground truth or detections: one with ground truth and no
//!   detection is all misses, one with detections and no ground truth all false positives.

use super::format::{layout_error, DatasetFormat, Listing, ManifestOptions};
use super::sample::{AvaBox, Labels, PersonBox, Sample, Source};
use super::text::read_lines;
use crate::error::{DataError, Result};
use crate::frames::list_frame_folder;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// AVA v2.2 file names (PySlowFast's defaults), under `annotations/` unless said otherwise.
pub const AVA_GROUNDTRUTH: &str = "ava_val_v2.2.csv";
pub const AVA_LABEL_MAP: &str = "ava_action_list_v2.2_for_activitynet_2019.pbtxt";
pub const AVA_EXCLUDED: &str = "ava_val_excluded_timestamps_v2.2.csv";
pub const AVA_PERSON_BOXES: &str = "ava_val_predicted_boxes.csv";
/// Relative to the data root; frame paths in it are relative to `frames/`.
pub const AVA_FRAME_LIST: &str = "frame_lists/val.csv";

/// The AVA v2.2 layout (`dataset = "ava"`), PySlowFast's file names.
pub struct AvaFormat;

impl DatasetFormat for AvaFormat {
    fn name(&self) -> &'static str {
        "ava"
    }

    fn layout(&self) -> &'static str {
        "annotations/ava_val_v2.2.csv, annotations/ava_action_list_v2.2_for_activitynet_2019.\
         pbtxt, annotations/ava_val_predicted_boxes.csv (person detections), optional \
         annotations/ava_val_excluded_timestamps_v2.2.csv, frames/<video_id>/*.jpg at 30 fps \
         (frame 0 = second 900), optional frame_lists/val.csv"
    }

    fn read(&self, root: &Path, opts: &ManifestOptions) -> Result<Listing> {
        let ann = root.join("annotations");
        let need = |f: &str| {
            let p = ann.join(f);
            if p.exists() {
                Ok(p)
            } else {
                Err(layout_error(self, root, &format!("no annotations/{f}")))
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
            score_threshold: opts.person_score_threshold,
            frame_list: frame_list.as_deref(),
            frames_root: &root.join("frames"),
        })?;
        Ok(Listing {
            manifest: format!("annotations/{AVA_GROUNDTRUTH}"),
            samples: ds.samples,
            label_map: ds.label_map,
            ..Listing::default()
        })
    }
}

/// Keyframes with annotations: seconds 902..=1798 of each 15-minute movie.
pub const AVA_VALID_SECONDS: std::ops::RangeInclusive<u32> = 902..=1798;

/// The `.pbtxt` label map: `item { name: "…" id: N }` → (id, name) in file order. `label_id:` is
/// accepted for `id:` (PyTorchVideo does the same).
pub fn read_ava_label_map(path: &Path) -> Result<Vec<(u32, String)>> {
    let mut out = Vec::new();
    let mut name: Option<String> = None;
    for (n, line) in read_lines(path)? {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("name:") {
            let q: Vec<&str> = rest.split('"').collect();
            if q.len() < 3 {
                return Err(DataError::parse(path, n, "expected name: \"…\""));
            }
            name = Some(q[1].to_string());
        } else if let Some(rest) = t
            .strip_prefix("id:")
            .or_else(|| t.strip_prefix("label_id:"))
        {
            let id = rest.trim().parse::<u32>().map_err(|_| {
                DataError::parse(path, n, format!("`{}` is not a class id", rest.trim()))
            })?;
            let nm = name
                .take()
                .ok_or_else(|| DataError::parse(path, n, "an id with no name before it"))?;
            out.push((id, nm));
        }
    }
    if out.is_empty() {
        return Err(DataError::Dataset {
            path: path.to_path_buf(),
            message: "no `item { name: … id: … }` entries".into(),
        });
    }
    Ok(out)
}

/// The files of an AVA evaluation (PySlowFast's `AVA.*` config keys in brackets).
#[derive(Clone, Debug)]
pub struct AvaFiles<'a> {
    /// Ground truth (`GROUNDTRUTH_FILE`, `ava_val_v2.2.csv`).
    pub groundtruth: &'a Path,
    /// The evaluated classes (`LABEL_MAP_FILE`); `None` keeps every action id.
    pub label_map: Option<&'a Path>,
    /// `EXCLUSION_FILE`.
    pub excluded: Option<&'a Path>,
    /// Person detections (`TEST_PREDICT_BOX_LISTS`).
    pub person_boxes: &'a Path,
    /// `DETECTION_SCORE_THRESH`.
    pub score_threshold: f64,
    /// `FRAME_LIST_DIR/val.csv`; `None` lists `frames_root/<video_id>/*.jpg` by name.
    pub frame_list: Option<&'a Path>,
    /// `FRAME_DIR`: frame list paths are relative to it.
    pub frames_root: &'a Path,
}

#[derive(Clone, Debug)]
pub struct Ava {
    samples: Vec<Sample>,
    /// The (video, second) keyframes the excluded-timestamps file removed.
    pub excluded: BTreeSet<(String, u32)>,
    pub label_map: Option<Vec<(u32, String)>>,
}

type Key = (String, u32);

fn read_excluded(path: &Path) -> Result<BTreeSet<Key>> {
    let mut excluded = BTreeSet::new();
    for (n, line) in read_lines(path)? {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() < 2 {
            return Err(DataError::parse(path, n, "expected `video_id,timestamp`"));
        }
        let ts = f[1]
            .parse::<u32>()
            .map_err(|_| DataError::parse(path, n, format!("`{}` is not a timestamp", f[1])))?;
        excluded.insert((f[0].to_string(), ts));
    }
    Ok(excluded)
}

/// One parsed CSV row of either box file.
struct Row {
    /// 1-based line in its file.
    line: usize,
    key: Key,
    /// The four coordinate strings: PySlowFast's box identity.
    coords: String,
    bbox: [f64; 4],
    action: Option<u32>,
    extra: Option<f64>,
}

/// Parses rows of `path`, keeping keyframes in the valid range and not excluded.
fn read_rows(path: &Path, excluded: &BTreeSet<Key>) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for (n, line) in read_lines(path)? {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() < 7 {
            return Err(DataError::parse(
                path,
                n,
                format!(
                    "{} columns; expected video_id,timestamp,x1,y1,x2,y2,action_id[,person_id|score]",
                    f.len()
                ),
            ));
        }
        let bad = |what: &str, v: &str| {
            DataError::parse(path, n, format!("{what} `{v}` is not a number"))
        };
        let ts = f[1].parse::<u32>().map_err(|_| bad("timestamp", f[1]))?;
        let key = (f[0].to_string(), ts);
        if !AVA_VALID_SECONDS.contains(&ts) || excluded.contains(&key) {
            continue;
        }
        let mut bbox = [0f64; 4];
        for (b, s) in bbox.iter_mut().zip(&f[2..6]) {
            *b = s.parse().map_err(|_| bad("box coordinate", s))?;
            if !(0.0..=1.0).contains(b) {
                return Err(DataError::parse(
                    path,
                    n,
                    format!("box coordinate {s} is outside [0, 1]"),
                ));
            }
        }
        let action = match f[6] {
            "" => None,
            a => Some(a.parse::<u32>().map_err(|_| bad("action id", a))?),
        };
        let extra = match f.get(7) {
            Some(s) if !s.is_empty() => {
                Some(s.parse::<f64>().map_err(|_| bad("person id/score", s))?)
            }
            _ => None,
        };
        out.push(Row {
            line: n,
            key,
            coords: f[2..6].join(","),
            bbox,
            action,
            extra,
        });
    }
    Ok(out)
}

/// PySlowFast's `load_image_lists`: `original_vido_id video_id frame_id path labels` after a
/// header line; each movie's frames in file order, paths joined to `frames_root`.
fn read_frame_list(path: &Path, frames_root: &Path) -> Result<BTreeMap<String, Arc<Vec<PathBuf>>>> {
    let mut frames: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for (n, line) in read_lines(path)?.into_iter().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 5 {
            return Err(DataError::parse(
                path,
                n,
                format!(
                    "{} columns; expected `original_vido_id video_id frame_id path labels`",
                    f.len()
                ),
            ));
        }
        frames
            .entry(f[0].to_string())
            .or_default()
            .push(frames_root.join(f[3]));
    }
    Ok(frames.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
}

impl Ava {
    /// Reads the files; one sample per keyframe with ground truth or detections, sorted by
    /// video then time.
    pub fn new(files: &AvaFiles) -> Result<Self> {
        let label_map = files.label_map.map(read_ava_label_map).transpose()?;
        let allowed: Option<BTreeSet<u32>> = label_map
            .as_ref()
            .map(|m| m.iter().map(|(i, _)| *i).collect());
        let excluded = match files.excluded {
            Some(p) => read_excluded(p)?,
            None => BTreeSet::new(),
        };
        // Ground truth: keyframe → boxes (first-seen order), labels merged per coordinate string.
        let mut gt: BTreeMap<Key, Vec<(String, AvaBox)>> = BTreeMap::new();
        for row in read_rows(files.groundtruth, &excluded)? {
            let Some(action) = row.action else { continue };
            if allowed.as_ref().is_some_and(|a| !a.contains(&action)) {
                continue;
            }
            let boxes = gt.entry(row.key).or_default();
            let i = match boxes.iter().position(|(k, _)| *k == row.coords) {
                Some(i) => i,
                None => {
                    let b = AvaBox {
                        bbox: row.bbox,
                        actions: Vec::new(),
                        extra: Vec::new(),
                    };
                    boxes.push((row.coords, b));
                    boxes.len() - 1
                }
            };
            boxes[i].1.actions.push(action);
            boxes[i].1.extra.extend(row.extra);
        }
        // Detections: one box per coordinate string with a score at or above the threshold.
        let mut det: BTreeMap<Key, Vec<(String, PersonBox)>> = BTreeMap::new();
        for row in read_rows(files.person_boxes, &excluded)? {
            let score = row.extra.ok_or_else(|| {
                DataError::parse(
                    files.person_boxes,
                    row.line,
                    format!(
                        "{},{:04}: a person box without a score (8th column)",
                        row.key.0, row.key.1
                    ),
                )
            })?;
            if score < files.score_threshold {
                continue;
            }
            let boxes = det.entry(row.key).or_default();
            if !boxes.iter().any(|(k, _)| *k == row.coords) {
                boxes.push((
                    row.coords,
                    PersonBox {
                        bbox: row.bbox,
                        score,
                    },
                ));
            }
        }
        let frame_list = files
            .frame_list
            .map(|p| read_frame_list(p, files.frames_root))
            .transpose()?;
        let mut listed: BTreeMap<String, Arc<Vec<PathBuf>>> = BTreeMap::new();
        let keys: BTreeSet<&Key> = gt.keys().chain(det.keys()).collect();
        let mut samples = Vec::with_capacity(keys.len());
        for key in keys {
            let (video, ts) = key;
            let frames_dir = files.frames_root.join(video);
            let frames = listed
                .entry(video.clone())
                .or_insert_with(|| match &frame_list {
                    Some(list) => list.get(video).cloned().unwrap_or_default(),
                    // A missing folder gives no frames; extraction names the folder.
                    None => Arc::new(list_frame_folder(&frames_dir).unwrap_or_default()),
                })
                .clone();
            let boxes = gt
                .get(key)
                .map(|b| b.iter().map(|(_, b)| b.clone()).collect());
            let person_boxes = det
                .get(key)
                .map(|b| b.iter().map(|(_, b)| b.clone()).collect())
                .unwrap_or_default();
            samples.push(Sample {
                id: format!("{video},{ts:04}"),
                labels: Labels::Boxes(boxes.unwrap_or_default()),
                source: Source::Keyframe {
                    video_id: video.clone(),
                    timestamp: *ts,
                    frames_dir,
                    frames,
                    person_boxes,
                },
            });
        }
        Ok(Self {
            samples,
            excluded,
            label_map,
        })
    }

    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Where a keyframe's frames are, for callers that only have a sample.
    pub fn frames_dir(sample: &Sample) -> Option<&PathBuf> {
        match &sample.source {
            Source::Keyframe { frames_dir, .. } => Some(frames_dir),
            _ => None,
        }
    }
}
