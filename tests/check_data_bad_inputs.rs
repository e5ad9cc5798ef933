//! `check-data` on a corpus of bad inputs generated here (never copies of shared data):
//! zero-byte, garbage and truncated videos, an audio-only file, a folder where a video should be,
//! a missing file, a video shorter than one clip, out-of-range labels; and for frame folders a
//! missing frame, garbage / empty / truncated JPEGs, a folder in place of a frame and frames of
//! two sizes. Every failure must be counted under its kind and name its file; view extraction
//! must return typed errors naming the file, never panic.

use std::path::{Path, PathBuf};
use std::process::Command;
use vbench_data::check::{check_manifest, CheckOptions, DatasetCheck, ProblemKind};
use vbench_data::datasets::{load_manifest, manifest_hash, Labels, ManifestOptions, Source};
use vbench_data::rational::Seconds;
use vbench_data::{extract_sample_views, DataError, VideoReader};
use vbench_suite::{
    Activation, Aggregation, ChannelOrder, Dataset, Normalization, Protocol, Sampler,
};

fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("the ffmpeg CLI (ci/setup.sh installs it)");
    assert!(status.success(), "ffmpeg failed making {}", out.display());
}

fn testsrc(out: &Path, seconds: &str, extra: &[&str]) {
    let src = format!("testsrc2=size=160x120:rate=25:duration={seconds}");
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        &src,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    ];
    args.extend_from_slice(&["-pix_fmt", "yuv420p"]);
    args.extend_from_slice(extra);
    ffmpeg(&args, out);
}

fn truncate(src: &Path, dst: &Path, keep: f64) {
    let bytes = std::fs::read(src).unwrap();
    std::fs::write(dst, &bytes[..(bytes.len() as f64 * keep) as usize]).unwrap();
}

