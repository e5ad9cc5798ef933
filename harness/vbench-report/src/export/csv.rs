use super::Exporter;
use crate::error::{ReportError, Result};
use crate::view::{Cell, ReportView};
use vbench_results::Results;

/// One row per entry: measured and published side by side, with status words (never a number where
/// nothing was measured).
pub struct CsvExporter;

/// The columns before the accuracy metrics, and after them.
const HEAD: [&str; 10] = [
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
];
const TAIL: [&str; 2] = ["latency_p50_p90", "latency_status"];

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
        // Per metric column: value, published, delta (and the CI where the registry says).
        let mut header: Vec<String> = HEAD.iter().map(|h| h.to_string()).collect();
        for c in &view.metric_columns {
            header.extend([
                c.key.clone(),
                format!("{}_published", c.key),
                format!("{}_delta", c.key),
            ]);
            if c.ci_column {
                header.push(format!("{}_ci95", c.key));
            }
        }
        header.extend(TAIL.iter().map(|h| h.to_string()));
        w.write_record(&header).map_err(err)?;
        for r in &view.rows {
            let lat = latency(&r.latency, |c| {
                if c.status == "measured" {
                    format!("{} ({})", c.measured, c.detail)
                } else {
                    c.measured.clone()
                }
            });
            let lat_status = latency(&r.latency, |c| c.status.clone());
            let mut record: Vec<&str> = vec![
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
            ];
            for (m, c) in r.metrics.iter().zip(&view.metric_columns) {
                record.extend([m.cell.measured.as_str(), &m.cell.published, &m.cell.delta]);
                if c.ci_column {
                    record.push(&m.cell.ci);
                }
            }
            record.extend([lat.as_str(), &lat_status]);
            w.write_record(&record).map_err(err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ReportError::Other(format!("csv: {e}")))?;
        String::from_utf8(bytes).map_err(|e| ReportError::Other(format!("csv: {e}")))
    }
}
