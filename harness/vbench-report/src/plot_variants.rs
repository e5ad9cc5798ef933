//! The "speed vs fidelity" plot of one entry: each variant's speed-up over fp32 (log x, timed
//! interleaved in the same run) against its view-level top-1 agreement with fp32, one point per
//! thread count. A variant without a measured speed-up or fidelity is left out and named in the
//! caption, so an empty plot says why.

use crate::error::Result;
use crate::plot::{legend, linear_bounds, scatter, PlotView, Series, PALETTE};
use vbench_results::{Measure, VariantResult};

/// `entry`'s plot; `anchor` makes its id unique on the page.
pub fn variants_plot(entry: &str, anchor: &str, variants: &[VariantResult]) -> Result<PlotView> {
    let mut series = Vec::new();
    let mut left_out = Vec::new();
    for (i, v) in variants
        .iter()
        .filter(|v| v.variant != vbench_suite::Variant::Fp32)
        .enumerate()
    {
        let points: Vec<(f64, f64, String)> = match &v.fidelity {
            Measure::Measured { value: f } => v
                .speed
                .iter()
                .filter_map(Measure::value)
                .filter(|s| s.speedup.is_finite() && s.speedup > 0.0)
                .map(|s| {
                    (
                        s.speedup,
                        f.view_agreement,
                        format!("{} · {} thr", v.variant, s.threads),
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        if points.is_empty() {
            left_out.push(v.variant.to_string());
        }
        series.push(Series {
            label: v.variant.to_string(),
            color: PALETTE[i % PALETTE.len()],
            filled: true,
            points,
        });
    }
    let mut caption = "Speed-up over fp32 (fp32 p50 / variant p50, log scale) against the \
        percentage of views whose top-1 is fp32's; one point per thread count. With random \
        weights most views are near ties, so agreement is pessimistic: read it beside the fp32 \
        margins in the table."
        .to_string();
    if !left_out.is_empty() {
        caption += &format!(
            " Not plotted (no speed-up or no fidelity): {}.",
            left_out.join(", ")
        );
    }
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let svg = match linear_bounds(ys, 1.0) {
        Some((lo, hi)) => scatter(
            &format!("variants-{anchor}"),
            "speed-up over fp32",
            "view top-1 agreement (%)",
            lo.max(0.0)..hi.min(100.5).max(lo + 1.0),
            &series,
            &[],
        )?,
        None => String::new(),
    };
    Ok(PlotView {
        id: format!("plot-variants-{anchor}"),
        title: format!("{entry}: speed vs fidelity"),
        legend: legend(&series),
        svg,
        caption,
    })
}
