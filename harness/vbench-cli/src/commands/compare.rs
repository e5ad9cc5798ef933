//! `vbench compare A.json B.json`: what changed between two runs, per entry, and where both have
//! predictions over the same dataset list, video by video (see vbench_report::compare).

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The earlier run's results.json (A).
    a: PathBuf,
    /// The later run's results.json (B).
    b: PathBuf,
    /// table, markdown, html or json (json carries every flip and class).
    #[arg(long, default_value = "table", value_parser = ["table", "markdown", "md", "html", "json"])]
    format: String,
    /// Gate policy (TOML) whose [accuracy] metrics and bootstrap the paired comparison uses.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Write here (atomically) instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let a = vbench_results::load_results(&args.a)?;
    let b = vbench_results::load_results(&args.b)?;
    let labels = (args.a.display().to_string(), args.b.display().to_string());
    let policy = match &args.policy {
        Some(p) => vbench_report::Policy::load(p)?,
        None => vbench_report::Policy::default(),
    };
    let pairing = super::common::pair((&a, &args.a), (&b, &args.b), &policy);
    let text = vbench_report::compare_paired(&a, &b, (&labels.0, &labels.1), pairing)
        .render(&args.format)
        .with_context(|| format!("rendering the comparison as {}", args.format))?;
    match args.output {
        Some(path) => vbench_results::write_atomic(&path, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
