//! `vbench merge`: shards of one run (`vbench run --shard i/N`, see [`crate::run::shard`]) back into one
//! run, as if it had been a single process.
//!
//! Everything is checked before anything is written: every shard `0..N` present exactly once, all
//! cut by the same rule from the same suite, vbench version and entries, and, per entry, the same
//! protocol, weights sha256 and dataset-list sha256 (from the predictions headers), with every
//! video of each shard on record. The merged predictions file holds each video's latest record,
//! copied byte for byte and ordered by list position, and the metrics are scored again from it
//! with [`score_file`], the function a single-process run scores with: so the numbers are the
//! same bits. Files go to a staging folder first and are renamed into place only when all of them
//! exist, `results.json` last; a refused merge leaves `--out` as it was.

use crate::accuracy::evaluate::judge;
use crate::run::lock::{LockError, OutLock};
use crate::run::output;
use crate::run::shard::{self, Shard, ShardError, ShardManifest};
use crate::run::status::Finished;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use vbench_report::ReportError;
use vbench_results::predictions::{jsonl, score_file, Header, PredictionsError};
use vbench_results::{
    load_results, AccuracyResult, EntryResult, EvalTiming, Measure, Provenance, Results,
    ResultsError,
};

/// Written next to the merged results.json: which shard folders went in, and where they ran.
pub const MERGE_MANIFEST: &str = "merge.json";

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give the shard folders (DIR/shard-0 DIR/shard-1 ...)")]
    NoShards,
    #[error("{dir}: not a `vbench run --shard` output (no shard.json)")]
    NotAShard { dir: PathBuf },
    #[error(transparent)]
    Shard(#[from] ShardError),
    #[error("{dir}: {source}")]
    Results {
        dir: PathBuf,
        #[source]
        source: ResultsError,
    },
    #[error("{dir}: does not belong with {reference}: {detail}")]
    Disagree {
        dir: PathBuf,
        reference: PathBuf,
        detail: String,
    },
    #[error("{second}: shard {shard} given twice (also {first})")]
    Duplicate {
        shard: Shard,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("shard {missing} of {count} is missing: given {given}")]
    Missing {
        missing: String,
        count: usize,
        given: String,
    },
    #[error("{dir}: {message}")]
    Incomplete { dir: PathBuf, message: String },
    #[error(transparent)]
    Predictions(#[from] PredictionsError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--out {out}: {message}")]
    Out { out: PathBuf, message: String },
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Locked(#[from] LockError),
}

type Result<T, E = MergeError> = std::result::Result<T, E>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MergeError + '_ {
    move |source| MergeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One shard folder, read.
struct ShardDir {
    dir: PathBuf,
    manifest: ShardManifest,
    results: Results,
}

/// Where one shard's copy of one entry's records sit: the latest line per list position.
struct ShardRecords {
    path: PathBuf,
    /// position → (byte offset, length with newline)
    lines: BTreeMap<usize, (u64, usize)>,
}

/// What `merge.json` says about each shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergedShard {
    pub shard: String,
    pub dir: String,
    pub hostname: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergeManifest {
    pub rule: String,
    pub shards: Vec<MergedShard>,
}

/// A merge checked and staged, not yet in place: [`Staged::commit`] renames it in; dropping it
/// removes the staging folder.
pub struct Staged {
    out: PathBuf,
    staging: PathBuf,
    /// Staged file (relative to both folders), in commit order.
    files: Vec<PathBuf>,
    pub results: Results,
    pub manifest: MergeManifest,
    committed: bool,
}

fn read_shard(dir: &Path) -> Result<ShardDir> {
    let manifest = ShardManifest::read(dir)?.ok_or_else(|| MergeError::NotAShard {
        dir: dir.to_path_buf(),
    })?;
    let results =
        load_results(&dir.join("results.json")).map_err(|source| MergeError::Results {
            dir: dir.to_path_buf(),
            source,
        })?;
    Ok(ShardDir {
        dir: dir.to_path_buf(),
        manifest,
        results,
    })
}

/// Orders the shards by index and proves they are exactly `0..N` of one run.
fn check_set(mut shards: Vec<ShardDir>) -> Result<Vec<ShardDir>> {
    let Some(first) = shards.first() else {
        return Err(MergeError::NoShards);
    };
    let count = first.manifest.count;
    let reference = first.dir.clone();
    for s in &shards {
        if s.manifest.count != count {
            return Err(disagree(
                s,
                &reference,
                &shards[0],
                "shard count",
                s.manifest.count.to_string(),
                count.to_string(),
            ));
        }
    }
    shards.sort_by_key(|s| s.manifest.index);
    for pair in shards.windows(2) {
        if pair[0].manifest.index == pair[1].manifest.index {
            return Err(MergeError::Duplicate {
                shard: pair[1].manifest.shard(),
                first: pair[0].dir.clone(),
                second: pair[1].dir.clone(),
            });
        }
    }
    if shards.len() != count {
        let missing: Vec<String> = Shard::all(count)
            .filter(|w| !shards.iter().any(|s| s.manifest.index == w.index))
            .map(|w| w.to_string())
            .collect();
        let given: Vec<String> = shards
            .iter()
            .map(|s| format!("{} ({})", s.dir.display(), s.manifest.shard()))
            .collect();
        return Err(MergeError::Missing {
            missing: missing.join(", "),
            count,
            given: given.join(", "),
        });
    }
    Ok(shards)
}

fn disagree(
    s: &ShardDir,
    reference: &Path,
    r: &ShardDir,
    field: &str,
    found: String,
    expected: String,
) -> MergeError {
    MergeError::Disagree {
        dir: s.dir.clone(),
        reference: reference.to_path_buf(),
        detail: format!(
            "{field} differs (shard {}: {found}; shard {}: {expected})",
            s.manifest.shard(),
            r.manifest.shard()
        ),
    }
}

/// Run-level agreement: rule, suite, vbench version, entries and their protocols.
fn check_run(shards: &[ShardDir]) -> Result<()> {
    let r = &shards[0];
    for s in &shards[1..] {
        let fields: [(&str, String, String); 5] = [
            ("rule", s.manifest.rule.clone(), r.manifest.rule.clone()),
            ("suite", s.manifest.suite.clone(), r.manifest.suite.clone()),
            (
                "suite in results.json",
                s.results.suite.name.clone(),
                r.results.suite.name.clone(),
            ),
            (
                "vbench version",
                s.results.provenance.vbench_version.clone(),
                r.results.provenance.vbench_version.clone(),
            ),
            (
                "entries",
                s.manifest.entries.join(","),
                r.manifest.entries.join(","),
            ),
        ];
        for (field, found, expected) in fields {
            if found != expected {
                return Err(disagree(s, &r.dir, r, field, found, expected));
            }
        }
        let ids = |x: &ShardDir| {
            x.results
                .entries
                .iter()
                .map(|e| e.id.clone())
                .collect::<Vec<_>>()
        };
        if ids(s) != ids(r) {
            return Err(disagree(
                s,
                &r.dir,
                r,
                "entries in results.json",
                ids(s).join(","),
                ids(r).join(","),
            ));
        }
        for (a, b) in s.results.entries.iter().zip(&r.results.entries) {
            if a.protocol != b.protocol {
                return Err(disagree(
                    s,
                    &r.dir,
                    r,
                    &format!("protocol of {}", a.id),
                    json(&a.protocol),
                    json(&b.protocol),
                ));
            }
        }
    }
    Ok(())
}

/// A value as JSON, for messages.
fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The predictions file of `entry` in a shard folder (results.json names it, relative).
fn predictions_path(dir: &Path, entry: &EntryResult) -> PathBuf {
    let rel = entry
        .accuracy
        .value()
        .and_then(|a| a.predictions.clone())
        .map(PathBuf::from)
        .filter(|p| p.is_relative())
        .unwrap_or_else(|| PathBuf::from("predictions").join(format!("{}.jsonl", entry.name)));
    dir.join(rel)
}

/// Only the field a merge needs from a record line; serde skips the scores (the merged file is
/// parsed in full when it is scored).
#[derive(Deserialize)]
struct RecordKey {
    index: usize,
}

/// A shard's predictions file ends in a line cut short or not parsing: named with its number.
fn torn_tail(path: &Path) -> MergeError {
    let bytes = std::fs::read(path).unwrap_or_default();
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
    let line = newlines + usize::from(bytes.last() != Some(&b'\n'));
    MergeError::Incomplete {
        dir: path.to_path_buf(),
        message: format!(
            "line {line}: the last record is cut short or does not parse; the shard did not \
             finish writing it: run the shard again (it resumes)"
        ),
    }
}

/// Reads a shard's predictions file with the one torn-tail reader ([`jsonl::read`]): its header
/// and the latest line per list position. A torn last line (a write cut by a kill) is ignored, as
/// a resume would; a bad line elsewhere is not.
fn index_file(path: &Path) -> Result<(Header, ShardRecords)> {
    let mut lines = BTreeMap::new();
    let read = jsonl::read(path, &mut |_, at, k: RecordKey| {
        lines.insert(k.index, (at.offset, at.len));
        Ok(())
    })?;
    let (header, _) = read.ok_or_else(|| PredictionsError::Corrupt {
        path: path.to_path_buf(),
        line: 1,
        message: "no complete header line".into(),
    })?;
    Ok((
        header,
        ShardRecords {
            path: path.to_path_buf(),
            lines,
        },
    ))
}

/// Entry-level agreement of one shard's header with the first shard's.
fn check_header(s: &ShardDir, h: &Header, r: &ShardDir, rh: &Header) -> Result<()> {
    let fields: [(&str, String, String); 9] = [
        (
            "predictions format",
            h.vbench_predictions.to_string(),
            rh.vbench_predictions.to_string(),
        ),
        (
            "input transform version",
            h.transform.to_string(),
            rh.transform.to_string(),
        ),
        ("entry", h.entry.clone(), rh.entry.clone()),
        ("variant", h.variant().to_string(), rh.variant().to_string()),
        ("task", h.task.clone(), rh.task.clone()),
        (
            "num_classes",
            h.num_classes.to_string(),
            rh.num_classes.to_string(),
        ),
        (
            &format!("protocol of {}", rh.entry),
            json(&h.protocol),
            json(&rh.protocol),
        ),
        (
            &format!("weights sha256 of {}", rh.entry),
            format!("{} ({})", h.weights.sha256, h.weights.file),
            format!("{} ({})", rh.weights.sha256, rh.weights.file),
        ),
        (
            &format!("dataset-list sha256 of {}", rh.entry),
            format!("{} ({} videos)", h.dataset.sha256, h.dataset.videos),
            format!("{} ({} videos)", rh.dataset.sha256, rh.dataset.videos),
        ),
    ];
    for (field, found, expected) in fields {
        if found != expected {
            return Err(disagree(s, &r.dir, r, field, found, expected));
        }
    }
    Ok(())
}

/// Every position of the shard has a record, and no record is another shard's.
fn check_coverage(s: &ShardDir, entry: &str, total: usize, recs: &ShardRecords) -> Result<()> {
    let shard = s.manifest.shard();
    if let Some(p) = recs
        .lines
        .keys()
        .find(|&&p| p >= total || !shard.contains(p))
    {
        return Err(MergeError::Incomplete {
            dir: s.dir.clone(),
            message: format!(
                "{}: {entry}: a record for list position {p}, which is not shard {shard}'s \
                 (rule: {})",
                recs.path.display(),
                shard::RULE
            ),
        });
    }
    let expected = shard.len_of(total);
    if recs.lines.len() != expected {
        let first = (0..total)
            .find(|&p| shard.contains(p) && !recs.lines.contains_key(&p))
            .unwrap_or(0);
        return Err(MergeError::Incomplete {
            dir: s.dir.clone(),
            message: format!(
                "{entry}: {} of the shard's {expected} videos have no record (first: list \
                 position {first}); the shard did not finish: run it again (it resumes)",
                expected - recs.lines.len()
            ),
        });
    }
    Ok(())
}

/// Writes the merged predictions file: the first shard's header line, then every position's
/// latest line, copied byte for byte, in list order.
fn write_merged(target: &Path, total: usize, count: usize, files: &[ShardRecords]) -> Result<()> {
    let mut readers = files
        .iter()
        .map(|f| Ok(BufReader::new(File::open(&f.path).map_err(io(&f.path))?)))
        .collect::<Result<Vec<_>>>()?;
    let out = File::create(target).map_err(io(target))?;
    let mut w = BufWriter::with_capacity(1 << 20, out);
    // The header is line 1 of the first shard's file.
    let mut header = Vec::new();
    readers[0]
        .read_until(b'\n', &mut header)
        .map_err(io(&files[0].path))?;
    w.write_all(&header).map_err(io(target))?;
    let mut line = Vec::new();
    for p in 0..total {
        let k = p % count;
        let (f, r) = (&files[k], &mut readers[k]);
        let Some(&(offset, len)) = f.lines.get(&p) else {
            continue;
        };
        r.seek(SeekFrom::Start(offset)).map_err(io(&f.path))?;
        line.resize(len, 0);
        r.read_exact(&mut line).map_err(io(&f.path))?;
        w.write_all(&line).map_err(io(target))?;
    }
    let out = w.into_inner().map_err(|e| io(target)(e.into_error()))?;
    out.sync_all().map_err(io(target))
}

/// The shards' evaluation throughput together: work summed, `wall_s` the slowest shard's and
/// `views_per_s` the sum of the shards' rates (what they achieve running side by side).
fn merged_timing(shards: &[ShardDir], entry: usize) -> Option<EvalTiming> {
    let timings: Vec<&EvalTiming> = shards
        .iter()
        .filter_map(|s| {
            s.results
                .entries
                .get(entry)?
                .accuracy
                .value()?
                .details
                .as_ref()?
                .timing
                .as_ref()
        })
        .collect();
    let first = (*timings.first()?).clone();
    Some(timings[1..].iter().fold(first, |mut t, x| {
        t.videos += x.videos;
        t.views += x.views;
        t.wall_s = t.wall_s.max(x.wall_s);
        t.views_per_s += x.views_per_s;
        t.decode_busy_s += x.decode_busy_s;
        t.inference_busy_s += x.inference_busy_s;
        t.inference_wait_s += x.inference_wait_s;
        t
    }))
}

/// An entry's accuracy to merge: its index, the first shard's header, each shard's records.
type EntryMerge = (usize, Header, Vec<ShardRecords>);
/// An entry whose accuracy failed without records in some shard: its index and the failures.
type Carried = (usize, String);

/// Per entry: accuracy with records in every shard (merged: its header and each shard's records,
/// scored again), failed in some shard that left no records (the failures are carried, naming
/// the shards), or measured in none (kept as shard 0 has it, so not listed); anything in between
/// is refused.
fn entries_to_merge(shards: &[ShardDir]) -> Result<(Vec<EntryMerge>, Vec<Carried>)> {
    let count = shards.len();
    let r = &shards[0];
    let mut merges: Vec<EntryMerge> = Vec::new();
    let mut carried: Vec<Carried> = Vec::new();
    for (e, entry) in r.results.entries.iter().enumerate() {
        fn accuracy_of(s: &ShardDir, e: usize) -> &Measure<AccuracyResult> {
            &s.results.entries[e].accuracy
        }
        let failed: Vec<String> = shards
            .iter()
            .filter_map(|s| match accuracy_of(s, e) {
                Measure::Failed { error } => Some(format!(
                    "shard {} ({}): {error}",
                    s.manifest.shard(),
                    s.dir.display()
                )),
                _ => None,
            })
            .collect();
        // A shard fails an entry with its records on file when none of its videos scored.
        let with_records = |s: &ShardDir| match accuracy_of(s, e) {
            Measure::Measured { .. } => true,
            Measure::Failed { .. } => predictions_path(&s.dir, &s.results.entries[e]).is_file(),
            _ => false,
        };
        if !shards.iter().all(with_records) {
            if !failed.is_empty() {
                carried.push((e, failed.join("; ")));
                continue;
            }
            if let Some(k) = shards
                .iter()
                .position(|s| accuracy_of(s, e).value().is_some())
            {
                let k = shards.iter().position(|s| !with_records(s)).unwrap_or(k);
                return Err(MergeError::Incomplete {
                    dir: shards[k].dir.clone(),
                    message: format!(
                        "{}: accuracy is {} in this shard but measured in others",
                        entry.id,
                        accuracy_of(&shards[k], e).status()
                    ),
                });
            }
            continue;
        }
        let (rh, _) = index_file(&predictions_path(&r.dir, entry))?;
        let mut files = Vec::with_capacity(count);
        for s in shards {
            let path = predictions_path(&s.dir, &s.results.entries[e]);
            // Every record must score in its own file, so a bad line is named there (the merged
            // file is a temporary copy); a finished shard has no torn last line.
            if score_file(&path, None)?.torn_tail {
                return Err(torn_tail(&path));
            }
            let (h, recs) = index_file(&path)?;
            check_header(s, &h, r, &rh)?;
            check_coverage(s, &entry.id, rh.dataset.videos, &recs)?;
            files.push(recs);
        }
        merges.push((e, rh, files));
    }
    Ok((merges, carried))
}

/// The default `--out`: the shards' common parent folder (`DIR` for `DIR/shard-*`).
pub fn default_out(dirs: &[PathBuf]) -> Option<PathBuf> {
    let parent = |d: &PathBuf| {
        std::path::absolute(d)
            .ok()
            .and_then(|a| a.parent().map(Path::to_path_buf))
    };
    let first = parent(dirs.first()?)?;
    dirs.iter()
        .all(|d| parent(d).as_ref() == Some(&first))
        .then_some(first)
}

/// Checks the shards in `dirs`, merges and scores them into a staging folder inside `out`.
/// `provenance` is the merge's own (its command, host); its start time becomes the earliest
/// shard's.
pub fn prepare(dirs: &[PathBuf], out: &Path, mut provenance: Provenance) -> Result<Staged> {
    let shards = dirs
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<Vec<_>>>()?;
    let shards = check_set(shards)?;
    check_run(&shards)?;
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    if shards.iter().any(|s| abs(&s.dir) == abs(out)) || out.join(shard::MANIFEST).exists() {
        return Err(MergeError::Out {
            out: out.to_path_buf(),
            message: "is a shard folder; merge into another folder (e.g. the shards' parent)"
                .into(),
        });
    }
    let count = shards.len();
    let r = &shards[0];
    let (merges, carried) = entries_to_merge(&shards)?;
    let staging = out.join(format!(".vbench-merge.tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(staging.join("predictions")).map_err(io(&staging))?;
    let mut staged = Staged {
        out: out.to_path_buf(),
        staging: staging.clone(),
        files: Vec::new(),
        results: r.results.clone(),
        manifest: MergeManifest {
            rule: shard::RULE.into(),
            shards: shards
                .iter()
                .map(|s| MergedShard {
                    shard: s.manifest.shard().to_string(),
                    dir: s.dir.display().to_string(),
                    hostname: s.results.provenance.host.hostname.clone(),
                    started_at: s.results.provenance.started_at.clone(),
                    finished_at: s.results.provenance.finished_at.clone(),
                    command: s.results.provenance.command.clone(),
                })
                .collect(),
        },
        committed: false,
    };
    for (e, header, files) in &merges {
        let entry = &r.results.entries[*e];
        let rel = PathBuf::from("predictions").join(format!("{}.jsonl", entry.name));
        let target = staging.join(&rel);
        write_merged(&target, header.dataset.videos, count, files)?;
        let scored = score_file(&target, None)?;
        if scored.not_reached > 0 {
            return Err(MergeError::Incomplete {
                dir: out.to_path_buf(),
                message: format!("{}: {} videos have no record", entry.id, scored.not_reached),
            });
        }
        let mut accuracy = scored.accuracy;
        accuracy.predictions = Some(rel.display().to_string());
        if let Some(d) = &mut accuracy.details {
            d.timing = merged_timing(&shards, *e);
        }
        staged.results.entries[*e].accuracy = judge(accuracy);
        staged.files.push(rel);
    }
    for (e, error) in carried {
        staged.results.entries[e].accuracy = Measure::Failed { error };
    }
    // Shard 0's latency stands for the run (each shard's own is in its results.json).
    provenance.started_at = shards
        .iter()
        .map(|s| s.results.provenance.started_at.clone())
        .min()
        .unwrap_or(provenance.started_at);
    staged.results.provenance = provenance;
    output::finish(&mut staged.results);
    let manifest = serde_json::to_vec_pretty(&staged.manifest).unwrap_or_default();
    staged.stage(Path::new(MERGE_MANIFEST), &manifest)?;
    Ok(staged)
}

/// `vbench merge`: locks `out` (a run or another merge writing there is refused), then
/// [`merge_into`]; the merged run ends incomplete when some requested measurement of a shard
/// produced no result.
pub fn merge_locked(dirs: &[PathBuf], out: &Path, provenance: Provenance) -> Result<Finished> {
    let _lock = OutLock::acquire(out)?;
    Ok(Finished::new(merge_into(dirs, out, provenance)?))
}

/// Checks, merges and scores `dirs` ([`prepare`]), renders the report, then puts it all into
/// `out` ([`Staged::commit`]). The caller holds `out`'s lock.
pub fn merge_into(dirs: &[PathBuf], out: &Path, provenance: Provenance) -> Result<Results> {
    let mut staged = prepare(dirs, out, provenance)?;
    let html = output::render_report(&staged.results)?;
    staged.stage(Path::new(output::REPORT), html.as_bytes())?;
    let results = staged.results.clone();
    staged.commit()?;
    Ok(results)
}

impl Staged {
    /// Adds a file (a rendered report) to what the commit renames into place.
    pub fn stage(&mut self, rel: &Path, bytes: &[u8]) -> Result<()> {
        let p = self.staging.join(rel);
        let mut f = File::create(&p).map_err(io(&p))?;
        f.write_all(bytes).map_err(io(&p))?;
        f.sync_all().map_err(io(&p))?;
        self.files.push(rel.to_path_buf());
        Ok(())
    }

    /// Renames every staged file into `out`, then writes results.json (atomically) last.
    pub fn commit(mut self) -> Result<PathBuf> {
        let results = serde_json::to_vec_pretty(&self.results).map_err(|e| MergeError::Out {
            out: self.out.clone(),
            message: e.to_string(),
        })?;
        self.stage(Path::new(".results.json.staged"), &results)?;
        let results_staged = self.files.pop();
        for rel in &self.files {
            let to = self.out.join(rel);
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
            }
            std::fs::rename(self.staging.join(rel), &to).map_err(io(&to))?;
        }
        let target = self.out.join(output::RESULTS);
        if let Some(rel) = results_staged {
            std::fs::rename(self.staging.join(rel), &target).map_err(io(&target))?;
        }
        self.committed = true;
        let _ = std::fs::remove_dir_all(&self.staging);
        Ok(target)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}
