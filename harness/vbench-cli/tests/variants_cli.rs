//! Speed variants through the `vbench` binary: bad variants refused (exit 2, naming the variant
//! and why); `vbench run` of x3d_xs with bf16, folded-bn and int8 on real videos, whose fidelity
//! numbers Python recomputes from the stored views (`tests/oracles/variants_fidelity.py`), whose
//! report shows the speed-vs-fidelity table and plot, and whose gate holds the variants to the
//! policy's floors; `vbench infer --variant`. The weights are random, written by the PyTorch
//! eager script (`harness/vbench-eval/benches/variants_eager.py`). Runs the `vbench` binary that
//! Cargo built for this package's tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use vbench_testkit::{repo_root, s, shared_dir, text, vbench, venv_python};

/// Random x3d_xs weights from the eager script, and a folder of two real videos; once per binary.
fn fixture() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static F: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let weights = dir.path().join("x3d_xs.pyth");
        let st = Command::new(venv_python())
            .arg(repo_root().join("harness/vbench-eval/benches/variants_eager.py"))
            .args(["--arch", "x3d_xs", "--export-weights", s(&weights)])
            .status()
            .unwrap();
        assert!(st.success(), "variants_eager.py --export-weights: {st}");
        let videos = dir.path().join("videos");
        std::fs::create_dir(&videos).unwrap();
        for v in ["k400_demo.mp4", "mobile_demo_1.mp4"] {
            std::fs::copy(shared_dir().join("data/videos").join(v), videos.join(v)).unwrap();
        }
        (dir, weights, videos)
    })
}

#[test]
fn unknown_and_unrunnable_variants_exit_2_naming_the_variant_and_the_reason() {
    let video = shared_dir().join("data/videos/k400_demo.mp4");
    let out = tempfile::tempdir().unwrap();
    let cases: [(Vec<&str>, &str, &str); 5] = [
        (
            vec![
                "latency",
                "--entry",
                "k400/x3d_xs",
                "--variant",
                "bf16,bf17",
            ],
            "bf17",
            "unknown variant",
        ),
        (
            vec!["latency", "--entry", "k400/x3d_xs", "--variant", "fp16"],
            "fp16",
            "CUDA only",
        ),
        (
            vec![
                "infer",
                "--entry",
                "k400/x3d_xs",
                "--variant",
                "fp16",
                s(&video),
            ],
            "fp16",
            "CUDA only",
        ),
        (
            vec![
                "run",
                "--suite",
                "k400",
                "--entry",
                "x3d_xs",
                "--no-latency",
            ]
            .into_iter()
            .chain(["--variant", "fp16", "--out", s(out.path())])
            .collect(),
            "fp16",
            "CUDA only",
        ),
        (
            vec![
                "run",
                "--suite",
                "k400",
                "--entry",
                "x3d_xs",
                "--no-latency",
            ]
            .into_iter()
            .chain(["--variant", "int4", "--out", s(out.path())])
            .collect(),
            "int4",
            "unknown variant",
        ),
    ];
    for (args, name, why) in cases {
        let o = vbench(&args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains(name) && t.contains(why), "{args:?}: {t}");
        assert!(!t.contains("panicked"), "{args:?}: {t}");
    }
}

/// The run's fidelity of one variant equals Python's recomputation from the stored views.
fn check_fidelity(run: &Path, f: &Value) {
    let py = vbench_testkit::fidelity::check_fidelity(run, f);
    // Every view of every video: 2 videos × x3d's 10 × 3 views, with logits stored.
    assert_eq!(py["views"], 60);
    assert!(py["max_abs_logit_diff"].as_f64().is_some());
}

fn gate(run: &Path, policy: &str) -> (Option<i32>, String) {
    let p = run.join("policy.toml");
    std::fs::write(&p, policy).unwrap();
    let results = run.join("results.json");
    let o = vbench(
        &["gate", "--candidate", s(&results), "--against", "published"]
            .into_iter()
            .chain(["--policy", s(&p)])
            .collect::<Vec<_>>(),
    );
    (o.status.code(), text(&o))
}

