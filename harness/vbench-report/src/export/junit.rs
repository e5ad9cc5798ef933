use super::Exporter;
use crate::error::Result;
use crate::gate::{gate_against_published, Policy};
use vbench_results::Results;

/// A run judged against the published tables with the default gate policy, as JUnit XML: one test
/// case per published number (the same checks as `vbench gate --against published`).
pub struct JunitExporter;

impl Exporter for JunitExporter {
    fn name(&self) -> &'static str {
        "junit"
    }
    fn render(&self, results: &Results) -> Result<String> {
        let label = format!("{} run", results.suite.name);
        Ok(gate_against_published(results, &Policy::default(), &label).to_junit())
    }
}
