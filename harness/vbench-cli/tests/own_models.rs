//! Your own model under a zoo entry's exact protocol. torchvision's video models are the stranger
//! models: random weights, every BatchNorm randomised, exported with `torch.jit.trace` at their
//! protocol's view (`tests/oracles/own_models.py`). A suite names each as
//! `model = { torchscript = ... }` with `protocol_from` (views cut where the suite's time needs it;
//! mvit_v2_s runs its protocol's full 1×5 views), and `vbench run --data-root` scores a small
//! Kinetics-format tree of real videos built here from `../shared/data`. The checks:
//! - per-video scores equal PyTorchVideo's test transform + the Python module + softmax + sum
//!   within max|Δ| ≤ 1e-4 · max|reference|;
//! - params are exact and FLOPs equal fvcore's count of the Python module, under fvcore-2021
//!   (fvcore on a `train()` model) and conv-linear (multiply-add ops of the `eval()` count), and
//!   fvcore-eval (the `eval()` count);
//! - X3D-S with 101 classes and weights written by PyTorchVideo (`model = "x3d_s"`, `checkpoint` a
//!   path) passes the same reference check.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
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

/// A stranger model, the zoo entry whose protocol it takes, and the views it runs.
struct Job {
    name: &'static str,
    torchvision: &'static str,
    protocol_from: &'static str,
    /// (temporal clips, spatial crops); `None`: the protocol's own.
    views: Option<(u32, u32)>,
}

/// The zoo entry's protocol, as `vbench list` prints it.
fn zoo_protocol(id: &str) -> Value {
    let o = ok(vbench(&["list", "--format", "json"]));
    let all: Value = serde_json::from_slice(&o.stdout).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in vbench list"))["protocol"]
        .clone()
}

/// The oracle job: the protocol's keys as infer_pytorchvideo.py takes them.
fn oracle_job(job: &Job, videos: &[PathBuf]) -> Value {
    let p = zoo_protocol(job.protocol_from);
    let (clips, crops) = job.views.unwrap_or((
        p["temporal_clips"].as_u64().unwrap() as u32,
        p["spatial_crops"].as_u64().unwrap() as u32,
    ));
    json!({
        "name": job.name, "torchvision": job.torchvision, "num_classes": p["num_classes"],
        "activation": "softmax", "frames": p["frames"], "sample_rate": p["sample_rate"],
        "alpha": p["alpha"], "short_side": p["short_side"], "crop": p["crop"],
        "clips": clips, "crops": crops, "target_fps": p["target_fps"], "bgr": false,
        "aggregation": "sum", "videos": videos, "flops": true,
    })
}

fn run_oracle(dir: &Path, jobs: &[Value]) {
    let file = dir.join("jobs.json");
    std::fs::write(&file, Value::Array(jobs.to_vec()).to_string()).unwrap();
    let status = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tests/oracles/own_models.py"))
        .arg(dir)
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("the venv's python runs (ci/setup.sh)");
    assert!(status.success(), "own_models.py failed");
}

/// `root/videos/<name>` links to the real clips and `root/test.csv` lists them.
fn kinetics_tree(root: &Path, videos: &[(&str, &str, u32)]) -> Vec<PathBuf> {
    std::fs::create_dir_all(root.join("videos")).unwrap();
    let mut csv = String::new();
    let mut paths = Vec::new();
    for (link, real, label) in videos {
        let path = root.join("videos").join(link);
        std::os::unix::fs::symlink(shared_video(real), &path).unwrap();
        csv.push_str(&format!("videos/{link} {label}\n"));
        paths.push(path);
    }
    std::fs::write(root.join("test.csv"), csv).unwrap();
    paths
}

