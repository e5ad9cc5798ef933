use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A results.json written by `vbench run`.
    results: PathBuf,
    /// html, markdown, csv or json.
    #[arg(long, default_value = "html")]
    format: String,
    /// Write here (atomically) instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let results = vbench_results::load_results(&args.results)?;
    let exporter = vbench_report::exporter(&args.format).with_context(|| {
        format!(
            "unknown --format `{}`; use html, markdown, csv or json",
            args.format
        )
    })?;
    let text = exporter.render(&results)?;
    match args.output {
        Some(path) => vbench_results::write_atomic(&path, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