#[test]
fn variants_of_x3d_xs_are_measured_reported_and_gated_on_real_videos() {
    let (_, weights, videos) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = vbench(&[
        "run",
        "--suite",
        "k400",
        "--entry",
        "x3d_xs",
        "--weights",
        s(weights),
        "--variant",
        "bf16,folded-bn,int8",
        "--fidelity-videos",
        s(videos),
        "--latency-iters",
        "3",
        "--latency-warmup",
        "1",
        "--threads",
        "1",
        "--out",
        s(&run),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let vs = results["entries"][0]["variants"].as_array().unwrap();
    let by = |n: &str| vs.iter().find(|v| v["variant"] == n).unwrap();
    // int8: no quantized x3d_xs exists, so no number of any kind.
    let int8 = by("int8");
    assert_eq!(int8["applied"]["status"], "skipped");
    let reason = int8["applied"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("not available: no quantized model"),
        "{reason}"
    );
    assert!(int8["speed"].as_array().unwrap().is_empty());
    assert_ne!(int8["fidelity"]["status"], "measured");
    for name in ["bf16", "folded-bn"] {
        let v = by(name);
        assert_eq!(v["applied"]["status"], "measured", "{name}: {v}");
        let speed = &v["speed"][0];
        assert_eq!(speed["status"], "measured", "{name}: {speed}");
        assert_eq!(speed["value"]["threads"], 1);
        assert_eq!(speed["value"]["variant"]["variant"], name);
        assert_eq!(v["fidelity"]["status"], "measured", "{name}: {v}");
        check_fidelity(&run, &v["fidelity"]["value"]);
    }
    // The report: the speed-vs-fidelity table and a plot per entry, in HTML and markdown.
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("<section id=\"variants\">"));
    assert!(
        html.contains("id=\"plot-variants-entry-k400-x3d_xs\""),
        "plot id"
    );
    let section = &html[html.find("<section id=\"variants\">").unwrap()..];
    assert!(section.contains("<svg") && section.contains("folded-bn"));
    let md = vbench(&[
        "report",
        s(&run.join("results.json")),
        "--format",
        "markdown",
    ]);
    assert!(text(&md).contains("### Speed vs fidelity"), "{}", text(&md));
    gate_holds_variants_to_the_floors(&run, by("bf16"));
}

/// `[variants]` floors: the verdicts follow from the run's own numbers.
fn gate_holds_variants_to_the_floors(run: &Path, bf16: &Value) {
    let agreement = bf16["fidelity"]["value"]["view_agreement"]
        .as_f64()
        .unwrap();
    let speed = &bf16["speed"][0]["value"];
    let speedup = speed["speedup"].as_f64().unwrap();
    // A floor at the measured agreement passes; one just above fails (if there is room).
    let (code, t) = gate(
        run,
        &format!("[variants]\nmin_view_agreement = {agreement}\nonly = [\"bf16\"]\n"),
    );
    assert!(
        t.contains("PASS k400/x3d_xs variant[bf16].agreement[views]"),
        "{t}"
    );
    assert!(!t.contains("variant[folded-bn]"), "only = [bf16]: {t}");
    assert!(code == Some(0) || code == Some(1), "{t}");
    if agreement < 100.0 {
        let (code, t) = gate(
            run,
            &format!("[variants]\nmin_view_agreement = {}\n", agreement + 1e-6),
        );
        assert_eq!(code, Some(1), "{t}");
        assert!(
            t.contains("FAIL k400/x3d_xs variant[bf16].agreement[views]"),
            "{t}"
        );
    }
    // A speed floor far above the measured speed-up and its CI fails; one far below passes.
    let hi = speed["pair_speedup_ci95"][1].as_f64().unwrap().max(speedup) * 10.0;
    let (code, t) = gate(run, &format!("[variants]\nmin_speedup = {hi}\n"));
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("FAIL k400/x3d_xs variant[bf16].speedup[1 threads]"),
        "{t}"
    );
    assert!(
        t.contains("SKIP k400/x3d_xs variant[int8]: not available"),
        "{t}"
    );
    let (_, t) = gate(run, "[variants]\nmin_speedup = 0.001\n");
    assert!(
        t.contains("PASS k400/x3d_xs variant[bf16].speedup[1 threads]"),
        "{t}"
    );
    // A bad floor names the key.
    let (code, t) = gate(run, "[variants]\nmin_view_agreement = 150.0\n");
    assert_eq!(code, Some(2), "{t}");
    assert!(t.contains("variants.min_view_agreement"), "{t}");
}

