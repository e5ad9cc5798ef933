//! `vbench latency`'s table: one row per entry and thread count, then the host and one line per
//! distinct note (published hardware, foreign load, telemetry, why a row has no numbers).

use super::aligned;
use vbench_results::telemetry::{GpuTelemetry, Telemetry};
use vbench_results::{LatencyReport, LatencyResult, Measure};

fn ms(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

const HEAD: [&str; 14] = [
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

/// The cells from `device` to `foreign` of a measured row, its notes pushed onto `notes`.
fn measured_cells(id: &str, l: &LatencyResult, notes: &mut Vec<String>) -> Vec<String> {
    if let Some(n) = &l.note {
        notes.push(format!("{id}: {n}"));
    }
    if l.under_foreign_load {
        notes.push(format!(
            "{id} (threads {}): too few quiet samples — statistics include samples taken \
             under foreign load (an upper bound)",
            l.threads
        ));
    }
    if let Some(t) = telemetry_line(l) {
        notes.push(format!("{id} (threads {}): {t}", l.threads));
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

/// The whole table, host line and notes.
pub fn table(report: &LatencyReport) -> String {
    let mut rows: Vec<Vec<String>> = vec![HEAD.iter().map(|s| s.to_string()).collect()];
    let mut notes: Vec<String> = Vec::new();
    if report.results.is_empty() && !report.variants.is_empty() {
        // `--variant`: fp32 was timed inside each pairing.
        let entries: Vec<(&str, &[vbench_results::VariantResult])> = report
            .variants
            .iter()
            .map(|r| (r.id.as_str(), r.variants.as_slice()))
            .collect();
        let mut out = super::variants::table(&entries);
        out.push_str(&host_line(report));
        return out;
    }
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
            Measure::Measured { value: l } => measured_cells(&r.id, l, &mut notes),
            other => {
                let why = match other {
                    Measure::NotImplemented { reason } => format!("not implemented: {reason}"),
                    Measure::Skipped { reason } => format!("skipped: {reason}"),
                    Measure::Failed { error } => format!("failed: {error}"),
                    Measure::Measured { .. } => String::new(),
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
    let mut out = aligned(&rows);
    out.push_str(&host_line(report));
    // One line per distinct note: a skipped entry says the same for every thread count.
    let mut seen = std::collections::HashSet::new();
    for n in notes.into_iter().filter(|n| seen.insert(n.clone())) {
        out.push_str(&format!("- {n}\n"));
    }
    out
}

/// The host and thread environment, one line.
fn host_line(report: &LatencyReport) -> String {
    let p = &report.provenance;
    format!(
        "\nhost: {} ({} logical cores); libtorch threads as listed; {}\n",
        p.host.cpu_model,
        p.host.logical_cores,
        if p.omp_env.is_empty() {
            "no OMP_*/MKL_*/malloc variables set".to_string()
        } else {
            p.omp_env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    )
}

/// One line of what the telemetry says: peak memory, and GPU power/energy or why there is none.
pub fn telemetry_line(l: &LatencyResult) -> Option<String> {
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
