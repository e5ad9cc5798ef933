//! A suite as a Slurm job array, one task per shard (`vbench run --shard
//! $SLURM_ARRAY_TASK_ID/N --out DIR/shard-$SLURM_ARRAY_TASK_ID`), and a merge job that runs once
//! every task succeeded (`--dependency=afterok:<array id>`). [`write_scripts`] writes both under
//! `DIR/slurm/`; [`submit`] hands them to `sbatch --parsable`.
//!
//! Paths in the scripts are absolute (a batch job starts wherever Slurm puts it), and the
//! `vbench` they run is this executable unless another is named: compute nodes must see the same
//! file system paths, as on any cluster with a shared home or project file system.

use crate::run::status::EXIT_INCOMPLETE;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use vbench_results::{write_atomic, ResultsError};
use vbench_suite::{load_suite, SuiteError};

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error(transparent)]
    Suite(#[from] SuiteError),
    #[error("no entry of suite `{suite}` matches --entry {entry}")]
    NoEntry { suite: String, entry: String },
    #[error("{path}: cannot make it absolute")]
    Absolute {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
    Write {
        path: PathBuf,
        #[source]
        source: ResultsError,
    },
    #[error(
        "Slurm is not reachable: `sbatch` is not on PATH (is this a Slurm login node?). \
         Without --submit, `vbench slurm` writes the scripts for you to submit elsewhere"
    )]
    NoSbatch,
    #[error("Slurm is not reachable: cannot run sbatch: {0}")]
    Sbatch(std::io::Error),
    #[error("sbatch {script} failed ({status}): {stderr}")]
    Refused {
        script: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("sbatch {script} printed no job id: `{stdout}`")]
    NoJobId { script: PathBuf, stdout: String },
    #[error("the shard array is submitted as job {array}; cancel it with `scancel {array}`")]
    MergeNotSubmitted {
        array: String,
        #[source]
        source: Box<SlurmError>,
    },
}

type Result<T, E = SlurmError> = std::result::Result<T, E>;

/// What the scripts run and ask Slurm for.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// A built-in suite or a suite `.toml`.
    pub suite: String,
    /// Shards, i.e. array tasks.
    pub shards: u32,
    /// Shard i in `out/shard-i`, the merge in `out`, scripts and logs in `out/slurm`
    /// [default: `out/<suite>`].
    pub out: Option<PathBuf>,
    pub data_root: Option<PathBuf>,
    pub entries: Vec<String>,
    pub weights_dir: Option<PathBuf>,
    pub partition: Option<String>,
    /// With GPUs, shards run with `--device cuda`.
    pub gpus_per_task: u32,
    /// Also each shard's `--threads`.
    pub cpus_per_task: Option<u32>,
    pub time: Option<String>,
    pub mem: Option<String>,
    pub account: Option<String>,
    /// [default: `vbench-<suite>`].
    pub job_name: Option<String>,
    /// The vbench executable on the compute nodes [default: this one].
    pub vbench: Option<PathBuf>,
    /// Further `vbench run` arguments for every shard.
    pub run_args: Vec<String>,
}

/// The two scripts' text.
pub struct Scripts {
    pub shards: String,
    pub merge: String,
}

/// The scripts as written.
pub struct Written {
    pub scripts: Scripts,
    /// The run folder (absolute).
    pub out: PathBuf,
    /// `out/slurm`, for the scripts and logs.
    pub dir: PathBuf,
    pub shards_path: PathBuf,
    pub merge_path: PathBuf,
}

/// A word for bash, single-quoted unless it is plainly safe.
pub fn sh(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|source| SlurmError::Absolute {
        path: p.to_path_buf(),
        source,
    })
}

/// Checks the suite and entries, then writes both scripts under `out/slurm/`.
pub fn write_scripts(opts: &SlurmOptions) -> Result<Written> {
    let plan = load_suite(&opts.suite)?;
    if let Some(bad) = opts
        .entries
        .iter()
        .find(|n| !plan.entries.iter().any(|e| e.name == **n || e.id == **n))
    {
        return Err(SlurmError::NoEntry {
            suite: plan.suite.name.clone(),
            entry: bad.clone(),
        });
    }
    let out = absolute(
        &opts
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("out").join(&plan.suite.name)),
    )?;
    let exe = match &opts.vbench {
        Some(p) => absolute(p)?,
        None => std::env::current_exe().map_err(SlurmError::Exe)?,
    };
    let scripts = scripts(opts, &plan.suite.name, &out, &exe)?;
    let dir = out.join("slurm");
    std::fs::create_dir_all(&dir).map_err(|source| SlurmError::Dir {
        out: out.clone(),
        dir: dir.clone(),
        source,
    })?;
    let shards_path = dir.join("shards.sbatch");
    let merge_path = dir.join("merge.sbatch");
    for (p, text) in [
        (&shards_path, &scripts.shards),
        (&merge_path, &scripts.merge),
    ] {
        write_atomic(p, text.as_bytes()).map_err(|source| SlurmError::Write {
            path: p.clone(),
            source,
        })?;
    }
    Ok(Written {
        scripts,
        out,
        dir,
        shards_path,
        merge_path,
    })
}

fn header(s: &mut String, what: &str, name: &str, log: &Path, opts: &SlurmOptions) {
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# Written by `vbench slurm` (vbench {}): {what}.",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(s, "#SBATCH --job-name={}", sh(name));
    let _ = writeln!(s, "#SBATCH --output={}", sh(&log.display().to_string()));
    let _ = writeln!(s, "#SBATCH --ntasks=1");
    for (key, value) in [
        ("partition", &opts.partition),
        ("account", &opts.account),
        ("time", &opts.time),
    ] {
        if let Some(v) = value {
            let _ = writeln!(s, "#SBATCH --{key}={}", sh(v));
        }
    }
}

