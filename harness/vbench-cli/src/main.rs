//! `vbench`: replay PyTorchVideo's published test protocols and compare with the published tables.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "vbench", version, about = "Benchmark and reproducibility harness for PyTorchVideo's model zoo")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List suite entries with their protocol and published numbers.
    List(commands::list::Args),
    /// Run a suite: params, FLOPs, latency (and accuracy with --data-root); writes results.json + report.html.
    Run(commands::run::Args),
    /// Render a report (html, markdown, csv, json) from a results.json.
    Report(commands::report::Args),
}

/// Exit codes: 0 success, 1 a check failed (gates), 2 bad input or an error.
fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::List(args) => commands::list::exec(args),
        Command::Run(args) => commands::run::exec(args),
        Command::Report(args) => commands::report::exec(args),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("vbench: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
