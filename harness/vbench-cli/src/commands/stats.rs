//! `vbench stats`: params and GFLOPs of one view of every entry under each counting convention,
//! next to the published numbers, with the convention that reproduces each and why params differ.
//! Counting is a batch-0 shape pass (`vbench_eval::flops`): no arithmetic on pixels.

use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use vbench_eval::flops::{self, Convention, Detail, EntryStats};
use vbench_eval::runner::build_model;
use vbench_suite::{all_suites, load_suite, Entry, Printed};

#[derive(clap::Args)]
pub struct Args {
    /// A built-in suite (k400, ssv2, charades, ava, mobile) or a path to a suite .toml; all if omitted.
    #[arg(long)]
    suite: Option<String>,
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

/// One entry's numbers, or why there are none: an architecture not built yet, or a failed pass.
enum Outcome {
    Measured(EntryStats),
    NotBuilt(String),
    Failed(String),
}

struct Row<'a> {
    entry: &'a Entry,
    stats: Outcome,
}

impl Row<'_> {
    fn measured(&self) -> Option<&EntryStats> {
        match &self.stats {
            Outcome::Measured(s) => Some(s),
            _ => None,
        }
    }
}

fn p(x: Option<Printed>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

fn input(e: &Entry) -> String {
    let pr = &e.protocol;
    match pr.alpha {
        Some(a) => format!("{}+{}x{}²", pr.frames, pr.frames * a, pr.crop),
        None => format!("{}x{}²", pr.frames, pr.crop),
    }
}

/// Something to flag: a published GFLOPs no convention reproduces, or params that differ.
fn flagged(r: &Row) -> bool {
    let Some(s) = r.measured() else { return false };
    let gflops = r.entry.reference.gflops.is_some() && s.flops.reproduced_by.is_none();
    gflops || s.params.matches_published == Some(false)
}

fn shown_conventions(only: Option<Convention>) -> Vec<Convention> {
    only.map_or_else(|| Convention::ALL.to_vec(), |c| vec![c])
}

fn gflops_of(s: &EntryStats, c: Convention) -> f64 {
    s.flops
        .conventions
        .iter()
        .find(|x| x.convention == c.name())
        .map_or(f64::NAN, |x| x.gflops)
}

/// A per-view GFLOPs cell, or with --views "54.52 × 3 × 10 = 1635.60".
fn gflops_cell(g: f64, e: &Entry, views: bool, decimals: usize) -> String {
    let pr = &e.protocol;
    match views {
        false => format!("{g:.decimals$}"),
        true => format!(
            "{g:.decimals$} × {} × {} = {:.2}",
            pr.spatial_crops,
            pr.temporal_clips,
            g * pr.views() as f64
        ),
    }
}

fn summary_header(convs: &[Convention]) -> Vec<String> {
    let mut h: Vec<String> = ["id", "input", "params", "M", "pub M"]
        .map(String::from)
        .to_vec();
    h.extend(convs.iter().map(|c| c.name().to_string()));
    h.extend(["pub GFLOPs", "reproduced by", "flag"].map(String::from));
    h
}

fn summary_row(r: &Row, convs: &[Convention], views: bool) -> Vec<String> {
    let e = r.entry;
    let mut row = vec![e.id.clone(), input(e)];
    let published_gflops = e
        .reference
        .gflops
        .map(|g| gflops_cell(g.value, e, views, g.decimals as usize))
        .unwrap_or_default();
    match r.measured() {
        None => {
            let what = if matches!(r.stats, Outcome::Failed(_)) {
                "FAILED"
            } else {
                "not built"
            };
            row.extend(["-".into(), "-".into(), p(e.reference.params_m)]);
            row.extend(convs.iter().map(|_| "-".to_string()));
            row.extend([published_gflops, what.into(), String::new()]);
        }
        Some(s) => {
            row.extend([
                s.params.count.to_string(),
                format!("{:.3}", s.params.millions),
                p(e.reference.params_m),
            ]);
            row.extend(
                convs
                    .iter()
                    .map(|&c| gflops_cell(gflops_of(s, c), e, views, 4)),
            );
            let by = match (flops::reproduced_label(&s.flops), e.reference.gflops) {
                (Some(c), _) => c,
                (None, Some(_)) => "NONE".into(),
                (None, None) => "-".into(),
            };
            row.extend([
                published_gflops,
                by,
                if flagged(r) {
                    "!".into()
                } else {
                    String::new()
                },
            ]);
        }
    }
    row
}

/// Left-aligned columns, two spaces apart.
fn print_aligned(header: &[String], rows: &[Vec<String>]) {
    let width: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    println!("{}", line(header));
    for r in rows {
        println!("{}", line(r));
    }
}

fn notes(r: &Row) -> Vec<String> {
    match &r.stats {
        Outcome::NotBuilt(reason) => vec![format!("not built: {reason}")],
        Outcome::Failed(error) => vec![format!("FAILED: {error}")],
        Outcome::Measured(s) => {
            let mut v = Vec::new();
            if let Some(n) = &s.flops.note {
                v.push(format!("GFLOPs: {n}"));
            }
            if let Some(n) = &s.params.note {
                v.push(format!("params: {n}"));
            }
            v
        }
    }
}

fn breakdown_header() -> Vec<String> {
    ["path", "op", "input", "output", "FLOPs", "params"]
        .map(String::from)
        .to_vec()
}

fn shape(s: &[i64]) -> String {
    let dims: Vec<String> = s.iter().map(i64::to_string).collect();
    format!("[{}]", dims.join(","))
}

fn print_table(rows: &[Row], convs: &[Convention], args: &Args) {
    let header = summary_header(convs);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| summary_row(r, convs, args.views))
        .collect();
    print_aligned(&header, &cells);
    let notes: Vec<(String, String)> = rows
        .iter()
        .flat_map(|r| notes(r).into_iter().map(|n| (r.entry.id.clone(), n)))
        .collect();
    println!("\nGFLOPs of one view (1 multiply-add = 1 FLOP), by convention:");
    for c in convs {
        println!("  {}: {}", c.name(), c.description());
    }
    if !notes.is_empty() {
        println!();
        for (id, n) in notes {
            println!("{id}: {n}");
        }
    }
    if !args.breakdown {
        return;
    }
    for r in rows {
        let Some(s) = r.measured() else { continue };
        let conv = args
            .convention
            .as_deref()
            .or(s.flops.reproduced_by.as_deref())
            .unwrap_or("fvcore-2021");
        println!(
            "\n{} — per layer, {conv}, one view, shapes at batch 0",
            r.entry.id
        );
        let layers: Vec<Vec<String>> = s
            .flops
            .breakdown
            .iter()
            .map(|l| {
                vec![
                    l.path.clone(),
                    l.op.clone(),
                    shape(&l.input_shape),
                    shape(&l.output_shape),
                    l.flops.to_string(),
                    l.params.to_string(),
                ]
            })
            .collect();
        print_aligned(&breakdown_header(), &layers);
    }
}

