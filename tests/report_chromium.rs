//! A real run's HTML report in headless Chromium (Debian's `chromium`): every entry is in the
//! rendered DOM, the page's own script ran and recorded no error, Chromium logged no console message,
//! and a screenshot is written. Set VBENCH_SCREENSHOT_DIR to keep the PNG (to look at it).
//!
//! "Real run": x3d_xs measured in-process (params, latency with real forward passes) by the same
//! runner `vbench run` uses, plus an entry whose model may not be built yet (its states show as words).

use std::path::Path;
use std::time::Duration;
use vbench_eval::run::measure::{measure_entry, MeasureOptions};
use vbench_eval::timing::latency::LatencyOptions;
use vbench_report::exporter;
use vbench_results::{save_results, Results, SuiteSummary, SCHEMA_VERSION};
use vbench_testkit::chromium::headless;

fn real_run() -> Results {
    let plan = vbench_suite::load_suite("k400").unwrap();
    let quick = MeasureOptions {
        device: tch::Device::Cpu,
        latency: Some(LatencyOptions {
            warmup: 1,
            iters: 8,
            max_time: Duration::from_secs(120),
            // Keep every sample: this test checks the report, not the machine's quietness.
            max_foreign_load: 1.1,
            ..LatencyOptions::default()
        }),
        weights_dir: None,
        accuracy: None,
        variants: None,
    };
    let params_only = MeasureOptions {
        latency: None,
        ..quick.clone()
    };
    let entries = vec![
        measure_entry(plan.entry("x3d_xs").unwrap(), None, &quick, &mut |_| {}).unwrap(),
        measure_entry(
            plan.entry("mvit_base_16x4").unwrap(),
            None,
            &params_only,
            &mut |_| {},
        )
        .unwrap(),
    ];
    let mut provenance =
        vbench_eval::provenance::collect(vec!["cargo".into(), "test".into(), "issue_9".into()]);
    provenance.finished_at = Some(vbench_eval::provenance::now_utc());
    Results {
        schema_version: SCHEMA_VERSION,
        suite: SuiteSummary {
            name: plan.suite.name.clone(),
            title: plan.suite.title.clone(),
            dataset: "kinetics400".into(),
            task: "classification".into(),
            source: plan.source.display().to_string(),
            description: plan.suite.description.clone(),
        },
        provenance,
        entries,
    }
}

#[test]
fn real_report_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let results = real_run();
    save_results(&dir.path().join("results.json"), &results).unwrap();
    let reloaded = vbench_results::load_results(&dir.path().join("results.json")).unwrap();
    let page = dir.path().join("report.html");
    let html = exporter("html").unwrap().render(&reloaded).unwrap();
    std::fs::write(&page, &html).unwrap();
    assert!(
        !html.contains("src=\"http") && !html.contains("<link"),
        "self-contained"
    );

    let profile = dir.path().join("profile");
    let (dom, log) = headless(&profile, &page, &["--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let n = results.entries.len();
    assert!(
        dom.contains("data-state=\"rendered\""),
        "the page's script did not run:\n{}",
        &dom[dom.len().saturating_sub(800)..]
    );
    assert!(
        dom.contains("data-errors=\"0\""),
        "script errors recorded in the page"
    );
    assert!(
        dom.contains(&format!("data-rows=\"{n}\""))
            && dom.contains(&format!("data-details=\"{n}\""))
    );
    for e in &results.entries {
        let anchor = vbench_report::fmt::anchor(&e.id);
        assert!(
            dom.contains(&format!("id=\"{anchor}\"")),
            "{} has no section in the DOM",
            e.id
        );
        assert!(
            dom.contains(&format!("data-entry=\"{}\"", e.id)),
            "{} has no summary row in the DOM",
            e.id
        );
    }
    // What was not measured reads as words, never numbers.
    for e in &results.entries {
        for status in [e.params.status(), e.flops.status(), e.accuracy.status()]
            .into_iter()
            .chain(e.latency.iter().map(|l| l.status()))
        {
            if status != "measured" {
                let class = status.replace('_', "-");
                assert!(
                    dom.contains(&format!("class=\"state {class}\"")),
                    "{}: {status} not shown as such",
                    e.id
                );
            }
        }
    }
    assert!(
        dom.contains("cpu, ") && dom.contains("samples (ms, in order)"),
        "x3d_xs latency statistics"
    );

    let shot = dir.path().join("report.png");
    headless(
        &profile,
        &page,
        &[
            "--window-size=1400,3000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1400, 3000));
    if let Some(keep) = std::env::var_os("VBENCH_SCREENSHOT_DIR") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&shot, Path::new(&keep).join("issue_9_report.png")).unwrap();
        std::fs::copy(&page, Path::new(&keep).join("issue_9_report.html")).unwrap();
    }
}
