//! `vbench score`: metrics recomputed offline from a predictions file (JSON Lines, see
//! `docs/predictions.md`), optionally checked against the entry it was written for.

use super::common::{check_format, resolve_entry};
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_report::tables::accuracy::{scored_json, scored_text};
use vbench_results::gap::{explain_file, read_reference_list};
use vbench_results::predictions::score_file;
use vbench_suite::Aggregation;

#[derive(clap::Args)]
pub struct Args {
    /// A predictions file written by `vbench run --data-root` (out/<suite>/predictions/<entry>.jsonl).
    #[arg(long)]
    predictions: PathBuf,
    /// With --entry: the suite the entry belongs to (a built-in name or a .toml).
    #[arg(long)]
    suite: Option<String>,
    /// Check that the file was written for this entry (an id like k400/x3d_xs, or a name with --suite).
    #[arg(long)]
    entry: Option<String>,
    /// Aggregate the views with this method instead of the protocol's (sum or max).
    #[arg(long)]
    aggregation: Option<String>,
    #[arg(long, default_value = "table")]
    format: String,
    /// The videos the published number was measured on: also say what this copy explains of
    /// the gap to the published top-1 (--published, or the entry's with --entry).
    #[arg(long)]
    reference_list: Option<PathBuf>,
    /// The published top-1 (percent) to place against the explained-gap bound.
    #[arg(long, requires = "reference_list")]
    published: Option<f64>,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let aggregation = match args.aggregation.as_deref() {
        None => None,
        Some("sum") => Some(Aggregation::Sum),
        Some("max") => Some(Aggregation::Max),
        Some(other) => bail!("unknown --aggregation `{other}`; use sum or max"),
    };
    check_format(&args.format, &["table", "json"])?;
    let list = args
        .reference_list
        .as_deref()
        .map(read_reference_list)
        .transpose()?;
    let mut scored = score_file(&args.predictions, aggregation)?;
    let mut published = args.published;
    if let Some(e) = &args.entry {
        let entry = resolve_entry(args.suite.as_deref(), e)?;
        scored.check_written_for(&args.predictions, &entry)?;
        published = published.or(entry.published.top1.map(|p| p.value));
    }
    if let Some(list) = &list {
        let gap = explain_file(list, &args.predictions, published)?;
        if let Some(d) = &mut scored.accuracy.details {
            d.reference_gap = Some(gap);
        }
    }
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&scored_json(&scored))?);
    } else {
        print!("{}", scored_text(&scored));
    }
    Ok(ExitCode::SUCCESS)
}
