//! AVA frame-mAP@0.5 IoU as PySlowFast evaluates it: `slowfast/utils/ava_eval_helper.py` feeding
//! the ActivityNet `ava_evaluation` package (PascalDetectionEvaluator → ObjectDetectionEvaluation →
//! PerImageEvaluation → `metrics.compute_precision_recall` / `compute_average_precision`).
//!
//! What that pipeline does, and so what this file does:
//! - only the label map's classes count; rows of other classes are dropped while reading;
//! - frames are keyed by `"video_id,%04d" % int(timestamp)`; excluded frames are dropped from both
//!   ground truth and detections;
//! - boxes are kept as (y1, x1, y2, x2), the order the helper converts the CSV's x1,y1,x2,y2 to;
//! - detection boxes with y1 >= y2 or x1 >= x2 are discarded (`_remove_invalid_boxes`);
//! - per frame and class, detections are matched **in input order, not score order** (PySlowFast's
//!   copy of PerImageEvaluation has no NMS/sort step): each takes the ground-truth box of highest IoU
//!   (first one on equal IoU); IoU >= 0.5 on a box not yet taken is a TP, anything else an FP;
//!   no box is difficult or group-of;
//! - per class, all (score, TP) pairs are sorted by descending score; precision is made monotone and
//!   AP is the area under the interpolated curve (VOC); a class without ground truth has no AP and is
//!   left out of the mean; a class with ground truth and no detection scores 0.
//!
//! **Ties.** The reference sorts with `np.argsort` (introsort, SIMD-dispatched), whose order among
//! equal scores differs between machines, and the VOC AP depends on it when a tie mixes TPs and FPs.
//! We break ties by evaluation order (frames in order of first appearance, rows in file order), i.e.
//! a stable sort, and flag such classes with `tie_sensitive`. Sums are numpy's pairwise sums, so
//! without such ties the APs are bit-identical to the reference.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::metrics::{numpy_sum, MetricsError, Result, Score};

pub const IOU_THRESHOLD: f64 = 0.5;

/// A keyframe: what the reference's `"video_id,%04d"` image key identifies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FrameKey {
    pub video_id: String,
    pub timestamp: i64,
}

impl fmt::Display for FrameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{:04}", self.video_id, self.timestamp)
    }
}

/// One labelled (ground truth) or scored (detection) box.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvaBox {
    pub key: FrameKey,
    /// (y1, x1, y2, x2), normalised to [0, 1].
    pub yxyx: [f64; 4],
    pub class_id: i64,
    /// 1.0 for ground truth, as the reference reads it.
    pub score: f64,
}

/// The evaluated classes (`.pbtxt`), in file order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelMap {
    classes: Vec<(i64, String)>,
    /// The ids again, for the per-row whitelist test (millions of rows in a full AVA run).
    #[serde(skip)]
    ids: HashSet<i64>,
}

impl LabelMap {
    /// Needs at least one class and ids >= 1 (the evaluator's own checks).
    pub fn new(classes: Vec<(i64, String)>, source: &str) -> Result<LabelMap> {
        let bad = |message: String| MetricsError::LabelMap {
            file: source.to_string(),
            message,
        };
        if classes.is_empty() {
            return Err(bad(
                "no classes (expected `item { name: \"...\" id: N }` blocks)".into(),
            ));
        }
        if let Some((id, name)) = classes.iter().find(|(id, _)| *id < 1) {
            return Err(bad(format!("class {name:?} has id {id}; ids start at 1")));
        }
        let ids = classes.iter().map(|(id, _)| *id).collect();
        Ok(LabelMap { classes, ids })
    }

    pub fn classes(&self) -> &[(i64, String)] {
        &self.classes
    }

    pub fn contains(&self, id: i64) -> bool {
        self.ids.contains(&id)
    }

    fn max_id(&self) -> i64 {
        self.classes.iter().map(|(id, _)| *id).max().unwrap_or(0)
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| MetricsError::Io {
        file: path.display().to_string(),
        source,
    })
}

