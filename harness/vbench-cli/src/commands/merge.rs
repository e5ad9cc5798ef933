//! `vbench merge DIR...`: shards of `vbench run --shard i/N` into one results.json, report.html and
//! per-entry predictions (`vbench_eval::merge` checks and scores; this renders and commits). Also
//! `vbench run --jobs K`: the shards as local processes, then the merge.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use vbench_eval::merge::{default_out, prepare};
use vbench_eval::runner::{measure_entry, RunOptions};
use vbench_eval::shard::{Shard, ShardManifest};
use vbench_report::exporter;
use vbench_results::Results;
use vbench_suite::{Entry, Plan};

#[derive(clap::Args)]
pub struct Args {
    /// The shard folders, each the --out of one `vbench run --shard i/N` (all N of them).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Where results.json, report.html, merge.json and predictions/ go [default: the shards'
    /// common parent folder].
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let out = match args.out {
        Some(o) => o,
        None => default_out(&args.dirs).context(
            "the shard folders have no common parent folder: say where the merge goes with --out",
        )?,
    };
    let results = merge_into(&args.dirs, &out)?;
    print_summary(&results, &out)?;
    Ok(ExitCode::SUCCESS)
}

/// Checks, merges and scores `dirs`, renders the report, then puts it all into `out`.
pub fn merge_into(dirs: &[PathBuf], out: &Path) -> Result<Results> {
    let provenance = vbench_eval::provenance::collect(std::env::args().collect());
    let mut staged = prepare(dirs, out, provenance)?;
    let html = exporter("html")
        .context("html exporter")?
        .render(&staged.results)?;
    staged.stage(Path::new("report.html"), html.as_bytes())?;
    let results = staged.results.clone();
    staged.commit()?;
    Ok(results)
}

fn print_summary(results: &Results, out: &Path) -> Result<()> {
    println!(
        "{}",
        exporter("markdown")
            .context("markdown exporter")?
            .render(results)?
    );
    println!(
        "wrote {} and {}",
        out.join("results.json").display(),
        out.join("report.html").display()
    );
    Ok(())
}

/// `vbench run --shard`: records which shard `out` holds; refuses a folder holding another one.
pub fn record_shard(
    out: &Path,
    shard: Shard,
    plan: &Plan,
    entries: &[&Entry],
    fresh: bool,
) -> Result<()> {
    let ids = entries.iter().map(|e| e.id.clone()).collect();
    let manifest = ShardManifest::new(shard, &plan.suite.name, ids);
    if !fresh {
        if let Some(old) = ShardManifest::read(out)? {
            old.check_resume(&manifest, out)?;
        }
    }
    manifest.write(out)?;
    Ok(())
}

/// The command line of this `vbench run` without `--jobs` and `--out` (each shard gets its own).
fn shard_args(raw: &[String]) -> Vec<String> {
    let mut args = Vec::new();
    let mut it = raw.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--jobs" | "--out" => {
                it.next();
            }
            _ if a.starts_with("--jobs=") || a.starts_with("--out=") => {}
            _ => args.push(a.clone()),
        }
    }
    args
}

/// `vbench run --jobs K`: K local processes of this executable, shard i/K into `out/shard-i`, then
/// the merge into `out`. Shards run without latency (K processes at once would measure each
/// other); latency is measured afterwards, once, on the then quiet machine.
pub fn run_jobs(
    jobs: usize,
    out: &Path,
    entries: &[&Entry],
    opts: &RunOptions,
    threads_given: bool,
) -> Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find the running vbench executable")?;
    let base = shard_args(&std::env::args().collect::<Vec<_>>());
    // Each shard gets its share of the cores unless --threads says otherwise.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = (cores / jobs).max(1);
    let mut children = Vec::new();
    for shard in Shard::all(jobs) {
        let dir = out.join(format!("shard-{}", shard.index));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("--out {}: cannot create {}", out.display(), dir.display()))?;
        let log = dir.join("run.log");
        let file = std::fs::File::create(&log)
            .with_context(|| format!("cannot write {}", log.display()))?;
        let mut cmd = Command::new(&exe);
        cmd.arg("run")
            .args(base.iter().skip(1))
            .args(["--shard", &shard.to_string(), "--out"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        if !base.iter().any(|a| a == "--no-latency") {
            cmd.arg("--no-latency");
        }
        if !threads_given {
            cmd.args(["--threads", &per.to_string()]);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        eprintln!("shard {shard}: {} (log: {})", dir.display(), log.display());
        children.push((shard, dir, log, child));
    }
    let mut failed = Vec::new();
    for (shard, _dir, log, mut child) in children {
        let status = child.wait()?;
        if !status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            failed.push(format!(
                "shard {shard} ({status}, log {}):\n  {}",
                log.display(),
                tail.join("\n  ")
            ));
        } else {
            eprintln!("shard {shard}: done");
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} of {jobs} shards failed; nothing merged (re-run the same command: shards resume)\n{}",
            failed.len(),
            failed.join("\n")
        );
    }
    let dirs: Vec<PathBuf> = (0..jobs).map(|i| out.join(format!("shard-{i}"))).collect();
    let mut results = merge_into(&dirs, out)?;
    if opts.latency.is_some() {
        let quiet = RunOptions {
            data_root: None,
            ..opts.clone()
        };
        for r in &mut results.entries {
            if let Some(e) = entries.iter().find(|e| e.id == r.id) {
                eprintln!("{}: latency", e.id);
                r.latency = measure_entry(e, &quiet).latency;
            }
        }
        vbench_results::save_results(&out.join("results.json"), &results)?;
        let html = exporter("html")
            .context("html exporter")?
            .render(&results)?;
        vbench_results::write_atomic(&out.join("report.html"), html.as_bytes())?;
    }
    print_summary(&results, out)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_args_drop_jobs_and_out() {
        let raw: Vec<String> = [
            "vbench",
            "run",
            "--suite",
            "k400",
            "--jobs",
            "3",
            "--out",
            "o",
            "--entry=x",
            "--jobs=2",
            "--out=p",
            "--fresh",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            shard_args(&raw),
            ["run", "--suite", "k400", "--entry=x", "--fresh"]
        );
    }
}
