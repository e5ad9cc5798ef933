//! Display-ready view of a [`Results`]: every number formatted and every status decided here, so
//! templates and exporters only lay strings out.

use crate::fmt::{self, anchor, printed, shown_gflops, unmeasured};
use crate::plot::{report_plots, PlotView};
use crate::plot_variants::variants_plot;
use crate::view_detail::{entry_detail, EntryDetail};
use serde::Serialize;
use vbench_results::metrics::registry::{self, Kind, Metric, Shown};
use vbench_results::{EntryResult, Measure, Results};
use vbench_suite::Printed;

/// Accuracy within this many points of the published value reads as "close" (the gate's default).
const CLOSE_POINTS: f64 = 0.5;

/// One table cell: what vbench measured next to what was published, and a status class.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub measured: String,
    pub published: String,
    /// `match` (prints as published), `explained` (differs, a note says why), `close` (accuracy within
    /// 0.5 points), `mismatch`, `measured` (nothing to compare with), `not-implemented`, `skipped`,
    /// `failed`, `none`. Also the CSS class.
    pub status: String,
    /// measured − published, where both exist ("+0.12").
    pub delta: String,
    /// "95% CI a–b", where stored.
    pub ci: String,
    pub detail: String,
}

impl Cell {
    fn none(published: String) -> Cell {
        Cell {
            measured: "—".into(),
            published,
            status: "none".into(),
            delta: String::new(),
            ci: String::new(),
            detail: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RowView {
    pub id: String,
    /// HTML id of the entry's detail section.
    pub anchor: String,
    pub name: String,
    pub arch: String,
    pub protocol: String,
    pub views: String,
    pub params: Cell,
    pub gflops: Cell,
    /// One cell per [`ReportView::metric_columns`] entry, in that order.
    pub metrics: Vec<MetricCell>,
    /// One cell per latency setup (device, threads, batch, precision); a single "—" cell if none.
    pub latency: Vec<Cell>,
    pub notes: String,
}

/// An accuracy metric's column (`vbench_results::metrics::registry`): CSV and markdown show every
/// column, HTML those with `html`.
#[derive(Debug, Clone, Serialize)]
pub struct MetricColumn {
    pub key: String,
    pub label: String,
    /// The CSV has a `<key>_ci95` column.
    pub ci_column: bool,
    /// Some entry has a value, published or measured.
    pub html: bool,
    /// `topk` or `map`: the HTML table lays the two families out on separate template lines.
    pub family: String,
}

/// The explained gap of one entry (`accuracy.details.reference_gap`), as sentences.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedGapView {
    pub entry: String,
    /// "val.csv (sha256 …): 19,881 reference videos; 19,700 scored, 181 missing (…); 12 extra".
    pub coverage: String,
    /// The bound and where the published number lies, or why there is none.
    pub bound: String,
}

fn explained_gaps(r: &Results) -> Vec<ExplainedGapView> {
    r.entries
        .iter()
        .filter_map(|e| {
            let a = e.accuracy.value()?;
            let g = a.details.as_ref()?.reference_gap.as_ref()?;
            let c = &g.coverage;
            Some(ExplainedGapView {
                entry: e.id.clone(),
                coverage: format!(
                    "{} (sha256 {}): {} reference videos; {} scored, {} missing ({} not in this \
                     copy, {} in it but not scored: failed to decode or no label); {} videos of \
                     this copy are not in the list{}",
                    c.reference_list,
                    c.reference_sha256,
                    c.reference_videos,
                    c.present,
                    c.missing,
                    c.absent,
                    c.unusable,
                    c.extra,
                    if c.unidentified > 0 {
                        format!(", {} carry no YouTube id", c.unidentified)
                    } else {
                        String::new()
                    }
                ),
                bound: g.bound.as_ref().map_or_else(
                    || "no reference video was scored: nothing to bound".into(),
                    |b| b.message.clone(),
                ),
            })
        })
        .collect()
}

/// One row's cell of a [`MetricColumn`].
#[derive(Debug, Clone, Serialize)]
pub struct MetricCell {
    pub key: String,
    pub html: bool,
    pub family: String,
    pub cell: Cell,
}

/// A published number that vbench does not reproduce, or a note about the published row.
#[derive(Debug, Clone, Serialize)]
pub struct Inconsistency {
    pub entry: String,
    pub anchor: String,
    /// `params`, `GFLOPs`, `entry note`.
    pub what: String,
    pub published: String,
    pub measured: String,
    pub explanation: String,
    /// `explained`, `unexplained`, `note`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub title: String,
    pub description: String,
    pub suite: String,
    pub dataset: String,
    pub task: String,
    pub schema_version: u32,
    pub provenance: Vec<(String, String)>,
    pub rows: Vec<RowView>,
    pub metric_columns: Vec<MetricColumn>,
    /// Per entry run with a reference list: what the dataset copy explains of the gap to the
    /// published top-1.
    pub explained_gaps: Vec<ExplainedGapView>,
    pub inconsistencies: Vec<Inconsistency>,
    pub plots: Vec<PlotView>,
    /// Entries run with speed variants: the speed-vs-fidelity table and plot of each.
    pub variants: Vec<VariantsView>,
    pub details: Vec<EntryDetail>,
    /// "16 entries · params 16 measured · ..." for the page header.
    pub counts: String,
}

/// One entry's speed variants: the text table (as `vbench latency --variant` prints it) and the plot.
#[derive(Debug, Clone, Serialize)]
pub struct VariantsView {
    pub id: String,
    pub table: String,
    pub plot: PlotView,
}

fn variants_views(r: &Results) -> Vec<VariantsView> {
    r.entries
        .iter()
        .filter(|e| !e.variants.is_empty())
        .map(|e| {
            let a = anchor(&e.id);
            let plot = variants_plot(&e.id, &a, &e.variants).unwrap_or_else(|err| PlotView {
                id: format!("plot-variants-{a}"),
                title: format!("{}: speed vs fidelity", e.id),
                svg: String::new(),
                caption: format!("could not draw: {err}"),
                legend: Vec::new(),
            });
            VariantsView {
                id: e.id.clone(),
                table: crate::tables::variants::table(&[(e.id.as_str(), e.variants.as_slice())]),
                plot,
            }
        })
        .collect()
}

fn measure_cell<T>(m: &Measure<T>, published: String, value: impl Fn(&T) -> Cell) -> Cell {
    match (m, unmeasured(m)) {
        (Measure::Measured { value: v }, _) => Cell {
            published,
            ..value(v)
        },
        (_, Some((word, status, reason))) => Cell {
            measured: word.into(),
            status: status.into(),
            detail: reason,
            ..Cell::none(published)
        },
        _ => Cell::none(published),
    }
}

/// Status of a count against a printed value: match, or explained/mismatch by whether a note exists.
fn vs_printed(p: Option<Printed>, reproduced: bool, note: &Option<String>) -> &'static str {
    match (
        p,
        reproduced,
        note.as_deref().map(str::trim).filter(|n| !n.is_empty()),
    ) {
        (None, ..) => "measured",
        (Some(_), true, _) => "match",
        (Some(_), false, Some(_)) => "explained",
        (Some(_), false, None) => "mismatch",
    }
}

fn accuracy_cell(
    value: Option<f64>,
    ci: Option<(f64, f64)>,
    published: Option<Printed>,
    detail: String,
) -> Cell {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return Cell {
            measured: "—".into(),
            detail,
            ..Cell::none(String::new())
        };
    };
    let (delta, status) = match published {
        Some(p) if p.matches(v) => (fmt::signed(v - p.value, 2), "match"),
        Some(p) if (v - p.value).abs() <= CLOSE_POINTS => (fmt::signed(v - p.value, 2), "close"),
        Some(p) => (fmt::signed(v - p.value, 2), "mismatch"),
        None => (String::new(), "measured"),
    };
    Cell {
        measured: fmt::num(v, 2),
        published: String::new(),
        status: status.into(),
        delta,
        ci: ci
            .map(|(l, h)| format!("95% CI {}–{}", fmt::num(l, 2), fmt::num(h, 2)))
            .unwrap_or_default(),
        detail,
    }
}

