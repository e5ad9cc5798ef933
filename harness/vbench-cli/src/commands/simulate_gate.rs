//! `vbench simulate-gate`: the false-alarm and detection rates of the accuracy gates at Kinetics
//! size, paired (McNemar) and unpaired (today's Wilson rule, a z-test) side by side, by a seeded
//! simulation (`vbench_report::gate::simulate`). Regenerates the table in docs/gate.md.

use anyhow::{bail, Result};
use std::process::ExitCode;
use vbench_report::gate::simulate::{simulate, SimSpec};

#[derive(clap::Args)]
pub struct Args {
    /// Videos scored by both runs.
    #[arg(long, default_value_t = 19_881)]
    videos: u64,
    /// Share of videos that differ between the two runs.
    #[arg(long, default_value_t = 0.08)]
    discordant: f64,
    /// The baseline's accuracy (fraction).
    #[arg(long, default_value_t = 0.75)]
    accuracy: f64,
    /// True drops to simulate, in points (comma-separated; 0 measures false alarms).
    #[arg(long, value_delimiter = ',', default_values_t = [0.0, 0.2, 0.5, 1.0])]
    drops: Vec<f64>,
    #[arg(long, default_value_t = 2000)]
    replicates: usize,
    /// The paired gate's α and minimum effect (points), as in the gate policy.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[arg(long, default_value_t = 0.2)]
    min_effect: f64,
    #[arg(long, default_value_t = 18)]
    seed: u64,
    /// markdown or json.
    #[arg(long, default_value = "markdown", value_parser = ["markdown", "json"])]
    format: String,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    if !(args.discordant > 0.0 && args.discordant < 1.0) {
        bail!("--discordant {}: must lie in (0, 1)", args.discordant);
    }
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha {}: must lie in (0, 1)", args.alpha);
    }
    if let Some(d) = args
        .drops
        .iter()
        .find(|d| !(**d >= 0.0 && *d / 100.0 <= args.discordant))
    {
        bail!(
            "--drops: {d} points cannot come from {} % discordant videos",
            args.discordant * 100.0
        );
    }
    if args.videos == 0 || args.replicates == 0 {
        bail!("--videos and --replicates must be positive");
    }
    let broken_share =
        (args.discordant + args.drops.iter().fold(0.0f64, |m, d| m.max(*d)) / 100.0) / 2.0;
    if broken_share > args.accuracy || args.accuracy > 1.0 {
        bail!(
            "--accuracy {}: too low for the discordant share and drops",
            args.accuracy
        );
    }
    let table = simulate(&SimSpec {
        videos: args.videos,
        discordant: args.discordant,
        baseline_accuracy: args.accuracy,
        drops_points: args.drops,
        replicates: args.replicates,
        alpha: args.alpha,
        min_effect_points: args.min_effect,
        seed: args.seed,
    });
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        print!("{}", table.markdown());
    }
    Ok(ExitCode::SUCCESS)
}
