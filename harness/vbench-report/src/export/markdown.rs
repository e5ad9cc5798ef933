use super::Exporter;
use crate::error::Result;
use crate::schema::Results;
use crate::view::{Cell, ReportView};

/// A GitHub-flavoured table; also what `vbench run` prints as its summary.
pub struct MarkdownExporter;

fn cell(c: &Cell) -> String {
    let mark = match c.status.as_str() {
        "match" => " ✓",
        "mismatch" => " ✗",
        _ => "",
    };
    format!("{}{mark} ({})", c.measured, c.published).replace('|', "/")
}

impl Exporter for MarkdownExporter {
    fn name(&self) -> &'static str {
        "markdown"
    }
    fn render(&self, results: &Results) -> Result<String> {
        let v = ReportView::new(results);
        let mut s = format!("## {}\n\n", v.title);
        s += "measured (published) · ✓ reproduces the published number at its printed precision\n\n";
        s += "| entry | protocol | views | params M | GFLOPs | top-1 | top-5 | mAP | latency p50/p90 |\n";
        s += "|---|---|---|---|---|---|---|---|---|\n";
        for r in &v.rows {
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.id,
                r.protocol,
                r.views,
                cell(&r.params),
                cell(&r.gflops),
                cell(&r.top1),
                cell(&r.top5),
                cell(&r.map),
                r.latency.measured
            );
        }
        Ok(s)
    }
}
