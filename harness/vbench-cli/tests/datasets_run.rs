//! Datasets of one's own through `vbench run --data-root` and `vbench check-data`, on trees built
//! here from the shared videos (symlinks):
//!
//! - UCF101 (`dataset = "ucf101"`, `split = 2`) with X3D-S at 101 classes and weights written by
//!   PyTorchVideo: every test video of fold 2 is scored, and its scores equal PyTorchVideo's own
//!   test pipeline with the same weights (|Δ| ≤ 1e-4 · max|reference|);
//! - HMDB51 (`split = 3`) with a 3-class X3D-XS, the same check;
//! - a Kinetics-layout tree with its own `classes.txt`, and a model whose output size disagrees:
//!   exit 2 naming the file, nothing written;
//! - the `split` key is typed and checked (1, 2 or 3; only for datasets with folds).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use vbench_testkit::{repo_root as repo, text, vbench};

const TOL: f64 = 1e-4;

fn shared_video(name: &str) -> PathBuf {
    repo().join("../shared/data/videos").join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn link(path: &Path, shared: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(shared_video(shared), path).unwrap();
}

/// One model's protocol, as the suite and the oracle both take it.
struct Model {
    arch: &'static str,
    frames: u32,
    sample_rate: u32,
    size: u32,
    num_classes: u32,
    clips: u32,
}

/// A suite file `dir/suite.toml` for `dataset` with one entry, its own reference table beside it
/// (`extra` goes into `[suite]`).
fn suite(dir: &Path, dataset: &str, extra: &str, m: &Model) -> PathBuf {
    let path = dir.join("suite.toml");
    write(
        &path,
        &format!(
            r#"[suite]
name = "own"
title = "Own data"
dataset = "{dataset}"
reference = "own.csv"
{extra}

[protocol]
num_classes = {n}
channels = "rgb"
normalization = "kinetics"
head_activation = "softmax"
aggregation = "sum"
sampler = "constant_clips_per_video"
target_fps = 30
temporal_clips = {clips}
spatial_crops = 1
short_side = {size}
crop = {size}

[[entry]]
name = "{arch}"
model = "{arch}"
checkpoint = "{arch}_own.pyth"
reference = "{arch}"
protocol = {{ frames = {frames}, sample_rate = {rate} }}
"#,
            n = m.num_classes,
            clips = m.clips,
            size = m.size,
            arch = m.arch,
            frames = m.frames,
            rate = m.sample_rate,
        ),
    );
    write(
        &dir.join("own.csv"),
        &format!(
            "row,arch,depth,pretrain,frames,sample_rate,precision,top1,top5,map,gflops,\
             spatial_views,temporal_views,params_m,latency_ms,latency_device,checkpoint_url\n\
             {a},X3D,-,-,{f},{r},fp32,,,,,1,{c},,,,https://example.invalid/{a}_own.pyth\n",
            a = m.arch,
            f = m.frames,
            r = m.sample_rate,
            c = m.clips
        ),
    );
    path
}

/// PyTorchVideo's test pipeline on each video (`tests/oracles/infer_pytorchvideo.py`): random
/// weights (the same for every job) and the per-video scores. Returns the weights file and the
/// scores by video.
fn oracle(dir: &Path, m: &Model, videos: &[PathBuf]) -> (PathBuf, Vec<Vec<f64>>) {
    let jobs: Vec<Value> = videos
        .iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::json!({
                "name": format!("v{i}"), "arch": m.arch, "num_classes": m.num_classes,
                "activation": "softmax", "video": v, "frames": m.frames,
                "sample_rate": m.sample_rate, "alpha": null, "short_side": m.size,
                "crop": m.size, "clips": m.clips, "crops": 1, "target_fps": 30, "bgr": false,
                "aggregation": "sum",
            })
        })
        .collect();
    let out = dir.join("oracle");
    let job_file = dir.join("jobs.json");
    write(&job_file, &Value::Array(jobs).to_string());
    let o = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tests/oracles/infer_pytorchvideo.py"))
        .args([&out, &job_file])
        .output()
        .unwrap();
    assert!(o.status.success(), "oracle: {}", text(&o));
    let scores = (0..videos.len())
        .map(|i| {
            let r: Value = serde_json::from_str(
                &std::fs::read_to_string(out.join(format!("v{i}.json"))).unwrap(),
            )
            .unwrap();
            r["scores"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    (out.join("v0.pyth"), scores)
}

/// The predictions file of a run: its header and records by list position.
fn predictions(out: &Path, entry: &str) -> (Value, Vec<Value>) {
    let text =
        std::fs::read_to_string(out.join("predictions").join(format!("{entry}.jsonl"))).unwrap();
    let mut lines = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap());
    let header = lines.next().unwrap();
    let mut records: Vec<Value> = lines.collect();
    records.sort_by_key(|r| r["index"].as_u64().unwrap());
    (header, records)
}

/// Runs `suite` on `root` with `weights`, and checks every record against the oracle's scores:
/// ids and labels as expected, scores within the tolerance.
fn run_and_compare(
    dir: &Path,
    suite: &Path,
    root: &Path,
    m: &Model,
    expected: &[(&str, i64, PathBuf)],
    manifest: &str,
) {
    let videos: Vec<PathBuf> = expected.iter().map(|(_, _, v)| v.clone()).collect();
    let (weights, want) = oracle(dir, m, &videos);
    let out = dir.join("out");
    let o = vbench(&[
        "run",
        "--suite",
        s(suite),
        "--data-root",
        s(root),
        "--weights",
        s(&weights),
        "--entry",
        m.arch,
        "--no-latency",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let (header, records) = predictions(&out, m.arch);
    assert_eq!(header["dataset"]["manifest"], manifest, "{header}");
    assert_eq!(header["num_classes"], m.num_classes, "{header}");
    assert_eq!(records.len(), expected.len());
    for ((r, (id, label, _)), want) in records.iter().zip(expected).zip(&want) {
        assert_eq!(
            (r["id"].as_str().unwrap(), r["label"].as_i64().unwrap()),
            (*id, *label)
        );
        assert_eq!(r["status"], "ok", "{r}");
        let got: Vec<f64> = r["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0f64, |a, x| a.max(x.abs()));
        let diff = got
            .iter()
            .zip(want)
            .fold(0f64, |a, (g, w)| a.max((g - w).abs()));
        assert!(
            diff <= TOL * scale,
            "{id}: max |Δ| {diff} > {TOL} · {scale}"
        );
        println!("{id}: max |Δ| {diff:.3e} (max |reference| {scale:.3})");
    }
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(
        results["entries"][0]["accuracy"]["status"], "measured",
        "{results}"
    );
}

#[test]
fn ucf101_fold_two_with_x3d_s_at_101_classes_matches_pytorchvideo() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, root) = (tmp.path(), tmp.path().join("ucf"));
    let mut ind = String::from("1 ApplyEyeMakeup\r\n");
    for i in 2..=99 {
        ind.push_str(&format!("{i} Class{i:03}\r\n"));
    }
    ind.push_str("100 HandstandPushups\r\n101 YoYo\r\n");
    write(&root.join("ucfTrainTestlist/classInd.txt"), &ind);
    write(
        &root.join("ucfTrainTestlist/testlist01.txt"),
        "HandstandPushups/v_HandStandPushups_g01_c01.avi\r\n",
    );
    write(
        &root.join("ucfTrainTestlist/testlist02.txt"),
        "YoYo/v_YoYo_g02_c01.avi\r\nApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi\r\n",
    );
    let videos = root.join("UCF-101");
    link(&videos.join("YoYo/v_YoYo_g02_c01.avi"), "mobile_demo_1.mp4");
    link(
        &videos.join("ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi"),
        "short.avi",
    );
    link(
        &videos.join("HandstandPushups/v_HandStandPushups_g01_c01.avi"),
        "k400_demo.mp4",
    );
    let m = Model {
        arch: "x3d_s",
        frames: 13,
        sample_rate: 6,
        size: 182,
        num_classes: 101,
        clips: 2,
    };
    let suite = suite(dir, "ucf101", "split = 2", &m);

    let o = vbench(&[
        "check-data",
        "--suite",
        s(&suite),
        "--data-root",
        s(&root),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &report["datasets"][0];
    assert_eq!(d["manifest"], "ucfTrainTestlist/testlist02.txt", "{report}");
    assert_eq!(
        (d["dataset"].as_str(), d["listed"].as_u64()),
        (Some("ucf101"), Some(2))
    );

    let expected = [
        (
            "YoYo/v_YoYo_g02_c01.avi",
            100,
            videos.join("YoYo/v_YoYo_g02_c01.avi"),
        ),
        (
            "ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi",
            0,
            videos.join("ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi"),
        ),
    ];
    run_and_compare(
        dir,
        &suite,
        &root,
        &m,
        &expected,
        "ucfTrainTestlist/testlist02.txt",
    );
}

#[test]
fn hmdb51_fold_three_matches_pytorchvideo() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, root) = (tmp.path(), tmp.path().join("hmdb"));
    let splits = root.join("testTrainMulti_7030_splits");
    // Fold 3's test videos (code 2): one of brush_hair, one of cartwheel.
    for (class, lines) in [
        (
            "brush_hair",
            "a_brush_hair_u_nm_np1_ba_goo_0.avi 1 \nb_brush_hair_u_cm_np2_ri_med_1.avi 2 \n",
        ),
        (
            "cartwheel",
            "c_cartwheel_f_cm_np1_ba_bad_8.avi 2 \nd_cartwheel_f_cm_np1_le_med_0.avi 0 \n",
        ),
    ] {
        write(&splits.join(format!("{class}_test_split3.txt")), lines);
        write(&splits.join(format!("{class}_test_split1.txt")), lines);
    }
    link(
        &root.join("brush_hair/b_brush_hair_u_cm_np2_ri_med_1.avi"),
        "mobile_demo_2.mp4",
    );
    link(
        &root.join("cartwheel/c_cartwheel_f_cm_np1_ba_bad_8.avi"),
        "short.avi",
    );
    let m = Model {
        arch: "x3d_xs",
        frames: 4,
        sample_rate: 12,
        size: 182,
        num_classes: 2,
        clips: 3,
    };
    let suite = suite(dir, "hmdb51", "split = 3", &m);
    let o = vbench(&["check-data", "--suite", s(&suite), "--data-root", s(&root)]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("*_test_split3.txt"),
        "{}",
        text(&o)
    );
    let expected = [
        (
            "b_brush_hair_u_cm_np2_ri_med_1.avi",
            0,
            root.join("brush_hair/b_brush_hair_u_cm_np2_ri_med_1.avi"),
        ),
        (
            "c_cartwheel_f_cm_np1_ba_bad_8.avi",
            1,
            root.join("cartwheel/c_cartwheel_f_cm_np1_ba_bad_8.avi"),
        ),
    ];
    run_and_compare(
        dir,
        &suite,
        &root,
        &m,
        &expected,
        "testTrainMulti_7030_splits/*_test_split3.txt",
    );
}

#[test]
fn a_class_list_that_disagrees_with_the_model_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("k");
    link(&root.join("val/zumba/a.mp4"), "k400_demo.mp4");
    link(&root.join("val/making_tea/b.avi"), "short.avi");
    write(&root.join("classes.txt"), "zumba\nmaking tea\n");
    let weights = tmp.path().join("x3d_xs.pyth");
    write(&weights, "not read: the refusal comes first");
    let out = tmp.path().join("out");
    // k400/x3d_xs has 400 outputs; the tree's list has 2 classes.
    let o = vbench(&[
        "run",
        "--suite",
        "k400",
        "--entry",
        "x3d_xs",
        "--data-root",
        s(&root),
        "--weights",
        s(&weights),
        "--no-latency",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(s(&root.join("classes.txt"))), "{err}");
    assert!(
        err.contains("2 classes") && err.contains("400 outputs"),
        "{err}"
    );
    assert!(!out.join("results.json").exists() && !out.join("predictions").exists());

    let o = vbench(&["check-data", "--suite", "k400", "--data-root", s(&root)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("classes.txt"),
        "{}",
        text(&o)
    );
}

#[test]
fn the_split_key_is_typed_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let m = Model {
        arch: "x3d_xs",
        frames: 4,
        sample_rate: 12,
        size: 182,
        num_classes: 101,
        clips: 1,
    };
    for (dataset, extra, says) in [
        ("ucf101", "split = 4", "split 4"),
        ("hmdb51", "split = \"1\"", "split"),
        ("kinetics400", "split = 1", "suite.split"),
        ("ucf101", "fold = 1", "unknown field `fold`"),
    ] {
        let suite = suite(tmp.path(), dataset, extra, &m);
        let o = vbench(&["list", "--suite", s(&suite)]);
        assert_eq!(o.status.code(), Some(2), "{extra}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(says) && err.contains("suite.toml"),
            "{extra}: {err}"
        );
    }
    let suite = suite(tmp.path(), "hmdb51", "split = 2", &m);
    let o = vbench(&["list", "--suite", s(&suite), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
}
