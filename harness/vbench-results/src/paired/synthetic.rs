//! Predictions files with chosen outcomes: which videos each run gets right, which fail. The gate,
//! compare and explained-gap tests build their runs with it, in the format `vbench run` writes (the
//! writer's serialisation, without its per-line fsync).

use crate::predictions::{
    DatasetInfo, Header, PredictionsError, Record, RecordStatus, Result, ViewRecord, WeightsInfo,
    FORMAT_VERSION,
};
use std::path::Path;
use vbench_suite::{find_entry, Aggregation};

/// One run over a list of `labels.len()` videos.
#[derive(Debug, Clone)]
pub struct SyntheticRun<'a> {
    pub num_classes: usize,
    /// Per video (−1: no label).
    pub labels: &'a [i64],
    /// Per video: top-1 right.
    pub correct: &'a [bool],
    /// Videos recorded as failed to decode.
    pub failed: &'a [usize],
    /// The dataset list's sha256.
    pub dataset_sha256: &'a str,
    /// The entry (a built-in one: the header takes its protocol).
    pub entry: &'a str,
    /// `classification`, or `multi_label` (each video's label becomes its one positive).
    pub task: &'a str,
}

/// A Kinetics-style id: `<class>/<11-character id>_<start:06>_<end:06>.mp4`.
pub fn video_id(index: usize, label: i64) -> String {
    format!("c{label}/v{index:010}_000010_000020.mp4")
}

/// Scores with the label on top (right) or second behind the next class (wrong); one view, so
/// the sum aggregate is the view itself.
fn scores(num_classes: usize, label: i64, right: bool) -> Vec<f32> {
    let mut s = vec![0.01f32; num_classes];
    if label >= 0 && num_classes > 1 {
        let l = label as usize;
        let other = (l + 1) % num_classes;
        let (top, second) = if right { (l, other) } else { (other, l) };
        s[top] = 0.6;
        s[second] = 0.3;
    }
    s
}

/// Writes `run` to `path` (replacing it).
pub fn write_synthetic(path: &Path, run: &SyntheticRun) -> Result<()> {
    let (plan, i) = find_entry(run.entry).map_err(|e| PredictionsError::Corrupt {
        path: path.to_path_buf(),
        line: 1,
        message: format!("entry {}: {e}", run.entry),
    })?;
    let e = &plan.entries[i];
    let mut protocol = e.protocol.clone();
    protocol.num_classes = run.num_classes as u32;
    protocol.aggregation = Aggregation::Sum;
    let header = Header {
        vbench_predictions: FORMAT_VERSION,
        entry: run.entry.into(),
        arch: e.model.label(),
        task: run.task.into(),
        num_classes: run.num_classes,
        protocol,
        weights: WeightsInfo {
            file: "synthetic.pyth".into(),
            sha256: "0".repeat(64),
        },
        dataset: DatasetInfo {
            name: "kinetics".into(),
            manifest: "test.csv".into(),
            videos: run.labels.len(),
            sha256: run.dataset_sha256.into(),
        },
        // Constructed runs have no views: they claim the current pipeline's version.
        transform: 2,
        batch: 1,
        device: "cpu".into(),
        vbench_version: String::new(),
        label_map: None,
        variant: None,
        variant_model: None,
        protocol_from: None,
    };
    let json = |v: serde_json::Result<Vec<u8>>| {
        v.map_err(|e| PredictionsError::Corrupt {
            path: path.to_path_buf(),
            line: 0,
            message: e.to_string(),
        })
    };
    // The writer's format without its per-line fsync: tests write thousands of records.
    let mut out = json(serde_json::to_vec(&header))?;
    out.push(b'\n');
    for (index, (&label, &right)) in run.labels.iter().zip(run.correct).enumerate() {
        let mut r = Record {
            index,
            id: video_id(index, label),
            status: RecordStatus::Ok,
            label: (run.task != "multi_label").then_some(label),
            labels: (run.task == "multi_label").then(|| vec![label]),
            scores: None,
            views: Vec::new(),
            gt: None,
            boxes: None,
            kind: None,
            error: None,
        };
        if run.failed.contains(&index) {
            r.status = RecordStatus::Failed;
            r.kind = Some("decode".into());
            r.error = Some("synthetic decode failure".into());
        } else {
            let s = scores(run.num_classes, label, right);
            r.views = vec![ViewRecord {
                clip: 0,
                crop: 0,
                scores: s.clone(),
                logits: None,
            }];
            r.scores = Some(s);
        }
        out.extend(json(serde_json::to_vec(&r))?);
        out.push(b'\n');
    }
    std::fs::write(path, out).map_err(|source| PredictionsError::Io {
        path: path.to_path_buf(),
        source,
    })
}
