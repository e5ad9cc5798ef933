//! `vbench run --jobs K`: K local processes of this executable, shard i/K into `out/shard-i`, each
//! started with [`RunOptions::shard_args`], then the merge into `out`. Shards run without latency
//! (K processes at once would time each other); latency is measured afterwards, once, on the then
//! quiet machine.
//!
//! [`RunOptions::shard_args`]: crate::run::options::RunOptions::shard_args

use crate::accuracy::evaluate::WriteFailed;
use crate::run::event::Event;
use crate::run::measure::{measure_entry, MeasureOptions};
use crate::run::merge::{merge_into, MergeError};
use crate::run::options::RunOptions;
use crate::run::output::{self, OutputError, RunFolder};
use crate::run::shard::Shard;
use crate::run::status::EXIT_INCOMPLETE;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use vbench_results::Results;
use vbench_suite::Entry;

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error("cannot find the running vbench executable")]
    Exe(#[source] std::io::Error),
    #[error("--out {out}: cannot create {dir}")]
    Dir {
        out: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {exe}")]
    Spawn {
        exe: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("shard {shard}: {source}")]
    Wait {
        shard: Shard,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{failed} of {jobs} shards failed; nothing merged (re-run the same command: shards resume)\n{details}"
    )]
    Failed {
        failed: usize,
        jobs: usize,
        details: String,
    },
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Write(#[from] WriteFailed),
}

/// A started shard process.
struct Running {
    shard: Shard,
    log: PathBuf,
    child: Child,
}

/// Runs `opts` over `entries` as `jobs` local shard processes, merges them into `folder` and
/// measures latency there (with `measure`); returns the merged results.
pub fn run_jobs(
    opts: &RunOptions,
    entries: &[Entry],
    folder: &RunFolder,
    measure: MeasureOptions,
    jobs: usize,
    on: &mut dyn FnMut(Event),
) -> Result<Results, JobsError> {
    let out = folder.dir();
    let exe = std::env::current_exe().map_err(JobsError::Exe)?;
    // Each shard gets its share of the cores unless the run names a thread count.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = opts.threads.unwrap_or((cores / jobs).max(1));
    let mut running = Vec::new();
    for shard in Shard::all(jobs) {
        let dir = shard_dir(out, shard.index);
        running.push(start(
            &exe,
            out,
            &dir,
            shard,
            opts.shard_args(shard, &dir, threads),
        )?);
        let r: &Running = running.last().expect("just pushed");
        on(Event::ShardStarted {
            shard,
            dir: &dir,
            log: &r.log,
        });
    }
    let mut failed = Vec::new();
    for Running {
        shard,
        log,
        mut child,
    } in running
    {
        let status = child
            .wait()
            .map_err(|source| JobsError::Wait { shard, source })?;
        // A shard whose requested measurements did not all produce a result is merged all the
        // same: the merged run carries its failures and ends incomplete too.
        let incomplete = status.code() == Some(EXIT_INCOMPLETE);
        if status.success() || incomplete {
            on(Event::ShardDone { shard, incomplete });
            continue;
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        failed.push(format!(
            "shard {shard} ({status}, log {}):\n  {}",
            log.display(),
            tail.join("\n  ")
        ));
    }
    if !failed.is_empty() {
        return Err(JobsError::Failed {
            failed: failed.len(),
            jobs,
            details: failed.join("\n"),
        });
    }
    let dirs: Vec<PathBuf> = (0..jobs).map(|i| shard_dir(out, i)).collect();
    let provenance = output::run_provenance(opts.command.clone(), opts.threads);
    let mut results = merge_into(&dirs, out, provenance)?;
    if measure.latency.is_some() {
        let quiet = MeasureOptions {
            accuracy: None,
            ..measure
        };
        for r in &mut results.entries {
            if let Some(e) = entries.iter().find(|e| e.id == r.id) {
                on(Event::Latency { entry: e });
                r.latency = measure_entry(e, None, &quiet, &mut |_| {})?.latency;
            }
        }
        folder.save(&results)?;
        folder.write_report(&results)?;
    }
    Ok(results)
}

fn shard_dir(out: &Path, index: usize) -> PathBuf {
    out.join(format!("shard-{index}"))
}

/// Starts `exe args` with its output in `dir/run.log`.
fn start(
    exe: &Path,
    out: &Path,
    dir: &Path,
    shard: Shard,
    args: Vec<String>,
) -> Result<Running, JobsError> {
    std::fs::create_dir_all(dir).map_err(|source| JobsError::Dir {
        out: out.to_path_buf(),
        dir: dir.to_path_buf(),
        source,
    })?;
    let log = dir.join("run.log");
    let logged = |source| JobsError::Log {
        path: log.clone(),
        source,
    };
    let file = std::fs::File::create(&log).map_err(logged)?;
    let stdout = file.try_clone().map_err(logged)?;
    let child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(file)
        .spawn()
        .map_err(|source| JobsError::Spawn {
            exe: exe.to_path_buf(),
            source,
        })?;
    Ok(Running { shard, log, child })
}
