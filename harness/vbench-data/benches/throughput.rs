//! Data-loading throughput, vbench against PyTorchVideo, in one run: decode + clip sampling +
//! the Ptvkinetics test transform only (no model), on the real clips in `../shared/data/videos`,
//! with X3D-M's views (16×5, 10 clips × 3 crops, short side 256, crop 256).
//!
//! `cargo bench -p vbench-data --bench throughput` (`VBENCH_SHARED` overrides `../shared`;
//! `VBENCH_BENCH_ROUNDS`, default 3). For 1 and 2 workers it alternates rounds of
//! [`ViewLoader`] (`workers` decoder threads, one libtorch thread each) and of PyTorchVideo's
//! `LabeledVideoDataset` (`tests/oracles/throughput.py`: iterated directly for 1 worker, through
//! a `DataLoader` with 2 worker processes for 2), so both see the same machine; the 1-minute load
//! average is printed before and after every round. Reports views ("clips") per second, the
//! median over rounds, and the ratio.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use vbench_data::{LoaderOptions, ViewLoader};
use vbench_suite::{
    Activation, Aggregation, ChannelOrder, Dataset, Normalization, Protocol, Sampler,
};

fn shared() -> PathBuf {
    std::env::var_os("VBENCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn x3d_m() -> Protocol {
    Protocol {
        frames: 16,
        sample_rate: 5,
        alpha: None,
        short_side: 256,
        crop: 256,
        spatial_crops: 3,
        temporal_clips: 10,
        target_fps: 30,
        num_classes: 400,
        channels: ChannelOrder::Rgb,
        normalization: Normalization::Kinetics,
        head_activation: Activation::Softmax,
        aggregation: Aggregation::Sum,
        sampler: Sampler::ConstantClipsPerVideo,
        person_score_threshold: None,
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// One pass of vbench's loader over every video: (views, seconds).
fn vbench_round(videos: &[PathBuf], p: &Protocol, workers: usize) -> (usize, f64) {
    let jobs = videos
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let s = vbench_data::datasets::Sample {
                id: v.display().to_string(),
                labels: vbench_data::datasets::Labels::Single(0),
                source: vbench_data::datasets::Source::Video(v.clone()),
            };
            (i, s)
        })
        .collect();
    let clock = Instant::now();
    let opts = LoaderOptions {
        workers,
        capacity: 2 * workers,
        intra_op_threads: Some(1),
        decode_threads: Some(1),
    };
    let mut views = 0;
    for item in ViewLoader::spawn(jobs, Dataset::Kinetics400, p.clone(), opts) {
        let v = item.views.unwrap_or_else(|e| panic!("{}: {e}", item.id));
        assert!(v.iter().all(|x| x.pathways[0].size()[3] == p.crop as i64));
        views += v.len();
    }
    (views, clock.elapsed().as_secs_f64())
}

/// One pass of PyTorchVideo's loader (a fresh Python process; imports are not timed).
fn ptv_round(videos: &[PathBuf], p: &Protocol, workers: usize, spec_dir: &Path) -> (usize, f64) {
    let spec = serde_json::json!({
        "videos": videos, "frames": p.frames, "sample_rate": p.sample_rate,
        "short_side": p.short_side, "crop": p.crop, "clips": p.temporal_clips,
        "crops": p.spatial_crops, "workers": if workers > 1 { workers } else { 0 },
    });
    let path = spec_dir.join("throughput.json");
    std::fs::write(&path, spec.to_string()).expect("write the spec");
    let out = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tests/oracles/throughput.py"))
        .arg(&path)
        .output()
        .expect("run the venv's python (ci/setup.sh)");
    assert!(
        out.status.success(),
        "throughput.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(out.stdout.trim_ascii()).expect("throughput.py's JSON line");
    (
        v["views"].as_u64().unwrap_or(0) as usize,
        v["seconds"].as_f64().unwrap_or(f64::NAN),
    )
}

fn median(mut x: Vec<f64>) -> f64 {
    x.sort_by(f64::total_cmp);
    x[x.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; a plain `cargo test --benches` run passes nothing: skip it.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = shared().join("data/videos");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "throughput bench: {} not found (set VBENCH_SHARED)",
            dir.display()
        );
        return;
    };
    let mut videos: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    videos.sort();
    let rounds: usize = std::env::var("VBENCH_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let p = x3d_m();
    let tmp = std::env::temp_dir().join(format!("vbench-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    println!(
        "{} videos, X3D-M views (16x5, 10 clips x 3 crops, 256 px), {rounds} rounds, {} cores",
        videos.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<8} {:<13} {:>6} {:>8} {:>9}   load before / after",
        "workers", "loader", "views", "s", "views/s"
    );
    let mut summary = Vec::new();
    for workers in [1, 2] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            for side in ["vbench", "pytorchvideo"] {
                let before = load();
                let (views, s) = if side == "vbench" {
                    vbench_round(&videos, &p, workers)
                } else {
                    ptv_round(&videos, &p, workers, &tmp)
                };
                let rate = views as f64 / s;
                println!(
                    "{workers:<8} {side:<13} {views:>6} {s:>8.2} {rate:>9.2}   {before} / {}",
                    load()
                );
                if side == "vbench" {
                    ours.push(rate);
                } else {
                    theirs.push(rate);
                }
            }
        }
        summary.push((workers, median(ours), median(theirs)));
    }
    println!("\nmedian views/s   vbench   PyTorchVideo   ratio");
    for (w, a, b) in summary {
        println!("{w} worker(s)      {a:>7.2}   {b:>12.2}   {:>5.2}x", a / b);
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
