//! The per-video prediction store: JSON Lines, appended, flushed and fsynced one video at a time,
//! so that an evaluation killed at any point resumes where it stopped and scores identically.
//!
//! Format (`docs/predictions.md` has the long version):
//! - line 1, the [`Header`]: format version, entry, protocol, number of classes, the weights'
//!   sha256 and the dataset list's sha256. A resume against other inputs is refused.
//! - then one [`Record`] per video: `index` (position in the dataset list), `id`, `label` or
//!   `labels`, `status`; for `ok` the per-view `views[{clip, crop, scores}]` and the aggregated
//!   `scores`; for `failed` the `kind` and `error`. Scores are f32 written in their shortest
//!   round-trip form, so reading them back gives the same bits.
//!
//! A later record for the same `index` replaces an earlier one (failed videos are retried on
//! resume). A last line that does not parse (a write cut by a kill or a crash) is dropped and the
//! file truncated before appending; an unparseable line anywhere else is corruption, and an error.

use crate::aggregate::aggregate;
use crate::metrics::map::{charades_map, MultiLabelVideo};
use crate::metrics::topk::{accuracy, wilson_ci95, Accuracy, Labeled, TopK};
use crate::metrics::MetricsError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use vbench_data::datasets::{Labels, Sample};
use vbench_report::{AccuracyDetails, AccuracyResult, FailureGroup};
use vbench_suite::{Aggregation, Protocol};

/// Bump on any incompatible change of [`Header`] or [`Record`].
pub const FORMAT_VERSION: u32 = 1;

/// [`Header::task`] of AVA files.
pub const TASK_DETECTION: &str = "detection";

/// Examples kept per failure kind in results.json.
pub const FAILURE_EXAMPLES: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum PredictionsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{path}: written for other inputs ({field}: the file has {found}, this run has {expected}); \
         refusing to resume: use --fresh or another --out"
    )]
    Mismatch {
        path: PathBuf,
        field: String,
        found: String,
        expected: String,
    },
    #[error("{path}: {source}")]
    Metrics {
        path: PathBuf,
        #[source]
        source: MetricsError,
    },
}

type Result<T, E = PredictionsError> = std::result::Result<T, E>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PredictionsError + '_ {
    move |source| PredictionsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsInfo {
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// `kinetics`, `ssv2`, `charades`, or `video` for a single `vbench infer` video.
    pub name: String,
    /// What was read under the data root (informational: a moved dataset still resumes).
    pub manifest: String,
    pub videos: usize,
    /// [`dataset_sha256`] of the list.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub vbench_predictions: u32,
    pub entry: String,
    pub arch: String,
    /// `classification` (one label, top-k), `multi_label` (mAP) or `detection` (AVA frame-mAP).
    pub task: String,
    pub num_classes: usize,
    pub protocol: Protocol,
    pub weights: WeightsInfo,
    pub dataset: DatasetInfo,
    /// Views per forward and device of the run that created the file (informational).
    #[serde(default)]
    pub batch: usize,
    #[serde(default)]
    pub device: String,
    #[serde(default)]
    pub vbench_version: String,
    /// Detection files: the evaluated classes `(id, name)` of the AVA label map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_map: Option<Vec<(i64, String)>>,
}

