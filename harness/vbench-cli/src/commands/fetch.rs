//! `vbench fetch`: official checkpoints into the weights cache (resumable, sha256 recorded), or
//! `--from DIR`: copied from a local folder and recorded as imported.

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_eval::weights::{default_dir, FetchOutcome, WeightsCache};
use vbench_suite::load_suite;

#[derive(clap::Args)]
pub struct Args {
    /// A built-in suite or a suite .toml.
    #[arg(long)]
    suite: String,
    /// Only these entries (names or ids); repeatable.
    #[arg(long = "entry")]
    entries: Vec<String>,
    /// Cache directory [default: the user cache dir, e.g. ~/.cache/vbench/weights].
    #[arg(long)]
    weights_dir: Option<PathBuf>,
    /// Copy the official files from this folder instead of downloading them (offline nodes);
    /// they are recorded as imported: nothing offline can prove they are the official files.
    #[arg(long)]
    from: Option<PathBuf>,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let plan = load_suite(&args.suite)?;
    let cache = WeightsCache::new(args.weights_dir.unwrap_or_else(default_dir));
    let style = ProgressStyle::with_template(
        "{msg:32} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
    )?;
    let mut failed = 0;
    let entries: Vec<_> = plan
        .entries
        .iter()
        .filter(|e| {
            args.entries.is_empty() || args.entries.iter().any(|n| *n == e.name || *n == e.id)
        })
        .collect();
    if entries.is_empty() {
        bail!(
            "no entry of suite `{}` matches --entry {:?}",
            plan.suite.name,
            args.entries
        );
    }
    for e in entries {
        // One's own weights and TorchScript files are not downloaded.
        let Some(vbench_suite::Checkpoint::Official { file, url }) = &e.checkpoint else {
            println!(
                "{}: nothing to fetch ({} has no official checkpoint)",
                e.id, e.model
            );
            continue;
        };
        let bar = ProgressBar::new(0)
            .with_style(style.clone())
            .with_message(file.clone());
        let outcome = match &args.from {
            Some(dir) => cache.import_from(dir, url, file),
            None => cache.fetch(url, file, &mut |done, total| {
                if let Some(t) = total {
                    bar.set_length(t);
                }
                bar.set_position(done);
            }),
        };
        bar.finish_and_clear();
        match outcome {
            Ok(FetchOutcome::Cached(m)) => println!(
                "{}: cached{}, sha256 {} ({} bytes)",
                e.id,
                if m.imported { " (imported)" } else { "" },
                m.sha256,
                m.bytes
            ),
            Ok(FetchOutcome::Downloaded(m)) => println!(
                "{}: downloaded, sha256 {} ({} bytes)",
                e.id, m.sha256, m.bytes
            ),
            Ok(FetchOutcome::Imported(m)) => println!(
                "{}: imported, not downloaded, sha256 {} ({} bytes); nothing offline can prove \
                 it is the official file",
                e.id, m.sha256, m.bytes
            ),
            Err(err) => {
                failed += 1;
                eprintln!("{}: {err}", e.id);
            }
        }
    }
    println!("cache: {}", cache.dir().display());
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
