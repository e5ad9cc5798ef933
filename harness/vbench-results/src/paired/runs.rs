//! Two predictions files over the same dataset list, judged video by video. Only lists with the
//! same sha256 are paired (anything else is refused, naming both hashes), and only videos scored
//! `ok` in both runs, with the same id at the same list position; the others are counted by reason.
//!
//! Per metric of the registry: top-k by McNemar's exact test on the videos that flipped, with
//! Newcombe's interval of the difference; mAP (Charades) and frame-mAP (AVA) by a seeded paired
//! bootstrap over videos (an AVA video's keyframes move together). Differences are candidate −
//! baseline, in percentage points.

use super::bootstrap::{paired_bootstrap, BootstrapSpec};
use super::flips::{class_deltas, moved_most, top1_flips, ClassDelta, Flip};
use super::mcnemar::mcnemar_exact;
use super::newcombe::{newcombe_ci95, PairedTable};
use crate::metrics::map::{charades_map, MultiLabelVideo};
use crate::metrics::registry::{Kind, Metric};
use crate::metrics::topk::Rank;
use crate::predictions::{jsonl, Header, PredictionsError, Record, RecordStatus, TASK_DETECTION};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    #[error(transparent)]
    Predictions(#[from] PredictionsError),
    #[error(
        "not paired: the runs scored different dataset lists ({baseline}: sha256 {baseline_sha256}; \
         {candidate}: sha256 {candidate_sha256})"
    )]
    DifferentLists {
        baseline: PathBuf,
        baseline_sha256: String,
        candidate: PathBuf,
        candidate_sha256: String,
    },
    #[error("not paired: {what} differs ({baseline}: {a}; {candidate}: {b})")]
    Incompatible {
        what: String,
        baseline: PathBuf,
        a: String,
        candidate: PathBuf,
        b: String,
    },
    #[error("{path}: no complete header line")]
    NoHeader { path: PathBuf },
}

/// Videos that could not be paired, for one reason.
#[derive(Debug, Clone, Serialize)]
pub struct Unpaired {
    pub reason: String,
    pub count: usize,
    pub examples: Vec<String>,
}

/// The bootstrap's identity, written with its result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BootstrapInfo {
    pub generator: String,
    pub seed: u64,
    pub resamples: usize,
    /// Resamples on which the metric was defined for both runs.
    pub used: usize,
}

/// One metric judged on the paired videos.
#[derive(Debug, Clone, Serialize)]
pub struct PairedMetric {
    pub key: String,
    pub label: String,
    /// Videos the metric was computed on (top-k: paired videos with a label).
    pub videos: usize,
    /// Percent, on the paired videos only.
    pub baseline: f64,
    pub candidate: f64,
    /// candidate − baseline, points.
    pub difference: f64,
    /// 95 % CI of the difference, points.
    pub ci95: (f64, f64),
    pub ci_method: String,
    pub test: String,
    pub p_value: f64,
    /// McNemar: videos right only in the candidate / only in the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapInfo>,
}

/// Everything a paired comparison found.
#[derive(Debug, Clone, Serialize)]
pub struct PairedRuns {
    pub baseline: String,
    pub candidate: String,
    pub dataset_sha256: String,
    pub task: String,
    /// Videos in the dataset list.
    pub listed: usize,
    pub paired: usize,
    pub unpaired: Vec<Unpaired>,
    pub metrics: Vec<PairedMetric>,
    /// Top-1 flips (single-label files), in list order.
    pub flips: Vec<Flip>,
    /// Per-class top-1 over the paired videos (single-label files), in label order.
    pub classes: Vec<ClassDelta>,
    /// The classes whose top-1 moved most ([`MOVED_MOST`] at most).
    pub moved_most: Vec<ClassDelta>,
}

/// Classes listed as having moved most.
pub const MOVED_MOST: usize = 10;