/// Parses a label map as PySlowFast's `read_labelmap`: every `id:` (or `label_id:`) line adds a class
/// named by the latest `name: "..."` line. Indentation is not significant here.
pub fn parse_label_map(text: &str, file: &str) -> Result<LabelMap> {
    let mut classes = Vec::new();
    let mut name = String::new();
    for (i, line) in text.lines().enumerate() {
        let err = |message: String| MetricsError::Parse {
            file: file.to_string(),
            line: i + 1,
            message,
        };
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("name:") {
            name = rest
                .split('"')
                .nth(1)
                .ok_or_else(|| err(format!("name without quotes: {t:?}")))?
                .to_string();
        } else if let Some(rest) = t
            .strip_prefix("id:")
            .or_else(|| t.strip_prefix("label_id:"))
        {
            let id = rest
                .trim()
                .parse::<i64>()
                .map_err(|_| err(format!("class id is not an integer: {t:?}")))?;
            classes.push((id, name.clone()));
        }
    }
    LabelMap::new(classes, file)
}

pub fn read_label_map(path: &Path) -> Result<LabelMap> {
    parse_label_map(&read_text(path)?, &path.display().to_string())
}

/// Comma-separated rows of a CSV without quoting (AVA's files have none); blank lines are skipped.
fn csv_rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| (n, l.split(',').collect()))
}

fn parse_field<T: std::str::FromStr>(
    field: &str,
    what: &str,
    file: &str,
    line: usize,
) -> Result<T> {
    field.trim().parse::<T>().map_err(|_| MetricsError::Parse {
        file: file.to_string(),
        line,
        message: format!("{what} is not a number: {field:?}"),
    })
}

fn parse_finite(field: &str, what: &str, file: &str, line: usize) -> Result<f64> {
    let v: f64 = parse_field(field, what, file, line)?;
    if !v.is_finite() {
        return Err(MetricsError::Parse {
            file: file.to_string(),
            line,
            message: format!("{what} is not finite: {field:?}"),
        });
    }
    Ok(v)
}

/// Parses AVA rows `video_id,timestamp,x1,y1,x2,y2,action_id[,person_id | score]`. Ground truth
/// (`with_scores = false`) takes 7 or 8 columns and scores 1.0; detections need the score column.
pub fn parse_boxes(text: &str, file: &str, with_scores: bool) -> Result<Vec<AvaBox>> {
    let mut out = Vec::new();
    for (line, f) in csv_rows(text) {
        let ok = if with_scores {
            f.len() == 8
        } else {
            f.len() == 7 || f.len() == 8
        };
        if !ok {
            let want = if with_scores {
                "8 (with a score)"
            } else {
                "7 or 8"
            };
            return Err(MetricsError::Parse {
                file: file.to_string(),
                line,
                message: format!("{} columns, expected {want}", f.len()),
            });
        }
        let c = |i: usize, what: &str| parse_finite(f[i], what, file, line);
        let (x1, y1, x2, y2) = (c(2, "x1")?, c(3, "y1")?, c(4, "x2")?, c(5, "y2")?);
        out.push(AvaBox {
            key: FrameKey {
                video_id: f[0].to_string(),
                timestamp: parse_field(f[1], "timestamp", file, line)?,
            },
            yxyx: [y1, x1, y2, x2],
            class_id: parse_field(f[6], "action id", file, line)?,
            score: if with_scores { c(7, "score")? } else { 1.0 },
        });
    }
    Ok(out)
}

pub fn read_boxes(path: &Path, with_scores: bool) -> Result<Vec<AvaBox>> {
    parse_boxes(&read_text(path)?, &path.display().to_string(), with_scores)
}

/// Parses excluded timestamps: rows `video_id,timestamp`.
pub fn parse_exclusions(text: &str, file: &str) -> Result<HashSet<FrameKey>> {
    let mut out = HashSet::new();
    for (line, f) in csv_rows(text) {
        if f.len() != 2 {
            return Err(MetricsError::Parse {
                file: file.to_string(),
                line,
                message: format!("{} columns, expected 2 (video_id,timestamp)", f.len()),
            });
        }
        out.insert(FrameKey {
            video_id: f[0].to_string(),
            timestamp: parse_field(f[1], "timestamp", file, line)?,
        });
    }
    Ok(out)
}

