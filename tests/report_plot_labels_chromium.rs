//! The report's scatter plots in headless Chromium: no point label overlaps another label or
//! covers a marker, and every label stays inside its plot. plotters' SVG carries no font metrics,
//! so only a browser can tell; the page gets a small script that measures the rendered boxes
//! (`getBoundingClientRect`) and writes what it found into the DOM, which Chromium dumps.
//!
//! The run: every K400 entry with a latency at two setups (1 and 2 threads), p50 growing with
//! the published GFLOPs, so that the entries that sit close together in GFLOPs (csn_r101,
//! r2plus1d_r50, slowfast_r101, mvit_base_32x3, ...) crowd the latency-vs-GFLOPs plot, as a real
//! CPU run does. Set VBENCH_SCREENSHOT_DIR to keep the page and a PNG.

use std::path::Path;
use vbench_eval::run::output::{new_entry, new_results, run_provenance};
use vbench_report::exporter;
use vbench_results::{LatencyResult, Measure, Results};
use vbench_testkit::chromium::headless;

/// A latency of `p50` ms at `threads` threads (the statistics are what a steady run gives).
fn latency(p50: f64, threads: i64) -> Measure<LatencyResult> {
    let value = serde_json::json!({
        "device": "cpu", "threads": threads, "batch": 1, "precision": "fp32", "warmup": 1,
        "samples_ms": [p50, p50, p50], "discarded_samples": 0, "p50_ms": p50, "p90_ms": p50,
        "p99_ms": p50, "mean_ms": p50, "mean_ci95_ms": [p50, p50], "cv": 0.0,
        "clips_per_s": 1000.0 / p50, "foreign_load": 0.0, "loadavg_1m": 1.0,
        "telemetry": null,
    });
    Measure::Measured {
        value: serde_json::from_value(value).expect("a LatencyResult"),
    }
}

fn crowded_run() -> Results {
    let plan = vbench_suite::load_suite("k400").unwrap();
    let mut results = new_results(&plan, run_provenance(vec!["test".into()], None));
    for e in &plan.entries {
        let mut r = new_entry(e);
        let g = e.published.gflops.expect("K400 publishes GFLOPs").value;
        r.latency = vec![
            latency(60.0 * g.powf(0.9), 1),
            latency(34.0 * g.powf(0.9), 2),
        ];
        results.entries.push(r);
    }
    results
}

/// Measures every scatter plot's text labels and markers; the verdict goes into `data-*`
/// attributes of `<body>`.
const MEASURE: &str = r#"<script>
(function () {
  const names = new Set(NAMES);
  const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  let labels = 0, pairs = [], covered = [], outside = [];
  for (const fig of document.querySelectorAll('figure[id^="plot-"]')) {
    const svg = fig.querySelector(':scope > svg');
    if (!svg) continue;
    const area = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')]
      .filter(t => names.has(t.textContent.trim()))
      .map(t => ({ name: t.textContent.trim(), box: t.getBoundingClientRect() }));
    const dots = [...svg.querySelectorAll('circle')].map(c => c.getBoundingClientRect());
    labels += texts.length;
    texts.forEach((a, i) => {
      texts.slice(i + 1).forEach(b => { if (hit(a.box, b.box)) pairs.push(fig.id + ':' + a.name + '|' + b.name); });
      if (dots.some(d => hit(a.box, d))) covered.push(fig.id + ':' + a.name);
      const b = a.box;
      if (b.left < area.left || b.top < area.top || b.right > area.right || b.bottom > area.bottom)
        outside.push(fig.id + ':' + a.name);
    });
  }
  const d = document.body.dataset;
  d.labels = labels;
  d.overlaps = pairs.join(';');
  d.covered = covered.join(';');
  d.outside = outside.join(';');
  d.measured = 'yes';
})();
</script>"#;

fn attribute(dom: &str, name: &str) -> String {
    let key = format!("data-{name}=\"");
    let start = dom
        .find(&key)
        .unwrap_or_else(|| panic!("no {key} in the dumped DOM"))
        + key.len();
    let end = dom[start..].find('"').expect("a closing quote") + start;
    dom[start..end].to_string()
}

#[test]
fn scatter_plot_labels_never_overlap_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let results = crowded_run();
    let names: Vec<&str> = results.entries.iter().map(|e| e.name.as_str()).collect();
    let html = exporter("html").unwrap().render(&results).unwrap();
    let script = MEASURE.replace("NAMES", &serde_json::to_string(&names).unwrap());
    let html = html.replacen("</body>", &format!("{script}</body>"), 1);
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();

    let profile = dir.path().join("profile");
    if let Some(keep) = std::env::var_os("VBENCH_SCREENSHOT_DIR") {
        let shot = dir.path().join("plots.png");
        headless(
            &profile,
            &page,
            &[
                "--window-size=1400,3000",
                &format!("--screenshot={}", shot.display()),
            ],
        );
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&shot, Path::new(&keep).join("plot_labels.png")).unwrap();
        std::fs::copy(&page, Path::new(&keep).join("plot_labels.html")).unwrap();
    }

    for width in ["1400,3000", "900,3000"] {
        let (dom, _) = headless(
            &profile,
            &page,
            &[&format!("--window-size={width}"), "--dump-dom"],
        );
        assert_eq!(attribute(&dom, "measured"), "yes", "the script did not run");
        // Both setups of all 16 entries in the latency plot (the accuracy plot has none).
        let labels: usize = attribute(&dom, "labels").parse().unwrap();
        assert!(labels >= 2 * names.len(), "{labels} labels");
        for (what, found) in [
            ("overlapping labels", attribute(&dom, "overlaps")),
            ("labels covering a marker", attribute(&dom, "covered")),
            ("labels outside their plot", attribute(&dom, "outside")),
        ] {
            assert!(found.is_empty(), "at {width}: {what}: {found}");
        }
    }
}
