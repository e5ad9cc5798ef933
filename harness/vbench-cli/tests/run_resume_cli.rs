//! `vbench run --data-root` end to end on a tiny Kinetics-style dataset built here from
//! the real clips (symlinks + a generated `test.csv` with a missing file and an out-of-range
//! label), with random official-format weights from PyTorchVideo (the infer oracle, weights only).
//!
//! - resume: a run killed with SIGKILL mid-way, a torn line appended, then run again, stores the
//!   same predictions and reports the same metrics as an uninterrupted run; `vbench score` agrees;
//! - wiring: results.json's video-level and clip-level top-1/top-5 equal a recomputation here
//!   from the stored views (sum aggregation, one view per clip-level sample);
//! - refusals: a resume against another dataset list, a missing checkpoint, another entry's
//!   checkpoint, each with a message saying what to do, while the run itself succeeds.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;
use vbench_testkit::{repo_root as repo, vbench};

fn shared_video(name: &str) -> PathBuf {
    repo().join("../shared/data/videos").join(name)
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "vbench failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Exit 3 (a requested measurement produced no result) with one stderr line naming it.
fn incomplete(o: Output, what: &str) -> Output {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("vbench: 1 requested measurement produced no result: "))
        .unwrap_or_else(|| panic!("no summary line:\n{err}"));
    assert!(line.contains(what), "{line}");
    o
}

/// Random x3d_xs weights written by PyTorchVideo, once per test binary.
fn weights() -> &'static Path {
    static W: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = W.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let job = serde_json::json!([{
            "name": "x3d_xs", "arch": "x3d_xs", "num_classes": 400, "activation": "softmax",
            "weights_only": true,
        }]);
        let jobs = dir.path().join("jobs.json");
        std::fs::write(&jobs, job.to_string()).unwrap();
        let status = Command::new(repo().join(".venv/bin/python"))
            .arg(repo().join("tests/oracles/infer_pytorchvideo.py"))
            .arg(dir.path())
            .arg(&jobs)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "the weights oracle failed");
        let path = dir.path().join("x3d_xs.pyth");
        (dir, path)
    });
    path
}

/// `root/videos/{a.mp4, b.avi}` (real clips) and `root/test.csv`: a, b, a missing file, and a
/// label out of range for 400 classes.
fn dataset(root: &Path, labels: [i64; 2]) {
    let videos = root.join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    for (link, real) in [("a.mp4", "k400_demo.mp4"), ("b.avi", "short.avi")] {
        let _ = std::fs::remove_file(videos.join(link));
        std::os::unix::fs::symlink(shared_video(real), videos.join(link)).unwrap();
    }
    let csv = format!(
        "videos/a.mp4 {}\nvideos/missing.mp4 3\nvideos/b.avi {}\nvideos/a.mp4 400\n",
        labels[0], labels[1]
    );
    std::fs::write(root.join("test.csv"), csv).unwrap();
}

fn run_args<'a>(data: &'a str, out: &'a str, w: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        "--suite",
        "k400",
        "--entry",
        "x3d_xs",
        "--data-root",
        data,
        "--weights",
        w,
        "--out",
        out,
        "--no-latency",
    ]
}

fn results(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap()
}

fn accuracy(out: &Path) -> Value {
    results(out)["entries"][0]["accuracy"].clone()
}

/// Records by list index (a resumed file has them in another order, and dropped lines).
fn records(path: &Path) -> std::collections::BTreeMap<u64, Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|r| (r["index"].as_u64().unwrap(), r))
        .collect()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// In the top k (ties broken towards the lower index, as vbench's metrics do).
fn in_top(scores: &[f32], label: usize, k: usize) -> bool {
    let s = scores[label];
    let ahead = scores
        .iter()
        .enumerate()
        .filter(|&(i, &v)| v > s || (v == s && i < label))
        .count();
    ahead < k
}

fn without_timing(mut a: Value) -> Value {
    a["value"]["details"]["timing"] = Value::Null;
    a
}

