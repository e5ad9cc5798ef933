use super::{tera_message, Exporter};
use crate::error::{ReportError, Result};
use crate::view::ReportView;
use vbench_results::Results;

/// The templates live in the repository's `reports/` and are embedded so the binary is self-contained.
const TEMPLATE: &str = include_str!("../../../../reports/report.html.tera");
const STYLE: &str = include_str!("../../../../reports/style.css");

/// A self-contained page (inline CSS and SVG, no network) rendered by tera from [`ReportView`].
pub struct HtmlExporter;

impl Exporter for HtmlExporter {
    fn name(&self) -> &'static str {
        "html"
    }
    fn render(&self, results: &Results) -> Result<String> {
        let terr = |e: tera::Error| ReportError::Template {
            template: "report.html.tera".into(),
            message: tera_message(&e),
        };
        let mut tera = tera::Tera::default();
        tera.add_raw_template("report.html", TEMPLATE)
            .map_err(terr)?;
        let mut ctx = tera::Context::from_serialize(ReportView::new(results)).map_err(terr)?;
        ctx.insert("style", STYLE);
        tera.render("report.html", &ctx).map_err(terr)
    }
}