/// The accuracy columns of `r`'s tables: every tabled metric of the registry that is
/// [`Shown::Always`], or that some entry has (published or measured).
pub fn metric_columns(r: &Results) -> Vec<MetricColumn> {
    registry::tabled()
        .filter_map(|m| {
            let present = r.entries.iter().any(|e| {
                (m.published)(&e.published).is_some()
                    || e.accuracy.value().and_then(|a| (m.value)(a)).is_some()
            });
            let (always, ci_column) = match m.shown {
                Shown::Always { ci_column } => (true, ci_column),
                _ => (false, false),
            };
            (always || present).then(|| MetricColumn {
                key: m.key.into(),
                label: m.label.into(),
                ci_column,
                html: present,
                family: family(m).into(),
            })
        })
        .collect()
}

fn family(m: &Metric) -> &'static str {
    match m.kind {
        Kind::Map => "map",
        _ => "topk",
    }
}

/// The table cell of metric `m`: its clip-level counterpart in the detail (top-k), and the
/// number of videos on the first top-k metric.
fn metric_cell(e: &EntryResult, m: &Metric) -> Cell {
    let pct = |x: Option<f64>| x.map_or("—".into(), |x| fmt::num(x, 2));
    let published = (m.published)(&e.published);
    measure_cell(&e.accuracy, printed(published), |a| {
        let mut detail = Vec::new();
        // The gap to the published top-1 that the dataset copy explains, beside it.
        if m.kind == Kind::TopK(1) {
            if let Some(b) = a
                .details
                .as_ref()
                .and_then(|d| d.reference_gap.as_ref())
                .and_then(|g| g.bound.as_ref())
            {
                detail.push(b.message.clone());
            }
        }
        if let Kind::TopK(k) = m.kind {
            if let Some(clip) = registry::METRICS
                .iter()
                .find(|c| c.kind == Kind::ClipTopK(k))
            {
                detail.push(format!("clip-level {}", pct((clip.value)(a))));
            }
            let first = registry::tabled().find(|t| matches!(t.kind, Kind::TopK(_)));
            if first.is_some_and(|f| f.key == m.key) {
                detail.push(format!("{} videos", a.videos));
            }
        }
        accuracy_cell((m.value)(a), (m.ci95)(a), published, detail.join("; "))
    })
}