/// Pseudo-random bytes (no RNG crate needed): a fixed LCG.
fn garbage(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

fn protocol(frames: u32, rate: u32, clips: u32) -> Protocol {
    Protocol {
        frames,
        sample_rate: rate,
        alpha: None,
        short_side: 64,
        crop: 64,
        spatial_crops: 3,
        temporal_clips: clips,
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

fn kinds(r: &DatasetCheck, id: &str) -> Vec<ProblemKind> {
    r.problems
        .iter()
        .filter(|p| p.id == id)
        .map(|p| p.kind)
        .collect()
}

fn named(r: &DatasetCheck, id: &str, file: &Path) -> bool {
    r.problems
        .iter()
        .any(|p| p.id == id && p.path == file && p.message.contains(&*file.to_string_lossy()))
}

/// Kinetics layout: `test.csv` with `<path> <label>` lines under the root.
fn video_corpus(root: &Path) -> Vec<(&'static str, i64)> {
    let v = root.join("videos");
    std::fs::create_dir_all(&v).unwrap();
    testsrc(&v.join("good.mp4"), "3", &[]);
    testsrc(&v.join("short.mp4"), "0.5", &[]);
    testsrc(&v.join("tail.mp4"), "3", &[]);
    testsrc(&v.join("faststart.mp4"), "3", &["-movflags", "+faststart"]);
    truncate(
        &v.join("tail.mp4"),
        &v.join("truncated_moov_at_end.mp4"),
        0.6,
    );
    truncate(
        &v.join("faststart.mp4"),
        &v.join("truncated_faststart.mp4"),
        0.5,
    );
    std::fs::write(v.join("empty.mp4"), b"").unwrap();
    std::fs::write(v.join("garbage.mp4"), garbage(50_000)).unwrap();
    std::fs::write(v.join("text.avi"), "not a video\n".repeat(100)).unwrap();
    std::fs::create_dir(v.join("folder.mp4")).unwrap();
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-c:a",
            "aac",
        ],
        &v.join("audio_only.m4a"),
    );
    let list = [
        ("good.mp4", 3),
        ("short.mp4", 7),
        ("faststart.mp4", 400),
        ("truncated_moov_at_end.mp4", 1),
        ("truncated_faststart.mp4", 2),
        ("empty.mp4", 3),
        ("garbage.mp4", 4),
        ("text.avi", -1),
        ("folder.mp4", 5),
        ("audio_only.m4a", 6),
        ("missing.mp4", -2),
    ];
    let lines: Vec<String> = list
        .iter()
        .map(|(f, l)| format!("videos/{f} {l}"))
        .collect();
    std::fs::write(root.join("test.csv"), lines.join("\n") + "\n").unwrap();
    list.to_vec()
}

#[test]
fn video_corpus_is_checked_counted_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    video_corpus(root);
    let m = load_manifest(Dataset::Kinetics400, root, &ManifestOptions::default()).unwrap();
    assert_eq!(m.manifest, "test.csv");
    let clip = 16.0 * 5.0 / 30.0;
    let opts = |deep| CheckOptions {
        deep,
        num_classes: Some(400),
        clip_seconds: Some(clip),
        ..CheckOptions::default()
    };
    let shallow = check_manifest(&m, &opts(false), &|_, _| {});
    let deep = check_manifest(&m, &opts(true), &|_, _| {});
    for r in [&shallow, &deep] {
        println!("{}", serde_json::to_string_pretty(r).unwrap());
        assert_eq!(r.listed, 11);
        assert_eq!(r.missing, 1);
        assert_eq!(r.found, 10);
        assert_eq!(r.unreadable, 1, "the folder in place of a video");
        assert_eq!(r.labels_out_of_range, 2, "400 and -2");
        assert_eq!(r.unlabelled, 1);
        assert_eq!(r.shorter_than_clip, 1);
        assert!(!r.passed());
        let v = |f: &str| root.join("videos").join(f);
        assert_eq!(kinds(r, "videos/missing.mp4")[0], ProblemKind::Missing);
        assert!(named(r, "videos/missing.mp4", &v("missing.mp4")));
        assert_eq!(kinds(r, "videos/folder.mp4"), vec![ProblemKind::Unreadable]);
        for f in [
            "empty.mp4",
            "garbage.mp4",
            "text.avi",
            "audio_only.m4a",
            "truncated_moov_at_end.mp4",
        ] {
            let id = format!("videos/{f}");
            assert!(kinds(r, &id).contains(&ProblemKind::Corrupt), "{f}");
            assert!(named(r, &id, &v(f)), "{f} is not named");
        }
        let audio = r.problems.iter().find(|p| p.id.ends_with("m4a")).unwrap();
        assert_eq!(audio.code, "no_video_stream");
        assert!(kinds(r, "videos/short.mp4").contains(&ProblemKind::ShorterThanClip));
        assert!(kinds(r, "videos/good.mp4").is_empty());
    }
    // Only decoding everything finds the faststart file's missing tail.
    assert_eq!(shallow.corrupt, 5);
    assert!(kinds(&shallow, "videos/truncated_faststart.mp4").is_empty());
    assert_eq!(deep.corrupt, 6);
    assert!(kinds(&deep, "videos/truncated_faststart.mp4").contains(&ProblemKind::Corrupt));
    assert_eq!(deep.readable, 3);
    // The manifest hash is over (position, id, labels) and ignores the root.
    assert_eq!(shallow.manifest_sha256, manifest_hash(&m.samples));
    assert_eq!(shallow.manifest_sha256.len(), 64);

    // View extraction: typed errors naming the file, no panics; the short video's clips all
    // start at 0 and repeat frames, as PyTorchVideo's.
    let p = protocol(16, 5, 10);
    for s in &m.samples {
        let Source::Video(path) = &s.source else {
            unreachable!()
        };
        match extract_sample_views(s, Dataset::Kinetics400, &p) {
            Ok(views) => {
                assert_eq!(views.len(), 30, "{}", s.id);
                if s.id.ends_with("short.mp4") {
                    assert!(views.iter().all(|v| v.view.start_sec == 0.0));
                    assert!(views[0].view.clip_frames < 16);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains(&*path.to_string_lossy()), "{msg}");
            }
        }
    }
    // A clip requested past the end of a video is a typed error naming it.
    let good = root.join("videos/good.mp4");
    let mut r = VideoReader::open(&good).unwrap();
    let e = r
        .get_clip(Seconds::Float(10.0), Seconds::Float(12.0))
        .unwrap_err();
    assert!(matches!(e, DataError::EmptyClip { .. }), "{e}");
    assert!(e.to_string().contains("good.mp4"));
}

