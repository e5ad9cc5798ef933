//! SSv2 and Charades views from JPEG frame folders against PyTorchVideo's own `SSv2` and
//! `Charades` datasets (FrameVideo + OpenCV) under PySlowFast's `Ptvssv2` / `Ptvcharades` test
//! transforms (`tests/oracles/frames_ssv2_charades.py`).
//!
//! The frame folders are made here with the `ffmpeg` CLI from the real clips in
//! `../shared/data/videos` (4:2:0, 4:2:2, 4:4:4 and greyscale JPEGs, landscape and portrait), and
//! read through vbench's own SSv2 / Charades readers. With libjpeg-turbo (Debian's
//! libjpeg62-turbo-dev) vbench decodes exactly as OpenCV does, so the loaded frames and every view
//! must be bit-identical; a build on FFmpeg's mjpeg fallback only reports the difference.

use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use tch::{Kind, Tensor};
use vbench_data::datasets::{format_of, Charades, Ssv2};
use vbench_data::frames::JPEG_DECODER;
use vbench_data::{extract_sample_views, sample_frame_clips};
use vbench_suite::{
    Activation, Aggregation, ChannelOrder, Dataset, Normalization, Protocol, Sampler,
};
use vbench_testkit::{shared_dir, venv_python};

/// (folder name, source video, frames to extract, extra ffmpeg args).
const VIDEOS: [(&str, &str, u32, &[&str]); 4] = [
    ("k400_420", "k400_demo.mp4", 96, &["-pix_fmt", "yuvj420p"]),
    (
        "portrait_422",
        "mobile_demo_2.mp4",
        70,
        &["-pix_fmt", "yuvj422p"],
    ),
    ("avi_444", "short.avi", 60, &["-pix_fmt", "yuvj444p"]),
    ("gray", "mobile_demo_1.mp4", 45, &["-pix_fmt", "gray"]),
];

fn extract_frames(root: &Path) {
    let videos = shared_dir().join("data/videos");
    for (name, src, n, args) in VIDEOS {
        let dir = root.join("frames").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(videos.join(src))
            .args(["-frames:v", &n.to_string(), "-q:v", "3"])
            .args(args)
            .arg(dir.join("%06d.jpg"))
            .status()
            .expect("the ffmpeg CLI (ci/setup.sh installs it)");
        assert!(status.success(), "ffmpeg failed on {src}");
    }
}

/// The SSv2 and Charades annotation files over the extracted folders (PySlowFast's layout).
fn write_lists(root: &Path) {
    let mut rows = vec!["original_vido_id video_id frame_id path labels".to_string()];
    for (v, (name, _, n, _)) in VIDEOS.iter().enumerate() {
        for f in 1..=*n {
            let labels = format!("{},{}", v * 3 % 157, (f as usize / 20 + v) % 157);
            rows.push(format!("{name} {v} {f} frames/{name}/{f:06}.jpg {labels}"));
        }
    }
    std::fs::write(root.join("val.csv"), rows.join("\n") + "\n").unwrap();
    let templates = [
        "Pushing something",
        "Holding something",
        "Dropping something",
    ];
    let labels: serde_json::Map<_, _> = templates
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), json!(i.to_string())))
        .collect();
    std::fs::write(
        root.join("something-something-v2-labels.json"),
        serde_json::to_string(&labels).unwrap(),
    )
    .unwrap();
    // Split order differs from the frame list's, and one listed video has no frames.
    let split: Vec<_> = ["avi_444", "k400_420", "no_frames", "gray", "portrait_422"]
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"id": id, "template": format!("[{}]", templates[i % 3])}))
        .collect();
    std::fs::write(
        root.join("something-something-v2-validation.json"),
        serde_json::to_string(&split).unwrap(),
    )
    .unwrap();
}

fn protocol(frames: u32, rate: u32, alpha: Option<u32>, crop: u32, clips: u32) -> Protocol {
    Protocol {
        frames,
        sample_rate: rate,
        alpha,
        short_side: crop,
        crop,
        spatial_crops: 3,
        temporal_clips: clips,
        target_fps: 30,
        num_classes: 157,
        channels: ChannelOrder::Bgr,
        normalization: Normalization::Kinetics,
        head_activation: Activation::Sigmoid,
        aggregation: Aggregation::Max,
        sampler: Sampler::ConstantClipsPerVideo,
        person_score_threshold: None,
    }
}

struct Job {
    name: &'static str,
    dataset: Dataset,
    protocol: Protocol,
}

fn jobs() -> Vec<Job> {
    vec![
        Job {
            name: "ssv2_slow_8x8_256",
            dataset: Dataset::Ssv2,
            protocol: protocol(8, 8, None, 256, 1),
        },
        Job {
            name: "ssv2_slowfast_8x8_224",
            dataset: Dataset::Ssv2,
            protocol: protocol(8, 8, Some(4), 224, 1),
        },
        Job {
            name: "charades_slow_8x8_256",
            dataset: Dataset::Charades,
            protocol: protocol(8, 8, None, 256, 10),
        },
        Job {
            name: "charades_slowfast_8x8_224",
            dataset: Dataset::Charades,
            protocol: protocol(8, 8, Some(4), 224, 3),
        },
    ]
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double))
        .abs()
        .max()
        .double_value(&[])
}

