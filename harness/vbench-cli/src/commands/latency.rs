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
use vbench_eval::variants::request::{measure_variant_request, VariantRequest};
use vbench_models::variant::check_device;
use vbench_report::tables::latency::table;
use vbench_results::{write_atomic, LatencyReport, Measure};
use vbench_suite::{find_entry, Entry, Variant};

#[derive(clap::Args)]
pub struct Args {
    /// Entry ids, e.g. k400/x3d_xs or mobile/efficient_x3d_xs; repeatable.
    #[arg(long = "entry", required_unless_present = "model")]
    entries: Vec<String>,
    /// `--model F --protocol E`: one's own TorchScript file, timed on one view of E's protocol
    /// (beside any --entry).
    #[command(flatten)]
    own: super::common::OwnModelArgs,
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
    /// Speed variants, comma-separated (fp32, bf16, bf16-cast, channels-last, folded-bn, int8,
    /// fp16): each timed against fp32 in interleaved pairs (--iters pairs, default 10) at every
    /// --threads count, instead of the plain rows.
    #[arg(long, value_name = "LIST")]
    variant: Option<String>,
    /// Weights every model of the entry loads (one --entry): a checkpoint, or one exported by
    /// harness/vbench-eval/benches/variants_eager.py [default: the cached official checkpoint
    /// if present, else the builders' init, which has no fidelity].
    #[arg(long, requires = "variant")]
    weights: Option<PathBuf>,
    /// The int8 variant's model (one --entry): a TorchScript file of the same network quantized
    /// for QNNPACK [default: the entry's published int8 file, if cached].
    #[arg(long, value_name = "FILE", requires = "variant")]
    int8_model: Option<PathBuf>,
    /// Fidelity of each variant on every view of the entry's protocol of the videos in DIR.
    #[arg(long, value_name = "DIR", requires = "variant")]
    fidelity_videos: Option<PathBuf>,
    /// Clips/s against batch size 1, 2, 4, ... for fp32 and each variant (MLPerf Offline).
    #[arg(long, requires = "variant")]
    throughput: bool,
    /// The largest batch --throughput tries.
    #[arg(long, default_value_t = 64)]
    max_batch: i64,
    /// Where fidelity views are stored (DIR/fidelity/<entry>/<variant>.jsonl).
    #[arg(long, default_value = "out/variants")]
    out: PathBuf,
}

/// `--variant a,b`: every name checked (exit 2 names the unknown one).
pub fn parse_variants(s: &str) -> Result<Vec<Variant>> {
    Variant::parse_list(s).context("--variant")
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
    let mut entries: Vec<Entry> = args
        .entries
        .iter()
        .map(|id| {
            let (plan, i) = find_entry(id).with_context(|| format!("--entry {id}"))?;
            Ok(plan.entries[i].clone())
        })
        .collect::<Result<_>>()?;
    if let Some((own, _)) = args.own.entry(device)? {
        entries.push(own);
    }
    // Validate the numeric flags before any model is built.
    let latency = options(&args, device)?;
    if let Some(list) = &args.variant {
        let variants = parse_variants(list)?;
        return exec_variants(&args, &variants, &entries, latency);
    }
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
    emit(&args, &report)?;
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

/// `--variant`: each variant against fp32, in pairs, with fidelity and throughput if asked.
fn exec_variants(
    args: &Args,
    variants: &[Variant],
    entries: &[Entry],
    latency: LatencyOptions,
) -> Result<ExitCode> {
    for &v in variants {
        check_device(v, latency.device)?;
    }
    let request = VariantRequest {
        variants: variants.to_vec(),
        latency: latency.clone(),
        threads: args.threads.iter().map(|&n| n as usize).collect(),
        pairs: args.iters.unwrap_or(10),
        weights: args.weights.clone(),
        weights_dir: args
            .weights_dir
            .clone()
            .unwrap_or_else(vbench_eval::weights::default_dir),
        throughput: args.throughput.then_some(args.max_batch),
        fidelity_videos: args.fidelity_videos.clone(),
        out_dir: args.out.clone(),
        int8_model: args.int8_model.clone(),
    };
    request.check(entries)?;
    let rows = measure_variant_request(entries, &request, &mut |n| eprintln!("{n}"))?;
    let mut report = sweep(
        &[],
        &SweepOptions {
            latency,
            threads: Vec::new(),
            torchscript: None,
            weights_dir: None,
            command: std::env::args().collect(),
        },
    );
    report.variants = rows;
    emit(args, &report)?;
    let failed = report.variants.iter().flat_map(|r| &r.variants).any(|v| {
        matches!(v.applied, Measure::Failed { .. })
            || v.speed.iter().any(|s| matches!(s, Measure::Failed { .. }))
    });
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The report to `--output` (atomically) and to stdout in `--format`.
fn emit(args: &Args, report: &LatencyReport) -> Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    if let Some(p) = &args.output {
        write_atomic(p, json.as_bytes()).with_context(|| format!("--output {}", p.display()))?;
    }
    match args.format.as_str() {
        "json" => println!("{json}"),
        _ => print!("{}", table(report)),
    }
    Ok(())
}
