//! `vbench gate`: judges a candidate run against a baseline run or the published tables, prints every
//! reason, optionally writes JUnit XML. Against a baseline, accuracy is judged video by video where
//! both runs have predictions over the same dataset list. Exit 0 pass, 1 a check failed, 2 bad
//! input (main.rs).

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_report::gate::{
    default_policy_toml, gate_against_baseline_paired, gate_against_published, Policy,
};

#[derive(clap::Args)]
pub struct Args {
    /// The run to judge (a results.json).
    #[arg(long, required_unless_present = "print_policy")]
    candidate: Option<PathBuf>,
    /// Judge against this earlier run (a results.json)...
    #[arg(long, conflicts_with = "against")]
    baseline: Option<PathBuf>,
    /// ...or against the published tables.
    #[arg(long, value_parser = ["published"])]
    against: Option<String>,
    /// Gate policy (TOML); `--print-policy` shows the keys and their defaults.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Also write the checks as JUnit XML here (atomically).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Print the default policy, documented, and exit.
    #[arg(long)]
    print_policy: bool,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    if args.print_policy {
        print!("{}", default_policy_toml());
        return Ok(ExitCode::SUCCESS);
    }
    let policy = match &args.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let Some(candidate_path) = &args.candidate else {
        bail!("--candidate is required")
    };
    let candidate = vbench_results::load_results(candidate_path)?;
    let label = candidate_path.display().to_string();
    let report = match (&args.baseline, args.against.as_deref()) {
        (Some(b), None) => {
            let baseline = vbench_results::load_results(b)?;
            let pairing =
                super::common::pair((&baseline, b), (&candidate, candidate_path), &policy);
            gate_against_baseline_paired(
                &baseline,
                &candidate,
                &policy,
                (&b.display().to_string(), &label),
                &pairing,
            )
        }
        (None, Some("published")) => gate_against_published(&candidate, &policy, &label),
        _ => bail!("give --baseline A.json or --against published"),
    };
    print!("{}", report.render_text());
    if let Some(path) = &args.junit {
        vbench_results::write_atomic(path, report.to_junit().as_bytes())?;
    }
    Ok(if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
