//! `vbench slurm`: a suite as a Slurm job array, one task per shard (`vbench run --shard
//! $SLURM_ARRAY_TASK_ID/N --out DIR/shard-$SLURM_ARRAY_TASK_ID`), and a merge job that runs once
//! every task succeeded (`--dependency=afterok:<array id>`). Writes both scripts under
//! `DIR/slurm/`; prints them, or with --submit hands them to `sbatch --parsable` and prints the
//! job ids.
//!
//! Paths in the scripts are absolute (a batch job starts wherever Slurm puts it), and the
//! `vbench` they run is this executable unless --vbench names another: compute nodes must see
//! the same file system paths, as on any cluster with a shared home or project file system.

use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use vbench_suite::load_suite;

#[derive(clap::Args)]
pub struct Args {
    /// A built-in suite (k400, ssv2, charades, ava, mobile) or a path to a suite .toml.
    #[arg(long)]
    suite: String,
    /// Shards, i.e. array tasks (video at list position p goes to shard p mod N).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    shards: u32,
    /// Output folder: shard i in DIR/shard-i, the merge in DIR, scripts and logs in DIR/slurm
    /// [default: out/<suite>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Dataset root, passed to every shard's `vbench run`.
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// Only these entries (names or ids); repeatable.
    #[arg(long = "entry")]
    entries: Vec<String>,
    /// Weights cache folder, passed to every shard.
    #[arg(long)]
    weights_dir: Option<PathBuf>,
    /// Slurm partition (#SBATCH --partition).
    #[arg(long)]
    partition: Option<String>,
    /// GPUs per array task (#SBATCH --gpus-per-task); with it, shards run with --device cuda.
    #[arg(long, default_value_t = 0)]
    gpus_per_task: u32,
    /// CPUs per array task (#SBATCH --cpus-per-task), also each shard's --threads.
    #[arg(long)]
    cpus_per_task: Option<u32>,
    /// Wall-time limit per task (#SBATCH --time), e.g. 01:00:00.
    #[arg(long)]
    time: Option<String>,
    /// Memory per task (#SBATCH --mem), e.g. 32G.
    #[arg(long)]
    mem: Option<String>,
    /// Account to charge (#SBATCH --account).
    #[arg(long)]
    account: Option<String>,
    /// Job name prefix [default: vbench-<suite>].
    #[arg(long)]
    job_name: Option<String>,
    /// The vbench executable on the compute nodes [default: this one].
    #[arg(long)]
    vbench: Option<PathBuf>,
    /// Submit with sbatch (default: only write and print the scripts).
    #[arg(long)]
    submit: bool,
    /// Further `vbench run` arguments for every shard, after `--` (e.g. -- --batch 30 --no-latency).
    #[arg(last = true, value_name = "RUN ARGS")]
    run_args: Vec<String>,
}

/// A word for bash, single-quoted unless it is plainly safe.
fn sh(word: &str) -> String {
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
    std::path::absolute(p).with_context(|| format!("{}: cannot make it absolute", p.display()))
}

/// The two scripts, for the folder `out` (absolute).
pub struct Scripts {
    pub shards: String,
    pub merge: String,
}

fn header(s: &mut String, what: &str, name: &str, log: &Path, args: &Args) {
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
        ("partition", &args.partition),
        ("account", &args.account),
        ("time", &args.time),
    ] {
        if let Some(v) = value {
            let _ = writeln!(s, "#SBATCH --{key}={}", sh(v));
        }
    }
}