#[test]
fn infer_runs_the_video_through_each_variant_and_names_the_one_without_a_model() {
    let (_, weights, videos) = fixture();
    let video = videos.join("k400_demo.mp4");
    let base = ["infer", "--entry", "k400/x3d_xs", "--weights", s(weights)];
    let tail = [
        "--views",
        "2x1",
        "--format",
        "json",
        "--threads",
        "1",
        s(&video),
    ];
    let plain = vbench(&[&base[..], &tail[..]].concat());
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain));
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    let o = vbench(&[&base[..], &["--variant", "fp32,bf16,int8"], &tail[..]].concat());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "int8 has no model: {t}");
    assert!(t.contains("int8") && t.contains("not available"), "{t}");
    let all: Value = serde_json::from_slice(&o.stdout).unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2, "fp32 and bf16 ran");
    // fp32 is the model itself: the same scores, bit for bit, as without --variant.
    assert_eq!(all[0]["scores"], plain["scores"]);
    assert!(all[0].get("variant").is_none());
    assert_eq!(all[1]["variant"], "bf16");
    assert_ne!(all[1]["scores"], plain["scores"], "bf16 rounds");
}

/// `run --variant --data-root`: the variant's own evaluation of the dataset beside fp32's, and its
/// fidelity and paired accuracy difference on the videos both scored, recomputed from the two
/// predictions files.
#[test]
fn run_with_a_data_root_evaluates_each_variant_and_pairs_it_with_fp32() {
    let (_, weights, _) = fixture();
    let dir = vbench_testkit::tempdir();
    let suite = vbench_testkit::shards::make_suite(dir.path());
    let data = vbench_testkit::shards::make_dataset(dir.path(), 3);
    let run = dir.path().join("run");
    let o = vbench(&[
        "run",
        "--suite",
        s(&suite),
        "--entry",
        "x3d_xs",
        "--data-root",
        s(&data),
        "--weights",
        s(weights),
        "--variant",
        "bf16",
        "--no-latency",
        "--threads",
        "1",
        "--out",
        s(&run),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let entry = &results["entries"][0];
    let fp32 = &entry["accuracy"]["value"];
    let bf16 = &entry["variants"][0];
    assert_eq!(bf16["variant"], "bf16");
    assert_eq!(bf16["accuracy"]["status"], "measured", "{bf16}");
    // 3 listed videos decode, one listed file does not: the same 3 videos for both.
    assert_eq!(fp32["videos"], 3, "{fp32}");
    assert_eq!(bf16["accuracy"]["value"]["videos"], 3);
    assert_eq!(bf16["dataset_fidelity"]["status"], "measured", "{bf16}");
    let f = &bf16["dataset_fidelity"]["value"];
    assert!(
        f["variant_predictions"]
            .as_str()
            .unwrap()
            .ends_with("@bf16.jsonl"),
        "{f}"
    );
    let py = vbench_testkit::fidelity::check_fidelity(&run, f);
    // 3 videos × 3 clips × 3 crops, logits stored for both.
    assert_eq!(py["views"], 27);
    assert!(py["max_abs_logit_diff"].as_f64().is_some());
    // The paired accuracy: both top-1s over the same videos and their difference.
    let p = &f["accuracy"];
    assert_eq!(p["videos"], 3, "{p}");
    let top1 = |m: &Value| m["top1"].as_f64().unwrap();
    let (a, b) = (
        p["fp32_top1"].as_f64().unwrap(),
        p["variant_top1"].as_f64().unwrap(),
    );
    assert!((a - top1(fp32)).abs() < 1e-9, "{p} {fp32}");
    assert!((b - top1(&bf16["accuracy"]["value"])).abs() < 1e-9, "{p}");
    assert!(
        (p["difference"].as_f64().unwrap() - (b - a)).abs() < 1e-9,
        "{p}"
    );
    let (fixed, broken) = (p["fixed"].as_u64().unwrap(), p["broken"].as_u64().unwrap());
    assert!(
        (b - a - 100.0 * (fixed as f64 - broken as f64) / 3.0).abs() < 1e-9,
        "{p}"
    );
    // The report says it beside the speed-vs-fidelity table.
    let md = vbench(&[
        "report",
        s(&run.join("results.json")),
        "--format",
        "markdown",
    ]);
    assert!(
        text(&md).contains("k400/x3d_xs bf16 on the dataset: top-1"),
        "{}",
        text(&md)
    );
}

/// A TorchScript model under a zoo protocol takes what libtorch can apply to a loaded module:
/// bf16 (autocast on each forward), channels-last (its 5-D weights relaid out) and folded-bn
/// (TorchScript's FoldConvBatchNorm), measured and compared on real views; bf16-cast says it is
/// not applicable, and int8 that there is no quantized model.
#[test]
fn torchscript_models_take_what_libtorch_applies_to_a_loaded_module() {
    let (_, _, videos) = fixture();
    let dir = vbench_testkit::tempdir();
    let model = dir.path().join("tiny.pt");
    let script = r#"
import sys, torch, torch.nn as nn
torch.manual_seed(3)
m = nn.Sequential(nn.Conv3d(3, 8, 3, stride=2), nn.BatchNorm3d(8), nn.ReLU(),
                  nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(8, 400)).eval()
with torch.no_grad():
    m[1].running_mean.uniform_(-0.2, 0.2); m[1].running_var.uniform_(0.5, 1.5)
    m[5].weight.mul_(20.0)
torch.jit.trace(m, torch.randn(1, 3, 4, 182, 182)).save(sys.argv[1])
"#;
    let st = Command::new(venv_python())
        .args(["-c", script, s(&model)])
        .status()
        .unwrap();
    assert!(st.success(), "tracing the model: {st}");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let report = out.join("report.json");
    let o = vbench(&[
        "latency",
        "--model",
        s(&model),
        "--protocol",
        "k400/x3d_xs",
        "--variant",
        "bf16,channels-last,folded-bn,bf16-cast,int8",
        "--fidelity-videos",
        s(videos),
        "--threads",
        "1",
        "--iters",
        "3",
        "--warmup",
        "1",
        "--out",
        s(&out),
        "--output",
        s(&report),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let vs = r["variants"][0]["variants"].as_array().unwrap();
    let by = |n: &str| vs.iter().find(|v| v["variant"] == n).unwrap();
    for name in ["bf16", "channels-last", "folded-bn"] {
        let v = by(name);
        assert_eq!(v["applied"]["status"], "measured", "{v}");
        assert_eq!(v["speed"][0]["status"], "measured", "{v}");
        assert_eq!(v["fidelity"]["status"], "measured", "{v}");
        let f = &v["fidelity"]["value"];
        check_fidelity(&out, f);
        assert!(f["weights"].as_str().unwrap().starts_with("tiny.pt"), "{f}");
        if name != "bf16" {
            // Layout and folding change rounding only: logits within float32 noise of fp32's.
            let d = f["max_abs_logit_diff"].as_f64().unwrap();
            assert!(d < 1e-3, "{name}: max |Δlogit| {d}");
        }
    }
    let detail = |n: &str| {
        by(n)["applied"]["value"]["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        detail("channels-last").starts_with("1 5-D weights"),
        "{}",
        detail("channels-last")
    );
    assert!(
        detail("folded-bn").starts_with("1 of 1 BatchNorms folded"),
        "{}",
        detail("folded-bn")
    );
    let reason = |n: &str| by(n)["applied"]["reason"].as_str().unwrap().to_string();
    assert!(
        reason("bf16-cast").starts_with("not applicable: its weights are not vbench's"),
        "{}",
        reason("bf16-cast")
    );
    assert!(
        reason("int8").starts_with("not available: no quantized model"),
        "{}",
        reason("int8")
    );
}
