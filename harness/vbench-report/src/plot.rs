//! The report's SVG plots (plotters' SVG backend: text is emitted as SVG `<text>`, so no font files or
//! system libraries are involved): accuracy vs GFLOPs and latency vs GFLOPs, published and measured,
//! and each latency measurement's samples in order.

use crate::error::{ReportError, Result};
use crate::fmt::{latency_setup, shown_gflops};
use crate::label_layout;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use serde::Serialize;
use vbench_results::{EntryResult, Results};

/// A plot's legend entry, drawn by the page (outside the SVG, so it never hides a point).
#[derive(Debug, Clone, Serialize)]
pub struct LegendItem {
    pub label: String,
    /// `#rrggbb`.
    pub color: String,
    /// Filled marker (measured) or hollow (published).
    pub filled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlotView {
    pub id: String,
    pub title: String,
    /// Inline SVG from [`report_plots`], or empty when there is nothing to plot (`caption` says why).
    pub svg: String,
    pub caption: String,
    pub legend: Vec<LegendItem>,
}

const PUBLISHED: RGBColor = RGBColor(110, 119, 129);
/// Measured series, in order; colour-blind-safe (Okabe–Ito).
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];

pub(crate) struct Series {
    pub label: String,
    pub color: RGBColor,
    pub filled: bool,
    /// (x, y, point label)
    pub points: Vec<(f64, f64, String)>,
}

/// Bounds of positive finite values for a log axis, padded and widened to span at least a factor 5 so
/// that a single point still gets a readable axis.
fn log_bounds(v: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let v: Vec<f64> = v.filter(|x| x.is_finite() && *x > 0.0).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min) / 1.4;
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max) * 1.4;
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    let widen = (5.0 / (hi / lo)).max(1.0).sqrt();
    Some((lo / widen, hi * widen))
}

/// Round 1-2-5 ticks (or finer) inside [lo, hi] for a log axis: plotters' own log ticks can leave a
/// narrow range with a single label.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let pick = |mantissas: &[f64]| -> Vec<f64> {
        (k0..=k1)
            .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|t| *t >= lo && *t <= hi)
            .collect()
    };
    for m in [
        &[1.0, 2.0, 5.0][..],
        &[1.0, 1.5, 2.0, 3.0, 5.0, 7.0],
        &[1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ] {
        let t = pick(m);
        if t.len() >= 3 || m.len() == 12 {
            return t;
        }
    }
    Vec::new()
}

/// "0.15", "2", "1000": ticks without float noise or trailing zeros.
fn tick_label(v: f64) -> String {
    let r = (v * 1e6).round() / 1e6;
    format!("{r}")
}

pub(crate) fn linear_bounds(v: impl Iterator<Item = f64>, pad: f64) -> Option<(f64, f64)> {
    let v: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && hi.is_finite()).then_some((lo - pad, hi + pad))
}

pub(crate) fn legend(series: &[Series]) -> Vec<LegendItem> {
    series
        .iter()
        .filter(|s| !s.points.is_empty())
        .map(|s| LegendItem {
            label: s.label.clone(),
            color: format!("#{:02x}{:02x}{:02x}", s.color.0, s.color.1, s.color.2),
            filled: s.filled,
        })
        .collect()
}

/// A scatter plot, log-scaled x, with optional segments joining a published point to its measured one.
pub(crate) fn scatter<Y>(
    id: &str,
    x_desc: &str,
    y_desc: &str,
    y: Y,
    series: &[Series],
    links: &[[(f64, f64); 2]],
) -> Result<String>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let err = |e: &dyn std::fmt::Display| ReportError::Plot {
        plot: id.to_string(),
        message: e.to_string(),
    };
    let (xlo, xhi) =
        log_bounds(series.iter().flat_map(|s| s.points.iter().map(|p| p.0))).unwrap_or((1.0, 10.0));
    let x = (xlo..xhi).log_scale().with_key_points(log_ticks(xlo, xhi));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (620, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(x, y)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .light_line_style(RGBColor(238, 240, 242))
            .bold_line_style(RGBColor(216, 222, 228))
            .draw()
            .map_err(|e| err(&e))?;
        for l in links {
            chart
                .draw_series(LineSeries::new(
                    l.to_vec(),
                    PUBLISHED.mix(0.6).stroke_width(1),
                ))
                .map_err(|e| err(&e))?;
        }
        for s in series.iter().filter(|s| !s.points.is_empty()) {
            let style = if s.filled {
                s.color.filled()
            } else {
                s.color.stroke_width(2)
            };
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(move |(x, y, _)| Circle::new((*x, *y), MARKER, style)),
                )
                .map_err(|e| err(&e))?;
        }
        draw_labels(&root, &chart, series).map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// Marker radius (px) and label font size of the scatter plots.
const MARKER: i32 = 5;
const LABEL_SIZE: f64 = 11.0;

