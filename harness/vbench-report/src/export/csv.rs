use super::Exporter;
use crate::error::{ReportError, Result};
use crate::schema::Results;
use crate::view::ReportView;

/// One row per entry: measured and published side by side, with status words.
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn name(&self) -> &'static str {
        "csv"
    }
    fn render(&self, results: &Results) -> Result<String> {
        let view = ReportView::new(results);
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| ReportError::Other(e.to_string());
        w.write_record([
            "id", "arch", "protocol", "views", "params", "params_published", "params_status", "gflops",
            "gflops_published", "gflops_status", "top1", "top1_published", "top5", "top5_published", "map",
            "map_published", "latency_p50_p90", "latency_status",
        ])
        .map_err(err)?;
        for r in &view.rows {
            w.write_record([
                &r.id, &r.arch, &r.protocol, &r.views, &r.params.measured, &r.params.published, &r.params.status,
                &r.gflops.measured, &r.gflops.published, &r.gflops.status, &r.top1.measured, &r.top1.published,
                &r.top5.measured, &r.top5.published, &r.map.measured, &r.map.published, &r.latency.measured,
                &r.latency.status,
            ])
            .map_err(err)?;
        }
        let bytes = w.into_inner().map_err(|e| ReportError::Other(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| ReportError::Other(e.to_string()))
    }
}