#[test]
fn run_resumes_after_kill_with_identical_metrics() {
    let w = weights().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // Labels the random model gets right at top-1 (a) and only within top-5 (b), from one view.
    let probe = ok(vbench(&[
        "infer",
        "--entry",
        "k400/x3d_xs",
        "--weights",
        &w,
        shared_video("k400_demo.mp4").to_str().unwrap(),
        "--views",
        "1x1",
        "--format",
        "json",
    ]));
    let probe: Value = serde_json::from_slice(&probe.stdout).unwrap();
    let top: Vec<i64> = probe["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["class"].as_i64().unwrap())
        .collect();
    dataset(&data, [top[0], top[2]]);
    let d = data.to_str().unwrap();

    // Uninterrupted.
    let full = dir.path().join("full");
    let f = full.to_str().unwrap();
    ok(vbench(&run_args(d, f, &w)));
    let want = accuracy(&full);
    assert_eq!(want["status"], "measured", "{want}");

    // Killed once a video is stored, a torn line appended, resumed.
    let resumed = dir.path().join("resumed");
    let r = resumed.to_str().unwrap();
    let predictions = resumed.join("predictions/x3d_xs.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vbench"))
        .args(run_args(d, r, &w))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Poll until the first video is stored; a watchdog on the poll count, not a timing check.
    let mut polls = 0u32;
    loop {
        let text = std::fs::read_to_string(&predictions).unwrap_or_default();
        if text.contains("\"status\":\"ok\"") {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before a video was stored"
        );
        polls += 1;
        assert!(polls < 30_000, "no video stored after {polls} polls");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = records(&predictions);
    let scored = partial.values().filter(|r| r["status"] == "ok").count();
    assert_eq!(scored, 1, "killed after the first video: {partial:?}");
    assert!(!resumed.join("results.json").exists() || accuracy(&resumed).is_null());
    let last = std::fs::read_to_string(full.join("predictions/x3d_xs.jsonl")).unwrap();
    let last = last.lines().last().unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&predictions)
        .unwrap();
    std::io::Write::write_all(&mut file, &last.as_bytes()[..last.len() / 2]).unwrap();
    drop(file);
    let o = ok(vbench(&run_args(d, r, &w)));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("1 of 4 videos already scored"), "{log}");
    // The killed run's lock was left behind; its process is gone, so the resume took it over.
    assert!(
        log.contains("took over the lock of vbench pid") && !resumed.join("vbench.lock").exists(),
        "{log}"
    );

    // Same predictions, same metrics.
    let a = records(&full.join("predictions/x3d_xs.jsonl"));
    let b = records(&predictions);
    assert_eq!(a, b, "the resumed run stored other predictions");
    assert_eq!(
        without_timing(accuracy(&resumed)),
        without_timing(want.clone())
    );

    // The failures, with their reasons.
    let v = &want["value"];
    assert_eq!(
        (v["videos"].as_u64(), v["failed_videos"].as_u64()),
        (Some(2), Some(2))
    );
    let failures = v["details"]["failures"].as_array().unwrap();
    let kinds: Vec<&str> = failures
        .iter()
        .map(|g| g["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["label_out_of_range", "missing"]);
    assert!(failures[1]["examples"][0]
        .as_str()
        .unwrap()
        .starts_with("videos/missing.mp4: "));

    // Wiring: recompute video-level (sum of views) and clip-level top-k from the stored views.
    let (mut video, mut clip, mut views) = ([0usize; 2], [0usize; 2], 0usize);
    for rec in a.values().filter(|r| r["status"] == "ok") {
        let label = rec["label"].as_u64().unwrap() as usize;
        let mut sum: Option<Vec<f32>> = None;
        for view in rec["views"].as_array().unwrap() {
            let s = f32s(&view["scores"]);
            views += 1;
            clip[0] += in_top(&s, label, 1) as usize;
            clip[1] += in_top(&s, label, 5) as usize;
            sum = Some(match sum {
                None => s,
                Some(acc) => acc.iter().zip(&s).map(|(x, y)| x + y).collect(),
            });
        }
        let sum = sum.unwrap();
        assert_eq!(
            sum,
            f32s(&rec["scores"]),
            "stored scores are the sum of the views"
        );
        video[0] += in_top(&sum, label, 1) as usize;
        video[1] += in_top(&sum, label, 5) as usize;
    }
    assert_eq!(views, 60);
    let pct = |n: usize, d: usize| Some(n as f64 / d as f64 * 100.0);
    assert_eq!(v["top1"].as_f64(), pct(video[0], 2));
    assert_eq!(v["top5"].as_f64(), pct(video[1], 2));
    assert_eq!(v["clip_top1"].as_f64(), pct(clip[0], 60));
    assert_eq!(v["clip_top5"].as_f64(), pct(clip[1], 60));
    assert!(
        video[0] >= 1 && video[1] == 2,
        "labels chosen to hit: {video:?}"
    );

    // `vbench score` recomputes the same numbers offline.
    let o = ok(vbench(&[
        "score",
        "--predictions",
        predictions.to_str().unwrap(),
        "--entry",
        "k400/x3d_xs",
        "--format",
        "json",
    ]));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in [
        "videos",
        "failed_videos",
        "top1",
        "top5",
        "clip_top1",
        "clip_top5",
        "top1_ci95",
    ] {
        assert_eq!(s["accuracy"][k], v[k], "{k}");
    }
    assert_eq!(s["not_reached"], 0);

    // Another dataset list: the predictions file refuses to resume.
    std::fs::remove_file(resumed.join("results.json")).unwrap();
    dataset(&data, [top[1], top[2]]);
    incomplete(vbench(&run_args(d, r, &w)), "k400/x3d_xs accuracy (");
    let refused = accuracy(&resumed);
    assert_eq!(refused["status"], "failed");
    let e = refused["error"].as_str().unwrap();
    assert!(e.contains("dataset list") && e.contains("--fresh"), "{e}");
}

/// `run --entry x3d_xs --no-latency --out OUT --data-root D` plus `extra`.
fn run_with(d: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        "--suite",
        "k400",
        "--entry",
        "x3d_xs",
        "--data-root",
        d,
        "--out",
        out.to_str().unwrap(),
        "--no-latency",
    ];
    args.extend_from_slice(extra);
    vbench(&args)
}