impl PairedRuns {
    pub fn metric(&self, key: &str) -> Option<&PairedMetric> {
        self.metrics.iter().find(|m| m.key == key)
    }
    pub fn unpaired_count(&self) -> usize {
        self.unpaired.iter().map(|u| u.count).sum()
    }
    /// "19,850 videos paired; 31 not: 20 failed in the candidate (decode), 11 …".
    pub fn pairing_summary(&self) -> String {
        let mut s = format!("{} of {} videos paired", self.paired, self.listed);
        if !self.unpaired.is_empty() {
            let why: Vec<String> = self
                .unpaired
                .iter()
                .map(|u| format!("{} {}", u.count, u.reason))
                .collect();
            s += &format!("; not paired: {}", why.join(", "));
        }
        s
    }
}

#[derive(Debug, Clone)]
pub struct PairOptions<'a> {
    pub metrics: Vec<&'static Metric>,
    pub bootstrap: BootstrapSpec,
    /// Class names in label order, for flips and per-class rows.
    pub class_names: Option<&'a [String]>,
}

/// A predictions file as pairing reads it: the header and the latest record per list position,
/// views dropped.
pub struct Loaded {
    pub path: PathBuf,
    pub header: Header,
    pub records: BTreeMap<usize, Record>,
}

/// A [`Record`] without its views: serde skips them unparsed into numbers, which matters for a
/// K400 file (30 views of 400 scores per video).
#[derive(serde::Deserialize)]
struct Slim {
    index: usize,
    id: String,
    status: RecordStatus,
    #[serde(default)]
    label: Option<i64>,
    #[serde(default)]
    labels: Option<Vec<i64>>,
    #[serde(default)]
    scores: Option<Vec<f32>>,
    #[serde(default)]
    gt: Option<Vec<crate::predictions::GtBoxRecord>>,
    #[serde(default)]
    boxes: Option<Vec<crate::predictions::BoxRecord>>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

pub fn load(path: &Path) -> Result<Loaded, PairingError> {
    let mut records = BTreeMap::new();
    let read = jsonl::read::<Slim>(path, &mut |_, _, s| {
        let r = Record {
            index: s.index,
            id: s.id,
            status: s.status,
            label: s.label,
            labels: s.labels,
            scores: s.scores,
            views: Vec::new(),
            gt: s.gt,
            boxes: s.boxes,
            kind: s.kind,
            error: s.error,
        };
        records.insert(r.index, r);
        Ok(())
    })?;
    let (header, _) = read.ok_or_else(|| PairingError::NoHeader {
        path: path.to_path_buf(),
    })?;
    Ok(Loaded {
        path: path.to_path_buf(),
        header,
        records,
    })
}

fn check_compatible(a: &Loaded, b: &Loaded) -> Result<(), PairingError> {
    let (ha, hb) = (&a.header, &b.header);
    if ha.dataset.sha256 != hb.dataset.sha256 {
        return Err(PairingError::DifferentLists {
            baseline: a.path.clone(),
            baseline_sha256: ha.dataset.sha256.clone(),
            candidate: b.path.clone(),
            candidate_sha256: hb.dataset.sha256.clone(),
        });
    }
    let differs = |what: &str, x: String, y: String| {
        Err(PairingError::Incompatible {
            what: what.into(),
            baseline: a.path.clone(),
            a: x,
            candidate: b.path.clone(),
            b: y,
        })
    };
    if ha.task != hb.task {
        return differs("the task", ha.task.clone(), hb.task.clone());
    }
    if ha.num_classes != hb.num_classes {
        return differs(
            "the number of classes",
            ha.num_classes.to_string(),
            hb.num_classes.to_string(),
        );
    }
    Ok(())
}

fn status(r: Option<&Record>) -> Result<(), String> {
    match r {
        None => Err("not reached".into()),
        Some(r) if r.status == RecordStatus::Ok => Ok(()),
        Some(r) => Err(format!(
            "failed ({})",
            r.kind.as_deref().unwrap_or("failed")
        )),
    }
}

/// The pairs (list position, baseline record, candidate record) and the unpaired counts.
fn pair_records<'a>(
    a: &'a Loaded,
    b: &'a Loaded,
) -> (Vec<(&'a Record, &'a Record)>, Vec<Unpaired>) {
    let mut reasons: BTreeMap<String, Unpaired> = BTreeMap::new();
    let mut pairs = Vec::new();
    let listed = a.header.dataset.videos;
    let positions: std::collections::BTreeSet<usize> = (0..listed)
        .chain(a.records.keys().copied())
        .chain(b.records.keys().copied())
        .collect();
    for i in positions {
        let (ra, rb) = (a.records.get(&i), b.records.get(&i));
        let reason = match (status(ra), status(rb)) {
            (Ok(()), Ok(())) => match (ra, rb) {
                (Some(x), Some(y)) if x.id == y.id => {
                    pairs.push((x, y));
                    continue;
                }
                _ => "with different ids at the same list position".to_string(),
            },
            (Err(wa), Err(wb)) if wa == wb => format!("{wa} in both runs"),
            (Err(wa), Ok(())) => format!("{wa} in the baseline"),
            (Ok(()), Err(wb)) => format!("{wb} in the candidate"),
            (Err(wa), Err(wb)) => format!("{wa} in the baseline, {wb} in the candidate"),
        };
        let id = ra.or(rb).map_or_else(|| format!("#{i}"), |r| r.id.clone());
        let u = reasons.entry(reason.clone()).or_insert_with(|| Unpaired {
            reason,
            count: 0,
            examples: Vec::new(),
        });
        u.count += 1;
        if u.examples.len() < 5 {
            u.examples.push(id);
        }
    }
    (pairs, reasons.into_values().collect())
}