fn suite(dir: &Path, jobs: &[Job]) -> PathBuf {
    let mut text = String::from(
        "[suite]\nname = \"mine\"\ntitle = \"Stranger models\"\ndataset = \"kinetics400\"\n",
    );
    for j in jobs {
        text.push_str(&format!(
            "\n[[entry]]\nname = \"{}\"\nmodel = {{ torchscript = \"{}.pt\" }}\nprotocol_from = \"{}\"\n",
            j.name, j.name, j.protocol_from
        ));
        if let Some((t, s)) = j.views {
            text.push_str(&format!(
                "protocol = {{ temporal_clips = {t}, spatial_crops = {s} }}\n"
            ));
        }
    }
    let path = dir.join("mine.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Predictions by video id (`videos/<name>`).
fn predictions(file: &Path) -> BTreeMap<String, Value> {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect()
}

/// Per-video scores of every job within 1e-4 of the reference's largest magnitude; returns the
/// worst relative error per job. Videos are `videos/<name>` of a Kinetics tree.
fn check_scores(out: &Path, oracle: &Path, jobs: &[&str]) -> Vec<(String, f64)> {
    let id = |video: &Path| format!("videos/{}", video.file_name().unwrap().to_string_lossy());
    check_scores_by(out, oracle, jobs, &id)
}

/// [`check_scores`] with the dataset's id of each video path.
fn check_scores_by(
    out: &Path,
    oracle: &Path,
    jobs: &[&str],
    id_of: &dyn Fn(&Path) -> String,
) -> Vec<(String, f64)> {
    let mut worst = Vec::new();
    for name in jobs {
        let reference: Value =
            serde_json::from_slice(&std::fs::read(oracle.join(format!("{name}.json"))).unwrap())
                .unwrap();
        let got = predictions(&out.join(format!("predictions/{name}.jsonl")));
        let mut rel = 0f64;
        for video in reference["videos"].as_array().unwrap() {
            let id = id_of(Path::new(video["video"].as_str().unwrap()));
            let rec = got
                .get(&id)
                .unwrap_or_else(|| panic!("{name}: no prediction for {id}"));
            assert_eq!(rec["status"], "ok", "{name} {id}: {rec}");
            let (want, have) = (floats(&video["scores"]), floats(&rec["scores"]));
            assert_eq!(want.len(), have.len(), "{name} {id}");
            assert_eq!(
                rec["views"].as_array().unwrap().len(),
                video["views"].as_array().unwrap().len(),
                "{name} {id}: views"
            );
            let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
            let diff = want
                .iter()
                .zip(&have)
                .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                diff <= 1e-4 * scale,
                "{name} {id}: max|Δ| {diff:e} > 1e-4 × {scale:e}"
            );
            rel = rel.max(diff / scale);
        }
        worst.push((name.to_string(), rel));
    }
    eprintln!("max|Δ|/max|reference| per model: {worst:?}");
    worst
}

/// Params exact, FLOPs equal fvcore's count of the Python module under every convention, as the
/// run recorded them in `out/results.json`.
fn check_stats(out: &Path, oracle: &Path, jobs: &[&str]) {
    let results: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    for name in jobs {
        let reference: Value =
            serde_json::from_slice(&std::fs::read(oracle.join(format!("{name}.json"))).unwrap())
                .unwrap();
        let entry = results["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == format!("mine/{name}"))
            .unwrap_or_else(|| panic!("no mine/{name} in {results}"));
        let row = json!({
            "params": entry["params"]["value"],
            "flops": entry["flops"]["value"],
        });
        assert_eq!(row["params"]["count"], reference["params"], "{name} params");
        let sum = |mode: &str, only: Option<&[&str]>| -> u64 {
            reference["flops"][mode]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(op, _)| only.is_none_or(|o| o.contains(&op.as_str())))
                .map(|(_, v)| v.as_u64().unwrap())
                .sum()
        };
        let mul_add: &[&str] = &["conv", "linear", "addmm", "matmul", "mm", "bmm", "einsum"];
        let want = [
            ("fvcore-2021", sum("train", None)),
            ("conv-linear", sum("eval", Some(mul_add))),
            ("fvcore-eval", sum("eval", None)),
        ];
        for (convention, flops) in want {
            let got = row["flops"]["conventions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["convention"] == convention)
                .unwrap_or_else(|| panic!("{name}: no {convention}"));
            assert_eq!(got["flops"].as_u64(), Some(flops), "{name} {convention}");
        }
    }
}

#[test]
fn stranger_models_match_the_python_reference_params_and_fvcore() {
    let jobs = [
        Job {
            name: "r3d_18",
            torchvision: "r3d_18",
            protocol_from: "k400/x3d_xs",
            views: Some((1, 1)),
        },
        Job {
            name: "r2plus1d_18",
            torchvision: "r2plus1d_18",
            protocol_from: "k400/x3d_xs",
            views: Some((2, 1)),
        },
        Job {
            name: "s3d",
            torchvision: "s3d",
            protocol_from: "k400/x3d_m",
            views: Some((1, 1)),
        },
        // The protocol's full views (1 clip × 5 crops).
        Job {
            name: "mvit_v2_s",
            torchvision: "mvit_v2_s",
            protocol_from: "k400/mvit_base_16x4",
            views: None,
        },
        Job {
            name: "swin3d_t",
            torchvision: "swin3d_t",
            protocol_from: "k400/mvit_base_16x4",
            views: Some((1, 1)),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let videos = kinetics_tree(&dir.path().join("data"), &[("a.mp4", "k400_demo.mp4", 6)]);
    let oracle_jobs: Vec<Value> = jobs.iter().map(|j| oracle_job(j, &videos)).collect();
    run_oracle(dir.path(), &oracle_jobs);
    let s = suite(dir.path(), &jobs);
    let out = dir.path().join("out");
    ok(vbench(&[
        "run",
        "--suite",
        s.to_str().unwrap(),
        "--data-root",
        dir.path().join("data").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-latency",
    ]));
    let full = zoo_protocol("k400/mvit_base_16x4");
    let views = full["temporal_clips"].as_u64().unwrap() * full["spatial_crops"].as_u64().unwrap();
    let rec = &predictions(&out.join("predictions/mvit_v2_s.jsonl"))["videos/a.mp4"];
    assert_eq!(rec["views"].as_array().unwrap().len() as u64, views);
    let names: Vec<&str> = jobs.iter().map(|j| j.name).collect();
    check_scores(&out, dir.path(), &names);
    check_stats(&out, dir.path(), &names);
}

/// `root/ucfTrainTestlist` (classInd.txt, testlist01.txt) and `root/UCF-101/<class>/<video>`
/// linked to real clips: a UCF101-format tree of 101 classes whose fold 1 lists `videos`
/// (class index, list path, shared clip). Returns the video paths.
fn ucf101_tree(root: &Path, videos: &[(u32, &str, &str)]) -> Vec<PathBuf> {
    let lists = root.join("ucfTrainTestlist");
    std::fs::create_dir_all(&lists).unwrap();
    let class = |i: u32| format!("Class{i:03}");
    let ind: String = (1..=101).map(|i| format!("{i} {}\r\n", class(i))).collect();
    std::fs::write(lists.join("classInd.txt"), ind).unwrap();
    let mut list = String::new();
    let mut paths = Vec::new();
    for (i, name, real) in videos {
        let rel = format!("{}/{name}", class(*i));
        let path = root.join("UCF-101").join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(shared_video(real), &path).unwrap();
        list.push_str(&format!("{rel}\r\n"));
        paths.push(path);
    }
    std::fs::write(lists.join("testlist01.txt"), list).unwrap();
    paths
}

#[test]
fn fine_tuned_x3d_s_with_101_classes_on_ucf101_matches_pytorchvideo() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ucf");
    let videos = ucf101_tree(
        &root,
        &[
            (3, "v_Class003_g01_c01.avi", "k400_demo.mp4"),
            (101, "v_Class101_g01_c02.avi", "mobile_demo_1.mp4"),
        ],
    );
    let job = Job {
        name: "x3d_s_ucf",
        torchvision: "",
        protocol_from: "k400/x3d_s",
        views: Some((2, 1)),
    };
    let mut oracle = oracle_job(&job, &videos);
    let o = oracle.as_object_mut().unwrap();
    o.remove("torchvision");
    o.insert("pytorchvideo".into(), json!("x3d_s"));
    o.insert("num_classes".into(), json!(101));
    o.insert("flops".into(), json!(false));
    run_oracle(dir.path(), &[oracle]);
    // Five lines of TOML: a zoo architecture, one's own weights, the zoo entry's protocol.
    let suite = dir.path().join("ft.toml");
    std::fs::write(
        &suite,
        "[suite]\nname = \"ft\"\ntitle = \"Fine-tuned\"\ndataset = \"ucf101\"\nsplit = 1\n\n\
         [[entry]]\nname = \"x3d_s_ucf\"\nmodel = \"x3d_s\"\ncheckpoint = \"x3d_s_ucf.pyth\"\n\
         protocol_from = \"k400/x3d_s\"\n\
         protocol = { num_classes = 101, temporal_clips = 2, spatial_crops = 1 }\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    ok(vbench(&[
        "run",
        "--suite",
        suite.to_str().unwrap(),
        "--data-root",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-latency",
    ]));
    let videos_dir = root.join("UCF-101");
    let id = |v: &Path| {
        v.strip_prefix(&videos_dir)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    check_scores_by(&out, dir.path(), &["x3d_s_ucf"], &id);
    let results: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let entry = &results["entries"][0];
    let reference: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("x3d_s_ucf.json")).unwrap()).unwrap();
    assert_eq!(entry["params"]["value"]["count"], reference["params"]);
    assert_eq!(entry["protocol_from"], "k400/x3d_s", "{entry}");

    // Strict loading stays: the same weights under 100 classes name the key and both shapes.
    std::fs::write(
        &suite,
        std::fs::read_to_string(&suite)
            .unwrap()
            .replace("num_classes = 101", "num_classes = 100"),
    )
    .unwrap();
    let o = vbench(&[
        "infer",
        "--suite",
        suite.to_str().unwrap(),
        "--entry",
        "x3d_s_ucf",
        videos[0].to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in ["x3d_s_ucf.pyth", "proj.weight", "101", "100"] {
        assert!(err.contains(needle), "names `{needle}`: {err}");
    }
}
