//! `vbench`: replay PyTorchVideo's published test protocols and compare with the published tables.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "vbench",
    version,
    about = "Benchmark and reproducibility harness for PyTorchVideo's model zoo",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List suite entries with their protocol and published numbers.
    List(commands::list::Args),
    /// Run a suite: params, FLOPs, latency (and accuracy with --data-root); writes results.json + report.html.
    #[command(after_help = EXIT_CODES)]
    Run(commands::run::Args),
    /// Download official checkpoints into the weights cache (resumable, sha256 recorded).
    Fetch(commands::fetch::Args),
    /// Render a report (html, markdown, csv, json) from a results.json.
    Report(commands::report::Args),
    /// Params and GFLOPs of one view under each counting convention, against the published table.
    Stats(commands::stats::Args),
    /// Per-entry differences between two runs (params, FLOPs, accuracy, latency p50 with B/A).
    Compare(commands::compare::Args),
    /// Judge a run against a baseline run or the published tables; exit 1 when a check fails.
    Gate(commands::gate::Args),
    /// How often the accuracy gates fire: false alarms and detection rates, paired vs unpaired, by simulation.
    SimulateGate(commands::simulate_gate::Args),
    /// Check a suite's dataset under --data-root: missing/corrupt files, labels, manifest sha256; exit 1 on failures.
    CheckData(commands::check_data::Args),
    /// Forward latency of entries: percentiles, bootstrap CI, CV, foreign load, threads, telemetry.
    Latency(commands::latency::Args),
    /// One video through an entry's whole test protocol: top-5 classes (or every score as JSON).
    Infer(commands::infer::Args),
    /// Metrics recomputed offline from a predictions file of `vbench run --data-root`.
    Score(commands::score::Args),
    /// Write what the model sees for every view of one video to a safetensors file.
    Clips(commands::clips::Args),
    /// Run one model on the tensors of a safetensors file (input, or slow + fast, plus boxes); write logits.
    Forward(commands::forward::Args),
    /// Merge the shards of `vbench run --shard i/N` into one results.json and report (bit-identical metrics).
    #[command(after_help = EXIT_CODES)]
    Merge(commands::merge::Args),
    /// Write (and with --submit, submit) a Slurm job array running a suite in shards, plus the merge job.
    Slurm(commands::slurm::Args),
}

const EXIT_CODES: &str = "Exit codes:\n  \
    0  success\n  \
    1  a check failed (gate, check-data)\n  \
    2  bad input or an error (unknown suite, malformed suite or CSV, unwritable or locked --out), \
    named in one message\n  \
    3  run/merge: a requested measurement produced no result (accuracy with --data-root but \
    no or unfitting weights, a malformed dataset list, no video scored; params, FLOPs or latency \
    failed); one line names each, results.json holds them. Shards under --jobs and Slurm are \
    merged all the same, and the merge exits 3 too";

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::List(args) => commands::list::exec(args),
        Command::Run(args) => commands::run::exec(args),
        Command::Report(args) => commands::report::exec(args),
        Command::Stats(args) => commands::stats::exec(args),
        Command::Compare(args) => commands::compare::exec(args),
        Command::Gate(args) => commands::gate::exec(args),
        Command::SimulateGate(args) => commands::simulate_gate::exec(args),
        Command::Latency(args) => commands::latency::exec(args),
        Command::CheckData(args) => commands::check_data::exec(args),
        Command::Fetch(args) => commands::fetch::exec(args),
        Command::Infer(args) => commands::infer::exec(args),
        Command::Score(args) => commands::score::exec(args),
        Command::Clips(args) => commands::clips::exec(args),
        Command::Forward(args) => commands::forward::exec(args),
        Command::Merge(args) => commands::merge::exec(args),
        Command::Slurm(args) => commands::slurm::exec(args),
    }
}

/// The error and its causes on one line, each cause once: many library errors already quote
/// their source in their own message.
fn message(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        // `vbench list | head`: a closed stdout is the reader's choice, not an error.
        Err(err)
            if err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
                || err.chain().any(|e| e.to_string().contains("Broken pipe")) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("vbench: error: {}", message(&err));
            ExitCode::from(2)
        }
    }
}
