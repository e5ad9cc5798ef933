//! Display-ready view of a [`Results`]: every number formatted and every status decided here, so
//! templates and exporters only lay strings out.

use crate::schema::{EntryResult, Measure, Results};
use serde::Serialize;
use vbench_suite::Printed;

/// One table cell: what vbench measured next to what was published, and a status class.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub measured: String,
    pub published: String,
    /// `match`, `mismatch`, `measured` (nothing to compare), `not-implemented`, `skipped`, `failed`, `none`.
    pub status: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowView {
    pub id: String,
    pub name: String,
    pub arch: String,
    pub protocol: String,
    pub views: String,
    pub params: Cell,
    pub gflops: Cell,
    pub top1: Cell,
    pub top5: Cell,
    pub map: Cell,
    pub latency: Cell,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub title: String,
    pub description: String,
    pub schema_version: u32,
    pub provenance: Vec<(String, String)>,
    pub rows: Vec<RowView>,
    pub has_accuracy_top: bool,
    pub has_map: bool,
}

fn printed(p: Option<Printed>) -> String {
    p.map(|p| p.to_string()).unwrap_or_else(|| "—".into())
}

fn measure_cell<T>(m: &Measure<T>, published: String, value: impl Fn(&T) -> (String, Option<bool>, String)) -> Cell {
    match m {
        Measure::Measured { value: v } => {
            let (measured, matches, detail) = value(v);
            let status = match matches {
                Some(true) => "match",
                Some(false) => "mismatch",
                None => "measured",
            };
            Cell { measured, published, status: status.into(), detail }
        }
        Measure::NotImplemented { reason } => Cell {
            measured: "not implemented".into(),
            published,
            status: "not-implemented".into(),
            detail: reason.clone(),
        },
        Measure::Skipped { reason } => Cell {
            measured: "skipped".into(),
            published,
            status: "skipped".into(),
            detail: reason.clone(),
        },
        Measure::Failed { error } => Cell {
            measured: "failed".into(),
            published,
            status: "failed".into(),
            detail: error.clone(),
        },
    }
}

fn row(e: &EntryResult) -> RowView {
    let p = &e.protocol;
    let protocol = match p.alpha {
        Some(a) => format!("{}×{} α{} · {}/{}", p.frames, p.sample_rate, a, p.short_side, p.crop),
        None => format!("{}×{} · {}/{}", p.frames, p.sample_rate, p.short_side, p.crop),
    };
    let params = measure_cell(&e.params, printed(e.published.params_m), |v| {
        (
            format!("{:.2} ({})", v.millions, v.count),
            v.matches_published,
            v.note.clone().unwrap_or_default(),
        )
    });
    let gflops = measure_cell(&e.flops, printed(e.published.gflops), |v| {
        let shown = v
            .reproduced_by
            .as_ref()
            .and_then(|c| v.conventions.iter().find(|x| &x.convention == c))
            .or(v.conventions.first());
        let measured = shown.map_or("—".into(), |c| format!("{:.2} [{}]", c.gflops, c.convention));
        let all = v
            .conventions
            .iter()
            .map(|c| format!("{}: {:.4}", c.convention, c.gflops))
            .collect::<Vec<_>>()
            .join("; ");
        let matches = e.published.gflops.map(|_| v.reproduced_by.is_some());
        (measured, matches, format!("{all}{}", v.note.as_ref().map(|n| format!(" — {n}")).unwrap_or_default()))
    });
    let pct = |x: Option<f64>| x.map_or("—".into(), |x| format!("{x:.2}"));
    let top1 = measure_cell(&e.accuracy, printed(e.published.top1), |a| {
        let ci = a.top1_ci95.map(|(l, h)| format!("95% CI {l:.2}–{h:.2}; ")).unwrap_or_default();
        (pct(a.top1), None, format!("{ci}clip-level {}", pct(a.clip_top1)))
    });
    let top5 = measure_cell(&e.accuracy, printed(e.published.top5), |a| {
        (pct(a.top5), None, format!("clip-level {}", pct(a.clip_top5)))
    });
    let map = measure_cell(&e.accuracy, printed(e.published.map), |a| (pct(a.map), None, String::new()));
    let latency = match e.latency.first() {
        None => Cell {
            measured: "—".into(),
            published: printed(e.published.latency_ms),
            status: "none".into(),
            detail: String::new(),
        },
        Some(m) => measure_cell(m, printed(e.published.latency_ms), |l| {
            (
                format!("{:.1} / {:.1} ms", l.p50_ms, l.p90_ms),
                None,
                format!(
                    "{} · {} threads · batch {} · n={} (+{} discarded) · CV {:.1}%",
                    l.device,
                    l.threads,
                    l.batch,
                    l.samples_ms.len(),
                    l.discarded_samples,
                    l.cv * 100.0
                ),
            )
        }),
    };
    RowView {
        id: e.id.clone(),
        name: e.name.clone(),
        arch: e.arch.clone(),
        protocol,
        views: format!("{} × {}", p.spatial_crops, p.temporal_clips),
        params,
        gflops,
        top1,
        top5,
        map,
        latency,
        notes: e.notes.clone().unwrap_or_default(),
    }
}

impl ReportView {
    pub fn new(r: &Results) -> ReportView {
        let pv = &r.provenance;
        let gpu = match &pv.gpu {
            crate::schema::GpuProvenance::Available { driver_version, devices, .. } => format!(
                "{} (driver {driver_version})",
                devices.iter().map(|d| d.name.clone()).collect::<Vec<_>>().join(", ")
            ),
            crate::schema::GpuProvenance::Unavailable { reason } => format!("no NVML: {reason}"),
        };
        let provenance = vec![
            ("vbench".into(), format!("{} ({})", pv.vbench_version, pv.git_sha.clone().unwrap_or_else(|| "unknown sha".into()))),
            ("command".into(), pv.command.join(" ")),
            ("started".into(), pv.started_at.clone()),
            ("finished".into(), pv.finished_at.clone().unwrap_or_else(|| "running".into())),
            ("CPU".into(), format!("{} ({} logical cores)", pv.host.cpu_model, pv.host.logical_cores)),
            ("memory".into(), format!("{:.1} GiB", pv.host.memory_bytes as f64 / (1u64 << 30) as f64)),
            ("OS".into(), format!("{} {}", pv.host.os, pv.host.kernel.clone().unwrap_or_default())),
            ("GPU".into(), gpu),
            ("libtorch".into(), pv.libtorch_version.clone().unwrap_or_else(|| "unknown".into())),
            ("FFmpeg".into(), pv.ffmpeg_version.clone().unwrap_or_else(|| "unknown".into())),
            ("threads".into(), pv.threads.to_string()),
            ("suite source".into(), r.suite.source.clone()),
        ];
        ReportView {
            title: format!("vbench — {}", r.suite.title),
            description: r.suite.description.clone().unwrap_or_default(),
            schema_version: r.schema_version,
            provenance,
            rows: r.entries.iter().map(row).collect(),
            has_accuracy_top: r.entries.iter().any(|e| e.published.top1.is_some()),
            has_map: r.entries.iter().any(|e| e.published.map.is_some()),
        }
    }
}
