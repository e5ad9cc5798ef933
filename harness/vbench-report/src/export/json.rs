use super::Exporter;
use crate::error::{ReportError, Result};
use vbench_results::Results;

pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn name(&self) -> &'static str {
        "json"
    }
    fn render(&self, results: &Results) -> Result<String> {
        serde_json::to_string_pretty(results).map_err(|e| ReportError::Other(e.to_string()))
    }
}
