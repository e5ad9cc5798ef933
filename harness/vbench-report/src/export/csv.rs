use super::Exporter;
use crate::error::{ReportError, Result};
use crate::view::{Cell, ReportView};
use vbench_results::Results;

/// One row per entry: measured and published side by side, with status words (never a number where
/// nothing was measured).
pub struct CsvExporter;

const HEADER: [&str; 22] = [
    "id",
    "arch",
    "protocol",
    "views",
    "params",
    "params_published",
    "params_status",
    "gflops",
    "gflops_published",
    "gflops_status",
    "top1",
    "top1_published",
    "top1_delta",
    "top1_ci95",
    "top5",
    "top5_published",
    "top5_delta",
    "map",
    "map_published",
    "map_delta",
    "latency_p50_p90",
    "latency_status",
];

fn latency(cells: &[Cell], f: impl Fn(&Cell) -> String) -> String {
    cells.iter().map(f).collect::<Vec<_>>().join("; ")
}

impl Exporter for CsvExporter {
    fn name(&self) -> &'static str {
        "csv"
    }
    fn render(&self, results: &Results) -> Result<String> {
        let view = ReportView::new(results);
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| ReportError::Other(format!("csv: {e}"));
        w.write_record(HEADER).map_err(err)?;
        for r in &view.rows {
            let lat = latency(&r.latency, |c| {
                if c.status == "measured" {
                    format!("{} ({})", c.measured, c.detail)
                } else {
                    c.measured.clone()
                }
            });
            let lat_status = latency(&r.latency, |c| c.status.clone());
            w.write_record([
                &r.id,
                &r.arch,
                &r.protocol,
                &r.views,
                &r.params.measured,
                &r.params.published,
                &r.params.status,
                &r.gflops.measured,
                &r.gflops.published,
                &r.gflops.status,
                &r.top1.measured,
                &r.top1.published,
                &r.top1.delta,
                &r.top1.ci,
                &r.top5.measured,
                &r.top5.published,
                &r.top5.delta,
                &r.map.measured,
                &r.map.published,
                &r.map.delta,
                &lat,
                &lat_status,
            ])
            .map_err(err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ReportError::Other(format!("csv: {e}")))?;
        String::from_utf8(bytes).map_err(|e| ReportError::Other(format!("csv: {e}")))
    }
}
