//! "Speed vs fidelity": one row per entry, variant and thread count: the speed-up over fp32 timed
//! interleaved (with its CI), the top-1 agreement with fp32 on real views beside fp32's margins,
//! the largest |Δ| of the probabilities and logits, and the best throughput. Shared by `vbench
//! latency --variant`, `vbench run` and the report's markdown.

use super::aligned;
use crate::fmt::num;
use vbench_results::{Fidelity, Measure, VariantResult};

const HEAD: [&str; 13] = [
    "entry",
    "variant",
    "thr",
    "speed-up (pairs [95% CI])",
    "fp32/var p50 ms",
    "foreign",
    "view agree",
    "video agree",
    "changed (fp32 margin)",
    "fp32 margin med/min",
    "max|Δp|",
    "max|Δlogit|",
    "best clips/s (batch)",
];

/// A measure's status in a cell: the value's text, or what happened.
fn status<T>(m: &Measure<T>, f: impl Fn(&T) -> String) -> String {
    match m {
        Measure::Measured { value } => f(value),
        Measure::Skipped { reason } if reason == "not requested" => "—".into(),
        Measure::Skipped { .. } => "skipped".into(),
        Measure::NotImplemented { .. } => "n/i".into(),
        Measure::Failed { .. } => "failed".into(),
    }
}

/// "3 (0.004, 0.010, 0.120)": how many views changed and fp32's margin at each (the first few).
fn changed(f: &Fidelity) -> String {
    if f.changed_views.is_empty() {
        return "0".into();
    }
    let mut m: Vec<f64> = f.changed_views.iter().map(|c| c.fp32_margin).collect();
    m.sort_by(f64::total_cmp);
    let shown: Vec<String> = m.iter().take(3).map(|x| format!("{x:.3}")).collect();
    let more = if m.len() > 3 { ", ..." } else { "" };
    format!("{} ({}{more})", m.len(), shown.join(", "))
}

fn fidelity_cells(m: &Measure<Fidelity>) -> [String; 6] {
    match m {
        Measure::Measured { value: f } => [
            format!(
                "{}% ({}/{})",
                num(f.view_agreement, 1),
                f.views_agreeing,
                f.views
            ),
            format!(
                "{}% ({}/{})",
                num(f.video_agreement, 1),
                f.videos_agreeing,
                f.videos
            ),
            changed(f),
            format!("{:.1e}/{:.1e}", f.fp32_margin_median, f.fp32_margin_min),
            format!("{:.1e}", f.max_abs_prob_diff),
            f.max_abs_logit_diff
                .map_or("—".into(), |d| format!("{d:.1e}")),
        ],
        other => {
            let s = status(other, |_| String::new());
            [s, "".into(), "".into(), "".into(), "".into(), "".into()]
        }
    }
}

/// "k400/x3d_xs bf16 on the dataset: top-1 71.2 % vs fp32 71.4 % over 19881 videos, -0.2 points
/// [95% CI -0.5, 0.1] (McNemar p = 0.41; 12 fixed, 16 broken); 99.1 % of 596430 views agree with
/// fp32".
fn dataset_note(id: &str, name: &str, f: &Fidelity) -> String {
    let agree = format!(
        "{} % of {} views agree with fp32",
        num(f.view_agreement, 1),
        f.views
    );
    match &f.accuracy {
        Some(a) => format!(
            "{id} {name} on the dataset: top-1 {} % vs fp32 {} % over {} videos, {} points \
             [95% CI {}, {}] (McNemar p = {}; {} fixed, {} broken); {agree}",
            num(a.variant_top1, 2),
            num(a.fp32_top1, 2),
            a.videos,
            num(a.difference, 2),
            num(a.ci95.0, 2),
            num(a.ci95.1, 2),
            num(a.p_value, 3),
            a.fixed,
            a.broken
        ),
        None => format!("{id} {name} on the dataset: {agree}"),
    }
}

