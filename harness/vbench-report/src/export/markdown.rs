use super::Exporter;
use crate::error::Result;
use crate::view::{Cell, ReportView};
use vbench_results::Results;

/// A GitHub-flavoured table; also what `vbench run` prints as its summary.
pub struct MarkdownExporter;

fn cell(c: &Cell) -> String {
    let mark = match c.status.as_str() {
        "match" => " ✓",
        "explained" => " ≈",
        "close" => " ~",
        "mismatch" => " ✗",
        _ => "",
    };
    let delta = if c.delta.is_empty() {
        String::new()
    } else {
        format!(" Δ{}", c.delta)
    };
    format!("{}{mark}{delta} ({})", c.measured, c.published).replace('|', "/")
}

impl Exporter for MarkdownExporter {
    fn name(&self) -> &'static str {
        "markdown"
    }
    fn render(&self, results: &Results) -> Result<String> {
        let v = ReportView::new(results);
        let mut s = format!("## {}\n\n", v.title);
        s += "measured (published) · ✓ prints as published · ≈ differs, explained by a note · ";
        s += "~ within 0.5 points · ✗ differs\n\n";
        let labels: Vec<&str> = v.metric_columns.iter().map(|c| c.label.as_str()).collect();
        s += &format!(
            "| entry | protocol | views | params M | GFLOPs | {} | latency p50/p90 |\n",
            labels.join(" | ")
        );
        s += &format!("|{}\n", "---|".repeat(6 + labels.len()));
        for r in &v.rows {
            let latency: Vec<String> = r
                .latency
                .iter()
                .map(|c| {
                    if c.status == "measured" {
                        format!("{} ({})", c.measured, c.detail)
                    } else {
                        c.measured.clone()
                    }
                })
                .collect();
            let metrics: Vec<String> = r.metrics.iter().map(|m| cell(&m.cell)).collect();
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.id,
                r.protocol,
                r.views,
                cell(&r.params),
                cell(&r.gflops),
                metrics.join(" | "),
                latency.join("<br>").replace('|', "/")
            );
        }
        if !v.explained_gaps.is_empty() {
            s += "\n### The gap to the published top-1, explained by the dataset copy\n\n";
            for g in &v.explained_gaps {
                s += &format!("- `{}`: {}. {}\n", g.entry, g.coverage, g.bound);
            }
        }
        if !v.variants.is_empty() {
            s += "\n### Speed vs fidelity\n\n";
            for e in &v.variants {
                s += &format!("`{}`\n\n```\n{}```\n\n", e.id, e.table);
            }
        }
        if !v.inconsistencies.is_empty() {
            s += "\n### Published-table inconsistencies\n\n";
            for i in &v.inconsistencies {
                let vs = if i.published.is_empty() {
                    String::new()
                } else {
                    format!(" published {} vs measured {}:", i.published, i.measured)
                };
                s += &format!(
                    "- `{}` {} ({}){vs} {}\n",
                    i.entry, i.what, i.status, i.explanation
                );
            }
        }
        Ok(s)
    }
}