/// Per-video hits in the top k, for the paired videos that carry a label in range.
fn topk_table(pairs: &[(&Record, &Record)], k: usize, n: usize) -> PairedTable {
    let mut t = PairedTable::default();
    for (ra, rb) in pairs {
        let Some(label) = ra.label.filter(|&l| l >= 0 && (l as usize) < n) else {
            continue;
        };
        let hit = |r: &Record| {
            r.scores
                .as_deref()
                .filter(|s| s.len() == n)
                .is_some_and(|s| Rank::of(s, label as usize).in_top(k))
        };
        match (hit(ra), hit(rb)) {
            (true, true) => t.both += 1,
            (false, true) => t.fixed += 1,
            (true, false) => t.broken += 1,
            (false, false) => t.neither += 1,
        }
    }
    t
}

fn mcnemar_metric(m: &Metric, t: &PairedTable) -> Option<PairedMetric> {
    let n = t.n();
    let pct = |x: u64| x as f64 / n as f64 * 100.0;
    let (lo, hi) = newcombe_ci95(t)?;
    let test = mcnemar_exact(t.fixed, t.broken);
    Some(PairedMetric {
        key: m.key.into(),
        label: m.label.into(),
        videos: n as usize,
        baseline: pct(t.baseline_correct()),
        candidate: pct(t.candidate_correct()),
        difference: (t.fixed as f64 - t.broken as f64) / n as f64 * 100.0,
        ci95: (lo * 100.0, hi * 100.0),
        ci_method: "Newcombe's score interval for paired proportions (1998, method 10)".into(),
        test: "McNemar's exact test, two-sided".into(),
        p_value: test.p_value,
        fixed: Some(t.fixed),
        broken: Some(t.broken),
        bootstrap: None,
    })
}

/// A mAP-type metric of the records listed in `draw` (positions into `groups`, each group the
/// records of one video), for one run.
type GroupScore<'a> = dyn Fn(&Header, &[&Record]) -> Option<f64> + 'a;