fn row(e: &EntryResult, columns: &[MetricColumn]) -> RowView {
    let p = &e.protocol;
    let protocol = match p.alpha {
        Some(a) => format!(
            "{}×{} α{} · {}/{}",
            p.frames, p.sample_rate, a, p.short_side, p.crop
        ),
        None => format!(
            "{}×{} · {}/{}",
            p.frames, p.sample_rate, p.short_side, p.crop
        ),
    };
    let pubd = &e.published;
    let params = measure_cell(&e.params, printed(pubd.params_m), |v| {
        let m = v.count as f64 / 1e6;
        let reproduced = pubd.params_m.is_some_and(|p| p.matches(m));
        Cell {
            measured: format!("{} ({})", fmt::num(m, 2), fmt::count(v.count as i128)),
            status: vs_printed(pubd.params_m, reproduced, &v.note).into(),
            delta: pubd
                .params_m
                .map(|p| fmt::signed(m - p.value, 3))
                .unwrap_or_default(),
            detail: v.note.clone().unwrap_or_default(),
            ..Cell::none(String::new())
        }
    });
    let gflops = measure_cell(&e.flops, printed(pubd.gflops), |v| {
        let reproducing = pubd.gflops.and_then(|p| {
            v.conventions
                .iter()
                .find(|c| p.matches(c.flops as f64 / 1e9))
        });
        let shown = reproducing
            .map(|c| (c.flops as f64 / 1e9, c.convention.as_str()))
            .or(shown_gflops(v));
        let all = v
            .conventions
            .iter()
            .map(|c| format!("{}: {}", c.convention, fmt::num(c.flops as f64 / 1e9, 4)))
            .collect::<Vec<_>>()
            .join("; ");
        Cell {
            measured: shown.map_or("—".into(), |(g, c)| format!("{} [{c}]", fmt::num(g, 2))),
            status: vs_printed(pubd.gflops, reproducing.is_some(), &v.note).into(),
            delta: shown
                .zip(pubd.gflops)
                .map(|((g, _), p)| fmt::signed(g - p.value, 2))
                .unwrap_or_default(),
            detail: format!(
                "{all}{}",
                v.note
                    .as_ref()
                    .map(|n| format!(" — {n}"))
                    .unwrap_or_default()
            ),
            ..Cell::none(String::new())
        }
    });
    let metrics = columns
        .iter()
        .filter_map(|c| registry::metric(&c.key))
        .zip(columns)
        .map(|(m, c)| MetricCell {
            key: c.key.clone(),
            html: c.html,
            family: c.family.clone(),
            cell: metric_cell(e, m),
        })
        .collect();
    let published_latency = match (pubd.latency_ms, &pubd.latency_device) {
        (Some(l), Some(d)) => format!("{l} ms on {d}"),
        (Some(l), None) => format!("{l} ms"),
        _ => "—".into(),
    };
    let mut latency: Vec<Cell> = e
        .latency
        .iter()
        .map(|m| {
            measure_cell(m, published_latency.clone(), |l| Cell {
                // Published on other hardware (a phone): say plainly that ours is this host.
                measured: format!(
                    "{}{} / {} ms{}",
                    if pubd.latency_device.is_some() {
                        "this host: "
                    } else {
                        ""
                    },
                    fmt::num(l.p50_ms, 1),
                    fmt::num(l.p90_ms, 1),
                    if l.under_foreign_load {
                        " (upper bound: machine busy)"
                    } else {
                        ""
                    }
                ),
                status: "measured".into(),
                detail: format!(
                    "{}{} · {} threads · batch {} · {} · n={} (+{} discarded) · CV {}%",
                    l.note
                        .as_ref()
                        .map(|n| format!("{n} · "))
                        .unwrap_or_default(),
                    l.device,
                    l.threads,
                    l.batch,
                    l.precision,
                    l.samples_ms.len(),
                    l.discarded_samples,
                    fmt::num(l.cv * 100.0, 1)
                ),
                ..Cell::none(String::new())
            })
        })
        .collect();
    if latency.is_empty() {
        latency.push(Cell::none(published_latency));
    }
    RowView {
        id: e.id.clone(),
        anchor: anchor(&e.id),
        name: e.name.clone(),
        arch: e.arch.clone(),
        protocol,
        views: format!("{} × {}", p.spatial_crops, p.temporal_clips),
        params,
        gflops,
        metrics,
        latency,
        notes: e.notes.clone().unwrap_or_default(),
    }
}