/// The shard array's and the merge job's scripts, for the run folder `out` (absolute).
pub fn scripts(opts: &SlurmOptions, suite_name: &str, out: &Path, exe: &Path) -> Result<Scripts> {
    let n = opts.shards;
    let name = opts
        .job_name
        .clone()
        .unwrap_or_else(|| format!("vbench-{suite_name}"));
    let logs = out.join("slurm");
    let exe = sh(&exe.display().to_string());
    let mut s = String::new();
    header(
        &mut s,
        &format!("suite {suite_name}, one array task per shard of {n}"),
        &name,
        &logs.join("shard-%a.log"),
        opts,
    );
    let _ = writeln!(s, "#SBATCH --array=0-{}", n - 1);
    if opts.gpus_per_task > 0 {
        let _ = writeln!(s, "#SBATCH --gpus-per-task={}", opts.gpus_per_task);
    }
    if let Some(c) = opts.cpus_per_task {
        let _ = writeln!(s, "#SBATCH --cpus-per-task={c}");
    }
    if let Some(m) = &opts.mem {
        let _ = writeln!(s, "#SBATCH --mem={}", sh(m));
    }
    let _ = writeln!(s, "set -euo pipefail");
    let _ = writeln!(s, "N={n}");
    let _ = writeln!(
        s,
        "I=\"${{SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}}\""
    );
    let run = shard_command(opts, &exe, out)?;
    // Exit 3: a requested measurement of this shard produced no result. Its results.json says
    // which; the merge carries it (and exits 3), so the task counts as done for `afterok`.
    let _ = writeln!(
        s,
        "# exit {EXIT_INCOMPLETE} (failed measurements, in results.json) still lets the merge run"
    );
    let _ = writeln!(
        s,
        "{} || {{ rc=$?; [ \"$rc\" -eq {EXIT_INCOMPLETE} ] || exit \"$rc\"; }}",
        run.join(" ")
    );

    let mut m = String::new();
    header(
        &mut m,
        &format!("merges the {n} shards of suite {suite_name} once all succeeded"),
        &format!("{name}-merge"),
        &logs.join("merge.log"),
        opts,
    );
    let _ = writeln!(m, "set -euo pipefail");
    let dirs: Vec<String> = (0..n)
        .map(|i| sh(&out.join(format!("shard-{i}")).display().to_string()))
        .collect();
    let _ = writeln!(
        m,
        "exec {exe} merge --out {} \\\n  {}",
        sh(&out.display().to_string()),
        dirs.join(" \\\n  ")
    );
    Ok(Scripts {
        shards: s,
        merge: m,
    })
}

/// One array task's `vbench run`, its words quoted for bash.
fn shard_command(opts: &SlurmOptions, exe: &str, out: &Path) -> Result<Vec<String>> {
    // A suite file is named by its absolute path (a job starts wherever Slurm puts it).
    let suite = match Path::new(&opts.suite) {
        p if p.is_file() => absolute(p)?.display().to_string(),
        _ => opts.suite.clone(),
    };
    let mut run = vec![
        exe.to_string(),
        "run".into(),
        "--suite".into(),
        sh(&suite),
        "--shard".into(),
        "\"$I/$N\"".into(),
        "--out".into(),
        format!("{}/shard-\"$I\"", sh(&out.display().to_string())),
    ];
    for e in &opts.entries {
        run.extend(["--entry".into(), sh(e)]);
    }
    for (flag, dir) in [
        ("--data-root", &opts.data_root),
        ("--weights-dir", &opts.weights_dir),
    ] {
        if let Some(d) = dir {
            run.extend([flag.into(), sh(&absolute(d)?.display().to_string())]);
        }
    }
    let given = |flag: &str| {
        opts.run_args
            .iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    if opts.gpus_per_task > 0 && !given("--device") {
        run.extend(["--device".into(), "cuda".into()]);
    }
    if let Some(c) = opts.cpus_per_task.filter(|_| !given("--threads")) {
        run.extend(["--threads".into(), c.to_string()]);
    }
    run.extend(opts.run_args.iter().map(|a| sh(a)));
    Ok(run)
}

/// Submits the array, then the merge job depending on it: `(array id, merge id)`.
pub fn submit(w: &Written) -> Result<(String, String)> {
    let array = sbatch(&[], &w.shards_path)?;
    let merge =
        sbatch(&[format!("--dependency=afterok:{array}")], &w.merge_path).map_err(|source| {
            SlurmError::MergeNotSubmitted {
                array: array.clone(),
                source: Box::new(source),
            }
        })?;
    Ok((array, merge))
}

/// Runs `sbatch --parsable [extra] script`: the job id (`id` or `id;cluster`).
fn sbatch(extra: &[String], script: &Path) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SlurmError::NoSbatch),
        Err(e) => return Err(SlurmError::Sbatch(e)),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(SlurmError::Refused {
            script: script.to_path_buf(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    stdout
        .lines()
        .last()
        .and_then(|l| l.split(';').next())
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .ok_or_else(|| SlurmError::NoJobId {
            script: script.to_path_buf(),
            stdout: stdout.trim().to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh("k400"), "k400");
        assert_eq!(sh("/a b/c"), "'/a b/c'");
        assert_eq!(sh("it's"), r"'it'\''s'");
        assert_eq!(sh(""), "''");
    }
}
