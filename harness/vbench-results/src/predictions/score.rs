//! Metrics recomputed from a predictions file, as PySlowFast's TestMeter computes them.

use super::jsonl;
use super::{
    io, Header, PredictionsError, Record, RecordStatus, Result, FAILURE_EXAMPLES, TASK_DETECTION,
};
use crate::metrics::aggregate::aggregate;
use crate::metrics::map::{charades_map, MultiLabelVideo};
use crate::metrics::registry::{self, Kind, METRICS};
use crate::metrics::topk::{accuracy, wilson_ci95, Accuracy, Labeled, TopK};
use crate::metrics::MetricsError;
use crate::schema::{AccuracyDetails, AccuracyResult, ClassAp, FailureGroup};
use std::collections::BTreeMap;
use std::path::Path;
use vbench_suite::{Aggregation, Entry};

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

impl Scored {
    /// Refuses a file (`path`) written for another entry than `entry`, or with another protocol.
    pub fn check_written_for(&self, path: &Path, entry: &Entry) -> Result<()> {
        if self.header.entry != entry.id {
            return Err(PredictionsError::OtherEntry {
                path: path.to_path_buf(),
                found: self.header.entry.clone(),
                expected: entry.id.clone(),
            });
        }
        if self.header.protocol != entry.protocol {
            return Err(PredictionsError::OtherProtocol {
                path: path.to_path_buf(),
                entry: entry.id.clone(),
                protocol: serde_json::to_string(&self.header.protocol).unwrap_or_default(),
            });
        }
        Ok(())
    }
}

/// One record after reading: its views reduced to the aggregate and clip-level counts.
struct Reduced {
    record: Record,
    views: usize,
    clip: Option<Accuracy>,
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
    // A record's scores that cannot be aggregated or ranked: that line's fault.
    let metrics = |source: MetricsError| bad(source.to_string());
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
                &registry::clip_ks(header.num_classes),
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
    let read = jsonl::read(path, &mut |h, at, r: Record| {
        let method = aggregation.unwrap_or(h.protocol.aggregation);
        latest.insert(r.index, reduce(path, h, at.number, r, method)?);
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
        predictions: Some(path.display().to_string()),
        ..AccuracyResult::default()
    };
    let mut video_topk = None;
    if header.task == TASK_DETECTION {
        let report = super::ava::score_records(&header, &scored).map_err(metrics)?;
        result.map = report.map.map(|m| m * 100.0);
        details.per_class_ap = report
            .per_class
            .iter()
            .map(|c| ClassAp {
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
            &registry::video_ks(n),
        )
        .map_err(metrics)?;
        if let Some(c) = &mut clip {
            finish_topk(c);
        }
        // Every top-k metric of the registry, from its k (CIs at video level only).
        for m in METRICS {
            match m.kind {
                Kind::TopK(k) => (m.store)(
                    &mut result,
                    video.get(k).and_then(TopK::percent),
                    percent_ci(video.get(k).and_then(|t| t.ci95)),
                ),
                Kind::ClipTopK(k) => {
                    let v = clip.as_ref().and_then(|c| c.get(k)).and_then(TopK::percent);
                    (m.store)(&mut result, v, None)
                }
                Kind::Map => {}
            }
        }
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