fn print_csv(rows: &[Row], convs: &[Convention], args: &Args) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout());
    if args.breakdown {
        // One row per layer; the summary is the table/json output.
        let mut h = vec!["id".to_string(), "convention".into()];
        h.extend(breakdown_header());
        w.write_record(&h)?;
        for r in rows {
            let Some(s) = r.measured() else { continue };
            let conv = args
                .convention
                .as_deref()
                .or(s.flops.reproduced_by.as_deref())
                .unwrap_or("fvcore-2021");
            for l in &s.flops.breakdown {
                w.write_record([
                    r.entry.id.clone(),
                    conv.to_string(),
                    l.path.clone(),
                    l.op.clone(),
                    shape(&l.input_shape),
                    shape(&l.output_shape),
                    l.flops.to_string(),
                    l.params.to_string(),
                ])?;
            }
        }
        w.flush()?;
        return Ok(());
    }
    let mut h: Vec<String> = [
        "id",
        "arch",
        "frames",
        "fast_frames",
        "crop",
        "spatial_views",
        "temporal_views",
    ]
    .map(String::from)
    .to_vec();
    h.extend(["params", "params_m", "published_params_m", "params_match"].map(String::from));
    for c in convs {
        h.push(format!("{}_flops", c.name()));
        h.push(format!("{}_gflops", c.name()));
    }
    h.extend(["published_gflops", "reproduced_by", "flag", "note"].map(String::from));
    w.write_record(&h)?;
    let mult = |e: &Entry| {
        if args.views {
            e.protocol.views() as u64
        } else {
            1
        }
    };
    for r in rows {
        let (e, pr) = (r.entry, &r.entry.protocol);
        let mut rec = vec![
            e.id.clone(),
            e.arch.to_string(),
            pr.frames.to_string(),
            pr.alpha
                .map(|a| (pr.frames * a).to_string())
                .unwrap_or_default(),
            pr.crop.to_string(),
            pr.spatial_crops.to_string(),
            pr.temporal_clips.to_string(),
        ];
        match r.measured() {
            None => rec.extend(["", "", &p(e.reference.params_m), ""].map(String::from)),
            Some(s) => rec.extend([
                s.params.count.to_string(),
                format!("{:.6}", s.params.millions),
                p(e.reference.params_m),
                s.params
                    .matches_published
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
            ]),
        }
        for &c in convs {
            match r.measured() {
                None => rec.extend([String::new(), String::new()]),
                Some(s) => {
                    let f = s
                        .flops
                        .conventions
                        .iter()
                        .find(|x| x.convention == c.name());
                    rec.push(
                        f.map(|f| (f.flops * mult(e)).to_string())
                            .unwrap_or_default(),
                    );
                    rec.push(
                        f.map(|f| format!("{:.6}", f.gflops * mult(e) as f64))
                            .unwrap_or_default(),
                    );
                }
            }
        }
        let published = e
            .reference
            .gflops
            .map(|g| format!("{:.*}", g.decimals as usize, g.value * mult(e) as f64));
        rec.push(published.unwrap_or_default());
        rec.push(match &r.stats {
            Outcome::Measured(s) => flops::reproduced_label(&s.flops).unwrap_or_default(),
            Outcome::NotBuilt(_) => "not built".into(),
            Outcome::Failed(_) => "FAILED".into(),
        });
        rec.push(flagged(r).to_string());
        rec.push(notes(r).join(" | "));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

fn json_row(r: &Row, args: &Args) -> Value {
    let (e, pr) = (r.entry, &r.entry.protocol);
    let mut v = json!({
        "id": e.id,
        "arch": e.arch.to_string(),
        "input": { "frames": pr.frames, "fast_frames": pr.alpha.map(|a| pr.frames * a), "crop": pr.crop },
        "views": [pr.spatial_crops, pr.temporal_clips],
        "published": { "params_m": e.reference.params_m, "gflops": e.reference.gflops },
    });
    match &r.stats {
        Outcome::NotBuilt(reason) => v["status"] = json!({ "not_implemented": reason }),
        Outcome::Failed(error) => v["status"] = json!({ "failed": error }),
        Outcome::Measured(s) => {
            v["status"] = json!("measured");
            v["params"] = json!(s.params);
            v["flops"] = json!(s.flops);
            v["flag"] = json!(flagged(r));
            if args.views {
                let all: Vec<Value> = s
                    .flops
                    .conventions
                    .iter()
                    .map(|c| json!({ "convention": c.convention, "gflops": c.gflops * pr.views() as f64 }))
                    .collect();
                v["gflops_all_views"] = json!(all);
            }
        }
    }
    v
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let only = args
        .convention
        .as_deref()
        .map(Convention::parse)
        .transpose()?;
    let convs = shown_conventions(only);
    if !["table", "csv", "json"].contains(&args.format.as_str()) {
        bail!("unknown --format `{}`; use table, csv or json", args.format);
    }
    let plans = match &args.suite {
        Some(s) => vec![load_suite(s)?],
        None => all_suites()?,
    };
    let mut entries: Vec<&Entry> = plans.iter().flat_map(|p| &p.entries).collect();
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
    // Counting does no arithmetic, and building fills ~700 M parameters (all suites): libtorch's
    // intra-op threads only contend over that on a loaded machine (measured 5-6 s with 2 threads,
    // under 1 s with one).
    tch::set_num_threads(1);
    let (start, mut building, mut counting) = (Instant::now(), Duration::ZERO, Duration::ZERO);
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let t = Instant::now();
        let built = build_model(e, tch::Device::Cpu);
        building += t.elapsed();
        let t = Instant::now();
        let stats = match built {
            Err(reason) => Outcome::NotBuilt(reason),
            Ok((vs, model)) => match flops::measure(e, model.as_ref(), &vs, detail, only) {
                Ok(s) => Outcome::Measured(s),
                Err(err) => Outcome::Failed(err.to_string()),
            },
        };
        counting += t.elapsed();
        rows.push(Row { entry: e, stats });
    }
    match args.format.as_str() {
        "csv" => print_csv(&rows, &convs, &args)?,
        "json" => {
            let all: Vec<Value> = rows.iter().map(|r| json_row(r, &args)).collect();
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        _ => print_table(&rows, &convs, &args),
    }
    std::io::Write::flush(&mut std::io::stdout())?;
    let count = |f: fn(&Outcome) -> bool| rows.iter().filter(|r| f(&r.stats)).count();
    let unbuilt = count(|o| matches!(o, Outcome::NotBuilt(_)));
    let failed = count(|o| matches!(o, Outcome::Failed(_)));
    eprintln!(
        "vbench stats: {} entries ({unbuilt} not built, {failed} failed) in {:.2} s: model \
         construction {:.2} s, shape pass + counting {:.2} s",
        rows.len(),
        start.elapsed().as_secs_f64(),
        building.as_secs_f64(),
        counting.as_secs_f64()
    );
    // A failed shape pass is an error in vbench, not a property of the table.
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