#[test]
fn requested_accuracy_without_result_exits_3_and_without_data_root_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data, [0, 1]);
    let d = data.to_str().unwrap();
    let empty = dir.path().join("cache");
    std::fs::create_dir_all(&empty).unwrap();
    let empty = empty.to_str().unwrap();

    // A data root but no checkpoint: requested and impossible.
    let out = dir.path().join("missing");
    incomplete(
        run_with(d, &out, &["--weights-dir", empty]),
        "k400/x3d_xs accuracy (checkpoint X3D_XS.pyth is not in the weights folder",
    );
    let a = accuracy(&out);
    assert_eq!(a["status"], "failed");
    let e = a["error"].as_str().unwrap();
    assert!(
        e.contains("X3D_XS.pyth") && e.contains("vbench fetch --suite k400 --entry x3d_xs"),
        "{e}"
    );

    // No data root: accuracy was not asked for.
    let out = dir.path().join("nodata");
    ok(vbench(&[
        "run",
        "--suite",
        "k400",
        "--entry",
        "x3d_xs",
        "--weights-dir",
        empty,
        "--out",
        out.to_str().unwrap(),
        "--no-latency",
    ]));
    assert_eq!(accuracy(&out)["status"], "skipped");

    // A checkpoint of another architecture.
    let out = dir.path().join("wrong");
    let w = weights().to_str().unwrap();
    let mut args = run_args(d, out.to_str().unwrap(), w);
    args[4] = "slow_r50";
    incomplete(vbench(&args), "k400/slow_r50 accuracy (");
    let a = accuracy(&out);
    assert_eq!(a["status"], "failed");
    let e = a["error"].as_str().unwrap();
    assert!(
        e.contains("k400/slow_r50") && e.contains("does not fit"),
        "{e}"
    );
    // FLOPs and params are still measured.
    assert_eq!(results(&out)["entries"][0]["params"]["status"], "measured");

    // A malformed label line: the summary names the list and the line.
    let bad = dir.path().join("bad");
    dataset(&bad, [0, 1]);
    let csv = std::fs::read_to_string(bad.join("test.csv")).unwrap();
    std::fs::write(bad.join("test.csv"), csv + "videos/a.mp4 abc\n").unwrap();
    let out = dir.path().join("malformed");
    incomplete(
        run_with(bad.to_str().unwrap(), &out, &["--weights", w]),
        "test.csv:5: `abc` is not an integer label",
    );

    // Not one video scored: every listed video is missing.
    let none = dir.path().join("none");
    std::fs::create_dir_all(&none).unwrap();
    std::fs::write(none.join("test.csv"), "videos/x.mp4 1\nvideos/y.mp4 2\n").unwrap();
    let out = dir.path().join("none-scored");
    incomplete(
        run_with(none.to_str().unwrap(), &out, &["--weights", w]),
        "no video could be scored: all 2 failed: 2 missing",
    );
}