fn bootstrap_metric(
    m: &Metric,
    header: &Header,
    groups: &[Vec<(&Record, &Record)>],
    spec: BootstrapSpec,
    score: &GroupScore,
) -> Option<PairedMetric> {
    let r = paired_bootstrap(groups.len(), spec, |draw| {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for &g in draw {
            for (x, y) in &groups[g] {
                a.push(*x);
                b.push(*y);
            }
        }
        Some((score(header, &a)?, score(header, &b)?))
    })?;
    Some(PairedMetric {
        key: m.key.into(),
        label: m.label.into(),
        videos: groups.len(),
        baseline: r.baseline,
        candidate: r.candidate,
        difference: r.difference,
        ci95: r.ci95,
        ci_method: "paired bootstrap percentile interval (videos resampled)".into(),
        test: "paired bootstrap over videos, two-sided".into(),
        p_value: r.p_value,
        fixed: None,
        broken: None,
        bootstrap: Some(BootstrapInfo {
            generator: r.generator,
            seed: r.seed,
            resamples: r.resamples,
            used: r.used,
        }),
    })
}

/// Charades mAP (percent) of `records`; `None` where undefined (no class with a positive).
fn charades_score(h: &Header, records: &[&Record]) -> Option<f64> {
    let positives: Vec<Vec<usize>> = records
        .iter()
        .map(|r| {
            r.labels
                .iter()
                .flatten()
                .filter_map(|&l| usize::try_from(l).ok())
                .collect()
        })
        .collect();
    let videos: Vec<MultiLabelVideo<f32>> = records
        .iter()
        .zip(&positives)
        .map(|(r, p)| MultiLabelVideo {
            id: &r.id,
            positives: p,
            scores: r.scores.as_deref().unwrap_or(&[]),
        })
        .collect();
    charades_map(&videos, h.num_classes)
        .ok()?
        .map
        .map(|m| m * 100.0)
}

/// AVA frame-mAP (percent) of the keyframe `records`.
fn ava_score(h: &Header, records: &[&Record]) -> Option<f64> {
    crate::predictions::ava::score_records(h, records)
        .ok()?
        .map
        .map(|m| m * 100.0)
}

/// The video an AVA keyframe record belongs to (`video_id,timestamp`); other records are videos.
fn video_of(r: &Record) -> &str {
    r.id.rsplit_once(',').map_or(r.id.as_str(), |(v, _)| v)
}

/// Pairs two loaded predictions files and judges every requested metric on the paired videos.
pub fn pair_loaded(a: &Loaded, b: &Loaded, opts: &PairOptions) -> Result<PairedRuns, PairingError> {
    check_compatible(a, b)?;
    let (pairs, unpaired) = pair_records(a, b);
    let h = &a.header;
    let n = h.num_classes;
    let single = h.task != TASK_DETECTION && h.task != "multi_label";
    let mut metrics = Vec::new();
    for m in &opts.metrics {
        let judged = match m.kind {
            Kind::TopK(k) if single && k <= n => mcnemar_metric(m, &topk_table(&pairs, k, n)),
            Kind::Map if !single => {
                // Group by video: AVA keyframes move with their video.
                let mut groups: BTreeMap<&str, Vec<(&Record, &Record)>> = BTreeMap::new();
                for &(x, y) in &pairs {
                    groups.entry(video_of(x)).or_default().push((x, y));
                }
                let groups: Vec<_> = groups.into_values().collect();
                let score: &GroupScore = if h.task == TASK_DETECTION {
                    &ava_score
                } else {
                    &charades_score
                };
                bootstrap_metric(m, h, &groups, opts.bootstrap, score)
            }
            _ => None,
        };
        metrics.extend(judged);
    }
    let (flips, classes) = if single {
        (
            top1_flips(&pairs, n, opts.class_names),
            class_deltas(&pairs, n, opts.class_names),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(PairedRuns {
        baseline: a.path.display().to_string(),
        candidate: b.path.display().to_string(),
        dataset_sha256: h.dataset.sha256.clone(),
        task: h.task.clone(),
        listed: h.dataset.videos,
        paired: pairs.len(),
        unpaired,
        metrics,
        flips,
        moved_most: moved_most(&classes, MOVED_MOST),
        classes,
    })
}

/// [`load`]s both files and [`pair_loaded`]s them.
pub fn pair_predictions(
    baseline: &Path,
    candidate: &Path,
    opts: &PairOptions,
) -> Result<PairedRuns, PairingError> {
    pair_loaded(&load(baseline)?, &load(candidate)?, opts)
}
