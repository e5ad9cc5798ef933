//! `vbench stats`: params and GFLOPs of one view of every entry under each counting convention,
//! next to the published numbers, with the convention that reproduces each and why params differ.
//! Counting is a batch-0 shape pass (`vbench_eval::flops`): no arithmetic on pixels.

use super::common::check_format;
use anyhow::{bail, Result};
use std::process::ExitCode;
use vbench_eval::flops::{count_entries, Convention, Detail};
use vbench_report::tables::counts::{self, CountsLayout};
use vbench_results::Measure;
use vbench_suite::{all_suites, load_suite, Entry};

#[derive(clap::Args)]
pub struct Args {
    /// A built-in suite (k400, ssv2, charades, ava, mobile) or a path to a suite .toml; all if omitted.
    #[arg(long, conflicts_with = "model")]
    suite: Option<String>,
    /// `--model F --protocol E`: one's own TorchScript file under E's protocol instead of a suite.
    #[command(flatten)]
    own: super::common::OwnModelArgs,
    /// Only these entries (names or ids); repeatable.
    #[arg(long = "entry")]
    entries: Vec<String>,
    /// Show only this convention: fvcore-2021, conv-linear or fvcore-eval [default: all].
    #[arg(long)]
    convention: Option<String>,
    /// Per-layer table (path, op, shapes, FLOPs, params) under --convention, else under the
    /// convention that reproduces the published value (fvcore-2021 where none does).
    #[arg(long)]
    breakdown: bool,
    /// Multiply GFLOPs by the test views (spatial crops × temporal clips).
    #[arg(long)]
    views: bool,
    /// table, csv or json.
    #[arg(long, default_value = "table")]
    format: String,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let only = args
        .convention
        .as_deref()
        .map(vbench_eval::flops::parse_convention)
        .transpose()?;
    check_format(&args.format, &["table", "csv", "json"])?;
    let plans = match (args.own.plan(tch::Device::Cpu)?, &args.suite) {
        (Some(own), _) => vec![own],
        (None, Some(s)) => vec![load_suite(s)?],
        (None, None) => all_suites()?,
    };
    let mut entries: Vec<Entry> = plans.into_iter().flat_map(|p| p.entries).collect();
    if !args.entries.is_empty() {
        for want in &args.entries {
            if !entries.iter().any(|e| &e.name == want || &e.id == want) {
                bail!("--entry `{want}`: no such entry in the selected suite(s)");
            }
        }
        entries.retain(|e| args.entries.iter().any(|w| *w == e.name || *w == e.id));
    }
    let detail = if args.breakdown {
        Detail::PerOp
    } else {
        Detail::None
    };
    let (rows, times) = count_entries(&entries, detail, only);
    let layout = CountsLayout {
        conventions: only
            .map_or_else(|| Convention::ALL.to_vec(), |c| vec![c])
            .into_iter()
            .map(|c| (c.name().to_string(), c.description().to_string()))
            .collect(),
        only: args.convention.clone(),
        breakdown: args.breakdown,
        views: args.views,
    };
    match args.format.as_str() {
        "csv" => print!("{}", counts::csv(&rows, &layout)?),
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&counts::json(&rows, &layout))?
        ),
        _ => print!("{}", counts::table(&rows, &layout)),
    }
    std::io::Write::flush(&mut std::io::stdout())?;
    let count = |f: fn(&Measure<_>) -> bool| rows.iter().filter(|r| f(&r.stats)).count();
    let unbuilt = count(|m| matches!(m, Measure::NotImplemented { .. }));
    let failed = count(|m| matches!(m, Measure::Failed { .. }));
    eprintln!(
        "vbench stats: {} entries ({unbuilt} not built, {failed} failed) in {:.2} s: model \
         construction {:.2} s, shape pass + counting {:.2} s",
        rows.len(),
        times.total.as_secs_f64(),
        times.building.as_secs_f64(),
        times.counting.as_secs_f64()
    );
    // A failed shape pass is an error in vbench, not a property of the table.
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
