//! Decoder behaviour on generated files: containers and codecs, metadata, and bad input. Every
//! file is made here (the `ffmpeg` CLI or raw bytes) in a temp dir; every failure must be a typed
//! `DataError` naming the file, never a panic.

use crate::decoder::VideoReader;
use crate::error::DataError;
use crate::frames::{list_frame_folder, read_frame_folder, read_jpeg};
use crate::rational::{Ratio, Seconds};
use crate::views::{extract_views, write_views_safetensors};
use std::path::{Path, PathBuf};
use std::process::Command;
use vbench_suite::{Activation, Aggregation, ChannelOrder, Normalization, Protocol, Sampler};

fn ffmpeg(dir: &Path, out: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(out);
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(&path)
        .status()
        .expect("the ffmpeg CLI (ci/setup.sh installs it)")
        .success();
    assert!(ok, "ffmpeg failed making {out}");
    path
}

/// `secs` seconds of a 96x64 test pattern at `rate` fps.
fn testsrc(dir: &Path, out: &str, rate: &str, secs: u32, codec: &[&str]) -> PathBuf {
    let src = format!("testsrc2=size=96x64:rate={rate}:duration={secs}");
    let mut args = vec!["-f", "lavfi", "-i", &src];
    args.extend_from_slice(codec);
    args.extend_from_slice(&["-pix_fmt", "yuv420p"]);
    ffmpeg(dir, out, &args)
}

