//! `vbench latency`: forward latency of suite entries (one view of the entry's test protocol × batch)
//! with honest statistics — percentiles, bootstrap CI, CV, foreign load, threads, telemetry.
//! `vbench run` measures through the same `vbench_eval::timing::latency` code.

use super::common::{check_format, parse_device};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use vbench_eval::timing::latency::LatencyOptions;
use vbench_eval::timing::sweep::{sweep, SweepOptions};
use vbench_report::tables::latency::table;
use vbench_results::{write_atomic, Measure};
use vbench_suite::{find_entry, Entry};

#[derive(clap::Args)]
pub struct Args {
    /// Entry ids, e.g. k400/x3d_xs or mobile/efficient_x3d_xs; repeatable.
    #[arg(long = "entry", required = true)]
    entries: Vec<String>,
    /// cpu or cuda[:i].
    #[arg(long, default_value = "cpu")]
    device: String,
    /// libtorch intra-op threads; repeatable or comma-separated (`--threads 1,4`): one measurement
    /// each [default: libtorch's choice].
    #[arg(long, value_delimiter = ',')]
    threads: Vec<i32>,
    /// Clips per forward pass.
    #[arg(long, default_value_t = 1)]
    batch: i64,
    /// Untimed forward passes first (at least 3 for TorchScript).
    #[arg(long, default_value_t = 3)]
    warmup: u32,
    /// Kept samples to collect.
    #[arg(long, conflicts_with = "min_time")]
    iters: Option<u32>,
    /// Measure for at least this many seconds instead (and at least 5 samples).
    #[arg(long)]
    min_time: Option<f64>,
    /// Hard limit in seconds per measurement, whatever was collected by then [default: 120, or
    /// twice --min-time].
    #[arg(long)]
    max_time: Option<f64>,
    /// Discard samples taken while other processes used more than this fraction of the machine.
    #[arg(long, default_value_t = 0.25)]
    max_foreign_load: f64,
    /// Time this TorchScript module instead of vbench's model (e.g. a quantized export).
    #[arg(long)]
    torchscript: Option<PathBuf>,
    /// Where int8 entries' published TorchScript files are cached (`vbench fetch`).
    #[arg(long)]
    weights_dir: Option<PathBuf>,
    /// table or json.
    #[arg(long, default_value = "table")]
    format: String,
    /// Also write the JSON here.
    #[arg(long)]
    output: Option<PathBuf>,
}

/// The flags as latency options (threads and precision are set per measurement).
fn options(args: &Args, device: tch::Device) -> Result<LatencyOptions> {
    if args.batch < 1 {
        bail!("--batch {} must be at least 1", args.batch);
    }
    if !(0.0..=1.0).contains(&args.max_foreign_load) {
        bail!(
            "--max-foreign-load {} must be within 0..1",
            args.max_foreign_load
        );
    }
    let secs = |flag: &str, s: f64| {
        if s.is_finite() && s >= 0.0 {
            Ok(Duration::from_secs_f64(s))
        } else {
            bail!("{flag} {s} must be a non-negative number of seconds")
        }
    };
    let min_time = secs("--min-time", args.min_time.unwrap_or(0.0))?;
    let max_time = match args.max_time {
        Some(s) => secs("--max-time", s)?,
        None => Duration::from_secs(120).max(2 * min_time),
    };
    Ok(LatencyOptions {
        device,
        batch: args.batch,
        warmup: args.warmup,
        iters: args
            .iters
            .unwrap_or(if args.min_time.is_some() { 5 } else { 20 }),
        min_time,
        max_time,
        max_foreign_load: args.max_foreign_load,
        ..LatencyOptions::default()
    })
}

pub fn exec(args: Args) -> Result<ExitCode> {
    check_format(&args.format, &["table", "json"])?;
    if let Some(&n) = args.threads.iter().find(|&&n| n < 1) {
        bail!("--threads {n} must be at least 1");
    }
    let device = parse_device(&args.device)?;
    let entries: Vec<Entry> = args
        .entries
        .iter()
        .map(|id| {
            let (plan, i) = find_entry(id).with_context(|| format!("--entry {id}"))?;
            Ok(plan.entries[i].clone())
        })
        .collect::<Result<_>>()?;
    // Validate the numeric flags before any model is built.
    let latency = options(&args, device)?;
    let report = sweep(
        &entries,
        &SweepOptions {
            latency,
            threads: args.threads.iter().map(|&n| n as usize).collect(),
            torchscript: args.torchscript.clone(),
            weights_dir: args.weights_dir.clone(),
            command: std::env::args().collect(),
        },
    );
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(p) = &args.output {
        write_atomic(p, json.as_bytes()).with_context(|| format!("--output {}", p.display()))?;
    }
    match args.format.as_str() {
        "json" => println!("{json}"),
        _ => print!("{}", table(&report)),
    }
    let failed = report
        .results
        .iter()
        .any(|r| matches!(r.latency, Measure::Failed { .. }));
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