fn jpeg_folder(dir: &Path, n: u32, size: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let src = format!("testsrc2=size={size}:rate=30");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            &src,
            "-frames:v",
            &n.to_string(),
            "-q:v",
            "4",
        ],
        &dir.join("%06d.jpg"),
    );
}

/// Charades layout: `val.csv` (the frame list) under the root.
#[test]
fn frame_folder_corpus_is_checked_counted_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let f = root.join("frames");
    for v in [
        "good",
        "missing_frame",
        "garbage",
        "empty_jpeg",
        "truncated",
        "dir_frame",
        "sizes",
    ] {
        jpeg_folder(&f.join(v), 40, "96x72");
    }
    std::fs::remove_file(f.join("missing_frame/000030.jpg")).unwrap();
    std::fs::write(f.join("garbage/000002.jpg"), garbage(3000)).unwrap();
    std::fs::write(f.join("empty_jpeg/000001.jpg"), b"").unwrap();
    let t = f.join("truncated/000001.jpg");
    let bytes = std::fs::read(&t).unwrap();
    std::fs::write(&t, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::remove_file(f.join("dir_frame/000003.jpg")).unwrap();
    std::fs::create_dir(f.join("dir_frame/000003.jpg")).unwrap();
    jpeg_folder(&root.join("other"), 1, "64x48");
    std::fs::rename(root.join("other/000001.jpg"), f.join("sizes/000004.jpg")).unwrap();
    let mut rows = vec!["original_vido_id video_id frame_id path labels".to_string()];
    let videos = [
        "good",
        "missing_frame",
        "garbage",
        "empty_jpeg",
        "truncated",
        "dir_frame",
        "sizes",
        "no_folder",
    ];
    for (i, v) in videos.iter().enumerate() {
        for k in 1..=40 {
            let label = if *v == "sizes" { 157 } else { i as i64 };
            rows.push(format!("{v} {i} {k} frames/{v}/{k:06}.jpg {label}"));
        }
    }
    std::fs::write(root.join("val.csv"), rows.join("\n") + "\n").unwrap();
    let m = load_manifest(Dataset::Charades, root, &ManifestOptions::default()).unwrap();
    assert_eq!(m.samples.len(), 8);
    assert_eq!(m.samples[6].labels, Labels::Multi(vec![157]));
    let opts = |deep| CheckOptions {
        deep,
        num_classes: Some(157),
        ..CheckOptions::default()
    };
    let shallow = check_manifest(&m, &opts(false), &|_, _| {});
    let deep = check_manifest(&m, &opts(true), &|_, _| {});
    for r in [&shallow, &deep] {
        println!("{}", serde_json::to_string_pretty(r).unwrap());
        let fr = |v: &str, k: u32| f.join(v).join(format!("{k:06}.jpg"));
        assert_eq!(r.missing, 2, "a missing frame, a missing folder");
        assert!(named(r, "missing_frame", &fr("missing_frame", 30)));
        assert!(named(r, "no_folder", &fr("no_folder", 1)));
        assert!(named(r, "garbage", &fr("garbage", 2)));
        assert!(named(r, "empty_jpeg", &fr("empty_jpeg", 1)));
        assert!(named(r, "truncated", &fr("truncated", 1)));
        assert_eq!(kinds(r, "dir_frame"), vec![ProblemKind::Unreadable]);
        assert!(named(r, "dir_frame", &fr("dir_frame", 3)));
        assert!(named(r, "sizes", &fr("sizes", 4)));
        assert_eq!(r.corrupt, 4);
        assert_eq!(r.labels_out_of_range, 1);
        assert!(kinds(r, "good").is_empty());
    }
    // Views: typed errors naming the folder or the frame; the truncated JPEG is accepted (grey
    // rows), as OpenCV and so PyTorchVideo accept it.
    let mut p = protocol(8, 8, 2);
    p.short_side = 72;
    p.crop = 72;
    for s in &m.samples {
        match extract_sample_views(s, Dataset::Charades, &p) {
            Ok(v) => assert_eq!(v.len(), 6, "{}", s.id),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains(&s.id), "{}: {msg}", s.id);
            }
        }
    }
    let paths: Vec<PathBuf> = Vec::new();
    assert!(vbench_data::extract_frame_views(
        &paths,
        &p,
        vbench_data::FrameSampling::CharadesClips
    )
    .is_err());
}
