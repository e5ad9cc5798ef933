//! The metric seam: every metric of `vbench_results::metrics::registry` reaches results.json, the
//! CSV, markdown and HTML exporters and (when gated) the default gate policy, with no code that
//! names it. A metric added to the registry is covered by this test as it stands.

use vbench_testkit::fixtures as common;

use vbench_report::exporter;
use vbench_report::gate::default_policy_toml;
use vbench_results::metrics::registry::{self, Shown};
use vbench_results::Measure;

fn render(format: &str, r: &vbench_results::Results) -> String {
    exporter(format).unwrap().render(r).unwrap()
}

#[test]
fn every_metric_reaches_results_exporters_and_policy() {
    for m in registry::tabled() {
        let mut r = common::fixture();
        let Measure::Measured { value } = &mut r.entries[0].accuracy else {
            panic!("the fixture's first entry has accuracy");
        };
        (m.store)(value, Some(12.34), Some((11.0, 13.0)));
        let json: serde_json::Value = serde_json::from_str(&render("json", &r)).unwrap();
        assert_eq!(
            json["entries"][0]["accuracy"]["value"][m.key], 12.34,
            "results.json lacks {}",
            m.key
        );
        let csv = render("csv", &r);
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        assert!(
            header.contains(&m.key),
            "CSV header lacks {}: {header:?}",
            m.key
        );
        assert!(
            csv.lines().nth(1).unwrap().contains("12.34"),
            "CSV row lacks {}",
            m.key
        );
        let md = render("markdown", &r);
        assert!(
            md.contains(&format!("| {} |", m.label)),
            "markdown lacks {}",
            m.label
        );
        assert!(md.contains("12.34"), "markdown lacks {}'s value", m.key);
        let html = render("html", &r);
        assert!(
            html.contains(&format!("<th>{} (%)</th>", m.label)),
            "HTML lacks the {} column",
            m.label
        );
        assert!(html.contains("12.34"), "HTML lacks {}'s value", m.key);
        let policy = default_policy_toml();
        assert_eq!(
            policy.contains(&format!("\"{}\"", m.key)),
            m.gated,
            "default policy and registry disagree on {}",
            m.key
        );
    }
}

/// A metric shown only where present stays out of the tables of runs that lack it.
#[test]
fn optional_metrics_stay_out_of_runs_without_them() {
    let r = common::fixture();
    let csv = render("csv", &r);
    for m in registry::tabled().filter(|m| m.shown == Shown::WhenPresent) {
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        assert!(!header.contains(&m.key), "{} shown without a value", m.key);
    }
}