#[test]
fn frame_folder_views_match_pytorchvideo() {
    // PyTorchVideo's FrameVideo needs OpenCV; say so plainly rather than fail inside the oracle.
    let cv2 = Command::new(venv_python())
        .args(["-c", "import cv2"])
        .status()
        .expect("run the oracle venv (ci/setup.sh)");
    assert!(
        cv2.success(),
        "the oracle venv lacks OpenCV: add opencv-python-headless to ci/requirements.txt"
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    extract_frames(&root);
    write_lists(&root);
    let out_dir = tmp.path().join("oracle");
    std::fs::create_dir(&out_dir).unwrap();
    let jobs = jobs();
    let spec: Vec<_> = jobs
        .iter()
        .map(|j| {
            let p = &j.protocol;
            let alpha = p.alpha.unwrap_or(1);
            json!({
                "name": j.name, "dataset": if j.dataset == Dataset::Ssv2 { "ssv2" } else { "charades" },
                "root": root, "num_frames": p.input_frames(), "sampling_rate": p.sample_rate / alpha,
                "alpha": p.alpha, "crop": p.crop, "clips": p.temporal_clips, "crops": p.spatial_crops,
            })
        })
        .collect();
    let spec_path = tmp.path().join("jobs.json");
    std::fs::write(&spec_path, serde_json::to_string(&spec).unwrap()).unwrap();
    let log_path = tmp.path().join("oracle.log");
    let mut child = Command::new(venv_python())
        .arg(vbench_testkit::repo_root().join("tests/oracles/frames_ssv2_charades.py"))
        .arg(&spec_path)
        .arg(&out_dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("run the oracle venv (ci/setup.sh)");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let ssv2 = Ssv2::new(
        &root.join("something-something-v2-labels.json"),
        &root.join("something-something-v2-validation.json"),
        &root.join("val.csv"),
        &root,
    )
    .unwrap();
    let charades = Charades::from_frame_list(&root.join("val.csv"), &root).unwrap();
    println!("JPEG decoder: {JPEG_DECODER}");
    println!(
        "{:<28} {:>6} {:>6} {:>12} {:>10}",
        "job", "videos", "views", "max|Δ| view", "max|Δ| u8"
    );
    let (mut failures, mut compared) = (Vec::new(), 0);
    let (mut worst_raw, mut worst_view) = (0f64, 0f64);
    for line in stdout.lines() {
        let name = line.unwrap();
        let job = jobs.iter().find(|j| j.name == name.trim()).unwrap();
        let file = out_dir.join(format!("{}.safetensors", job.name));
        let theirs: HashMap<String, Tensor> = Tensor::read_safetensors(&file)
            .unwrap()
            .into_iter()
            .collect();
        let samples = if job.dataset == Dataset::Ssv2 {
            ssv2.samples()
        } else {
            charades.samples()
        };
        let sampling = format_of(job.dataset).frame_sampling().unwrap();
        let (mut raw_diff, mut view_diff, mut views) = (0f64, 0f64, 0);
        for (v, s) in samples.iter().enumerate() {
            let frames = match &s.source {
                vbench_data::datasets::Source::Frames(f) => f.clone(),
                other => panic!("{other:?}"),
            };
            let sampled = sample_frame_clips(&frames, &job.protocol, sampling).unwrap();
            for clip in &sampled.clips {
                let key = format!("v{v}.clip{:02}", clip.info.clip_index);
                let idx = Vec::<i64>::try_from(&theirs[&format!("{key}.frames")]).unwrap();
                if idx != clip.frame_indices {
                    failures.push(format!(
                        "{name} {key}: frames {:?} vs PyTorchVideo {idx:?}",
                        clip.frame_indices
                    ));
                    continue;
                }
                raw_diff = raw_diff.max(max_abs(&theirs[&format!("{key}.raw")], &clip.frames));
            }
            let ours = extract_sample_views(s, job.dataset, &job.protocol).unwrap();
            for view in &ours {
                for (p, t) in view.pathways.iter().enumerate() {
                    let k = format!(
                        "v{v}.clip{:02}.crop{}.{}",
                        view.view.clip_index, view.view.spatial_index, view.view.pathway_names[p]
                    );
                    let Some(r) = theirs.get(&k) else {
                        failures.push(format!("{name}: PyTorchVideo has no {k}"));
                        continue;
                    };
                    if r.size() != t.size() {
                        failures.push(format!("{name} {k}: {:?} vs {:?}", t.size(), r.size()));
                        continue;
                    }
                    view_diff = view_diff.max(max_abs(r, t));
                    views += 1;
                }
            }
        }
        let theirs_views = theirs.keys().filter(|k| k.contains(".crop")).count();
        if theirs_views != views {
            failures.push(format!(
                "{name}: {views} pathway tensors vs PyTorchVideo's {theirs_views}"
            ));
        }
        println!(
            "{:<28} {:>6} {:>6} {:>12.3e} {:>10}",
            name,
            samples.len(),
            views,
            view_diff,
            raw_diff
        );
        worst_raw = worst_raw.max(raw_diff);
        worst_view = worst_view.max(view_diff);
        compared += 1;
    }
    let status = child.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "oracle failed:\n{log}");
    assert_eq!(compared, jobs.len(), "the oracle skipped jobs:\n{log}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    if JPEG_DECODER == "libjpeg-turbo" {
        assert_eq!(
            worst_raw, 0.0,
            "decoded JPEGs must be bit-identical to OpenCV's"
        );
        assert_eq!(
            worst_view, 0.0,
            "views must be bit-identical to PyTorchVideo's"
        );
    } else {
        println!("FFmpeg mjpeg fallback: frames differ by up to {worst_raw} levels");
    }
}