/// Every point's label where [`label_layout::place`] puts it (no two overlap, none covers a
/// marker), in its series' colour, with a leader line when it had to move away.
fn draw_labels<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    chart: &ChartContext<DB, CT>,
    series: &[Series],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let labelled: Vec<(&Series, (i32, i32), &str)> = series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .filter(|p| !p.2.is_empty())
                .map(move |(x, y, l)| (s, chart.as_coord_spec().translate(&(*x, *y)), l.as_str()))
        })
        .collect();
    // Unlabelled points are obstacles too.
    let mut points: Vec<(f64, f64)> = labelled
        .iter()
        .map(|(_, (x, y), _)| (*x as f64, *y as f64))
        .collect();
    let sizes: Vec<(f64, f64)> = labelled
        .iter()
        .map(|(_, _, l)| (label_layout::text_width(l, LABEL_SIZE), LABEL_SIZE + 2.0))
        .collect();
    points.extend(series.iter().flat_map(|s| {
        s.points.iter().filter(|p| p.2.is_empty()).map(|(x, y, _)| {
            let (px, py) = chart.as_coord_spec().translate(&(*x, *y));
            (px as f64, py as f64)
        })
    }));
    let mut all_sizes = sizes.clone();
    all_sizes.resize(points.len(), (0.0, 0.0));
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let area = label_layout::Rect {
        x: xr.start as f64,
        y: yr.start as f64,
        w: (xr.end - xr.start) as f64,
        h: (yr.end - yr.start) as f64,
    };
    let placed = label_layout::place(&points, &all_sizes, MARKER as f64, area);
    for ((s, (px, py), label), p) in labelled.iter().zip(&placed) {
        if p.leader {
            let (ex, ey) = p.rect.nearest(*px as f64, *py as f64);
            root.draw(&PathElement::new(
                vec![(*px, *py), (ex.round() as i32, ey.round() as i32)],
                s.color.mix(0.5).stroke_width(1),
            ))?;
        }
        root.draw(&Text::new(
            label.to_string(),
            (p.rect.x.round() as i32, p.rect.y.round() as i32),
            ("sans-serif", LABEL_SIZE).into_font().color(&s.color),
        ))?;
    }
    Ok(())
}

/// The GFLOPs an entry is plotted at: measured (see [`shown_gflops`]) if counted, else published.
fn gflops_of(e: &EntryResult) -> Option<(f64, bool)> {
    e.flops
        .value()
        .and_then(shown_gflops)
        .map(|(g, _)| (g, true))
        .or(e.published.gflops.map(|p| (p.value, false)))
}

fn accuracy_plot(r: &Results) -> Result<PlotView> {
    let use_top1 = r
        .entries
        .iter()
        .any(|e| e.published.top1.is_some() || e.accuracy.value().and_then(|a| a.top1).is_some());
    let (metric, name) = if use_top1 {
        ("top-1 (%)", "top-1")
    } else {
        ("mAP (%)", "mAP")
    };
    let mut published = Vec::new();
    let mut measured = Vec::new();
    let mut links = Vec::new();
    for e in &r.entries {
        let pa = if use_top1 {
            e.published.top1
        } else {
            e.published.map
        };
        let pp = e.published.gflops.zip(pa).map(|(g, a)| (g.value, a.value));
        if let Some((g, a)) = pp {
            published.push((g, a, e.name.clone()));
        }
        let ma = e
            .accuracy
            .value()
            .and_then(|a| if use_top1 { a.top1 } else { a.map });
        let mg = e
            .flops
            .value()
            .and_then(shown_gflops)
            .map(|(g, _)| g)
            .or(e.published.gflops.map(|p| p.value));
        if let Some((g, a)) = mg.zip(ma).filter(|(g, a)| g.is_finite() && a.is_finite()) {
            measured.push((g, a, e.name.clone()));
            if let Some(p) = pp {
                links.push([p, (g, a)]);
                // One label per entry: on the measured point.
                if let Some(last) = published.last_mut() {
                    last.2.clear();
                }
            }
        }
    }
    let mut caption = format!(
        "{name} against GFLOPs per view (log scale): {} published points (hollow), {} measured (filled); a line joins an entry's two points.",
        published.len(),
        measured.len()
    );
    if measured.is_empty() {
        caption += &format!(" No entry has a measured {name} in this run (accuracy needs the dataset), so only published points are plotted.");
    }
    let ys: Vec<f64> = published.iter().chain(&measured).map(|p| p.1).collect();
    let series = [
        Series {
            label: "published".into(),
            color: PUBLISHED,
            filled: false,
            points: published,
        },
        Series {
            label: "measured (vbench)".into(),
            color: PALETTE[0],
            filled: true,
            points: measured,
        },
    ];
    let svg = match linear_bounds(ys.into_iter(), 1.5) {
        None => {
            caption = format!(
                "Nothing to plot: no entry has both GFLOPs and {name}, published or measured."
            );
            String::new()
        }
        Some((lo, hi)) => scatter(
            "accuracy-vs-gflops",
            "GFLOPs per view",
            metric,
            lo..hi,
            &series,
            &links,
        )?,
    };
    Ok(PlotView {
        id: "plot-accuracy-vs-gflops".into(),
        title: format!("{name} vs GFLOPs"),
        legend: legend(&series),
        svg,
        caption,
    })
}