fn protocol(frames: u32, rate: u32, clips: u32, crops: u32) -> Protocol {
    Protocol {
        frames,
        sample_rate: rate,
        alpha: None,
        short_side: 64,
        crop: 64,
        spatial_crops: crops,
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

fn names(e: &DataError, file: &Path) -> bool {
    e.to_string().contains(&file.display().to_string())
}

#[test]
fn containers_and_codecs_decode_with_exact_metadata() {
    let d = tempfile::tempdir().unwrap();
    let h264 = [
        "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "12",
    ];
    let cases = [
        (
            testsrc(d.path(), "a.mp4", "25", 2, &h264),
            50,
            Some(Ratio::from_int(2)),
        ),
        (testsrc(d.path(), "a.mkv", "30000/1001", 2, &h264), 60, None),
        (
            testsrc(
                d.path(),
                "a.webm",
                "24",
                2,
                &[
                    "-c:v",
                    "libvpx-vp9",
                    "-deadline",
                    "realtime",
                    "-cpu-used",
                    "8",
                ],
            ),
            48,
            None,
        ),
        (
            testsrc(d.path(), "a.avi", "25", 2, &["-c:v", "mpeg4", "-bf", "2"]),
            50,
            None,
        ),
    ];
    for (path, frames, header_duration) in cases {
        let mut r = VideoReader::open(&path).unwrap();
        assert_eq!(
            (r.info().width, r.info().height),
            (96, 64),
            "{}",
            path.display()
        );
        if let Some(dur) = header_duration {
            assert_eq!(r.duration().unwrap(), dur, "{}", path.display());
        }
        let all = r
            .get_clip(Seconds::Exact(Ratio::ZERO), Seconds::Float(1e9))
            .unwrap();
        assert_eq!(all.len(), frames, "{}", path.display());
        let pts = all.pts();
        assert!(
            pts.windows(2).all(|w| w[0] < w[1]),
            "{}: pts not increasing",
            path.display()
        );
        let t = all.all_to_tensor(&path).unwrap();
        assert_eq!(t.size(), vec![frames as i64, 64, 96, 3]);
        // Two decodes of one range give the same frames (the decoder is reset between passes).
        let half = r
            .get_clip(Seconds::Float(0.5), Seconds::Float(1.0))
            .unwrap();
        let again = r
            .get_clip(Seconds::Float(0.5), Seconds::Float(1.0))
            .unwrap();
        assert_eq!(half.pts(), again.pts());
        assert!(!half.is_empty() && half.len() < frames);
    }
}

#[test]
fn rotation_is_reported_not_applied() {
    let d = tempfile::tempdir().unwrap();
    let src = testsrc(
        d.path(),
        "src.mp4",
        "25",
        1,
        &["-c:v", "libx264", "-preset", "veryfast"],
    );
    let rotated = ffmpeg(
        d.path(),
        "rot.mp4",
        &[
            "-i",
            src.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
    );
    let r = VideoReader::open(&rotated).unwrap();
    assert_eq!(r.info().rotation.abs(), 90.0);
    assert_eq!((r.info().width, r.info().height), (96, 64));
    assert_eq!(VideoReader::open(&src).unwrap().info().rotation, 0.0);
}

#[test]
fn clip_longer_than_the_video_repeats_frames_like_pytorchvideo() {
    let d = tempfile::tempdir().unwrap();
    // 1 s at 10 fps; an 8x8 clip lasts 64/30 s, so every clip starts at 0 and holds all 10 frames.
    let v = testsrc(
        d.path(),
        "short.mp4",
        "10",
        1,
        &["-c:v", "libx264", "-preset", "veryfast"],
    );
    let views = extract_views(&v, &protocol(8, 8, 3, 3)).unwrap();
    assert_eq!(views.len(), 9);
    for v in &views {
        assert_eq!(v.view.frame_indices, vec![0, 1, 2, 3, 5, 6, 7, 9]);
        assert_eq!(v.view.clip_frames, 10);
        assert_eq!(v.pathways[0].size(), vec![3, 8, 64, 64]);
    }
    let out = d.path().join("views.safetensors");
    write_views_safetensors(&views, &out).unwrap();
    let back = tch::Tensor::read_safetensors(&out).unwrap();
    assert_eq!(back.len(), 18);
    // A clip that starts after the end is an error, not an empty tensor.
    let mut r = VideoReader::open(&v).unwrap();
    let e = r
        .get_clip(Seconds::Float(5.0), Seconds::Float(6.0))
        .unwrap_err();
    assert!(
        matches!(e, DataError::EmptyClip { .. }) && names(&e, &v),
        "{e}"
    );
}

#[test]
fn bad_files_are_typed_errors_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let p = protocol(4, 4, 2, 1);
    let empty = d.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let e = extract_views(&empty, &p).unwrap_err();
    assert!(
        matches!(e, DataError::EmptyFile { .. }) && names(&e, &empty),
        "{e}"
    );

    let garbage = d.path().join("garbage.mp4");
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..50_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&garbage, &bytes).unwrap();
    let e = extract_views(&garbage, &p).unwrap_err();
    assert!(names(&e, &garbage), "{e}");

    let missing = d.path().join("missing.mp4");
    let e = extract_views(&missing, &p).unwrap_err();
    assert!(
        matches!(e, DataError::Io { .. }) && names(&e, &missing),
        "{e}"
    );

    let audio = ffmpeg(
        d.path(),
        "tone.m4a",
        &["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"],
    );
    let e = extract_views(&audio, &p).unwrap_err();
    assert!(
        matches!(e, DataError::NoVideoStream { .. }) && names(&e, &audio),
        "{e}"
    );

    // Truncations: moov-at-end mp4 (unopenable), faststart mp4 and mkv cut mid-stream (decodable
    // up to the cut or an error), each cut at several points. None may panic.
    let h264 = ["-c:v", "libx264", "-preset", "veryfast"];
    let full_mp4 = testsrc(d.path(), "full.mp4", "25", 3, &h264);
    let mut fast = vec!["-movflags", "+faststart"];
    fast.extend_from_slice(&h264);
    let full_fast = testsrc(d.path(), "fast.mp4", "25", 3, &fast);
    let full_mkv = testsrc(d.path(), "full.mkv", "25", 3, &h264);
    for src in [&full_mp4, &full_fast, &full_mkv] {
        let data = std::fs::read(src).unwrap();
        for frac in [0.05, 0.3, 0.6, 0.95] {
            let cut = d.path().join(format!(
                "cut{}_{}",
                (frac * 100.0) as u32,
                src.file_name().unwrap().to_string_lossy()
            ));
            std::fs::write(&cut, &data[..(data.len() as f64 * frac) as usize]).unwrap();
            if let Err(e) = extract_views(&cut, &p) {
                assert!(names(&e, &cut), "{e}");
            }
        }
    }
    let cut = d.path().join("cut30_full.mp4");
    assert!(matches!(
        extract_views(&cut, &p),
        Err(DataError::Open { .. })
    ));
    // A streamable container cut mid-way still yields the frames before the cut.
    assert!(extract_views(&d.path().join("cut60_full.mkv"), &p).is_ok());
}

#[test]
fn jpeg_folders_read_in_order_and_reject_bad_frames() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("frames");
    std::fs::create_dir(&dir).unwrap();
    let pattern = dir.join("img_%05d.jpg");
    let ok = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=96x64:rate=10:duration=1",
            "-frames:v",
            "4",
        ])
        .arg(&pattern)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    std::fs::write(dir.join("notes.txt"), "not a frame").unwrap();
    let t = read_frame_folder(&dir).unwrap();
    assert_eq!(t.size(), vec![4, 64, 96, 3]);
    let list = list_frame_folder(&dir).unwrap();
    assert!(list[0].ends_with("img_00001.jpg") && list[3].ends_with("img_00004.jpg"));
    // A frame folder decodes like the video the frames came from, up to JPEG loss.
    assert!(
        t.to_kind(tch::Kind::Float)
            .mean(tch::Kind::Float)
            .double_value(&[])
            > 10.0
    );

    let missing = d.path().join("nope");
    assert!(matches!(
        read_frame_folder(&missing),
        Err(DataError::Io { .. })
    ));
    let empty_dir = d.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let e = read_frame_folder(&empty_dir).unwrap_err();
    assert!(
        matches!(e, DataError::Frames { .. }) && names(&e, &empty_dir),
        "{e}"
    );

    let zero = dir.join("img_00005.jpg");
    std::fs::write(&zero, b"").unwrap();
    let e = read_frame_folder(&dir).unwrap_err();
    assert!(
        matches!(e, DataError::EmptyFile { .. }) && names(&e, &zero),
        "{e}"
    );
    let junk = dir.join("img_00005.jpg");
    std::fs::write(&junk, b"\xff\xd8\xff\xe0 this is not really a jpeg").unwrap();
    let e = read_frame_folder(&dir).unwrap_err();
    assert!(names(&e, &junk), "{e}");
    let half = std::fs::read(dir.join("img_00001.jpg")).unwrap();
    std::fs::write(&junk, &half[..half.len() / 3]).unwrap();
    // A truncated JPEG either decodes with grey rows (FFmpeg conceals) or is an error naming it.
    if let Err(e) = read_jpeg(&junk) {
        assert!(names(&e, &junk), "{e}");
    }
}
