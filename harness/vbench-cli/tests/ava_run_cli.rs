//! `vbench run --suite ava --data-root D` end to end on a tiny AVA tree in PySlowFast's
//! layout, built from two real videos by the AVA oracle (`tests/oracles/ava_pyslowfast.py`), with
//! random official-format Slow 4×16 detector weights. `tests/ava_frame_map.rs` holds the numbers
//! against PySlowFast; this test holds the command: results.json carries the frame-mAP and the
//! predictions file, `vbench score` recomputes the same number offline, two merged shards give it
//! bit for bit, `vbench check-data`
//! accepts the tree, and a missing person-box file fails the entry with a message naming it.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

use vbench_testkit::repo_root as repo;
use vbench_testkit::{text, vbench};

fn oracle(args: &[&str]) {
    let out = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tests/oracles/ava_pyslowfast.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oracle {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", text(&o));
    o
}

fn accuracy(out: &Path) -> Value {
    let r: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    r["entries"][0]["accuracy"].clone()
}

#[test]
fn vbench_run_ava_reports_frame_map() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("D");
    let w = tmp.path().join("SLOW_4x16_R50_DETECTION.pyth");
    let (root_s, w_s) = (root.to_str().unwrap(), w.to_str().unwrap());
    oracle(&["make-dataset", "--out", root_s]);
    oracle(&["weights", "--arch", "slow_r50_detection", "--out", w_s]);

    let check = ok(vbench(&[
        "check-data",
        "--suite",
        "ava",
        "--data-root",
        root_s,
    ]));
    let text = String::from_utf8_lossy(&check.stdout).to_string()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(
        text.contains("15"),
        "check-data names the keyframes: {text}"
    );

    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let args = [
        "run",
        "--suite",
        "ava",
        "--entry",
        "slow_r50_detection",
        "--data-root",
        root_s,
        "--weights",
        w_s,
        "--out",
        out_s,
        "--no-latency",
    ];
    ok(vbench(&args));
    let a = accuracy(&out);
    assert_eq!(a["status"], "measured", "{a}");
    let v = &a["value"];
    let map = v["map"].as_f64().expect("a frame-mAP");
    assert!((0.0..=100.0).contains(&map), "{map}");
    // 15 keyframes: 13 with person boxes, one with ground truth only, one with boxes only.
    assert_eq!(
        (v["videos"].as_u64(), v["failed_videos"].as_u64()),
        (Some(15), Some(0))
    );
    // The label map's four classes, each with its AP; the mean of those with ground truth is the map.
    let aps: Vec<f64> = v["details"]["per_class_ap"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["ap"].as_f64())
        .collect();
    assert_eq!(v["details"]["per_class_ap"].as_array().unwrap().len(), 4);
    assert!(
        (aps.iter().sum::<f64>() / aps.len() as f64 - map).abs() < 1e-9,
        "{aps:?} vs {map}"
    );
    let rel = v["predictions"].as_str().unwrap();
    let predictions = out.join(rel);
    let text = std::fs::read_to_string(&predictions).unwrap();
    let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["task"], "detection");
    assert_eq!(header["label_map"].as_array().unwrap().len(), 4);
    let missed: Value = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["id"] == "movieA,0904")
        .expect("the keyframe without person boxes has a record");
    assert_eq!(missed["boxes"].as_array().unwrap().len(), 0);
    assert!(!missed["gt"].as_array().unwrap().is_empty());

    // Offline: the same number from the file alone.
    let s = ok(vbench(&[
        "score",
        "--predictions",
        predictions.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let scored: Value = serde_json::from_slice(&s.stdout).unwrap();
    let text = scored.to_string();
    assert!(text.contains(&map.to_string()), "score: {text}, run: {map}");
    let table = ok(vbench(&[
        "score",
        "--predictions",
        predictions.to_str().unwrap(),
    ]));
    let table = String::from_utf8_lossy(&table.stdout).to_string();
    assert_eq!(table.matches("ground-truth boxes").count(), 4, "{table}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains(&format!("{map:.2}")),
        "report shows the frame-mAP"
    );

    // `vbench clips` writes what the detector sees for one keyframe: the clip and its boxes.
    let kf = tmp.path().join("kf.safetensors");
    ok(vbench(&[
        "clips",
        "--entry",
        "ava/slow_r50_detection",
        "--data-root",
        root_s,
        "--keyframe",
        "movieB,0904",
        "--output",
        kf.to_str().unwrap(),
    ]));
    let t: std::collections::HashMap<String, tch::Tensor> = tch::Tensor::read_safetensors(&kf)
        .unwrap()
        .into_iter()
        .collect();
    // movieB is 400×300: its short side is scaled to 256 (341×256); the border box ends at x = 340.
    assert_eq!(t["clip00.crop0.video"].size(), vec![3, 4, 256, 341]);
    let boxes = &t["clip00.crop0.boxes"];
    assert_eq!(boxes.size()[1], 4);
    assert_eq!(boxes.max().double_value(&[]), 340.0);

    // Two shards merged give the same frame-mAP, bit for bit.
    let mut shards = Vec::new();
    for i in 0..2 {
        let dir = tmp.path().join(format!("shard{i}"));
        let spec = format!("{i}/2");
        let mut a = args.to_vec();
        a[10] = dir.to_str().unwrap();
        a.extend(["--shard", &spec]);
        ok(vbench(&a));
        shards.push(dir);
    }
    let merged = tmp.path().join("merged");
    ok(vbench(&[
        "merge",
        "--out",
        merged.to_str().unwrap(),
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
    ]));
    assert_eq!(accuracy(&merged)["value"]["map"].as_f64(), Some(map));

    // A detector on a whole video: refused with what to run instead (exit 2, no panic).
    let video = repo().join("../shared/data/videos/spatiotemporal_det_demo.mp4");
    let o = vbench(&[
        "infer",
        "--entry",
        "ava/slow_r50_detection",
        "--weights",
        w_s,
        video.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("vbench run --suite ava"));

    // Without the person detections the entry fails with the file named; the run still finishes,
    // and exits 3 (a requested measurement produced no result) with the failure in one line.
    std::fs::remove_file(root.join("annotations/ava_val_predicted_boxes.csv")).unwrap();
    let out2 = tmp.path().join("out2");
    let mut args2 = args;
    args2[10] = out2.to_str().unwrap();
    let o = vbench(&args2);
    assert_eq!(o.status.code(), Some(3), "{}", vbench_testkit::text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(
            "vbench: 1 requested measurement produced no result: ava/slow_r50_detection accuracy ("
        ),
        "{}",
        vbench_testkit::text(&o)
    );
    let a = accuracy(&out2);
    assert_eq!(a["status"], "failed", "{a}");
    assert!(
        a["error"]
            .as_str()
            .unwrap()
            .contains("ava_val_predicted_boxes.csv"),
        "{a}"
    );
}