/// Published numbers vbench does not reproduce, and the notes attached to published rows.
fn inconsistencies(r: &Results, rows: &[RowView]) -> Vec<Inconsistency> {
    let mut out = Vec::new();
    for (e, row) in r.entries.iter().zip(rows) {
        let notes = [
            (
                "params",
                &row.params,
                e.params.value().and_then(|v| v.note.clone()),
            ),
            (
                "GFLOPs",
                &row.gflops,
                e.flops.value().and_then(|v| v.note.clone()),
            ),
        ];
        for (what, cell, note) in notes {
            if cell.status == "explained" || cell.status == "mismatch" {
                out.push(Inconsistency {
                    entry: e.id.clone(),
                    anchor: row.anchor.clone(),
                    what: what.into(),
                    published: cell.published.clone(),
                    measured: cell.measured.clone(),
                    explanation: note
                        .unwrap_or_else(|| "no explanation recorded: an open discrepancy".into()),
                    status: if cell.status == "explained" {
                        "explained"
                    } else {
                        "unexplained"
                    }
                    .into(),
                });
            }
        }
        if let Some(n) = e.notes.as_deref().filter(|n| !n.trim().is_empty()) {
            out.push(Inconsistency {
                entry: e.id.clone(),
                anchor: row.anchor.clone(),
                what: "entry note".into(),
                published: String::new(),
                measured: String::new(),
                explanation: n.to_string(),
                status: "note".into(),
            });
        }
    }
    out
}

