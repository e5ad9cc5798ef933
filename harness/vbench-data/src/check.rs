//! `vbench check-data`: is a dataset under `--data-root` complete and decodable, and which list
//! is it? Every listed video (or frame list, or AVA frame folder) is opened, probed and partly
//! decoded (`deep`: entirely); each failure is a typed [`DataError`] naming the file, sorted
//! into one of four kinds, and the check goes on:
//!
//! - **missing**: the file (a video, a listed frame, an AVA frame folder) is not there;
//! - **unreadable**: it is there but cannot be read (permissions, a folder where a file should
//!   be, an I/O error);
//! - **corrupt**: it reads but is no decodable video: empty, garbage, truncated, no video stream,
//!   a decode error, a damaged JPEG, frames of changing size, fewer frames than the header lists
//!   (`deep`);
//! - **label out of range**: outside `-1..num_classes` (single; -1 is "no label") or
//!   `0..num_classes` (multi-label).
//!
//! Videos shorter than the suite's longest clip are reported too, as notes: PyTorchVideo then
//! starts every clip at 0 and repeats frames, and so does vbench.

use crate::datasets::{format_of, Labels, Manifest, Sample, Source};
use crate::decoder::VideoReader;
use crate::error::{DataError, Result};
use crate::frames::{list_frame_folder, read_jpeg_strict, JPEG_DECODER};
use crate::sampler::frames::FRAME_VIDEO_FPS;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use vbench_suite::Plan;

#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Decode every frame (default: open, probe and decode the first `probe_frames`).
    pub deep: bool,
    pub probe_frames: usize,
    /// Labels must index `num_classes` classes.
    pub num_classes: Option<u32>,
    /// The longest clip the suite samples, in seconds.
    pub clip_seconds: Option<f64>,
    /// Videos checked at once.
    pub workers: usize,
}

impl CheckOptions {
    /// What a suite's entries need checked: labels within every entry's classes, and videos
    /// against the longest clip any entry samples (none where the whole video is the clip).
    pub fn for_plan(plan: &Plan) -> Self {
        let format = format_of(plan.suite.dataset);
        let longest = plan
            .entries
            .iter()
            .map(|e| format.clip_seconds(&e.protocol, &plan.source))
            .collect::<Option<Vec<f64>>>()
            .and_then(|spans| spans.into_iter().reduce(f64::max));
        Self {
            num_classes: plan.entries.iter().map(|e| e.protocol.num_classes).min(),
            clip_seconds: longest,
            ..Self::default()
        }
    }
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            deep: false,
            probe_frames: 8,
            num_classes: None,
            clip_seconds: None,
            workers: 2,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    Missing,
    Unreadable,
    Corrupt,
    LabelOutOfRange,
    /// Not a failure: the video is shorter than one clip.
    ShorterThanClip,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Missing => "missing",
            ProblemKind::Unreadable => "unreadable",
            ProblemKind::Corrupt => "corrupt",
            ProblemKind::LabelOutOfRange => "label_out_of_range",
            ProblemKind::ShorterThanClip => "shorter_than_clip",
        }
    }
    /// Whether the kind fails the check (everything but notes).
    pub fn fails(self) -> bool {
        self != ProblemKind::ShorterThanClip
    }
}

/// Which kind of failure a decoding error is.
pub fn classify(e: &DataError) -> ProblemKind {
    match e {
        DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ProblemKind::Missing
        }
        DataError::Io { .. } => ProblemKind::Unreadable,
        DataError::Open { message, .. } if message == "not a regular file" => {
            ProblemKind::Unreadable
        }
        _ => ProblemKind::Corrupt,
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    /// Position of the (first) affected sample in the list.
    pub position: usize,
    pub id: String,
    pub kind: ProblemKind,
    /// The file at fault: the video, the first bad frame, the frame folder.
    pub path: PathBuf,
    /// [`DataError::code`] of the failure, `label` or `short`.
    pub code: String,
    pub message: String,
    /// Samples affected (AVA: the keyframes of one frame folder; otherwise 1).
    pub samples: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct DatasetCheck {
    pub dataset: String,
    pub root: PathBuf,
    pub manifest: String,
    /// [`crate::datasets::manifest_hash`] of the list.
    pub manifest_sha256: String,
    pub deep: bool,
    pub jpeg_decoder: String,
    pub listed: usize,
    pub found: usize,
    pub readable: usize,
    pub missing: usize,
    pub unreadable: usize,
    pub corrupt: usize,
    pub labels_out_of_range: usize,
    /// Single-label samples with label -1 (no label; not a failure).
    pub unlabelled: usize,
    pub shorter_than_clip: usize,
    /// In list order; kinds in the order above.
    pub problems: Vec<Problem>,
    pub wall_s: f64,
}

impl DatasetCheck {
    /// Every listed sample is there, readable, decodable and labelled within range.
    pub fn passed(&self) -> bool {
        self.missing + self.unreadable + self.corrupt + self.labels_out_of_range == 0
    }
}

/// What a healthy video looked like.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Health {
    pub duration_s: f64,
    pub frames_decoded: usize,
}

