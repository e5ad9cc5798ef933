//! `vbench stats`: params and GFLOPs of one view of every entry under each counting convention,
//! next to the published numbers, as a table, CSV or JSON.

use super::aligned;
use crate::error::{ReportError, Result};
use serde_json::{json, Value};
use vbench_results::{EntryCounts, EntryStats, Measure};
use vbench_suite::{Entry, Printed};

/// How the counts are shown.
#[derive(Debug, Clone)]
pub struct CountsLayout {
    /// `(name, description)` of each convention shown, in column order.
    pub conventions: Vec<(String, String)>,
    /// `--convention`: the one convention asked for (its breakdown is shown).
    pub only: Option<String>,
    /// Per-layer rows.
    pub breakdown: bool,
    /// GFLOPs multiplied by the test views.
    pub views: bool,
}

fn measured(r: &EntryCounts) -> Option<&EntryStats> {
    r.stats.value()
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
pub fn flagged(r: &EntryCounts) -> bool {
    let Some(s) = measured(r) else { return false };
    let gflops = r.entry.published.gflops.is_some() && s.flops.reproduced_by.is_none();
    gflops || s.params.matches_published == Some(false)
}

fn gflops_of(s: &EntryStats, convention: &str) -> f64 {
    s.flops
        .conventions
        .iter()
        .find(|x| x.convention == convention)
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

fn summary_header(l: &CountsLayout) -> Vec<String> {
    let mut h: Vec<String> = ["id", "input", "params", "M", "pub M"]
        .map(String::from)
        .to_vec();
    h.extend(l.conventions.iter().map(|c| c.0.clone()));
    h.extend(["pub GFLOPs", "reproduced by", "flag"].map(String::from));
    h
}

fn summary_row(r: &EntryCounts, l: &CountsLayout) -> Vec<String> {
    let e = &r.entry;
    let mut row = vec![e.id.clone(), input(e)];
    let published_gflops = e
        .published
        .gflops
        .map(|g| gflops_cell(g.value, e, l.views, g.decimals as usize))
        .unwrap_or_default();
    match measured(r) {
        None => {
            let what = if matches!(r.stats, Measure::Failed { .. }) {
                "FAILED"
            } else {
                "not built"
            };
            row.extend(["-".into(), "-".into(), p(e.published.params_m)]);
            row.extend(l.conventions.iter().map(|_| "-".to_string()));
            row.extend([published_gflops, what.into(), String::new()]);
        }
        Some(s) => {
            row.extend([
                s.params.count.to_string(),
                format!("{:.3}", s.params.millions),
                p(e.published.params_m),
            ]);
            row.extend(
                l.conventions
                    .iter()
                    .map(|c| gflops_cell(gflops_of(s, &c.0), e, l.views, 4)),
            );
            let by = match (s.flops.reproduced_label(), e.published.gflops) {
                (Some(c), _) => c,
                (None, Some(_)) => "NONE".into(),
                (None, None) => "-".into(),
            };
            let flag = if flagged(r) { "!" } else { "" };
            row.extend([published_gflops, by, flag.into()]);
        }
    }
    row
}

fn notes(r: &EntryCounts) -> Vec<String> {
    match &r.stats {
        Measure::NotImplemented { reason } | Measure::Skipped { reason } => {
            vec![format!("not built: {reason}")]
        }
        Measure::Failed { error } => vec![format!("FAILED: {error}")],
        Measure::Measured { value: s } => {
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

/// The convention a breakdown is shown under: the one asked for, else the reproducing one.
fn breakdown_convention<'a>(s: &'a EntryStats, l: &'a CountsLayout) -> &'a str {
    l.only
        .as_deref()
        .or(s.flops.reproduced_by.as_deref())
        .unwrap_or("fvcore-2021")
}

fn layer_cells(l: &vbench_results::LayerFlops) -> [String; 6] {
    [
        l.path.clone(),
        l.op.clone(),
        shape(&l.input_shape),
        shape(&l.output_shape),
        l.flops.to_string(),
        l.params.to_string(),
    ]
}

/// The summary table, the conventions' legend, the notes and (with `breakdown`) a per-layer
/// table per entry.
pub fn table(rows: &[EntryCounts], l: &CountsLayout) -> String {
    let mut cells = vec![summary_header(l)];
    cells.extend(rows.iter().map(|r| summary_row(r, l)));
    let mut out = aligned(&cells);
    let notes: Vec<(String, String)> = rows
        .iter()
        .flat_map(|r| notes(r).into_iter().map(|n| (r.entry.id.clone(), n)))
        .collect();
    out.push_str("\nGFLOPs of one view (1 multiply-add = 1 FLOP), by convention:\n");
    for (name, description) in &l.conventions {
        out.push_str(&format!("  {name}: {description}\n"));
    }
    if !notes.is_empty() {
        out.push('\n');
        for (id, n) in notes {
            out.push_str(&format!("{id}: {n}\n"));
        }
    }
    if !l.breakdown {
        return out;
    }
    for r in rows {
        let Some(s) = measured(r) else { continue };
        let conv = breakdown_convention(s, l);
        out.push_str(&format!(
            "\n{} — per layer, {conv}, one view, shapes at batch 0\n",
            r.entry.id
        ));
        let mut layers = vec![breakdown_header()];
        layers.extend(s.flops.breakdown.iter().map(|x| layer_cells(x).to_vec()));
        out.push_str(&aligned(&layers));
    }
    out
}

fn csv_error(e: impl std::fmt::Display) -> ReportError {
    ReportError::Other(format!("csv: {e}"))
}

/// One row per entry (with `breakdown`: one row per layer).
pub fn csv(rows: &[EntryCounts], l: &CountsLayout) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if l.breakdown {
        let mut h = vec!["id".to_string(), "convention".into()];
        h.extend(breakdown_header());
        w.write_record(&h).map_err(csv_error)?;
        for r in rows {
            let Some(s) = measured(r) else { continue };
            let conv = breakdown_convention(s, l);
            for layer in &s.flops.breakdown {
                let mut rec = vec![r.entry.id.clone(), conv.to_string()];
                rec.extend(layer_cells(layer));
                w.write_record(&rec).map_err(csv_error)?;
            }
        }
    } else {
        w.write_record(csv_header(l)).map_err(csv_error)?;
        for r in rows {
            w.write_record(csv_row(r, l)).map_err(csv_error)?;
        }
    }
    let bytes = w.into_inner().map_err(csv_error)?;
    String::from_utf8(bytes).map_err(csv_error)
}

fn csv_header(l: &CountsLayout) -> Vec<String> {
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
    for (name, _) in &l.conventions {
        h.push(format!("{name}_flops"));
        h.push(format!("{name}_gflops"));
    }
    h.extend(["published_gflops", "reproduced_by", "flag", "note"].map(String::from));
    h
}

fn csv_row(r: &EntryCounts, l: &CountsLayout) -> Vec<String> {
    let (e, pr) = (&r.entry, &r.entry.protocol);
    let mult = if l.views {
        e.protocol.views() as u64
    } else {
        1
    };
    let mut rec = vec![
        e.id.clone(),
        e.model.label(),
        pr.frames.to_string(),
        pr.alpha
            .map(|a| (pr.frames * a).to_string())
            .unwrap_or_default(),
        pr.crop.to_string(),
        pr.spatial_crops.to_string(),
        pr.temporal_clips.to_string(),
    ];
    match measured(r) {
        None => rec.extend(["", "", &p(e.published.params_m), ""].map(String::from)),
        Some(s) => rec.extend([
            s.params.count.to_string(),
            format!("{:.6}", s.params.millions),
            p(e.published.params_m),
            s.params
                .matches_published
                .map(|b| b.to_string())
                .unwrap_or_default(),
        ]),
    }
    for (name, _) in &l.conventions {
        match measured(r) {
            None => rec.extend([String::new(), String::new()]),
            Some(s) => {
                let f = s.flops.conventions.iter().find(|x| &x.convention == name);
                rec.push(f.map(|f| (f.flops * mult).to_string()).unwrap_or_default());
                rec.push(
                    f.map(|f| format!("{:.6}", f.gflops * mult as f64))
                        .unwrap_or_default(),
                );
            }
        }
    }
    let published = e
        .published
        .gflops
        .map(|g| format!("{:.*}", g.decimals as usize, g.value * mult as f64));
    rec.push(published.unwrap_or_default());
    rec.push(match &r.stats {
        Measure::Measured { value: s } => s.flops.reproduced_label().unwrap_or_default(),
        Measure::Failed { .. } => "FAILED".into(),
        _ => "not built".into(),
    });
    rec.push(flagged(r).to_string());
    rec.push(notes(r).join(" | "));
    rec
}

fn json_row(r: &EntryCounts, l: &CountsLayout) -> Value {
    let (e, pr) = (&r.entry, &r.entry.protocol);
    let mut v = json!({
        "id": e.id,
        "arch": e.model.label(),
        "input": { "frames": pr.frames, "fast_frames": pr.alpha.map(|a| pr.frames * a), "crop": pr.crop },
        "views": [pr.spatial_crops, pr.temporal_clips],
        "published": { "params_m": e.published.params_m, "gflops": e.published.gflops },
    });
    match &r.stats {
        Measure::NotImplemented { reason } | Measure::Skipped { reason } => {
            v["status"] = json!({ "not_implemented": reason })
        }
        Measure::Failed { error } => v["status"] = json!({ "failed": error }),
        Measure::Measured { value: s } => {
            v["status"] = json!("measured");
            v["params"] = json!(s.params);
            v["flops"] = json!(s.flops);
            v["flag"] = json!(flagged(r));
            if l.views {
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

/// Every entry as a JSON value, in order.
pub fn json(rows: &[EntryCounts], l: &CountsLayout) -> Value {
    Value::Array(rows.iter().map(|r| json_row(r, l)).collect())
}
