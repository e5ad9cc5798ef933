//! The plain-text outputs of the commands: what `vbench run`, `score`, `stats`, `latency` and
//! `infer` print, formatted here so that measurement code never formats and commands only print.

pub mod accuracy;
pub mod counts;
pub mod infer;
pub mod latency;
pub mod variants;

/// Rows (the first is the header) as left-aligned columns two spaces apart, one line each,
/// trailing spaces trimmed.
pub fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let padded: Vec<String> = r
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    }
    out
}
