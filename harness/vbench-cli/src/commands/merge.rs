//! `vbench merge DIR...`: shards of `vbench run --shard i/N` into one results.json, report.html and
//! per-entry predictions (`vbench_eval::run::merge` checks, scores and commits).

use super::common::{exit_code, print_summary};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_eval::run::merge::{default_out, merge_locked};

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
    let provenance = vbench_eval::provenance::collect(std::env::args().collect());
    let finished = merge_locked(&args.dirs, &out, provenance)?;
    print_summary(&finished.results, &out)?;
    Ok(exit_code(&finished.status))
}
