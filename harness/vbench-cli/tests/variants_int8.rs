//! The `int8` variant through the `vbench` binary: a quantized TorchScript file of the entry's
//! network run beside fp32 (`--int8-model`, or the published int8 file of the entry's int8
//! sibling in the weights cache), its speed timed against fp32 and its fidelity recomputed by
//! Python from the stored views; the same file refused by another network is recorded as failed
//! for that entry while the entry's other variants go on. The quantized model and its fp32 weights
//! come from `tests/oracles/latency_int8.py` (PyTorchVideo's efficient_x3d_xs with every BN
//! randomised, converted to its deployable form and quantized for QNNPACK).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use vbench_testkit::{repo_root, s, shared_videos, text, vbench, venv_python};

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `(fp32 weights, quantized file)` written by the oracle into `dir`.
fn oracle(dir: &Path) -> (PathBuf, PathBuf) {
    let st = Command::new(venv_python())
        .arg(repo_root().join("tests/oracles/latency_int8.py"))
        .arg(dir)
        .status()
        .unwrap();
    assert!(st.success(), "latency_int8.py: {st}");
    (dir.join("fp32.pyth"), dir.join("xs_int8.pt"))
}

/// `vbench latency --entry mobile/efficient_x3d_xs --variant LIST` with `extra`, 1 thread.
fn latency(fp32: &Path, list: &str, out: &Path, extra: &[&str]) -> (Value, String) {
    std::fs::create_dir_all(out).unwrap();
    let report = out.join("report.json");
    let o = vbench(
        &[
            "latency",
            "--entry",
            "mobile/efficient_x3d_xs",
            "--weights",
            s(fp32),
            "--variant",
            list,
            "--threads",
            "1",
            "--iters",
            "3",
            "--warmup",
            "1",
            "--out",
            s(out),
            "--output",
            s(&report),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    (json(&report)["variants"][0]["variants"].clone(), text(&o))
}

fn variant<'a>(vs: &'a Value, name: &str) -> &'a Value {
    vs.as_array()
        .unwrap()
        .iter()
        .find(|v| v["variant"] == name)
        .unwrap_or_else(|| panic!("no {name} in {vs}"))
}