impl Header {
    /// The fields that decide the numbers; everything else may differ on resume.
    fn check_same_inputs(&self, new: &Header, path: &Path) -> Result<()> {
        let mismatch = |field: &str, found: String, expected: String| {
            Err(PredictionsError::Mismatch {
                path: path.to_path_buf(),
                field: field.into(),
                found,
                expected,
            })
        };
        let json = |p: &Protocol| serde_json::to_string(p).unwrap_or_default();
        if self.vbench_predictions != new.vbench_predictions {
            return mismatch(
                "format version",
                self.vbench_predictions.to_string(),
                new.vbench_predictions.to_string(),
            );
        }
        if self.entry != new.entry {
            return mismatch("entry", self.entry.clone(), new.entry.clone());
        }
        if self.protocol != new.protocol {
            return mismatch("protocol", json(&self.protocol), json(&new.protocol));
        }
        if self.num_classes != new.num_classes {
            return mismatch(
                "num_classes",
                self.num_classes.to_string(),
                new.num_classes.to_string(),
            );
        }
        if self.weights.sha256 != new.weights.sha256 {
            return mismatch(
                "weights sha256",
                format!("{} ({})", self.weights.sha256, self.weights.file),
                format!("{} ({})", new.weights.sha256, new.weights.file),
            );
        }
        if self.dataset.sha256 != new.dataset.sha256 || self.dataset.videos != new.dataset.videos {
            return mismatch(
                "dataset list sha256",
                format!("{} ({} videos)", self.dataset.sha256, self.dataset.videos),
                format!("{} ({} videos)", new.dataset.sha256, new.dataset.videos),
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Ok,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewRecord {
    pub clip: u32,
    pub crop: u32,
    pub scores: Vec<f32>,
}

/// An AVA ground-truth box of a keyframe: normalised `[x1, y1, x2, y2]` and its action ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GtBoxRecord {
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
    pub actions: Vec<u32>,
}

/// An AVA person box the detector scored: normalised `[x1, y1, x2, y2]` as read, the person
/// detector's score, and one score per class (index i = action id i + 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxRecord {
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
    pub person_score: f64,
    pub scores: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub index: usize,
    pub id: String,
    pub status: RecordStatus,
    /// Single-label datasets (−1: no label in the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<i64>,
    /// Multi-label datasets (Charades).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<i64>>,
    /// The views aggregated as the protocol says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<ViewRecord>,
    /// AVA: the keyframe's ground-truth boxes (the label map's classes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<Vec<GtBoxRecord>>,
    /// AVA, `ok` only: the scored person boxes (empty: none above the detection threshold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boxes: Option<Vec<BoxRecord>>,
    /// Failed only: `missing`, `label_out_of_range`, `decode`, `inference`, `unsupported_source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Record {
    /// A record carrying `sample`'s label(s) and nothing else yet.
    pub fn for_sample(index: usize, sample: &Sample, status: RecordStatus) -> Record {
        let (label, labels, gt) = match &sample.labels {
            Labels::Single(l) => (Some(*l), None, None),
            Labels::Multi(ls) => (None, Some(ls.clone()), None),
            Labels::Boxes(bs) => {
                let gt = bs
                    .iter()
                    .map(|b| GtBoxRecord {
                        bbox: b.bbox,
                        actions: b.actions.clone(),
                    })
                    .collect();
                (None, None, Some(gt))
            }
        };
        Record {
            index,
            id: sample.id.clone(),
            status,
            label,
            labels,
            scores: None,
            views: Vec::new(),
            gt,
            boxes: None,
            kind: None,
            error: None,
        }
    }
}

/// The dataset list's identity: `vbench_data::datasets::manifest_hash` (the same hash
/// `vbench check-data` prints), so a resume can tell the same list from another.
pub fn dataset_sha256(samples: &[Sample]) -> String {
    vbench_data::datasets::manifest_hash(samples)
}

/// Reads the file line by line, handing each complete, parseable record to `each`. Returns the
/// header and the byte length of the valid prefix (the torn tail, if any, starts there).
/// `Ok(None)`: no complete header (a file created by a run killed at once), to be recreated.
fn read_lines(
    path: &Path,
    each: &mut dyn FnMut(&Header, usize, Record) -> Result<()>,
) -> Result<Option<(Header, u64)>> {
    let file = File::open(path).map_err(io(path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    let mut header: Option<Header> = None;
    let mut valid = 0u64;
    let mut line_no = 0usize;
    // A line that failed to parse: fine only if it is the last one.
    let mut bad: Option<(usize, String)> = None;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if let Some((line, message)) = bad.take() {
            return Err(PredictionsError::Corrupt {
                path: path.to_path_buf(),
                line,
                message,
            });
        }
        // Without its newline the write was cut short, even if what is there parses.
        if buf.last() != Some(&b'\n') {
            bad = Some((line_no, "unterminated last line".into()));
            continue;
        }
        let text = &buf[..buf.len() - 1];
        match &header {
            None => match serde_json::from_slice::<Header>(text) {
                Ok(h) => header = Some(h),
                Err(e) => bad = Some((line_no, format!("bad header: {e}"))),
            },
            Some(h) => match serde_json::from_slice::<Record>(text) {
                Ok(r) => each(h, line_no, r)?,
                Err(e) => bad = Some((line_no, e.to_string())),
            },
        }
        if bad.is_none() {
            valid += n as u64;
        }
    }
    Ok(header.map(|h| (h, valid)))
}

/// What a resume needs: which list positions already have a record.
#[derive(Debug, Default)]
pub struct Done {
    /// Latest status per dataset index.
    pub status: BTreeMap<usize, (String, RecordStatus, Option<String>)>,
}

impl Done {
    pub fn is_scored(&self, index: usize, id: &str) -> bool {
        matches!(self.status.get(&index), Some((i, RecordStatus::Ok, _)) if i == id)
    }
    pub fn scored(&self) -> usize {
        self.status
            .values()
            .filter(|(_, s, _)| *s == RecordStatus::Ok)
            .count()
    }
    /// The same failure is already on record (so a resume does not append it again).
    pub fn has_failure(&self, index: usize, id: &str, error: &str) -> bool {
        matches!(self.status.get(&index),
            Some((i, RecordStatus::Failed, Some(e))) if i == id && e == error)
    }
}

/// An open predictions file, appending.
pub struct PredictionsWriter {
    path: PathBuf,
    file: File,
}

impl PredictionsWriter {
    /// Opens `path` for `header`: resumes an existing file written for the same inputs (dropping
    /// a torn last line), or starts a new one (`fresh`, no file, or no complete header).
    pub fn open(path: &Path, header: &Header, fresh: bool) -> Result<(Self, Done)> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut done = Done::default();
        let existing = if !fresh && path.exists() {
            read_lines(path, &mut |_, _, r| {
                done.status.insert(r.index, (r.id, r.status, r.error));
                Ok(())
            })?
        } else {
            None
        };
        let Some((old, valid)) = existing else {
            return Ok((Self::create(path, header)?, Done::default()));
        };
        old.check_same_inputs(header, path)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        if file.metadata().map_err(io(path))?.len() != valid {
            file.set_len(valid).map_err(io(path))?;
            file.sync_all().map_err(io(path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io(path))?;
        Ok((
            PredictionsWriter {
                path: path.to_path_buf(),
                file,
            },
            done,
        ))
    }

    fn create(path: &Path, header: &Header) -> Result<Self> {
        let file = File::create(path).map_err(io(path))?;
        let mut w = PredictionsWriter {
            path: path.to_path_buf(),
            file,
        };
        w.write_line(&serde_json::to_vec(header).map_err(|e| corrupt(path, 1, e))?)?;
        // The new directory entry must survive a crash too.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(w)
    }

    fn write_line(&mut self, json: &[u8]) -> Result<()> {
        let mut line = Vec::with_capacity(json.len() + 1);
        line.extend_from_slice(json);
        line.push(b'\n');
        // One write of the whole line, then fsync: a kill leaves whole lines or a torn last one.
        self.file.write_all(&line).map_err(io(&self.path))?;
        self.file.sync_data().map_err(io(&self.path))
    }

    pub fn append(&mut self, record: &Record) -> Result<()> {
        let json = serde_json::to_vec(record).map_err(|e| corrupt(&self.path, 0, e))?;
        self.write_line(&json)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn corrupt(path: &Path, line: usize, e: serde_json::Error) -> PredictionsError {
    PredictionsError::Corrupt {
        path: path.to_path_buf(),
        line,
        message: e.to_string(),
    }
}

/// Metrics recomputed from a predictions file.
#[derive(Debug, Clone)]
pub struct Scored {
    pub header: Header,
    /// With `details` set (no timing: that belongs to the run).
    pub accuracy: AccuracyResult,
    /// Video-level and clip-level top-k in full (single-label files only).
    pub video_topk: Option<Accuracy>,
    pub clip_topk: Option<Accuracy>,
    /// List positions without any record (an interrupted run).
    pub not_reached: usize,
    /// A torn last line was present (and ignored).
    pub torn_tail: bool,
}

/// One record after reading: its views reduced to the aggregate and clip-level counts.
struct Reduced {
    record: Record,
    views: usize,
    clip: Option<Accuracy>,
}

/// Top-k values reported (k ≤ number of classes).
fn ks(num_classes: usize) -> Vec<usize> {
    [1, 5].into_iter().filter(|&k| k <= num_classes).collect()
}

fn percent_ci(ci: Option<[f64; 2]>) -> Option<(f64, f64)> {
    ci.map(|[lo, hi]| (lo * 100.0, hi * 100.0))
}

/// Top-k counts add up over disjoint sets of samples; the rates and intervals are redone after.
fn add_topk(acc: &mut Option<Accuracy>, part: &Accuracy) {
    let Some(a) = acc else {
        *acc = Some(part.clone());
        return;
    };
    a.total += part.total;
    a.unknown_label += part.unknown_label;
    for (t, p) in a.topk.iter_mut().zip(&part.topk) {
        t.correct += p.correct;
        t.certain += p.certain;
        t.ambiguous += p.ambiguous;
        t.total += p.total;
    }
}

fn finish_topk(a: &mut Accuracy) {
    for t in &mut a.topk {
        t.accuracy = (t.total > 0).then(|| t.correct as f64 / t.total as f64);
        t.ci95 = wilson_ci95(t.correct, t.total);
    }
}

/// Recomputes the aggregate from the views (checking the stored one when the method is the
/// header's) and the record's clip-level counts, then drops the views.
fn reduce(
    path: &Path,
    header: &Header,
    line: usize,
    mut r: Record,
    method: Aggregation,
) -> Result<Reduced> {
    let bad = |message: String| PredictionsError::Corrupt {
        path: path.to_path_buf(),
        line,
        message,
    };
    let metrics = |source| PredictionsError::Metrics {
        path: path.to_path_buf(),
        source,
    };
    if r.status != RecordStatus::Ok || header.task == TASK_DETECTION {
        return Ok(Reduced {
            record: r,
            views: 0,
            clip: None,
        });
    }
    let views: Vec<&[f32]> = r.views.iter().map(|v| v.scores.as_slice()).collect();
    let aggregated = aggregate(&r.id, &views, method).map_err(metrics)?;
    if method == header.protocol.aggregation && r.scores.as_ref() != Some(&aggregated) {
        return Err(bad(format!(
            "video {}: the stored scores are not the {method:?} of its views",
            r.id
        )));
    }
    let clip = match r.label {
        Some(label) if header.task != "multi_label" => Some(
            accuracy(
                views.iter().map(|s| Labeled {
                    id: &r.id,
                    label,
                    scores: s,
                }),
                header.num_classes,
                &ks(header.num_classes),
            )
            .map_err(metrics)?,
        ),
        _ => None,
    };
    let n = r.views.len();
    r.views = Vec::new();
    r.scores = Some(aggregated);
    Ok(Reduced {
        record: r,
        views: n,
        clip,
    })
}

/// Scores a predictions file as PySlowFast's TestMeter does: each `ok` record's views are
/// aggregated again with `aggregation` (the header's protocol unless overridden; with the
/// header's method the result must equal the stored `scores` bit for bit). Single-label files get
/// video-level top-1/top-5 over the aggregates and clip-level top-k over single views;
/// multi-label files Charades mAP over the aggregates. The latest record per list position
/// counts. Streams the file: memory holds one score vector per video, not its views.
pub fn score_file(path: &Path, aggregation: Option<Aggregation>) -> Result<Scored> {
    let metrics = |source| PredictionsError::Metrics {
        path: path.to_path_buf(),
        source,
    };
    let mut latest: BTreeMap<usize, Reduced> = BTreeMap::new();
    let read = read_lines(path, &mut |h, line, r| {
        let method = aggregation.unwrap_or(h.protocol.aggregation);
        latest.insert(r.index, reduce(path, h, line, r, method)?);
        Ok(())
    })?;
    let Some((header, valid)) = read else {
        return Err(PredictionsError::Corrupt {
            path: path.to_path_buf(),
            line: 1,
            message: "no complete header line".into(),
        });
    };
    let torn_tail = std::fs::metadata(path).map_err(io(path))?.len() != valid;
    let n = header.num_classes;
    let mut details = AccuracyDetails {
        dataset_videos: header.dataset.videos as u64,
        weights_file: Some(header.weights.file.clone()),
        weights_sha256: Some(header.weights.sha256.clone()),
        dataset_sha256: Some(header.dataset.sha256.clone()),
        ..AccuracyDetails::default()
    };
    let mut failures: BTreeMap<String, FailureGroup> = BTreeMap::new();
    let mut scored: Vec<&Record> = Vec::new();
    let mut clip = None;
    for red in latest.values() {
        let r = &red.record;
        if r.status == RecordStatus::Ok {
            scored.push(r);
            details.clip_views += red.views as u64;
            if let Some(c) = &red.clip {
                add_topk(&mut clip, c);
            }
            continue;
        }
        let kind = r.kind.clone().unwrap_or_else(|| "failed".into());
        let g = failures
            .entry(kind.clone())
            .or_insert_with(|| FailureGroup {
                kind,
                ..FailureGroup::default()
            });
        g.count += 1;
        if g.examples.len() < FAILURE_EXAMPLES {
            g.examples
                .push(format!("{}: {}", r.id, r.error.as_deref().unwrap_or("")));
        }
    }
    details.failures = failures.into_values().collect();
    let mut result = AccuracyResult {
        videos: scored.len() as u64,
        failed_videos: details.failures.iter().map(|g| g.count).sum(),
        top1: None,
        top5: None,
        clip_top1: None,
        clip_top5: None,
        top1_ci95: None,
        top5_ci95: None,
        map: None,
        map_ci95: None,
        predictions: Some(path.display().to_string()),
        details: None,
    };
    let mut video_topk = None;
    if header.task == TASK_DETECTION {
        let report = crate::ava_records::score_records(&header, &scored).map_err(metrics)?;
        result.map = report.map.map(|m| m * 100.0);
        details.per_class_ap = report
            .per_class
            .iter()
            .map(|c| vbench_report::ClassAp {
                id: c.id,
                name: c.name.clone(),
                gt: c.num_gt as u64,
                ap: c.ap.map(|a| a * 100.0),
            })
            .collect();
    } else if header.task == "multi_label" {
        let positives = scored
            .iter()
            .map(|r| {
                r.labels
                    .iter()
                    .flatten()
                    .map(|&l| {
                        usize::try_from(l).map_err(|_| MetricsError::LabelOutOfRange {
                            video: r.id.clone(),
                            label: l,
                            num_classes: n,
                        })
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(metrics)?;
        let videos: Vec<MultiLabelVideo<f32>> = scored
            .iter()
            .zip(&positives)
            .map(|(r, p)| MultiLabelVideo {
                id: &r.id,
                positives: p,
                scores: r.scores.as_deref().unwrap_or(&[]),
            })
            .collect();
        if !videos.is_empty() {
            result.map = charades_map(&videos, n)
                .map_err(metrics)?
                .map
                .map(|m| m * 100.0);
        }
    } else if !scored.is_empty() {
        let video = accuracy(
            scored.iter().map(|r| Labeled {
                id: &r.id,
                label: r.label.unwrap_or(-1),
                scores: r.scores.as_deref().unwrap_or(&[]),
            }),
            n,
            &ks(n),
        )
        .map_err(metrics)?;
        if let Some(c) = &mut clip {
            finish_topk(c);
            result.clip_top1 = c.get(1).and_then(TopK::percent);
            result.clip_top5 = c.get(5).and_then(TopK::percent);
        }
        result.top1 = video.get(1).and_then(TopK::percent);
        result.top5 = video.get(5).and_then(TopK::percent);
        result.top1_ci95 = percent_ci(video.get(1).and_then(|t| t.ci95));
        result.top5_ci95 = percent_ci(video.get(5).and_then(|t| t.ci95));
        details.unknown_label_videos = video.unknown_label as u64;
        details.ambiguous_top1 = video.get(1).map_or(0, |t| t.ambiguous as u64);
        video_topk = Some(video);
    }
    result.details = Some(details);
    Ok(Scored {
        not_reached: header.dataset.videos.saturating_sub(latest.len()),
        header,
        accuracy: result,
        video_topk,
        clip_topk: clip,
        torn_tail,
    })
}

#[cfg(test)]
#[path = "predictions_tests.rs"]
mod tests;
