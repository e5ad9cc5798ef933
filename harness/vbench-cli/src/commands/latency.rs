//! `vbench latency`: forward latency of suite entries (one view of the entry's test protocol × batch)
//! with honest statistics — percentiles, bootstrap CI, CV, foreign load, threads, telemetry.
//! `vbench run` measures through the same `vbench_eval::latency` code.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use vbench_eval::latency::{self, LatencyOptions};
use vbench_eval::provenance::{self, CudaRuntime};
use vbench_results::{write_atomic, LatencyResult, Measure, Provenance};
use vbench_suite::{find_entry, Entry, Precision};

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

#[derive(Serialize)]
struct Report {
    schema_version: u32,
    provenance: Provenance,
    cuda: CudaRuntime,
    results: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    id: String,
    arch: String,
    precision: Precision,
    /// What was timed: `vbench` (the Rust model) or `torchscript:<file>`.
    implementation: String,
    published_latency_ms: Option<f64>,
    published_latency_device: Option<String>,
    latency: Measure<LatencyResult>,
}

fn options(args: &Args, device: tch::Device, precision: Precision) -> Result<LatencyOptions> {
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
        threads: tch::get_num_threads() as i64,
        batch: args.batch,
        precision: format!("{precision:?}").to_lowercase(),
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

/// The TorchScript file to time for `e`, if any: `--torchscript`, or an int8 entry's published file.
fn torchscript_for(args: &Args, e: &Entry) -> Option<PathBuf> {
    if let Some(p) = &args.torchscript {
        return Some(p.clone());
    }
    latency::int8_torchscript(e, args.weights_dir.as_deref())
}

/// Measures `e` once per thread count; never fails as a whole — each row says what happened.
fn measure_entry(args: &Args, e: &Entry, device: tch::Device, threads: &[i32]) -> Result<Vec<Row>> {
    let row = |implementation: &str, latency| Row {
        id: e.id.clone(),
        arch: e.arch.to_string(),
        precision: e.precision,
        implementation: implementation.to_string(),
        published_latency_ms: e.reference.latency_ms.map(|p| p.value),
        published_latency_device: e.reference.latency_device.clone(),
        latency,
    };
    let per_threads = |f: &mut dyn FnMut(&LatencyOptions) -> Measure<LatencyResult>| {
        let counts: Vec<Option<i32>> = if threads.is_empty() {
            vec![None]
        } else {
            threads.iter().copied().map(Some).collect()
        };
        counts
            .into_iter()
            .map(|n| {
                if let Some(n) = n {
                    tch::set_num_threads(n);
                }
                options(args, device, e.precision).map(|o| f(&o))
            })
            .collect::<Result<Vec<_>>>()
    };
    let done = |r: Result<LatencyResult, latency::LatencyError>| match r {
        Ok(value) => Measure::Measured { value },
        Err(err) => Measure::Failed {
            error: err.to_string(),
        },
    };
    if let Some(path) = torchscript_for(args, e) {
        let imp = format!("torchscript:{}", path.display());
        if !path.is_file() {
            let reason = latency::missing_torchscript(e, &path);
            let skipped = per_threads(&mut |_| Measure::Skipped {
                reason: reason.clone(),
            })?;
            return Ok(skipped.into_iter().map(|m| row(&imp, m)).collect());
        }
        let int8 = e.precision == Precision::Int8;
        let measures = match latency::load_torchscript(&path, device, int8) {
            Ok(module) => per_threads(&mut |o| done(latency::measure_torchscript(e, &module, o)))?,
            Err(err) => per_threads(&mut |_| Measure::Failed {
                error: err.to_string(),
            })?,
        };
        return Ok(measures.into_iter().map(|m| row(&imp, m)).collect());
    }
    let measures = match vbench_eval::runner::build_model(e, device) {
        Ok((_vs, model)) => {
            per_threads(&mut |o| done(latency::measure_model(e, model.as_ref(), o)))?
        }
        Err(reason) => per_threads(&mut |_| Measure::NotImplemented {
            reason: reason.clone(),
        })?,
    };
    Ok(measures.into_iter().map(|m| row("vbench", m)).collect())
}

fn ms(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn table(report: &Report) -> String {
    let mut out = String::new();
    let head = [
        "entry",
        "impl",
        "device",
        "thr",
        "batch",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "mean ms [95% CI]",
        "CV %",
        "clips/s",
        "n (+disc)",
        "foreign",
        "published",
    ];
    let mut rows: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    let mut notes: Vec<String> = Vec::new();
    for r in &report.results {
        let published = match (r.published_latency_ms, &r.published_latency_device) {
            (Some(ms), Some(d)) => format!("{ms} ms ({d})"),
            (Some(ms), None) => format!("{ms} ms"),
            _ => "—".into(),
        };
        let imp = if r.implementation == "vbench" {
            "vbench"
        } else {
            "torchscript"
        };
        let cells = match &r.latency {
            Measure::Measured { value: l } => {
                if let Some(n) = &l.note {
                    notes.push(format!("{}: {n}", r.id));
                }
                if l.under_foreign_load {
                    notes.push(format!(
                        "{} (threads {}): too few quiet samples — statistics include samples taken \
                         under foreign load (an upper bound)",
                        r.id, l.threads
                    ));
                }
                if let Some(t) = telemetry_line(l) {
                    notes.push(format!("{} (threads {}): {t}", r.id, l.threads));
                }
                vec![
                    l.device.clone(),
                    l.threads.to_string(),
                    l.batch.to_string(),
                    ms(l.p50_ms),
                    ms(l.p90_ms),
                    ms(l.p99_ms),
                    format!(
                        "{} [{}, {}]",
                        ms(l.mean_ms),
                        ms(l.mean_ci95_ms.0),
                        ms(l.mean_ci95_ms.1)
                    ),
                    format!("{:.1}", l.cv * 100.0),
                    format!("{:.2}", l.clips_per_s),
                    format!("{} (+{})", l.samples_ms.len(), l.discarded_samples),
                    l.foreign_load
                        .map(|f| {
                            format!(
                                "{:.0}%{}",
                                f * 100.0,
                                if l.under_foreign_load { "!" } else { "" }
                            )
                        })
                        .unwrap_or_else(|| "?".into()),
                ]
            }
            other => {
                let why = match other {
                    Measure::NotImplemented { reason } => format!("not implemented: {reason}"),
                    Measure::Skipped { reason } => format!("skipped: {reason}"),
                    Measure::Failed { error } => format!("failed: {error}"),
                    Measure::Measured { .. } => unreachable!("handled above"),
                };
                notes.push(format!("{}: {why}", r.id));
                let mut v = vec![String::new(); 11];
                v[3] = other.status().replace('_', " ");
                v
            }
        };
        let mut row = vec![r.id.clone(), imp.to_string()];
        row.extend(cells);
        row.push(published);
        rows.push(row);
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let h = &report.provenance.host;
    out.push_str(&format!(
        "\nhost: {} ({} logical cores); libtorch threads as listed; {}\n",
        h.cpu_model,
        h.logical_cores,
        if report.provenance.omp_env.is_empty() {
            "no OMP_*/MKL_*/malloc variables set".to_string()
        } else {
            report
                .provenance
                .omp_env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    ));
    // One line per distinct note: a skipped entry says the same for every thread count.
    let mut seen = std::collections::HashSet::new();
    for n in notes.into_iter().filter(|n| seen.insert(n.clone())) {
        out.push_str(&format!("- {n}\n"));
    }
    out
}

/// One line of what the telemetry says: peak memory, and GPU power/energy or why there is none.
fn telemetry_line(l: &LatencyResult) -> Option<String> {
    use vbench_eval::telemetry::{GpuTelemetry, Telemetry};
    let t: Telemetry = serde_json::from_value(l.telemetry.clone()?).ok()?;
    let mib = |b: u64| format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64);
    let mut parts = vec![format!(
        "peak RSS {} ({})",
        t.cpu.peak_rss_bytes.map(mib).unwrap_or_else(|| "?".into()),
        t.cpu.peak_rss_scope
    )];
    match t.gpu {
        GpuTelemetry::NotApplicable { .. } => {}
        GpuTelemetry::Unavailable { reason } => parts.push(reason),
        GpuTelemetry::Recorded(g) => {
            if let Some(b) = g.process_memory_peak_bytes.or(g.memory_used_peak_bytes) {
                parts.push(format!("GPU memory peak {}", mib(b)));
            }
            if let Some(p) = g.power_mw {
                parts.push(format!(
                    "power {:.0} W mean / {:.0} W peak",
                    p.mean / 1e3,
                    p.max / 1e3
                ));
            }
            if let Some(e) = g.energy_j_per_clip {
                parts.push(format!("{e:.3} J/clip"));
            }
            if let Some(c) = g.sm_clock_mhz {
                parts.push(format!("SM {:.0}–{:.0} MHz", c.min, c.max));
            }
            if let Some(t) = g.temperature_c {
                parts.push(format!("{:.0} °C max", t.max));
            }
            if !g.throttle_reasons.is_empty() {
                parts.push(format!("throttled: {}", g.throttle_reasons.join(", ")));
            }
        }
    }
    Some(parts.join("; "))
}

pub fn exec(args: Args) -> Result<ExitCode> {
    if !matches!(args.format.as_str(), "table" | "json") {
        bail!("unknown --format `{}`; use table or json", args.format);
    }
    if let Some(&n) = args.threads.iter().find(|&&n| n < 1) {
        bail!("--threads {n} must be at least 1");
    }
    let device = super::run::parse_device(&args.device)?;
    let entries: Vec<Entry> = args
        .entries
        .iter()
        .map(|id| {
            let (plan, i) = find_entry(id).with_context(|| format!("--entry {id}"))?;
            Ok(plan.entries[i].clone())
        })
        .collect::<Result<_>>()?;
    // Validate the numeric flags before any model is built.
    options(&args, device, Precision::Fp32)?;
    let mut report = Report {
        schema_version: vbench_results::SCHEMA_VERSION,
        provenance: provenance::collect(std::env::args().collect()),
        cuda: provenance::cuda_runtime(),
        results: Vec::new(),
    };
    for e in &entries {
        report
            .results
            .extend(measure_entry(&args, e, device, &args.threads)?);
    }
    report.provenance.finished_at = Some(provenance::now_utc());
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