#[test]
fn a_checkpoint_copied_into_the_weights_folder_is_imported_then_verified() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data, [0, 1]);
    let d = data.to_str().unwrap();
    let folder = dir.path().join("weights");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(weights(), folder.join("X3D_XS.pyth")).unwrap();
    let f = folder.to_str().unwrap();

    let out = dir.path().join("first");
    let o = ok(run_with(d, &out, &["--weights-dir", f]));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        log.contains("X3D_XS.pyth: imported, not downloaded")
            && log.contains("nothing offline can prove it is the official file"),
        "{log}"
    );
    assert_eq!(accuracy(&out)["status"], "measured");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    let rec = &manifest["X3D_XS.pyth"];
    assert_eq!(rec["imported"], true);
    assert_eq!(
        rec["sha256"].as_str().unwrap(),
        vbench_eval::weights::sha256_file(weights()).unwrap()
    );
    assert_eq!(
        results(&out)["entries"][0]["accuracy"]["value"]["details"]["weights_sha256"],
        rec["sha256"]
    );

    // A later run re-verifies it like any cached file: no new import, and a changed file fails.
    let out = dir.path().join("second");
    let o = ok(run_with(d, &out, &["--weights-dir", f]));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("imported"));
    let mut bytes = std::fs::read(folder.join("X3D_XS.pyth")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(folder.join("X3D_XS.pyth"), bytes).unwrap();
    let out = dir.path().join("changed");
    incomplete(
        run_with(d, &out, &["--weights-dir", f]),
        "X3D_XS.pyth: sha256 ",
    );
    let e = accuracy(&out)["error"].as_str().unwrap().to_string();
    assert!(e.contains("does not match the recorded"), "{e}");

    // A folder whose manifest cannot be written: the record goes into the run's folder (here a
    // directory sits where the manifest's temporary file goes; root ignores read-only modes).
    let ro = dir.path().join("readonly");
    std::fs::create_dir_all(ro.join(".manifest.json.tmp")).unwrap();
    std::fs::copy(weights(), ro.join("X3D_XS.pyth")).unwrap();
    let out = dir.path().join("fallback");
    let o = ok(run_with(d, &out, &["--weights-dir", ro.to_str().unwrap()]));
    let log = String::from_utf8_lossy(&o.stderr);
    let run_manifest = out.join("weights-manifest.json");
    assert!(
        log.contains(&format!("recorded in {}", run_manifest.display())),
        "{log}"
    );
    assert!(!ro.join("manifest.json").exists());
    let m: Value = serde_json::from_slice(&std::fs::read(&run_manifest).unwrap()).unwrap();
    assert_eq!(m.as_object().unwrap().len(), 1);
    // Resuming into that folder re-verifies against the run's record.
    let o = ok(run_with(
        d,
        &out,
        &["--weights-dir", ro.to_str().unwrap(), "--fresh"],
    ));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("imported"));
}
