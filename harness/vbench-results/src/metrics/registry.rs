//! The named metrics of an accuracy result: one registry that scoring, the `results.json` keys,
//! the report's columns, the exporters, the gate (and its policy) and the CLI iterate over.
//!
//! Adding a metric: its field(s) in [`AccuracyResult`] and one entry in [`METRICS`]. Scoring fills
//! every top-k entry from its k; the report shows a [`Shown::WhenPresent`] metric wherever an
//! entry has it; the gate judges it when it is [`Metric::gated`] (the policy's default list), with
//! McNemar's test on paired predictions for top-k and a bootstrap over videos for mAP.

use crate::schema::{AccuracyResult, Published};
use vbench_suite::Printed;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Top-k over the aggregated video scores.
    TopK(usize),
    /// Top-k over single views (clip-level).
    ClipTopK(usize),
    /// Charades mAP or AVA frame-mAP, by the predictions' task.
    Map,
}

/// Where the report's tables show a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// A column of every CSV and markdown table; `ci_column` adds `<key>_ci95` to the CSV.
    Always { ci_column: bool },
    /// A column where some entry has a value (measured or published).
    WhenPresent,
    /// Only in an entry's details.
    Details,
}

/// Writes a metric's value and CI (percent) into an [`AccuracyResult`].
pub type Store = fn(&mut AccuracyResult, Option<f64>, Option<(f64, f64)>);

pub struct Metric {
    /// The `results.json` key of the value (its CI, where stored, is `<key>_ci95`).
    pub key: &'static str,
    /// Column and message label.
    pub label: &'static str,
    pub kind: Kind,
    pub shown: Shown,
    /// In the gate policy's default list of judged metrics.
    pub gated: bool,
    /// Percent.
    pub value: fn(&AccuracyResult) -> Option<f64>,
    /// Percent, where stored.
    pub ci95: fn(&AccuracyResult) -> Option<(f64, f64)>,
    /// Scoring writes value and CI through this.
    pub store: Store,
    pub published: fn(&Published) -> Option<Printed>,
}

impl std::fmt::Debug for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key)
    }
}

/// Every metric, in display order.
pub const METRICS: &[Metric] = &[
    Metric {
        key: "top1",
        label: "top-1",
        kind: Kind::TopK(1),
        shown: Shown::Always { ci_column: true },
        gated: true,
        value: |a| a.top1,
        ci95: |a| a.top1_ci95,
        store: |a, v, ci| {
            a.top1 = v;
            a.top1_ci95 = ci;
        },
        published: |p| p.top1,
    },
    Metric {
        key: "top5",
        label: "top-5",
        kind: Kind::TopK(5),
        shown: Shown::Always { ci_column: false },
        gated: true,
        value: |a| a.top5,
        ci95: |a| a.top5_ci95,
        store: |a, v, ci| {
            a.top5 = v;
            a.top5_ci95 = ci;
        },
        published: |p| p.top5,
    },
    Metric {
        key: "map",
        label: "mAP",
        kind: Kind::Map,
        shown: Shown::Always { ci_column: false },
        gated: true,
        value: |a| a.map,
        ci95: |a| a.map_ci95,
        store: |a, v, ci| {
            a.map = v;
            a.map_ci95 = ci;
        },
        published: |p| p.map,
    },
    Metric {
        key: "clip_top1",
        label: "clip top-1",
        kind: Kind::ClipTopK(1),
        shown: Shown::Details,
        gated: false,
        value: |a| a.clip_top1,
        ci95: |_| None,
        store: |a, v, _| a.clip_top1 = v,
        published: |_| None,
    },
    Metric {
        key: "clip_top5",
        label: "clip top-5",
        kind: Kind::ClipTopK(5),
        shown: Shown::Details,
        gated: false,
        value: |a| a.clip_top5,
        ci95: |_| None,
        store: |a, v, _| a.clip_top5 = v,
        published: |_| None,
    },
];

/// The metric named `key`.
pub fn metric(key: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.key == key)
}

/// The metrics the gate judges unless a policy names others.
pub fn gated() -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().filter(|m| m.gated)
}

/// The metrics of the report's tables (not details-only).
pub fn tabled() -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().filter(|m| m.shown != Shown::Details)
}

/// The k of every video-level top-k metric, ascending, that `num_classes` classes allow.
pub fn video_ks(num_classes: usize) -> Vec<usize> {
    ks(num_classes, |k| match k {
        Kind::TopK(k) => Some(k),
        _ => None,
    })
}

/// The k of every clip-level top-k metric that `num_classes` classes allow.
pub fn clip_ks(num_classes: usize) -> Vec<usize> {
    ks(num_classes, |k| match k {
        Kind::ClipTopK(k) => Some(k),
        _ => None,
    })
}

fn ks(num_classes: usize, pick: impl Fn(Kind) -> Option<usize>) -> Vec<usize> {
    let mut ks: Vec<usize> = METRICS
        .iter()
        .filter_map(|m| pick(m.kind))
        .filter(|&k| k >= 1 && k <= num_classes)
        .collect();
    ks.sort_unstable();
    ks.dedup();
    ks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_today_s_keys_are_there() {
        let keys: Vec<&str> = METRICS.iter().map(|m| m.key).collect();
        let mut dedup = keys.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), keys.len(), "{keys:?}");
        for k in ["top1", "top5", "clip_top1", "clip_top5", "map"] {
            assert!(metric(k).is_some(), "{k}");
        }
        assert_eq!(video_ks(400)[..1], [1]);
        assert!(video_ks(400).contains(&5) && !video_ks(4).contains(&5));
        assert_eq!(clip_ks(400), [1, 5]);
    }

    /// Every metric reads back what it stores, in its own field and nowhere else.
    #[test]
    fn store_and_value_address_one_field() {
        for m in METRICS {
            let mut a = AccuracyResult::default();
            (m.store)(&mut a, Some(42.0), Some((40.0, 44.0)));
            assert_eq!((m.value)(&a), Some(42.0), "{}", m.key);
            let json = serde_json::to_value(&a).unwrap();
            assert_eq!(json[m.key], 42.0, "{}", m.key);
            for other in METRICS.iter().filter(|o| o.key != m.key) {
                assert_eq!((other.value)(&a), None, "{} wrote {}", m.key, other.key);
            }
        }
    }
}