pub fn read_exclusions(path: &Path) -> Result<HashSet<FrameKey>> {
    parse_exclusions(&read_text(path)?, &path.display().to_string())
}

/// Appends one detected person box with a score per class as PySlowFast's `get_ava_eval_data`
/// expands model output: score index i is class id i + 1, and only label-map classes are kept.
pub fn push_box_scores<T: Score>(
    out: &mut Vec<AvaBox>,
    key: &FrameKey,
    x1y1x2y2: [f64; 4],
    scores: &[T],
    label_map: &LabelMap,
) {
    let [x1, y1, x2, y2] = x1y1x2y2;
    for (i, &s) in scores.iter().enumerate() {
        let class_id = i as i64 + 1;
        if label_map.contains(class_id) {
            out.push(AvaBox {
                key: key.clone(),
                yxyx: [y1, x1, y2, x2],
                class_id,
                score: s.into(),
            });
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassAp {
    pub id: i64,
    pub name: String,
    /// Ground-truth boxes outside excluded frames.
    pub num_gt: usize,
    /// Valid detections outside excluded frames.
    pub num_detections: usize,
    /// `None` when the class has no ground truth (left out of the mean, as the reference's NaN).
    pub ap: Option<f64>,
    /// Equal scores mix TPs and FPs, so the AP depends on the tie order (see the module docs).
    pub tie_sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvaReport {
    /// Mean AP over the classes with ground truth; `None` when there are none.
    pub map: Option<f64>,
    /// One entry per label-map id, ascending.
    pub per_class: Vec<ClassAp>,
    pub gt_frames: usize,
    pub detected_frames: usize,
    /// Frames of either input dropped as excluded.
    pub excluded_frames: usize,
}

/// Boxes of the kept classes grouped by frame, frames in order of first appearance.
fn group<'a>(
    boxes: &'a [AvaBox],
    label_map: &LabelMap,
    excluded: &HashSet<FrameKey>,
    dropped: &mut HashSet<&'a FrameKey>,
) -> (Vec<&'a FrameKey>, HashMap<&'a FrameKey, Vec<&'a AvaBox>>) {
    let mut order = Vec::new();
    let mut frames: HashMap<&FrameKey, Vec<&AvaBox>> = HashMap::new();
    for b in boxes.iter().filter(|b| label_map.contains(b.class_id)) {
        if excluded.contains(&b.key) {
            dropped.insert(&b.key);
            continue;
        }
        frames
            .entry(&b.key)
            .or_insert_with(|| {
                order.push(&b.key);
                Vec::new()
            })
            .push(b);
    }
    (order, frames)
}

fn check_box(b: &AvaBox, what: &str) -> Result<()> {
    let bad = b
        .yxyx
        .iter()
        .copied()
        .chain([b.score])
        .find(|v| !v.is_finite());
    match bad {
        None => Ok(()),
        Some(value) => Err(MetricsError::NonFinite {
            video: b.key.to_string(),
            what: format!("{what} box of class {}", b.class_id),
            value,
        }),
    }
}

/// numpy's `np.maximum`/`np.minimum` propagate NaN (f64::max/min drop it).
fn np_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn np_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// IoU with np_box_ops' operation order (areas, clamped intersection, `a1 + a2 − inter`).
pub fn iou(d: &[f64; 4], g: &[f64; 4]) -> f64 {
    let area = |b: &[f64; 4]| (b[2] - b[0]) * (b[3] - b[1]);
    let h = np_max(0.0, np_min(d[2], g[2]) - np_max(d[0], g[0]));
    let w = np_max(0.0, np_min(d[3], g[3]) - np_max(d[1], g[1]));
    let inter = h * w;
    inter / (area(d) + area(g) - inter)
}

/// numpy's argmax: the first maximum, a NaN counting as the maximum.
fn np_argmax(x: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v.is_nan() {
            return i;
        }
        if v > x[best] {
            best = i;
        }
    }
    best
}

/// TP/FP flags of one frame's detections of one class, matched greedily in input order.
fn match_frame(dets: &[&AvaBox], gts: &[&AvaBox]) -> Vec<bool> {
    let mut taken = vec![false; gts.len()];
    let mut ious = Vec::with_capacity(gts.len());
    dets.iter()
        .map(|d| {
            if gts.is_empty() {
                return false;
            }
            ious.clear();
            ious.extend(gts.iter().map(|g| iou(&d.yxyx, &g.yxyx)));
            let j = np_argmax(&ious);
            if ious[j] >= IOU_THRESHOLD && !taken[j] {
                taken[j] = true;
                true
            } else {
                false
            }
        })
        .collect()
}

/// VOC AP of one class from its (score, is_tp) pairs in evaluation order; also whether a tie mixes
/// TPs and FPs.
fn voc_ap(mut dets: Vec<(f64, bool)>, num_gt: usize) -> (f64, bool) {
    if dets.is_empty() {
        return (0.0, false);
    }
    // Stable: ties stay in evaluation order.
    dets.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    let tie_sensitive = dets
        .chunk_by(|a, b| a.0 == b.0)
        .any(|g| g.iter().any(|d| d.1) && g.iter().any(|d| !d.1));
    let (mut tp, mut fp) = (0u64, 0u64);
    // recall and precision framed by (0, 0) and (1, 0), as compute_average_precision pads them.
    let mut recall = Vec::with_capacity(dets.len() + 2);
    let mut precision = Vec::with_capacity(dets.len() + 2);
    recall.push(0.0);
    precision.push(0.0);
    for &(_, is_tp) in &dets {
        if is_tp {
            tp += 1;
        } else {
            fp += 1;
        }
        precision.push(tp as f64 / (tp + fp) as f64);
        recall.push(tp as f64 / num_gt as f64);
    }
    recall.push(1.0);
    precision.push(0.0);
    for i in (0..precision.len() - 1).rev() {
        precision[i] = np_max(precision[i], precision[i + 1]);
    }
    let terms: Vec<f64> = (1..recall.len())
        .filter(|&i| recall[i] != recall[i - 1])
        .map(|i| (recall[i] - recall[i - 1]) * precision[i])
        .collect();
    (numpy_sum(&terms), tie_sensitive)
}

/// AVA frame-mAP@0.5 of `detections` against `groundtruth`, both keyed by frame; see the module docs.
pub fn frame_map(
    label_map: &LabelMap,
    groundtruth: &[AvaBox],
    detections: &[AvaBox],
    excluded: &HashSet<FrameKey>,
) -> Result<AvaReport> {
    for b in groundtruth {
        check_box(b, "ground-truth")?;
    }
    for b in detections {
        check_box(b, "detection")?;
    }
    let mut dropped = HashSet::new();
    let (gt_order, gt_frames) = group(groundtruth, label_map, excluded, &mut dropped);
    let (det_order, det_frames) = group(detections, label_map, excluded, &mut dropped);
    let mut acc = FrameMap::new(label_map);
    for b in gt_frames.values().flatten() {
        acc.count_gt(b);
    }
    let no_gt = Vec::new();
    for key in &det_order {
        acc.match_frame(gt_frames.get(key).unwrap_or(&no_gt), &det_frames[key]);
    }
    let mut report = acc.finish();
    report.gt_frames = gt_order.len();
    report.detected_frames = det_order.len();
    report.excluded_frames = dropped.len();
    Ok(report)
}

/// frame-mAP accumulated one frame at a time, for inputs too large to hold as rows (a full AVA
/// run has a row per person box and class: 13 million). Frames must come in evaluation order
/// and each once; the result equals [`frame_map`] over the same frames. Excluded frames are the
/// caller's to leave out.
pub struct FrameMap<'a> {
    label_map: &'a LabelMap,
    /// Index c − 1 holds class id c, as the evaluator's 0-based arrays.
    num_gt: Vec<usize>,
    per_class: Vec<Vec<(f64, bool)>>,
    gt_frames: usize,
    detected_frames: usize,
}

impl<'a> FrameMap<'a> {
    pub fn new(label_map: &'a LabelMap) -> Self {
        let num_class = label_map.max_id() as usize;
        FrameMap {
            label_map,
            num_gt: vec![0; num_class],
            per_class: vec![Vec::new(); num_class],
            gt_frames: 0,
            detected_frames: 0,
        }
    }

    fn count_gt(&mut self, b: &AvaBox) {
        self.num_gt[b.class_id as usize - 1] += 1;
    }

    /// Adds one frame: its ground truth and its detections (rows of other classes are ignored).
    pub fn add_frame(&mut self, groundtruth: &[AvaBox], detections: &[AvaBox]) -> Result<()> {
        for b in groundtruth {
            check_box(b, "ground-truth")?;
        }
        for b in detections {
            check_box(b, "detection")?;
        }
        let keep = |b: &&AvaBox| self.label_map.contains(b.class_id);
        let gts: Vec<&AvaBox> = groundtruth.iter().filter(keep).collect();
        let dets: Vec<&AvaBox> = detections.iter().filter(keep).collect();
        for b in &gts {
            self.count_gt(b);
        }
        self.gt_frames += usize::from(!gts.is_empty());
        if !dets.is_empty() {
            self.detected_frames += 1;
            self.match_frame(&gts, &dets);
        }
        Ok(())
    }

    /// Matches one frame's detections per class and records their (score, TP) pairs.
    fn match_frame(&mut self, gts: &[&AvaBox], dets: &[&AvaBox]) {
        let valid = dets
            .iter()
            .copied()
            .filter(|d| d.yxyx[0] < d.yxyx[2] && d.yxyx[1] < d.yxyx[3]);
        // Classes in the order they first occur: any order gives the same per-class lists.
        let mut by_class: BTreeMap<i64, Vec<&AvaBox>> = BTreeMap::new();
        for d in valid {
            by_class.entry(d.class_id).or_default().push(d);
        }
        for (class, dets) in by_class {
            let class_gts: Vec<&AvaBox> = gts
                .iter()
                .copied()
                .filter(|g| g.class_id == class)
                .collect();
            let flags = match_frame(&dets, &class_gts);
            self.per_class[class as usize - 1]
                .extend(dets.iter().zip(flags).map(|(d, tp)| (d.score, tp)));
        }
    }

    pub fn finish(mut self) -> AvaReport {
        let num_class = self.num_gt.len();
        let mut ap = vec![None; num_class];
        let mut tie_sensitive = vec![false; num_class];
        let mut num_det = vec![0usize; num_class];
        for c in 0..num_class {
            num_det[c] = self.per_class[c].len();
            if self.num_gt[c] > 0 {
                let (a, t) = voc_ap(std::mem::take(&mut self.per_class[c]), self.num_gt[c]);
                ap[c] = Some(a);
                tie_sensitive[c] = t;
            }
        }
        // np.nanmean over all num_class entries: NaNs become 0 in the pairwise sum, then / count.
        let filled: Vec<f64> = ap.iter().map(|a| a.unwrap_or(0.0)).collect();
        let count = ap.iter().flatten().count();
        let map = (count > 0).then(|| numpy_sum(&filled) / count as f64);

        // One entry per id; a repeated id keeps its last name, as the evaluator's category index.
        let names: BTreeMap<i64, &str> = self
            .label_map
            .classes()
            .iter()
            .map(|(id, n)| (*id, n.as_str()))
            .collect();
        let per_class = names
            .into_iter()
            .map(|(id, name)| {
                let c = id as usize - 1;
                ClassAp {
                    id,
                    name: name.to_string(),
                    num_gt: self.num_gt[c],
                    num_detections: num_det[c],
                    ap: ap[c],
                    tie_sensitive: tie_sensitive[c],
                }
            })
            .collect();
        AvaReport {
            map,
            per_class,
            gt_frames: self.gt_frames,
            detected_frames: self.detected_frames,
            excluded_frames: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &str =
        "item {\n  name: \"stand\"\n  id: 1\n}\nitem {\n  name: \"sit\"\n  id: 3\n}\n";

    fn bx(video: &str, t: i64, yxyx: [f64; 4], class_id: i64, score: f64) -> AvaBox {
        AvaBox {
            key: FrameKey {
                video_id: video.into(),
                timestamp: t,
            },
            yxyx,
            class_id,
            score,
        }
    }

    #[test]
    fn metrics_ava_parse_label_map_rows_and_exclusions() {
        let lm = parse_label_map(LABELS, "l.pbtxt").unwrap();
        assert_eq!(
            lm.classes(),
            &[(1, "stand".to_string()), (3, "sit".to_string())]
        );
        assert!(matches!(
            parse_label_map("", "e.pbtxt"),
            Err(MetricsError::LabelMap { .. })
        ));
        let e = parse_label_map("  name: \"a\"\n  id: x\n", "b.pbtxt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.pbtxt:2"), "{e}");

        let rows = parse_boxes(
            "vid,0902,0.1,0.2,0.3,0.4,12,7\r\n\nvid,903,0.1,0.2,0.3,0.4,5\n",
            "g.csv",
            false,
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].yxyx, [0.2, 0.1, 0.4, 0.3]);
        assert_eq!(
            (rows[0].class_id, rows[0].score, rows[0].key.to_string()),
            (12, 1.0, "vid,0902".to_string())
        );
        let det = parse_boxes("vid,0902,0.1,0.2,0.3,0.4,12,0.75\n", "d.csv", true).unwrap();
        assert_eq!(det[0].score, 0.75);
        let e = parse_boxes("vid,0902,0.1,0.2,0.3,0.4,12\n", "d.csv", true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("d.csv:1") && e.contains("7 columns"), "{e}");
        let e = parse_boxes(
            "a,1,0,0,1,1,1\nvid,0902,0.1,nan,0.3,0.4,12\n",
            "g.csv",
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("g.csv:2") && e.contains("y1"), "{e}");

        let ex = parse_exclusions("vid,0903\n", "x.csv").unwrap();
        assert!(ex.contains(&FrameKey {
            video_id: "vid".into(),
            timestamp: 903
        }));
        assert!(parse_exclusions("vid,0903,1\n", "x.csv").is_err());
    }

    #[test]
    fn metrics_ava_iou_and_threshold() {
        let g = [0.0, 0.0, 1.0, 1.0];
        assert_eq!(iou(&g, &g), 1.0);
        // Half the box: IoU exactly 0.5, which matches (>=).
        assert_eq!(iou(&[0.0, 0.0, 1.0, 0.5], &g), 0.5);
        assert_eq!(iou(&[2.0, 2.0, 3.0, 3.0], &g), 0.0);
        let lm = parse_label_map(LABELS, "l").unwrap();
        let gt = [bx("v", 1, g, 1, 1.0)];
        let det = [bx("v", 1, [0.0, 0.0, 1.0, 0.5], 1, 0.9)];
        let r = frame_map(&lm, &gt, &det, &HashSet::new()).unwrap();
        assert_eq!(r.per_class[0].ap, Some(1.0));
        assert_eq!(r.per_class[1].ap, None);
        assert_eq!(r.map, Some(1.0));
    }

    #[test]
    fn metrics_ava_matching_is_in_input_order() {
        // Two detections on one box: the first row takes it even with the lower score, so the
        // higher-scored duplicate is an FP and AP = area under (R 0→1 at P 1/2) = 0.5.
        let lm = parse_label_map(LABELS, "l").unwrap();
        let g = [0.0, 0.0, 1.0, 1.0];
        let gt = [bx("v", 1, g, 1, 1.0)];
        let det = [bx("v", 1, g, 1, 0.2), bx("v", 1, g, 1, 0.9)];
        let r = frame_map(&lm, &gt, &det, &HashSet::new()).unwrap();
        assert_eq!(r.per_class[0].ap, Some(0.5));
        let swapped = [det[1].clone(), det[0].clone()];
        assert_eq!(
            frame_map(&lm, &gt, &swapped, &HashSet::new())
                .unwrap()
                .per_class[0]
                .ap,
            Some(1.0)
        );
    }

    #[test]
    fn metrics_ava_exclusions_invalid_boxes_and_unlisted_classes() {
        let lm = parse_label_map(LABELS, "l").unwrap();
        let g = [0.0, 0.0, 1.0, 1.0];
        let gt = [
            bx("v", 1, g, 1, 1.0),
            bx("v", 2, g, 1, 1.0),
            bx("v", 1, g, 2, 1.0),
        ];
        // Frame 2 excluded; the inverted box is dropped; class 2 is not in the label map.
        let det = [
            bx("v", 1, g, 1, 0.5),
            bx("v", 1, [1.0, 0.0, 0.0, 1.0], 1, 0.9),
            bx("v", 2, g, 1, 0.1),
        ];
        let ex: HashSet<FrameKey> = [FrameKey {
            video_id: "v".into(),
            timestamp: 2,
        }]
        .into();
        let r = frame_map(&lm, &gt, &det, &ex).unwrap();
        assert_eq!(
            (
                r.per_class[0].num_gt,
                r.per_class[0].num_detections,
                r.per_class[0].ap
            ),
            (1, 1, Some(1.0))
        );
        assert_eq!(
            (r.gt_frames, r.detected_frames, r.excluded_frames),
            (1, 1, 1)
        );
    }

    #[test]
    fn metrics_ava_empty_inputs() {
        let lm = parse_label_map(LABELS, "l").unwrap();
        let gt = [bx("v", 1, [0.0, 0.0, 1.0, 1.0], 3, 1.0)];
        let r = frame_map(&lm, &gt, &[], &HashSet::new()).unwrap();
        assert_eq!((r.map, r.per_class[1].ap), (Some(0.0), Some(0.0)));
        assert_eq!(frame_map(&lm, &[], &gt, &HashSet::new()).unwrap().map, None);
    }

    #[test]
    fn metrics_ava_voc_ap_and_ties() {
        // TP, FP, TP of 3 gt: P = 1, 1/2, 2/3 at R = 1/3, 1/3, 2/3 → monotone P: 1, 2/3, 2/3.
        let (ap, tie) = voc_ap(vec![(0.9, true), (0.8, false), (0.7, true)], 3);
        assert!((ap - (1.0 / 3.0 + 1.0 / 3.0 * 2.0 / 3.0)).abs() < 1e-15 && !tie);
        // Tie of a TP and an FP: order is evaluation order, flagged.
        let (a1, t1) = voc_ap(vec![(0.5, false), (0.5, true)], 1);
        let (a2, _) = voc_ap(vec![(0.5, true), (0.5, false)], 1);
        assert!(t1 && a1 == 0.5 && a2 == 1.0);
    }

    #[test]
    fn metrics_ava_push_box_scores_keeps_label_map_classes() {
        let lm = parse_label_map(LABELS, "l").unwrap();
        let key = FrameKey {
            video_id: "v".into(),
            timestamp: 902,
        };
        let mut out = Vec::new();
        push_box_scores(
            &mut out,
            &key,
            [0.1, 0.2, 0.3, 0.4],
            &[0.5f32, 0.6, 0.7],
            &lm,
        );
        assert_eq!(
            out.iter()
                .map(|b| (b.class_id, b.score))
                .collect::<Vec<_>>(),
            vec![(1, 0.5), (3, 0.699999988079071)]
        );
        assert_eq!(out[0].yxyx, [0.2, 0.1, 0.4, 0.3]);
    }
}
