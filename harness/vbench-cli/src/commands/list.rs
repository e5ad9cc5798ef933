use anyhow::{bail, Result};
use std::io::Write;
use std::process::ExitCode;
use vbench_results::metrics::registry::{self, Metric, Shown};
use vbench_results::Published;
use vbench_suite::{all_suites, load_suite, Entry, Printed};

#[derive(clap::Args)]
pub struct Args {
    /// A built-in suite (k400, ssv2, charades, ava, mobile) or a path to a suite .toml; all if omitted.
    #[arg(long)]
    suite: Option<String>,
    /// table, csv or json.
    #[arg(long, default_value = "table")]
    format: String,
}

fn p(x: Option<Printed>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// The published accuracy metrics listed: today's columns, and any other metric some entry
/// publishes (`vbench_results::metrics::registry`).
fn metrics(entries: &[&Entry]) -> Vec<&'static Metric> {
    registry::tabled()
        .filter(|m| {
            matches!(m.shown, Shown::Always { .. })
                || entries
                    .iter()
                    .any(|e| (m.published)(&Published::from_suite(&e.published)).is_some())
        })
        .collect()
}

fn row(e: &Entry, metrics: &[&Metric]) -> Vec<String> {
    let pr = &e.protocol;
    let published = Published::from_suite(&e.published);
    let mut row = vec![
        e.id.clone(),
        e.model.label(),
        pr.frames.to_string(),
        pr.sample_rate.to_string(),
        pr.alpha.map(|a| a.to_string()).unwrap_or_default(),
        pr.short_side.to_string(),
        pr.crop.to_string(),
        pr.spatial_crops.to_string(),
        pr.temporal_clips.to_string(),
        format!("{:?}", pr.aggregation).to_lowercase(),
        format!("{:?}", pr.channels).to_lowercase(),
        pr.num_classes.to_string(),
    ];
    row.extend(metrics.iter().map(|m| p((m.published)(&published))));
    row.extend([
        p(e.published.gflops),
        p(e.published.params_m),
        e.checkpoint
            .as_ref()
            .and_then(|c| c.url())
            .unwrap_or_default()
            .to_string(),
    ]);
    row
}

const HEAD: [&str; 12] = [
    "id",
    "arch",
    "frames",
    "sample_rate",
    "alpha",
    "short_side",
    "crop",
    "spatial_crops",
    "temporal_clips",
    "aggregation",
    "channels",
    "classes",
];
const TAIL: [&str; 3] = ["gflops", "params_m", "checkpoint_url"];

pub fn exec(args: Args) -> Result<ExitCode> {
    let plans = match &args.suite {
        Some(s) => vec![load_suite(s)?],
        None => all_suites()?,
    };
    let entries: Vec<&Entry> = plans.iter().flat_map(|p| &p.entries).collect();
    let metrics = metrics(&entries);
    let mut header: Vec<&str> = HEAD.to_vec();
    header.extend(metrics.iter().map(|m| m.key));
    header.extend(TAIL);
    match args.format.as_str() {
        "csv" => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record(&header)?;
            for e in &entries {
                w.write_record(row(e, &metrics))?;
            }
            w.flush()?;
        }
        "json" => writeln!(
            std::io::stdout(),
            "{}",
            serde_json::to_string_pretty(&entries)?
        )?,
        "table" => {
            let rows: Vec<Vec<String>> = entries.iter().map(|e| row(e, &metrics)).collect();
            // Everything but the URL, aligned.
            let cols = header.len() - 1;
            let width: Vec<usize> = (0..cols)
                .map(|i| {
                    rows.iter()
                        .map(|r| r[i].chars().count())
                        .max()
                        .unwrap_or(0)
                        .max(header[i].len())
                })
                .collect();
            let line = |cells: Vec<&str>| {
                cells
                    .iter()
                    .zip(&width)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", line(header[..cols].to_vec()))?;
            for r in &rows {
                writeln!(
                    out,
                    "{}",
                    line(r[..cols].iter().map(String::as_str).collect())
                )?;
            }
        }
        other => bail!("unknown --format `{other}`; use table, csv or json"),
    }
    Ok(ExitCode::SUCCESS)
}