fn latency_plot(r: &Results) -> Result<PlotView> {
    let mut series: Vec<Series> = Vec::new();
    let mut x_published = 0;
    for e in &r.entries {
        let Some((g, counted)) = gflops_of(e) else {
            continue;
        };
        if let (Some(l), Some(d)) = (e.published.latency_ms, &e.published.latency_device) {
            let label = format!("published ({d})");
            match series.iter_mut().find(|s| s.label == label) {
                Some(s) => s.points.push((g, l.value, e.name.clone())),
                None => series.push(Series {
                    label,
                    color: PUBLISHED,
                    filled: false,
                    points: vec![(g, l.value, e.name.clone())],
                }),
            }
        }
        for l in e
            .latency
            .iter()
            .filter_map(|m| m.value())
            .filter(|l| l.p50_ms.is_finite() && l.p50_ms > 0.0)
        {
            let label = format!("p50, {}", latency_setup(l));
            x_published += usize::from(!counted);
            match series.iter_mut().find(|s| s.label == label) {
                Some(s) => s.points.push((g, l.p50_ms, e.name.clone())),
                None => {
                    let color = PALETTE[series.iter().filter(|s| s.filled).count() % PALETTE.len()];
                    series.push(Series {
                        label,
                        color,
                        filled: true,
                        points: vec![(g, l.p50_ms, e.name.clone())],
                    })
                }
            }
        }
    }
    let n_measured: usize = series
        .iter()
        .filter(|s| s.filled)
        .map(|s| s.points.len())
        .sum();
    let mut caption = format!(
        "Latency p50 per batch (ms, log scale) against GFLOPs per view (log scale): {n_measured} measured points, one colour per setup (device, threads, batch, precision)."
    );
    if x_published > 0 {
        caption += &format!(" {x_published} of them sit at the published GFLOPs because this run did not count FLOPs for them.");
    }
    let svg = match log_bounds(series.iter().flat_map(|s| s.points.iter().map(|p| p.1))) {
        None => {
            caption = "Nothing to plot: no entry has a latency and GFLOPs (measured or published)."
                .into();
            String::new()
        }
        Some((lo, hi)) => {
            let y = (lo..hi).log_scale().with_key_points(log_ticks(lo, hi));
            scatter(
                "latency-vs-gflops",
                "GFLOPs per view",
                "latency p50 (ms)",
                y,
                &series,
                &[],
            )?
        }
    };
    Ok(PlotView {
        id: "plot-latency-vs-gflops".into(),
        title: "latency vs GFLOPs".into(),
        legend: legend(&series),
        svg,
        caption,
    })
}

/// The report's plots. A plot that fails to draw is replaced by its error, not by a broken report.
pub fn report_plots(r: &Results) -> Vec<PlotView> {
    [accuracy_plot(r), latency_plot(r)]
        .into_iter()
        .zip(["accuracy vs GFLOPs", "latency vs GFLOPs"])
        .map(|(p, title)| {
            p.unwrap_or_else(|e| PlotView {
                id: format!("plot-{}", title.replace(' ', "-")),
                title: title.into(),
                legend: Vec::new(),
                svg: String::new(),
                caption: format!("could not draw: {e}"),
            })
        })
        .collect()
}

/// Each latency sample against its index: drift, warm-up tails and outliers show at a glance.
pub fn samples_svg(samples: &[f64], setup: &str) -> Result<String> {
    let err = |e: &dyn std::fmt::Display| ReportError::Plot {
        plot: format!("samples {setup}"),
        message: e.to_string(),
    };
    let pts: Vec<(f64, f64)> = samples
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_finite())
        .map(|(i, s)| ((i + 1) as f64, *s))
        .collect();
    let Some((lo, hi)) = linear_bounds(pts.iter().map(|p| p.1), 0.0) else {
        return Ok(String::new());
    };
    let pad = ((hi - lo) * 0.15).max(hi.abs() * 0.02).max(1e-6);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (520, 200)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(0.5..(pts.len() as f64 + 0.5), (lo - pad)..(hi + pad))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("sample")
            .y_desc("ms")
            .label_style(("sans-serif", 11))
            .light_line_style(RGBColor(238, 240, 242))
            .bold_line_style(RGBColor(216, 222, 228))
            .x_labels(pts.len().min(10))
            .x_label_formatter(&|x| format!("{}", x.round() as i64))
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(
                pts.clone(),
                PALETTE[0].mix(0.4).stroke_width(1),
            ))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 3, PALETTE[0].filled())))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axes_get_round_ticks() {
        assert_eq!(
            log_ticks(0.4, 300.0),
            vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
        );
        let (lo, hi) = log_bounds([0.91].into_iter()).unwrap();
        assert!(hi / lo >= 5.0 - 1e-9);
        assert!(log_ticks(lo, hi).len() >= 3);
        assert_eq!(tick_label(0.15000000000000002), "0.15");
        assert_eq!(tick_label(1000.0), "1000");
        assert!(log_bounds([0.0, f64::NAN].into_iter()).is_none());
    }
}
