//! Shard-run fixtures: a small Kinetics-style dataset of the real videos in `../shared/data`,
//! random x3d_xs weights, and comparisons of runs (metrics and per-video predictions).

use crate::{s, shared_videos, text, vbench};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const ENTRY: &str = "x3d_xs";

/// A data root with `test.csv` (`path label`, PyTorchVideo's Kinetics csv) listing `n` videos:
/// symlinks to the real videos (cycled, under distinct names), plus one listed file that does not
/// exist, so that failed records are merged too.
pub fn make_dataset(root: &Path, n: usize) -> PathBuf {
    let videos: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(shared_videos())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "mp4" || x == "avi"))
            .collect();
        v.sort();
        v
    };
    let data = root.join("data");
    std::fs::create_dir_all(data.join("videos")).unwrap();
    let mut csv = String::new();
    for i in 0..n {
        let src = &videos[i % videos.len()];
        let ext = src.extension().unwrap().to_str().unwrap();
        let name = format!("videos/v{i:02}.{ext}");
        std::os::unix::fs::symlink(std::fs::canonicalize(src).unwrap(), data.join(&name)).unwrap();
        csv.push_str(&format!("{name} {}\n", (i * 37) % 400));
        if i == 2 {
            csv.push_str("videos/not_there.mp4 7\n");
        }
    }
    std::fs::write(data.join("test.csv"), csv).unwrap();
    data
}

/// The built-in k400 suite with 3 temporal clips instead of 10 (3 × 3 views a video): the same
/// code path at a third of the CPU time. Entry ids stay `k400/...`.
pub fn make_suite(root: &Path) -> PathBuf {
    let builtin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../suites/k400.toml");
    let text = std::fs::read_to_string(&builtin).unwrap();
    assert!(
        text.contains("\ntemporal_clips = 10\n"),
        "{}",
        builtin.display()
    );
    let dir = root.join("suite");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("k400.toml");
    std::fs::write(
        &path,
        text.replace("\ntemporal_clips = 10\n", "\ntemporal_clips = 3\n"),
    )
    .unwrap();
    // The suite is checked against its reference table's views: a local copy that agrees.
    let table = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../reference-results/k400.csv");
    let csv = std::fs::read_to_string(&table).unwrap();
    std::fs::write(dir.join("k400.csv"), csv.replace(",3,10,", ",3,3,")).unwrap();
    path
}

/// x3d_xs with its own init and randomised BatchNorm (the zoo zero-inits the last BN of every
/// residual branch, which would make the blocks no-ops), saved as safetensors.
pub fn make_weights(dir: &Path) -> PathBuf {
    tch::manual_seed(10);
    let plan = vbench_suite::load_suite("k400").unwrap();
    let entry = plan.entries.iter().find(|e| e.name == ENTRY).unwrap();
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let _model = vbench_models::build(
        entry.arch().unwrap(),
        entry.protocol.num_classes as i64,
        entry.protocol.head_activation,
        &vs.root(),
    )
    .unwrap();
    tch::no_grad(|| {
        for (name, mut v) in vs.variables() {
            let r = || v.rand_like();
            let new = if name.ends_with("running_var") || name.ends_with("bn.weight") {
                r() + 0.5
            } else if name.ends_with("running_mean") || name.ends_with("bn.bias") {
                (r() - 0.5) * 0.2
            } else {
                continue;
            };
            v.copy_(&new);
        }
    });
    let path = dir.join("x3d_xs_random.safetensors");
    vs.save(&path).unwrap();
    path
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The entry's accuracy measure without what legitimately differs between runs (timing).
pub fn metrics(results: &Path) -> Value {
    let r = read_json(results);
    let entry = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == ENTRY)
        .unwrap_or_else(|| panic!("{}: no {ENTRY}", results.display()));
    let mut acc = entry["accuracy"].clone();
    assert_eq!(acc["status"], "measured", "{}: {acc}", results.display());
    if let Some(v) = acc.get_mut("value").and_then(Value::as_object_mut) {
        if let Some(d) = v.get_mut("details").and_then(Value::as_object_mut) {
            d.remove("timing");
        }
    }
    acc
}

/// The predictions file's latest record per list position, as parsed JSON (f32 scores parse back
/// to the same bits, so equal values are equal bits), and its header.
pub fn records(dir: &Path) -> (Value, BTreeMap<u64, Value>) {
    let p = dir.join("predictions").join(format!("{ENTRY}.jsonl"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for l in lines {
        let v: Value = serde_json::from_str(l).unwrap();
        out.insert(v["index"].as_u64().unwrap(), v);
    }
    (header, out)
}

/// Asserts that `merged` holds the same numbers as `single`, bit for bit.
pub fn assert_same_run(single: &Path, merged: &Path) {
    assert_eq!(
        metrics(&single.join("results.json")),
        metrics(&merged.join("results.json")),
        "metrics differ between {} and {}",
        single.display(),
        merged.display()
    );
    let (h1, r1) = records(single);
    let (h2, r2) = records(merged);
    for key in ["protocol", "weights", "dataset", "entry", "num_classes"] {
        assert_eq!(h1[key], h2[key], "header {key}");
    }
    assert_eq!(r1.len(), r2.len());
    assert!(
        r1.values().any(|r| r["status"] == "failed"),
        "the missing video is on record"
    );
    assert!(r1.values().filter(|r| r["status"] == "ok").count() >= 2);
    for (k, a) in &r1 {
        assert_eq!(Some(a), r2.get(k), "record at list position {k}");
    }
}

/// Runs the single-process reference: the whole list, same options as the shards.
pub fn run_single(suite: &Path, data: &Path, weights: &Path, out: &Path) {
    let o = vbench(&[
        "run",
        "--suite",
        s(suite),
        "--entry",
        ENTRY,
        "--data-root",
        s(data),
        "--weights",
        s(weights),
        "--out",
        s(out),
        "--no-latency",
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", text(&o));
}