/// Opens, probes and decodes one video file (the first frames, or all with `deep`).
pub fn check_video(path: &Path, opts: &CheckOptions) -> Result<Health> {
    let mut reader = VideoReader::open(path)?;
    let duration = reader.duration()?.to_f64();
    let max = (!opts.deep).then_some(opts.probe_frames.max(1));
    let stats = reader.probe(max)?;
    let corrupt = |message: String| DataError::Decode {
        path: path.to_path_buf(),
        message,
    };
    if stats.frames == 0 {
        return Err(corrupt("no frame could be decoded".into()));
    }
    if let (true, Some(n)) = (opts.deep, reader.info().frame_count) {
        if (stats.frames as u64) < n {
            return Err(corrupt(format!(
                "truncated: decoded {} of the {n} frames the header lists",
                stats.frames
            )));
        }
    }
    Ok(Health {
        duration_s: duration,
        frames_decoded: stats.frames,
    })
}

/// Checks a frame list: every frame must exist; the first `probe_frames` (all with `deep`) must
/// decode cleanly and share one size.
pub fn check_frames(frames: &[PathBuf], opts: &CheckOptions) -> Result<Health> {
    let Some(first) = frames.first() else {
        return Err(DataError::Frames {
            path: PathBuf::from("<empty frame list>"),
            message: "the video lists no frames".into(),
        });
    };
    let missing: Vec<&PathBuf> = frames.iter().filter(|p| !p.exists()).collect();
    if let Some(m) = missing.first() {
        return Err(DataError::Io {
            path: m.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "{} of {} frames are missing (this is the first)",
                    missing.len(),
                    frames.len()
                ),
            ),
        });
    }
    let n = if opts.deep {
        frames.len()
    } else {
        opts.probe_frames.max(1).min(frames.len())
    };
    let mut size = None;
    for p in &frames[..n] {
        let f = read_jpeg_strict(p)?;
        match size {
            None => size = Some((f.width, f.height)),
            Some(s) if s != (f.width, f.height) => {
                return Err(DataError::Frames {
                    path: p.clone(),
                    message: format!(
                        "{}x{} where {} is {}x{}",
                        f.width,
                        f.height,
                        first.display(),
                        s.0,
                        s.1
                    ),
                })
            }
            Some(_) => {}
        }
    }
    Ok(Health {
        duration_s: frames.len() as f64 / FRAME_VIDEO_FPS,
        frames_decoded: n,
    })
}

/// Checks one AVA frame folder (the first frames, or all with `deep`).
pub fn check_frame_folder(dir: &Path, opts: &CheckOptions) -> Result<Health> {
    if !dir.exists() {
        return Err(DataError::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such frame folder"),
        ));
    }
    check_frames(&list_frame_folder(dir)?, opts)
}

/// A label outside the class range, as a message.
pub fn label_problem(labels: &Labels, num_classes: u32) -> Option<String> {
    let n = num_classes as i64;
    match labels {
        Labels::Single(l) if *l < -1 || *l >= n => Some(format!(
            "label {l} is outside 0..{n} (-1 marks a sample without label)"
        )),
        Labels::Multi(ls) => ls
            .iter()
            .find(|&&l| l < 0 || l >= n)
            .map(|l| format!("label {l} is outside 0..{n}")),
        _ => None,
    }
}

/// One thing to decode: a video, a frame list, or an AVA folder shared by several keyframes.
struct Unit<'a> {
    position: usize,
    sample: &'a Sample,
    samples: usize,
}

fn check_unit(u: &Unit, opts: &CheckOptions) -> Result<Health> {
    match &u.sample.source {
        Source::Video(p) => check_video(p, opts),
        Source::Frames(f) => check_frames(f, opts),
        Source::Keyframe { frames_dir, .. } => check_frame_folder(frames_dir, opts),
    }
}

fn unit_path(s: &Sample) -> PathBuf {
    match &s.source {
        Source::Video(p) => p.clone(),
        Source::Frames(f) => f
            .first()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        Source::Keyframe { frames_dir, .. } => frames_dir.clone(),
    }
}

