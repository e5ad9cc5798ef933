//! `vbench infer` against PyTorchVideo's own pipeline, and `vbench clips`.
//!
//! `tests/oracles/infer_pytorchvideo.py` writes random weights in the official `.pyth` format (BN
//! randomised, as parity_cnn.py does) and runs PySlowFast's Ptvkinetics test loader (EncodedVideo
//! pyav, ConstantClipsPerVideoSampler, the test transform), the hub model on every view and
//! TestMeter's aggregation. `vbench infer --format json` must give the same views in the same
//! order and the same per-view and aggregated scores (|Δ| ≤ 1e-4; measured ~1e-8).
//! Cases: x3d_xs at its full protocol (10×3 views, test crop 182 with a 2×2 head average), and
//! slowfast_r50 at `--views 1x1` (two pathways, the views flag).

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use vbench_testkit::{repo_root as repo, vbench};

const TOL: f64 = 1e-4;

fn video(name: &str) -> PathBuf {
    repo().join("../shared/data/videos").join(name)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("a score list")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "score vectors of different lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

struct Case {
    name: &'static str,
    entry: &'static str,
    video: &'static str,
    views: Option<&'static str>,
    job: Value,
}

fn cases() -> Vec<Case> {
    let job =
        |name: &str, arch: &str, video: &str, t, tau, alpha: Option<u32>, side, clips, crops| {
            serde_json::json!({
                "name": name, "arch": arch, "num_classes": 400, "activation": "softmax",
                "video": crate::video(video), "frames": t, "sample_rate": tau, "alpha": alpha,
                "short_side": side, "crop": side, "clips": clips, "crops": crops,
                "target_fps": 30, "bgr": false, "aggregation": "sum",
            })
        };
    vec![
        Case {
            name: "x3d_xs",
            entry: "k400/x3d_xs",
            video: "k400_demo.mp4",
            views: None,
            job: job("x3d_xs", "x3d_xs", "k400_demo.mp4", 4, 12, None, 182, 10, 3),
        },
        Case {
            name: "slowfast_r50",
            entry: "k400/slowfast_r50",
            video: "short.avi",
            views: Some("1x1"),
            job: job(
                "slowfast_r50",
                "slowfast_r50",
                "short.avi",
                8,
                8,
                Some(4),
                256,
                1,
                1,
            ),
        },
    ]
}

#[test]
fn infer_matches_pytorchvideo_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let jobs: Vec<&Value> = cases.iter().map(|c| &c.job).collect();
    let jobs_path = dir.path().join("jobs.json");
    std::fs::write(&jobs_path, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let oracle = repo().join("tests/oracles/infer_pytorchvideo.py");
    let mut child = Command::new(repo().join(".venv/bin/python"))
        .arg(&oracle)
        .arg(dir.path())
        .arg(&jobs_path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", oracle.display()));
    // The oracle prints each job's name when done: compare while it runs the next one.
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut report = Vec::new();
    let mut seen = 0;
    for line in lines {
        let name = line.unwrap();
        let case = cases
            .iter()
            .find(|c| c.name == name.trim())
            .unwrap_or_else(|| panic!("oracle printed {name:?}"));
        seen += 1;
        let weights = dir.path().join(format!("{}.pyth", case.name));
        let want: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("{}.json", case.name))).unwrap(),
        )
        .unwrap();
        let video = video(case.video);
        let mut args = vec![
            "infer",
            "--entry",
            case.entry,
            "--weights",
            weights.to_str().unwrap(),
            video.to_str().unwrap(),
            "--format",
            "json",
        ];
        if let Some(v) = case.views {
            args.extend(["--views", v]);
        }
        let o = vbench(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{}: {stderr}", case.name);
        let got: Value = serde_json::from_slice(&o.stdout).expect("infer --format json");
        let (gv, wv) = (
            got["views"].as_array().unwrap(),
            want["views"].as_array().unwrap(),
        );
        assert_eq!(gv.len(), wv.len(), "{}: view count", case.name);
        let mut view_max = 0.0f64;
        for (i, (g, w)) in gv.iter().zip(wv).enumerate() {
            assert_eq!(
                (&g["clip"], &g["crop"]),
                (&w["clip"], &w["crop"]),
                "{}: view {i} order",
                case.name
            );
            view_max = view_max.max(max_diff(&floats(&g["scores"]), &floats(&w["scores"])));
        }
        let agg_max = max_diff(&floats(&got["scores"]), &floats(&want["scores"]));
        report.push(format!(
            "{}: {} views, max |Δ| per view {view_max:.2e}, aggregated {agg_max:.2e}",
            case.name,
            gv.len()
        ));
        assert!(
            view_max <= TOL && agg_max <= TOL,
            "{}: scores differ from PyTorchVideo's: {report:?}",
            case.name
        );
        // The top list is the aggregated scores' ranking, with the Kinetics names.
        let scores = floats(&got["scores"]);
        let top = got["top"].as_array().unwrap();
        assert_eq!(top.len(), 5);
        let best = scores
            .iter()
            .enumerate()
            .fold((0, f64::MIN), |b, (i, &s)| if s > b.1 { (i, s) } else { b });
        assert_eq!(top[0]["class"].as_u64(), Some(best.0 as u64));
        assert!(top[0]["name"].as_str().is_some_and(|n| !n.is_empty()));
    }
    assert!(child.wait().unwrap().success(), "the oracle failed");
    assert_eq!(seen, cases.len(), "the oracle skipped a job");
    eprintln!("{}", report.join("\n"));

    // The table form names the classes and shows as many rows as asked for.
    let weights = dir.path().join("x3d_xs.pyth");
    let v = video("k400_demo.mp4");
    let o = vbench(&[
        "infer",
        "--entry",
        "k400/x3d_xs",
        "--weights",
        weights.to_str().unwrap(),
        v.to_str().unwrap(),
        "--views",
        "1x1",
        "--top",
        "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert_eq!(table.lines().count(), 2 + 3, "{table}");
}

#[test]
fn clips_writes_every_view() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("views.safetensors");
    let v = video("k400_demo.mp4");
    let o = vbench(&[
        "clips",
        "--entry",
        "k400/slowfast_r50",
        v.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--views",
        "2x3",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let described: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(described.as_array().unwrap().len(), 6);
    let tensors = tch::Tensor::read_safetensors(&out).unwrap();
    let shape = |name: &str| {
        tensors
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .1
            .size()
    };
    // 6 views × 2 pathways × (pixels + frame indices).
    assert_eq!(tensors.len(), 24);
    assert_eq!(shape("clip01.crop2.fast"), vec![3, 32, 256, 256]);
    assert_eq!(shape("clip01.crop2.slow"), vec![3, 8, 256, 256]);
    assert_eq!(shape("clip00.crop0.slow.frame_indices"), vec![8]);

    let o = vbench(&[
        "clips",
        "--entry",
        "k400/nope",
        v.to_str().unwrap(),
        "--output",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope"));
}