pub fn scripts(args: &Args, suite_name: &str, out: &Path, exe: &Path) -> Result<Scripts> {
    let n = args.shards;
    let name = args
        .job_name
        .clone()
        .unwrap_or_else(|| format!("vbench-{suite_name}"));
    let logs = out.join("slurm");
    let exe = sh(&exe.display().to_string());
    // A suite file is named by its absolute path (a job starts wherever Slurm puts it).
    let suite = match Path::new(&args.suite) {
        p if p.is_file() => absolute(p)?.display().to_string(),
        _ => args.suite.clone(),
    };

    let mut s = String::new();
    header(
        &mut s,
        &format!("suite {suite_name}, one array task per shard of {n}"),
        &name,
        &logs.join("shard-%a.log"),
        args,
    );
    let _ = writeln!(s, "#SBATCH --array=0-{}", n - 1);
    if args.gpus_per_task > 0 {
        let _ = writeln!(s, "#SBATCH --gpus-per-task={}", args.gpus_per_task);
    }
    if let Some(c) = args.cpus_per_task {
        let _ = writeln!(s, "#SBATCH --cpus-per-task={c}");
    }
    if let Some(m) = &args.mem {
        let _ = writeln!(s, "#SBATCH --mem={}", sh(m));
    }
    let _ = writeln!(s, "set -euo pipefail");
    let _ = writeln!(s, "N={n}");
    let _ = writeln!(
        s,
        "I=\"${{SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}}\""
    );
    let mut run = vec![
        exe.clone(),
        "run".into(),
        "--suite".into(),
        sh(&suite),
        "--shard".into(),
        "\"$I/$N\"".into(),
        "--out".into(),
        format!("{}/shard-\"$I\"", sh(&out.display().to_string())),
    ];
    for e in &args.entries {
        run.extend(["--entry".into(), sh(e)]);
    }
    if let Some(d) = &args.data_root {
        run.extend([
            "--data-root".into(),
            sh(&absolute(d)?.display().to_string()),
        ]);
    }
    if let Some(d) = &args.weights_dir {
        run.extend([
            "--weights-dir".into(),
            sh(&absolute(d)?.display().to_string()),
        ]);
    }
    let given = |flag: &str| {
        args.run_args
            .iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    if args.gpus_per_task > 0 && !given("--device") {
        run.extend(["--device".into(), "cuda".into()]);
    }
    if let Some(c) = args.cpus_per_task.filter(|_| !given("--threads")) {
        run.extend(["--threads".into(), c.to_string()]);
    }
    run.extend(args.run_args.iter().map(|a| sh(a)));
    let _ = writeln!(s, "exec {}", run.join(" "));

    let mut m = String::new();
    header(
        &mut m,
        &format!("merges the {n} shards of suite {suite_name} once all succeeded"),
        &format!("{name}-merge"),
        &logs.join("merge.log"),
        args,
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

/// Runs `sbatch --parsable [extra] script`: the job id (`id` or `id;cluster`).
fn sbatch(extra: &[String], script: &Path) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "Slurm is not reachable: `sbatch` is not on PATH (is this a Slurm login node?). \
             Without --submit, `vbench slurm` writes the scripts for you to submit elsewhere"
        ),
        Err(e) => bail!("Slurm is not reachable: cannot run sbatch: {e}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "sbatch {} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let id = stdout
        .lines()
        .last()
        .and_then(|l| l.split(';').next())
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
        .with_context(|| {
            format!(
                "sbatch {} printed no job id: `{}`",
                script.display(),
                stdout.trim()
            )
        })?;
    Ok(id.to_string())
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let plan = load_suite(&args.suite)?;
    if let Some(bad) = args
        .entries
        .iter()
        .find(|n| !plan.entries.iter().any(|e| e.name == **n || e.id == **n))
    {
        bail!(
            "no entry of suite `{}` matches --entry {bad}",
            plan.suite.name
        );
    }
    let out = absolute(
        &args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("out").join(&plan.suite.name)),
    )?;
    let exe = match &args.vbench {
        Some(p) => absolute(p)?,
        None => std::env::current_exe().context("cannot find the running vbench executable")?,
    };
    let scripts = scripts(&args, &plan.suite.name, &out, &exe)?;
    let dir = out.join("slurm");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("--out {}: cannot create {}", out.display(), dir.display()))?;
    let shards_path = dir.join("shards.sbatch");
    let merge_path = dir.join("merge.sbatch");
    for (p, text) in [
        (&shards_path, &scripts.shards),
        (&merge_path, &scripts.merge),
    ] {
        vbench_results::write_atomic(p, text.as_bytes())
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if !args.submit {
        println!("# {}\n{}", shards_path.display(), scripts.shards);
        println!("# {}\n{}", merge_path.display(), scripts.merge);
        println!(
            "# submit: A=$(sbatch --parsable {}) && sbatch --dependency=afterok:$A {}",
            sh(&shards_path.display().to_string()),
            sh(&merge_path.display().to_string())
        );
        return Ok(ExitCode::SUCCESS);
    }
    let array = sbatch(&[], &shards_path)?;
    let merge =
        sbatch(&[format!("--dependency=afterok:{array}")], &merge_path).with_context(|| {
            format!("the shard array is submitted as job {array}; cancel it with `scancel {array}`")
        })?;
    println!(
        "array job {array} ({} tasks), merge job {merge}",
        args.shards
    );
    println!(
        "results: {} (logs in {})",
        out.join("results.json").display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
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