#[test]
fn int8_variant_runs_the_quantized_file_beside_fp32_and_fails_alone_on_another_network() {
    let dir = vbench_testkit::tempdir();
    let (fp32, int8) = oracle(dir.path());
    let videos = dir.path().join("videos");
    std::fs::create_dir(&videos).unwrap();
    std::fs::copy(
        shared_videos().join("mobile_demo_1.mp4"),
        videos.join("mobile_demo_1.mp4"),
    )
    .unwrap();

    // A given quantized file: timed against fp32 and compared on every view of the video.
    let out = dir.path().join("given");
    let (vs, t) = latency(
        &fp32,
        "int8",
        &out,
        &["--int8-model", s(&int8), "--fidelity-videos", s(&videos)],
    );
    let v = variant(&vs, "int8");
    assert_eq!(v["applied"]["status"], "measured", "{t}");
    let detail = v["applied"]["value"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("xs_int8.pt") && detail.contains("QNNPACK"),
        "{detail}"
    );
    let speed = &v["speed"][0];
    assert_eq!(speed["status"], "measured", "{speed}");
    assert_eq!(speed["value"]["threads"], 1);
    assert!(speed["value"]["speedup"].as_f64().unwrap() > 0.0);
    assert_eq!(v["fidelity"]["status"], "measured", "{v}");
    let f = &v["fidelity"]["value"];
    let py = vbench_testkit::fidelity::check_fidelity(&out, f);
    // mobile's protocol: 10 clips × 1 crop of the one video, each view's logits stored.
    assert_eq!(py["views"], 10);
    // Quantized kernels round: the int8 logits are not fp32's.
    let dlogit = f["max_abs_logit_diff"].as_f64().unwrap();
    assert!(dlogit > 0.0, "int8 gave fp32's logits: {f}");

    // Without --int8-model: the published file of mobile/efficient_x3d_xs_int8 from the cache.
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let (vs, t) = latency(
        &fp32,
        "int8",
        &dir.path().join("empty"),
        &["--weights-dir", s(&cache)],
    );
    let v = variant(&vs, "int8");
    assert_eq!(v["applied"]["status"], "skipped", "{t}");
    let reason = v["applied"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("not available: no quantized model")
            && reason.contains("mobile/efficient_x3d_xs_int8"),
        "{reason}"
    );
    std::fs::copy(&int8, cache.join("x3d_xs_efficient_converted_qnnpack.pt")).unwrap();
    let (vs, t) = latency(
        &fp32,
        "int8",
        &dir.path().join("cached"),
        &["--weights-dir", s(&cache)],
    );
    let v = variant(&vs, "int8");
    assert_eq!(v["applied"]["status"], "measured", "{t}");
    let detail = v["applied"]["value"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("x3d_xs_efficient_converted_qnnpack.pt"),
        "{detail}"
    );
    assert_eq!(v["speed"][0]["status"], "measured");

    // `vbench infer`: the int8 variant is the int8 entry's file with the same head activation.
    let video = videos.join("mobile_demo_1.mp4");
    let infer = |args: &[&str]| -> Value {
        let tail = [
            "--views",
            "2x1",
            "--format",
            "json",
            "--threads",
            "1",
            s(&video),
        ];
        let o = vbench(&[&["infer"], args, &tail[..]].concat());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let as_variant = infer(&[
        "--entry",
        "mobile/efficient_x3d_xs",
        "--weights",
        s(&fp32),
        "--variant",
        "int8",
        "--int8-model",
        s(&int8),
    ]);
    let as_entry = infer(&[
        "--entry",
        "mobile/efficient_x3d_xs_int8",
        "--weights",
        s(&int8),
    ]);
    assert_eq!(as_variant[0]["variant"], "int8");
    assert_eq!(as_variant[0]["scores"], as_entry["scores"]);

    fails_alone_on_another_network(dir.path(), &int8);
    bad_int8_flags_exit_2_naming_the_flag(&fp32, &int8);
}

/// k400/x3d_xs views are 182² and the file's deployment form was traced at 160²: its forward
/// refuses them. The variant is recorded as failed for the entry, and folded-bn is still measured.
fn fails_alone_on_another_network(dir: &Path, int8: &Path) {
    let run = dir.join("run");
    let o = vbench(&[
        "run",
        "--suite",
        "k400",
        "--entry",
        "x3d_xs",
        "--variant",
        "int8,folded-bn",
        "--int8-model",
        s(int8),
        "--latency-iters",
        "2",
        "--latency-warmup",
        "1",
        "--threads",
        "1",
        "--out",
        s(&run),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let results = json(&run.join("results.json"));
    let vs = &results["entries"][0]["variants"];
    let int8 = variant(vs, "int8");
    assert_eq!(int8["applied"]["status"], "failed", "{int8}");
    let error = int8["applied"]["error"].as_str().unwrap();
    assert!(error.contains("xs_int8.pt"), "{error}");
    let folded = variant(vs, "folded-bn");
    assert_eq!(folded["applied"]["status"], "measured", "{folded}");
    assert_eq!(folded["speed"][0]["status"], "measured", "{folded}");
}

fn bad_int8_flags_exit_2_naming_the_flag(fp32: &Path, int8: &Path) {
    let missing = fp32.with_file_name("missing.pt");
    let one = ["--entry", "efficient_x3d_xs", "--weights", s(fp32)];
    let run = [
        "run",
        "--suite",
        "mobile",
        "--variant",
        "int8",
        "--no-latency",
    ];
    let cases: Vec<Vec<&str>> = vec![[&run[..], &one[..]].concat(), run.to_vec()];
    for (mut args, file, why) in [
        (cases[0].clone(), s(&missing), "no such file"),
        (cases[1].clone(), s(int8), "exactly one --entry"),
    ] {
        args.extend(["--int8-model", file]);
        let o = vbench(&args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(
            t.contains("--int8-model") && t.contains(why),
            "{args:?}: {t}"
        );
    }
    let o = vbench(&[
        "latency",
        "--entry",
        "mobile/efficient_x3d_xs",
        "--variant",
        "int8",
        "--int8-model",
        s(&missing),
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("--int8-model") && t.contains("no such file"),
        "{t}"
    );
}