/// Checks every sample of `manifest` with `opts.workers` threads; `progress(done, total)` is
/// called after each video. Never stops early: every failure is counted and named.
pub fn check_manifest(
    manifest: &Manifest,
    opts: &CheckOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> DatasetCheck {
    let clock = std::time::Instant::now();
    let samples = &manifest.samples;
    // AVA keyframes of one movie share a folder: check it once.
    let mut units: Vec<Unit> = Vec::new();
    let mut by_folder: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (position, sample) in samples.iter().enumerate() {
        if let Source::Keyframe { frames_dir, .. } = &sample.source {
            if let Some(&u) = by_folder.get(frames_dir) {
                units[u].samples += 1;
                continue;
            }
            by_folder.insert(frames_dir.clone(), units.len());
        }
        units.push(Unit {
            position,
            sample,
            samples: 1,
        });
    }
    let results: Vec<Mutex<Option<Result<Health>>>> =
        units.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..opts.workers.clamp(1, units.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(u) = units.get(i) else { break };
                let r = check_unit(u, opts);
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(r);
                }
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, units.len());
            });
        }
    });
    let mut report = DatasetCheck {
        dataset: manifest.name.clone(),
        root: manifest.root.clone(),
        manifest: manifest.manifest.clone(),
        manifest_sha256: manifest.hash(),
        deep: opts.deep,
        jpeg_decoder: JPEG_DECODER.into(),
        listed: samples.len(),
        found: 0,
        readable: 0,
        missing: 0,
        unreadable: 0,
        corrupt: 0,
        labels_out_of_range: 0,
        unlabelled: 0,
        shorter_than_clip: 0,
        problems: Vec::new(),
        wall_s: 0.0,
    };
    for (u, r) in units.iter().zip(results) {
        let r = r.into_inner().ok().flatten();
        let problem = |kind: ProblemKind, path: PathBuf, code: &str, message: String| Problem {
            position: u.position,
            id: u.sample.id.clone(),
            kind,
            path,
            code: code.into(),
            message,
            samples: u.samples,
        };
        match r {
            Some(Ok(h)) => {
                report.found += u.samples;
                report.readable += u.samples;
                if let Some(c) = opts.clip_seconds.filter(|&c| h.duration_s < c) {
                    report.shorter_than_clip += u.samples;
                    report.problems.push(problem(
                        ProblemKind::ShorterThanClip,
                        unit_path(u.sample),
                        "short",
                        format!(
                            "{:.3} s is shorter than the {c:.3} s clip: every clip starts at 0",
                            h.duration_s
                        ),
                    ));
                }
            }
            Some(Err(e)) => {
                let kind = classify(&e);
                match kind {
                    ProblemKind::Missing => report.missing += u.samples,
                    ProblemKind::Unreadable => report.unreadable += u.samples,
                    _ => report.corrupt += u.samples,
                }
                if kind != ProblemKind::Missing {
                    report.found += u.samples;
                }
                let path = error_path(&e).unwrap_or_else(|| unit_path(u.sample));
                report
                    .problems
                    .push(problem(kind, path, e.code(), e.to_string()));
            }
            None => {
                report.corrupt += u.samples;
                report.found += u.samples;
                report.problems.push(problem(
                    ProblemKind::Corrupt,
                    unit_path(u.sample),
                    "internal",
                    "the check of this video did not finish".into(),
                ));
            }
        }
    }
    for (position, s) in samples.iter().enumerate() {
        if matches!(s.labels, Labels::Single(-1)) {
            report.unlabelled += 1;
        }
        let Some(n) = opts.num_classes else { continue };
        if let Some(m) = label_problem(&s.labels, n) {
            report.labels_out_of_range += 1;
            report.problems.push(Problem {
                position,
                id: s.id.clone(),
                kind: ProblemKind::LabelOutOfRange,
                path: unit_path(s),
                code: "label".into(),
                message: m,
                samples: 1,
            });
        }
    }
    report.problems.sort_by_key(|p| (p.position, p.kind));
    report.wall_s = clock.elapsed().as_secs_f64();
    report
}

/// The file a decoding error names.
pub fn error_path(e: &DataError) -> Option<PathBuf> {
    match e {
        DataError::Io { path, .. }
        | DataError::Open { path, .. }
        | DataError::EmptyFile { path }
        | DataError::NoVideoStream { path }
        | DataError::Decode { path, .. }
        | DataError::MissingTimestamp { path }
        | DataError::UnknownDuration { path }
        | DataError::EmptyClip { path, .. }
        | DataError::Frames { path, .. }
        | DataError::Parse { path, .. }
        | DataError::Dataset { path, .. }
        | DataError::ClassCount { path, .. }
        | DataError::Torch { path, .. } => Some(path.clone()),
        DataError::Invalid { .. } | DataError::Overflow { .. } => None,
    }
}
