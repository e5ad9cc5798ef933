//! AVA v2.2: box CSV rows `video_id,timestamp,x1,y1,x2,y2,action_id,person_id` (boxes
//! normalised to [0, 1]), the `.pbtxt` label map, and the excluded timestamps.
//!
//! As PySlowFast's `ava_helper`: keyframes are the timestamps 902–1798; rows whose action is not in
//! the label map are dropped (the 60 evaluated classes of 80); a keyframe's rows with the same box
//! (the four coordinate strings) are one box with several labels; excluded keyframes are dropped.

use super::{read_lines, Labels, Sample, Source, VideoDataset};
use crate::error::{DataError, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Keyframes with annotations: seconds 902..=1798 of each 15-minute movie.
pub const AVA_VALID_SECONDS: std::ops::RangeInclusive<u32> = 902..=1798;

/// One person box of a keyframe.
#[derive(Clone, Debug, PartialEq)]
pub struct AvaBox {
    /// `[x1, y1, x2, y2]`, normalised.
    pub bbox: [f32; 4],
    /// AVA action ids (1-based, as in the CSV).
    pub actions: Vec<u32>,
    /// The 8th column: a person id in ground truth, a score in detections.
    pub extra: Vec<f64>,
}

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

#[derive(Clone, Debug)]
pub struct Ava {
    samples: Vec<Sample>,
    /// The (video, second) keyframes the excluded-timestamps file removed.
    pub excluded: BTreeSet<(String, u32)>,
    pub label_map: Option<Vec<(u32, String)>>,
}

impl Ava {
    /// `boxes_csv` rows become one sample per (video, keyframe), sorted by video then time;
    /// `frames_root/<video_id>` is where the keyframe's frames are.
    pub fn new(
        boxes_csv: &Path,
        label_map: Option<&Path>,
        excluded_csv: Option<&Path>,
        frames_root: &Path,
    ) -> Result<Self> {
        let label_map = label_map.map(read_ava_label_map).transpose()?;
        let allowed: Option<BTreeSet<u32>> = label_map
            .as_ref()
            .map(|m| m.iter().map(|(i, _)| *i).collect());
        let mut excluded = BTreeSet::new();
        if let Some(path) = excluded_csv {
            for (n, line) in read_lines(path)? {
                let f: Vec<&str> = line.split(',').map(str::trim).collect();
                if f.len() < 2 {
                    return Err(DataError::parse(path, n, "expected `video_id,timestamp`"));
                }
                let ts = f[1].parse::<u32>().map_err(|_| {
                    DataError::parse(path, n, format!("`{}` is not a timestamp", f[1]))
                })?;
                excluded.insert((f[0].to_string(), ts));
            }
        }
        // (video, second) → box key (coordinate strings) → box, in first-seen box order.
        let mut frames: BTreeMap<(String, u32), Vec<(String, AvaBox)>> = BTreeMap::new();
        for (n, line) in read_lines(boxes_csv)? {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() < 7 {
                return Err(DataError::parse(
                    boxes_csv,
                    n,
                    format!(
                        "{} columns; expected video_id,timestamp,x1,y1,x2,y2,action_id[,person_id]",
                        f.len()
                    ),
                ));
            }
            let bad = |what: &str, v: &str| {
                DataError::parse(boxes_csv, n, format!("{what} `{v}` is not a number"))
            };
            let ts = f[1].parse::<u32>().map_err(|_| bad("timestamp", f[1]))?;
            if !AVA_VALID_SECONDS.contains(&ts) || excluded.contains(&(f[0].to_string(), ts)) {
                continue;
            }
            let mut bbox = [0f32; 4];
            for (b, s) in bbox.iter_mut().zip(&f[2..6]) {
                *b = s.parse().map_err(|_| bad("box coordinate", s))?;
                if !(0.0..=1.0).contains(b) {
                    return Err(DataError::parse(
                        boxes_csv,
                        n,
                        format!("box coordinate {s} is outside [0, 1]"),
                    ));
                }
            }
            let action = f[6].parse::<u32>().map_err(|_| bad("action id", f[6]))?;
            if allowed.as_ref().is_some_and(|a| !a.contains(&action)) {
                continue;
            }
            let extra = match f.get(7) {
                Some(s) if !s.is_empty() => {
                    Some(s.parse::<f64>().map_err(|_| bad("person id/score", s))?)
                }
                _ => None,
            };
            let key = f[2..6].join(",");
            let boxes = frames.entry((f[0].to_string(), ts)).or_default();
            let i = match boxes.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    boxes.push((
                        key,
                        AvaBox {
                            bbox,
                            actions: Vec::new(),
                            extra: Vec::new(),
                        },
                    ));
                    boxes.len() - 1
                }
            };
            boxes[i].1.actions.push(action);
            boxes[i].1.extra.extend(extra);
        }
        let samples = frames
            .into_iter()
            .map(|((video, ts), boxes)| Sample {
                id: format!("{video},{ts:04}"),
                labels: Labels::Boxes(boxes.into_iter().map(|(_, b)| b).collect()),
                source: Source::Keyframe {
                    frames_dir: frames_root.join(&video),
                    video_id: video,
                    timestamp: ts,
                },
            })
            .collect();
        Ok(Self {
            samples,
            excluded,
            label_map,
        })
    }

    /// Where a keyframe's frames are, for callers that only have a sample.
    pub fn frames_dir(sample: &Sample) -> Option<&PathBuf> {
        match &sample.source {
            Source::Keyframe { frames_dir, .. } => Some(frames_dir),
            _ => None,
        }
    }
}

impl VideoDataset for Ava {
    fn name(&self) -> &str {
        "ava"
    }
    fn samples(&self) -> &[Sample] {
        &self.samples
    }
}
