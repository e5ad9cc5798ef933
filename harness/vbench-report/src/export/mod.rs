//! Exporters: one format per file, all behind [`Exporter`]. They read a [`Results`] and never measure.

mod csv;
mod html;
mod json;
mod junit;
mod markdown;

pub use self::csv::CsvExporter;
pub use html::HtmlExporter;
pub use json::JsonExporter;
pub use junit::JunitExporter;
pub use markdown::MarkdownExporter;

use crate::error::Result;
use vbench_results::Results;

pub trait Exporter {
    /// Format name as the CLI spells it (`--format`).
    fn name(&self) -> &'static str;
    fn render(&self, results: &Results) -> Result<String>;
}

/// The exporter for a `--format` value.
pub fn exporter(format: &str) -> Option<Box<dyn Exporter>> {
    match format {
        "json" => Some(Box::new(JsonExporter)),
        "csv" => Some(Box::new(CsvExporter)),
        "markdown" | "md" | "table" => Some(Box::new(MarkdownExporter)),
        "html" => Some(Box::new(HtmlExporter)),
        "junit" => Some(Box::new(JunitExporter)),
        _ => None,
    }
}

/// A tera error with its whole cause chain (tera's top-level message alone rarely says what broke).
pub(crate) fn tera_message(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg += &format!(": {s}");
        src = s.source();
    }
    msg
}
