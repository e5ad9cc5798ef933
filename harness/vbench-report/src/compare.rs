//! `vbench compare A B`: per entry, what changed between two runs (params, FLOPs per convention,
//! accuracy, latency p50 with the ratio B/A and the Mann–Whitney p-value), and the entries only one
//! side has; where both runs have predictions over the same dataset list, accuracy video by video
//! (`compare_paired.rs`). Everything here is display strings (JSON: the values); the gate is what
//! judges.

use crate::compare_paired::{paired_text, paired_views};
use crate::error::{ReportError, Result};
use crate::fmt;
use crate::fmt::latency_setup;
use crate::gate::{judge_latency, why_not, Policy, Verdict};
use crate::pairing::{Pairing, RunPairing};
use crate::stats::mann_whitney_greater;
use serde::Serialize;
use vbench_results::metrics::registry;
use vbench_results::{EntryResult, Measure, Results};

const TEMPLATE: &str = include_str!("../../../reports/compare.html.tera");
const STYLE: &str = include_str!("../../../reports/style.css");

#[derive(Debug, Clone, Serialize)]
pub struct DiffRow {
    pub entry: String,
    pub metric: String,
    pub a: String,
    pub b: String,
    pub delta: String,
    /// B/A where a ratio means something (params, FLOPs, latency).
    pub ratio: String,
    /// `same`, `changed`, `better`, `worse`, `missing` (one side lacks it); also the CSS class.
    pub status: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub rows: Vec<DiffRow>,
    pub only_a: Vec<String>,
    pub only_b: Vec<String>,
    /// Per entry with accuracy on both sides: paired video by video, or why not.
    pub pairing: RunPairing,
}

fn shown<T>(m: &Measure<T>) -> String {
    match m {
        Measure::Measured { .. } => "measured".into(),
        Measure::NotImplemented { .. } => "not implemented".into(),
        Measure::Skipped { .. } => "skipped".into(),
        Measure::Failed { .. } => "failed".into(),
    }
}

struct Rows<'a> {
    entry: &'a str,
    out: Vec<DiffRow>,
}