/// The rows of one entry's variants, and the notes they need.
pub fn rows(id: &str, variants: &[VariantResult], notes: &mut Vec<String>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for v in variants {
        let name = v.variant.to_string();
        if let Measure::Skipped { reason } | Measure::NotImplemented { reason } = &v.applied {
            notes.push(format!("{id} {name}: {reason}"));
            let short = reason.split(':').next().unwrap_or("skipped").to_string();
            out.push(vec![id.into(), name, "".into(), short]);
            continue;
        }
        if let Measure::Failed { error } = &v.applied {
            notes.push(format!("{id} {name}: failed: {error}"));
            out.push(vec![id.into(), name, "".into(), "failed".into()]);
            continue;
        }
        if let Some(a) = v.applied.value() {
            notes.push(format!("{id} {name}: {}", a.detail));
        }
        for m in [&v.fidelity, &v.dataset_fidelity] {
            if let Measure::Failed { error } | Measure::Skipped { reason: error } = m {
                if error != "not requested" && error != "the reference" {
                    notes.push(format!("{id} {name} fidelity: {error}"));
                }
            }
        }
        if let Some(f) = v.dataset_fidelity.value() {
            notes.push(dataset_note(id, &name, f));
        }
        let fid = fidelity_cells(&v.fidelity);
        let thr = status(&v.throughput, |t| {
            format!("{} ({})", num(t.best_clips_per_s, 2), t.best_batch)
        });
        let speeds: Vec<Option<&Measure<_>>> = if v.speed.is_empty() {
            vec![None]
        } else {
            v.speed.iter().map(Some).collect()
        };
        for s in speeds {
            let (threads, speed, ms, foreign) = match s {
                Some(Measure::Measured { value: s }) => {
                    if s.under_foreign_load {
                        notes.push(format!(
                            "{id} {name} ({} threads): too few quiet pairs; the ratio includes \
                             pairs under foreign load",
                            s.threads
                        ));
                    }
                    (
                        s.threads.to_string(),
                        format!(
                            "×{} (×{} [{}, {}])",
                            num(s.speedup, 2),
                            num(s.pair_speedup, 2),
                            num(s.pair_speedup_ci95.0, 2),
                            num(s.pair_speedup_ci95.1, 2)
                        ),
                        format!("{}/{}", num(s.fp32.p50_ms, 1), num(s.variant.p50_ms, 1)),
                        s.foreign_load
                            .map_or("?".into(), |f| format!("{:.0}%", f * 100.0)),
                    )
                }
                Some(Measure::Failed { error }) => {
                    notes.push(format!("{id} {name} speed: {error}"));
                    ("".into(), "failed".into(), "".into(), "".into())
                }
                Some(other) => (
                    "".into(),
                    status(other, |_| String::new()),
                    "".into(),
                    "".into(),
                ),
                None => ("".into(), "—".into(), "".into(), "".into()),
            };
            let mut row = vec![id.into(), name.clone(), threads, speed, ms, foreign];
            row.extend(fid.iter().cloned());
            row.push(thr.clone());
            out.push(row);
        }
    }
    out
}

/// The table for several entries, then its notes, and the caveat about random weights.
pub fn table(entries: &[(&str, &[VariantResult])]) -> String {
    let mut notes = Vec::new();
    let mut all = vec![HEAD.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for (id, vs) in entries {
        all.extend(rows(id, vs, &mut notes));
    }
    let mut out = aligned(&all);
    notes.dedup();
    for n in notes {
        out.push_str(&format!("  {n}\n"));
    }
    out.push_str(
        "  speed-up = fp32 p50 / variant p50, interleaved pairs; in brackets the geometric mean of \
         the per-pair ratios with its bootstrap 95% CI. \
         Agreement: top-1 equal to fp32's on the same views. With random weights most views are \
         near ties (see the fp32 margins), so agreement is pessimistic.\n",
    );
    out
}