impl ReportView {
    pub fn new(r: &Results) -> ReportView {
        let pv = &r.provenance;
        let gpu = match &pv.gpu {
            vbench_results::GpuProvenance::Available {
                driver_version,
                cuda_driver_version,
                devices,
            } => format!(
                "{} (driver {driver_version}{})",
                devices
                    .iter()
                    .map(|d| d.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                cuda_driver_version
                    .as_ref()
                    .map(|c| format!(", CUDA {c}"))
                    .unwrap_or_default()
            ),
            vbench_results::GpuProvenance::Unavailable { reason } => format!("none: {reason}"),
        };
        let omp = if pv.omp_env.is_empty() {
            "not set".to_string()
        } else {
            pv.omp_env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let provenance = vec![
            (
                "vbench".into(),
                format!(
                    "{} ({})",
                    pv.vbench_version,
                    pv.git_sha
                        .clone()
                        .unwrap_or_else(|| "unknown commit".into())
                ),
            ),
            ("command".into(), pv.command.join(" ")),
            ("started".into(), pv.started_at.clone()),
            (
                "finished".into(),
                pv.finished_at
                    .clone()
                    .unwrap_or_else(|| "not finished".into()),
            ),
            (
                "host".into(),
                pv.host.hostname.clone().unwrap_or_else(|| "unknown".into()),
            ),
            (
                "CPU".into(),
                format!(
                    "{} ({} logical{} cores)",
                    pv.host.cpu_model,
                    pv.host.logical_cores,
                    pv.host
                        .physical_cores
                        .map(|p| format!(", {p} physical"))
                        .unwrap_or_default()
                ),
            ),
            (
                "memory".into(),
                format!(
                    "{} GiB",
                    fmt::num(pv.host.memory_bytes as f64 / (1u64 << 30) as f64, 1)
                ),
            ),
            (
                "OS".into(),
                format!(
                    "{} {}",
                    pv.host.os,
                    pv.host.kernel.clone().unwrap_or_default()
                )
                .trim()
                .to_string(),
            ),
            ("GPU".into(), gpu),
            (
                "libtorch".into(),
                pv.libtorch_version
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
            ),
            (
                "FFmpeg".into(),
                pv.ffmpeg_version
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
            ),
            ("intra-op threads".into(), pv.threads.to_string()),
            ("OMP/MKL environment".into(), omp),
            ("suite source".into(), r.suite.source.clone()),
        ];
        let metric_columns = metric_columns(r);
        let rows: Vec<RowView> = r.entries.iter().map(|e| row(e, &metric_columns)).collect();
        let measured = |f: &dyn Fn(&EntryResult) -> bool| r.entries.iter().filter(|e| f(e)).count();
        let counts = format!(
            "{} entries · params measured for {} · FLOPs for {} · accuracy for {} · latency for {}",
            r.entries.len(),
            measured(&|e| e.params.value().is_some()),
            measured(&|e| e.flops.value().is_some()),
            measured(&|e| e.accuracy.value().is_some()),
            measured(&|e| e.latency.iter().any(|l| l.value().is_some())),
        );
        ReportView {
            title: format!("vbench — {}", r.suite.title),
            description: r.suite.description.clone().unwrap_or_default(),
            suite: r.suite.name.clone(),
            dataset: r.suite.dataset.clone(),
            task: r.suite.task.clone(),
            schema_version: r.schema_version,
            provenance,
            inconsistencies: inconsistencies(r, &rows),
            metric_columns,
            explained_gaps: explained_gaps(r),
            plots: report_plots(r),
            variants: variants_views(r),
            details: r.entries.iter().map(entry_detail).collect(),
            rows,
            counts,
        }
    }
}