impl Rows<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        metric: String,
        a: String,
        b: String,
        delta: String,
        ratio: String,
        status: &str,
        note: String,
    ) {
        self.out.push(DiffRow {
            entry: self.entry.to_string(),
            metric,
            a,
            b,
            delta,
            ratio,
            status: status.into(),
            note,
        });
    }
    /// A row for a measurement that is not measured on both sides.
    fn unpaired<T, U>(&mut self, metric: &str, a: &Measure<T>, b: &Measure<U>) {
        let (wa, wb) = (why_not(a), why_not(b));
        let note = if wa == wb {
            format!("both: {wa}")
        } else {
            [("A", wa), ("B", wb)]
                .iter()
                .filter(|(_, w)| w != "measured")
                .map(|(s, w)| format!("{s}: {w}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let status = if a.status() == b.status() {
            "same"
        } else {
            "missing"
        };
        self.push(
            metric.into(),
            shown(a),
            shown(b),
            "—".into(),
            "—".into(),
            status,
            note,
        );
    }
}

fn ratio(a: f64, b: f64) -> String {
    if a != 0.0 {
        fmt::ratio(b / a)
    } else {
        "—".into()
    }
}

fn entry_rows(a: &EntryResult, b: &EntryResult, pairing: Option<&Pairing>, rows: &mut Rows) {
    match (&a.params, &b.params) {
        (Measure::Measured { value: x }, Measure::Measured { value: y }) => rows.push(
            "params".into(),
            fmt::count(x.count as i128),
            fmt::count(y.count as i128),
            fmt::signed_count(y.count as i128 - x.count as i128),
            ratio(x.count as f64, y.count as f64),
            if x.count == y.count {
                "same"
            } else {
                "changed"
            },
            String::new(),
        ),
        (x, y) => rows.unpaired("params", x, y),
    }
    match (&a.flops, &b.flops) {
        (Measure::Measured { value: x }, Measure::Measured { value: y }) => {
            let mut names: Vec<&str> = x
                .conventions
                .iter()
                .map(|c| c.convention.as_str())
                .collect();
            names.extend(
                y.conventions
                    .iter()
                    .map(|c| c.convention.as_str())
                    .filter(|n| !x.conventions.iter().any(|c| c.convention == *n)),
            );
            for n in names {
                let find = |f: &vbench_results::FlopsResult| {
                    f.conventions
                        .iter()
                        .find(|c| c.convention == n)
                        .map(|c| c.flops)
                };
                let metric = format!("GFLOPs [{n}]");
                match (find(x), find(y)) {
                    (Some(fa), Some(fb)) => rows.push(
                        metric,
                        fmt::num(fa as f64 / 1e9, 4),
                        fmt::num(fb as f64 / 1e9, 4),
                        format!("{} FLOPs", fmt::signed_count(fb as i128 - fa as i128)),
                        ratio(fa as f64, fb as f64),
                        if fa == fb { "same" } else { "changed" },
                        String::new(),
                    ),
                    (fa, fb) => {
                        let g = |f: Option<u64>| {
                            f.map_or("absent".into(), |f| fmt::num(f as f64 / 1e9, 4))
                        };
                        rows.push(
                            metric,
                            g(fa),
                            g(fb),
                            "—".into(),
                            "—".into(),
                            "missing",
                            "convention counted on one side only".into(),
                        )
                    }
                }
            }
        }
        (x, y) => rows.unpaired("GFLOPs", x, y),
    }
    match (&a.accuracy, &b.accuracy) {
        (Measure::Measured { value: x }, Measure::Measured { value: y }) => {
            for m in registry::tabled() {
                let (name, va, vb) = (m.key, (m.value)(x), (m.value)(y));
                if va.is_none() && vb.is_none() {
                    continue;
                }
                let v = |v: Option<f64>| v.map_or("absent".into(), |v| fmt::num(v, 2));
                let (delta, status) = match (va, vb) {
                    (Some(va), Some(vb)) if (vb - va).abs() < 0.005 => {
                        (fmt::signed(vb - va, 2), "same")
                    }
                    (Some(va), Some(vb)) => (
                        fmt::signed(vb - va, 2),
                        if vb > va { "better" } else { "worse" },
                    ),
                    _ => ("—".into(), "missing"),
                };
                rows.push(
                    name.into(),
                    v(va),
                    v(vb),
                    delta,
                    "—".into(),
                    status,
                    accuracy_note(pairing, name),
                );
            }
        }
        (x, y) => rows.unpaired("accuracy", x, y),
    }
    latency_rows(a, b, rows);
}

/// "percentage points", plus the paired test where the entry is paired.
fn accuracy_note(pairing: Option<&Pairing>, key: &str) -> String {
    let paired = match pairing {
        Some(Pairing::Paired(r)) => r.metric(key),
        _ => None,
    };
    match paired {
        Some(m) => format!(
            "percentage points; paired on {} videos: {} p = {}, 95% CI {} to {}",
            m.videos,
            m.test,
            fmt::p_value(m.p_value),
            fmt::signed(m.ci95.0, 2),
            fmt::signed(m.ci95.1, 2)
        ),
        None => "percentage points".into(),
    }
}

fn latency_rows(a: &EntryResult, b: &EntryResult, rows: &mut Rows) {
    let la: Vec<_> = a.latency.iter().filter_map(|m| m.value()).collect();
    let lb: Vec<_> = b.latency.iter().filter_map(|m| m.value()).collect();
    let policy = Policy::default();
    for x in &la {
        let setup = latency_setup(x);
        let metric = format!("latency p50 ms [{setup}]");
        match lb.iter().find(|y| latency_setup(y) == setup) {
            Some(y) => {
                // Status follows the default gate rule both ways, so noise reads as "same".
                let status = if judge_latency(&x.samples_ms, &y.samples_ms, &policy).0
                    == Verdict::Fail
                {
                    "worse"
                } else if judge_latency(&y.samples_ms, &x.samples_ms, &policy).0 == Verdict::Fail {
                    "better"
                } else {
                    "same"
                };
                let p = mann_whitney_greater(&x.samples_ms, &y.samples_ms)
                    .map_or("—".into(), |m| fmt::p_value(m.p_value));
                rows.push(
                    metric,
                    fmt::num(x.p50_ms, 3),
                    fmt::num(y.p50_ms, 3),
                    fmt::signed(y.p50_ms - x.p50_ms, 3),
                    ratio(x.p50_ms, y.p50_ms),
                    status,
                    format!(
                        "n = {}/{}; one-sided Mann–Whitney p (B slower) = {p}",
                        x.samples_ms.len(),
                        y.samples_ms.len()
                    ),
                );
            }
            None => rows.push(
                metric,
                fmt::num(x.p50_ms, 3),
                "absent".into(),
                "—".into(),
                "—".into(),
                "missing",
                String::new(),
            ),
        }
    }
    for y in lb
        .iter()
        .filter(|y| !la.iter().any(|x| latency_setup(x) == latency_setup(y)))
    {
        let metric = format!("latency p50 ms [{}]", latency_setup(y));
        rows.push(
            metric,
            "absent".into(),
            fmt::num(y.p50_ms, 3),
            "—".into(),
            "—".into(),
            "missing",
            String::new(),
        );
    }
    if la.is_empty() && lb.is_empty() {
        if let (Some(x), Some(y)) = (a.latency.first(), b.latency.first()) {
            rows.unpaired("latency", x, y);
        }
    }
}

/// Compares run `b` with run `a`; `labels` name them (file names). Accuracy is compared
/// unpaired; [`compare_paired`] adds the predictions.
pub fn compare(a: &Results, b: &Results, labels: (&str, &str)) -> Comparison {
    compare_paired(a, b, labels, RunPairing::default())
}

/// [`compare`], with each entry's paired predictions (`crate::pairing::pair_runs`).
pub fn compare_paired(
    a: &Results,
    b: &Results,
    labels: (&str, &str),
    pairing: RunPairing,
) -> Comparison {
    let mut out = Vec::new();
    for ea in &a.entries {
        if let Some(eb) = b.entries.iter().find(|e| e.id == ea.id) {
            let mut rows = Rows {
                entry: &ea.id,
                out: Vec::new(),
            };
            entry_rows(ea, eb, pairing.get(&ea.id), &mut rows);
            out.extend(rows.out);
        }
    }
    let only = |x: &Results, y: &Results| {
        x.entries
            .iter()
            .filter(|e| !y.entries.iter().any(|f| f.id == e.id))
            .map(|e| e.id.clone())
            .collect()
    };
    Comparison {
        a: labels.0.into(),
        b: labels.1.into(),
        rows: out,
        only_a: only(a, b),
        only_b: only(b, a),
        pairing,
    }
}

const HEADER: [&str; 8] = [
    "entry", "metric", "A", "B", "B − A", "B/A", "status", "note",
];

impl DiffRow {
    fn cells(&self) -> [&str; 8] {
        [
            &self.entry,
            &self.metric,
            &self.a,
            &self.b,
            &self.delta,
            &self.ratio,
            &self.status,
            &self.note,
        ]
    }
}

impl Comparison {
    /// `table` (aligned plain text), `markdown`, `html` or `json` (everything, values unformatted
    /// for the paired part).
    pub fn render(&self, format: &str) -> Result<String> {
        match format {
            "table" => Ok(self.table() + &paired_text(&paired_views(&self.pairing), false)),
            "markdown" | "md" => {
                Ok(self.markdown() + &paired_text(&paired_views(&self.pairing), true))
            }
            "html" => self.html(),
            "json" => serde_json::to_string_pretty(self)
                .map(|s| s + "\n")
                .map_err(|e| ReportError::Other(format!("compare json: {e}"))),
            other => Err(ReportError::Other(format!(
                "unknown compare format `{other}`; use table, markdown, html or json"
            ))),
        }
    }

    fn only_lines(&self) -> String {
        let mut s = String::new();
        for (side, ids) in [(&self.a, &self.only_a), (&self.b, &self.only_b)] {
            if !ids.is_empty() {
                s += &format!("only in {side}: {}\n", ids.join(", "));
            }
        }
        s
    }

    fn table(&self) -> String {
        let mut widths = HEADER.map(|h| h.chars().count());
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r.cells()) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: [&str; 8]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                .collect();
            padded.join("  ").trim_end().to_string() + "\n"
        };
        let mut s = format!("A = {}\nB = {}\n\n", self.a, self.b);
        s += &line(HEADER);
        for r in &self.rows {
            s += &line(r.cells());
        }
        s + "\n" + &self.only_lines()
    }

    fn markdown(&self) -> String {
        let mut s = format!(
            "## vbench compare\n\nA = `{}` · B = `{}`\n\n",
            self.a, self.b
        );
        s += &format!(
            "| {} |\n|{}\n",
            HEADER.join(" | "),
            "---|".repeat(HEADER.len())
        );
        for r in &self.rows {
            let cells: Vec<String> = r.cells().iter().map(|c| c.replace('|', "/")).collect();
            s += &format!("| {} |\n", cells.join(" | "));
        }
        let only = self.only_lines();
        if !only.is_empty() {
            s += "\n";
            s += &only.lines().map(|l| format!("- {l}\n")).collect::<String>();
        }
        s
    }

    fn html(&self) -> Result<String> {
        let terr = |e: tera::Error| ReportError::Template {
            template: "compare.html.tera".into(),
            message: crate::export::tera_message(&e),
        };
        let mut tera = tera::Tera::default();
        tera.add_raw_template("compare.html", TEMPLATE)
            .map_err(terr)?;
        let mut ctx = tera::Context::from_serialize(self).map_err(terr)?;
        ctx.insert("style", STYLE);
        ctx.insert("paired", &paired_views(&self.pairing));
        tera.render("compare.html", &ctx).map_err(terr)
    }
}
