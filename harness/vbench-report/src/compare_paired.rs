//! `vbench compare`'s video-by-video part: per entry paired on the same dataset list, each
//! metric's paired difference, CI and p-value, the videos that flipped (with their classes) and
//! the classes that moved most. Display strings only; `--format json` carries the raw
//! [`RunPairing`] instead.

use crate::fmt;
use crate::pairing::{Pairing, RunPairing};
use serde::Serialize;
use vbench_results::paired::flips::ClassDelta;
use vbench_results::paired::PairedRuns;

/// Flips listed per entry in the text and markdown forms (HTML and JSON list them all).
pub const TEXT_FLIPS: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct MetricView {
    pub metric: String,
    pub a: String,
    pub b: String,
    pub delta: String,
    pub ci: String,
    /// How the CI was computed.
    pub method: String,
    pub test: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlipView {
    pub change: String,
    pub id: String,
    pub class: String,
    pub a_class: String,
    pub b_class: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassView {
    pub class: String,
    pub videos: String,
    pub a: String,
    pub b: String,
    pub delta: String,
    pub fixed: String,
    pub broken: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairedView {
    pub entry: String,
    pub paired: bool,
    /// "1996 of 2000 videos paired; not paired: …" or why the entry is not paired.
    pub summary: String,
    pub metrics: Vec<MetricView>,
    pub flips: Vec<FlipView>,
    pub fixed: usize,
    pub broken: usize,
    pub moved: Vec<ClassView>,
    /// Every class with paired videos, in label order.
    pub classes: Vec<ClassView>,
}

fn class_view(c: &ClassDelta) -> ClassView {
    ClassView {
        class: c.class.clone(),
        videos: c.videos.to_string(),
        a: fmt::num(c.baseline, 2),
        b: fmt::num(c.candidate, 2),
        delta: fmt::signed(c.delta, 2),
        fixed: c.fixed.to_string(),
        broken: c.broken.to_string(),
    }
}

fn runs_view(entry: &str, r: &PairedRuns) -> PairedView {
    let metrics = r
        .metrics
        .iter()
        .map(|m| {
            let flips = match (m.fixed, m.broken) {
                (Some(f), Some(b)) => format!("; fixed {f}, broken {b}"),
                _ => String::new(),
            };
            let boot = m.bootstrap.as_ref().map_or(String::new(), |b| {
                format!(
                    "; {} resamples, seed {}, {}",
                    b.resamples, b.seed, b.generator
                )
            });
            MetricView {
                metric: m.key.clone(),
                a: fmt::num(m.baseline, 2),
                b: fmt::num(m.candidate, 2),
                delta: fmt::signed(m.difference, 2),
                ci: format!(
                    "{} to {}",
                    fmt::signed(m.ci95.0, 2),
                    fmt::signed(m.ci95.1, 2)
                ),
                method: m.ci_method.clone(),
                test: format!("{} p = {}{flips}{boot}", m.test, fmt::p_value(m.p_value)),
            }
        })
        .collect();
    let flips: Vec<FlipView> = r
        .flips
        .iter()
        .map(|f| FlipView {
            change: f.change.clone(),
            id: f.id.clone(),
            class: f.class.clone(),
            a_class: f.baseline_class.clone(),
            b_class: f.candidate_class.clone(),
        })
        .collect();
    let fixed = r.flips.iter().filter(|f| f.change == "fixed").count();
    PairedView {
        entry: entry.into(),
        paired: true,
        summary: format!(
            "{} (dataset list sha256 {})",
            r.pairing_summary(),
            r.dataset_sha256
        ),
        metrics,
        broken: flips.len() - fixed,
        fixed,
        flips,
        moved: r.moved_most.iter().map(class_view).collect(),
        classes: r.classes.iter().map(class_view).collect(),
    }
}

/// One view per entry of `pairing`, in entry order.
pub fn paired_views(pairing: &RunPairing) -> Vec<PairedView> {
    pairing
        .entries
        .iter()
        .map(|(entry, p)| match p {
            Pairing::Paired(r) => runs_view(entry, r),
            Pairing::Unpaired { reason } => PairedView {
                entry: entry.clone(),
                paired: false,
                summary: format!("not paired, accuracy compared unpaired: {reason}"),
                metrics: Vec::new(),
                flips: Vec::new(),
                fixed: 0,
                broken: 0,
                moved: Vec::new(),
                classes: Vec::new(),
            },
        })
        .collect()
}

/// The paired part as plain text (`markdown` adds list markers and code spans).
pub fn paired_text(views: &[PairedView], markdown: bool) -> String {
    let mut s = String::new();
    let (h, li) = if markdown { ("### ", "- ") } else { ("", "  ") };
    for v in views {
        s += &format!("\n{h}{} video by video\n\n{li}{}\n", v.entry, v.summary);
        for m in &v.metrics {
            s += &format!(
                "{li}{}: {} → {} ({} points, 95% CI {}, {}); {}\n",
                m.metric, m.a, m.b, m.delta, m.ci, m.method, m.test
            );
        }
        if !v.flips.is_empty() {
            s += &format!(
                "\n{}top-1 flips: {} fixed, {} broken\n",
                if markdown { "#### " } else { "" },
                v.fixed,
                v.broken
            );
            for f in v.flips.iter().take(TEXT_FLIPS) {
                s += &format!(
                    "{li}{:<6}  {}  {}: A said {}, B says {}\n",
                    f.change, f.id, f.class, f.a_class, f.b_class
                );
            }
            if v.flips.len() > TEXT_FLIPS {
                s += &format!(
                    "{li}… and {} more (--format json or html lists all)\n",
                    v.flips.len() - TEXT_FLIPS
                );
            }
        }
        if !v.moved.is_empty() {
            s += &format!(
                "\n{}classes that moved most (top-1 on the paired videos)\n",
                if markdown { "#### " } else { "" }
            );
            for c in &v.moved {
                s += &format!(
                    "{li}{}: {} → {} ({} points; {} videos, fixed {}, broken {})\n",
                    c.class, c.a, c.b, c.delta, c.videos, c.fixed, c.broken
                );
            }
        }
    }
    s
}
