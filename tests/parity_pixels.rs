//! Vbench's video pipeline against PyTorchVideo's, view for view.
//!
//! The oracle (`tests/oracles/pixels.py`) runs PySlowFast's `Ptvkinetics` test loader for real
//! (LabeledVideoDataset + EncodedVideo "pyav" + ConstantClipsPerVideoSampler + the test transform)
//! on the real clips in `../shared/data/videos` and on small files the `ffmpeg` CLI makes here
//! (webm/vp9, mkv/h264 at 29.97 fps with B-frames, BT.709-tagged and full-range h264,
//! variable-frame-rate mp4). For every view we
//! require the same clip frames (pts and native frame numbers) and the same normalized tensor,
//! bit for bit, with vbench at 1 and at 2 libtorch threads (the oracle runs at 1, as PySlowFast's
//! DataLoader workers do).
//!
//! Resizing is where bits can go astray: `ShortSideScale` interpolates the `[C, T, H, W]` clip as
//! an NCHW batch, and libtorch picks one of two float bilinear kernels by the input's layout, the
//! output size and the calling thread's thread count (3 frames at 1 thread take the channels-last
//! kernel). So the set includes videos the `ffmpeg` CLI scales from the real clips to other
//! shapes (2.35:1 and 2.39:1 wide, 16:9, 4:3, portrait, square, small ones that are upsampled;
//! 25 fps H.264, short sides 136 to 536) under the X3D, ResNet and MViT protocols and a 3-frame
//! one.
//!
//! Decoding must match bit for bit for every file (PyAV 18's FFmpeg 8 and Debian's FFmpeg 5.1).
//! `short.avi` (MPEG-4 part 2 with B-frames and N-VOPs in AVI) was the open question: its IDCT
//! output is identical between the builds (all 164 frames, in decoder output order); what differs
//! is timestamps. FFmpeg 5.1's AVI demuxer leaves the reference frames' pts unset, FFmpeg 8 guesses
//! them, and PyTorchVideo selects and orders frames by pts. vbench reproduces FFmpeg 8's guess
//! (`decoder.rs`, `PtsFiller`), so short.avi is held to the same exact standard.

use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tch::{Kind, Tensor};
use vbench_data::{sample_clips, view_tensor_name, views_from_samples};
use vbench_suite::{Activation, Aggregation, ChannelOrder, Normalization, Protocol, Sampler};
use vbench_testkit::{shared_dir, venv_python};

/// libtorch intra-op thread counts vbench runs the transform at; each must give the same bits.
const THREADS: [i32; 2] = [1, 2];

#[allow(clippy::too_many_arguments)]
fn protocol(
    frames: u32,
    rate: u32,
    alpha: Option<u32>,
    side: u32,
    crop: u32,
    clips: u32,
    crops: u32,
    bgr: bool,
) -> Protocol {
    Protocol {
        frames,
        sample_rate: rate,
        alpha,
        short_side: side,
        crop,
        spatial_crops: crops,
        temporal_clips: clips,
        target_fps: 30,
        num_classes: 400,
        channels: if bgr {
            ChannelOrder::Bgr
        } else {
            ChannelOrder::Rgb
        },
        normalization: Normalization::Kinetics,
        head_activation: Activation::Softmax,
        aggregation: Aggregation::Sum,
        sampler: Sampler::ConstantClipsPerVideo,
        person_score_threshold: None,
    }
}

struct Job {
    name: String,
    video: PathBuf,
    protocol: Protocol,
}

fn ffmpeg(dir: &Path, out: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(out);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(&path)
        .status()
        .expect("the ffmpeg CLI (ci/setup.sh installs it)");
    assert!(status.success(), "ffmpeg failed making {out}");
    path
}

fn generated_videos(dir: &Path) -> Vec<PathBuf> {
    let src = |rate: &str| format!("testsrc2=size=176x144:rate={rate}:duration=4");
    vec![
        ffmpeg(
            dir,
            "vp9.webm",
            &[
                "-f",
                "lavfi",
                "-i",
                &src("24"),
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-b:v",
                "400k",
                "-pix_fmt",
                "yuv420p",
            ],
        ),
        ffmpeg(
            dir,
            "h264_ntsc.mkv",
            &[
                "-f",
                "lavfi",
                "-i",
                &src("30000/1001"),
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-bf",
                "2",
                "-g",
                "30",
                "-pix_fmt",
                "yuv420p",
            ],
        ),
        // Colour metadata: swscale must use the frame's matrix and range, as PyAV does.
        ffmpeg(
            dir,
            "bt709.mp4",
            &[
                "-f",
                "lavfi",
                "-i",
                &src("25"),
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-pix_fmt",
                "yuv420p",
                "-colorspace",
                "bt709",
                "-color_primaries",
                "bt709",
                "-color_trc",
                "bt709",
            ],
        ),
        ffmpeg(
            dir,
            "full_range.mp4",
            &[
                "-f",
                "lavfi",
                "-i",
                &src("25"),
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-pix_fmt",
                "yuvj420p",
            ],
        ),
        // Every third frame interval doubled: a variable frame rate with B-frames.
        ffmpeg(
            dir,
            "vfr.mp4",
            &[
                "-f",
                "lavfi",
                "-i",
                &src("30"),
                "-vf",
                "setpts='(N+floor(N/3))/30/TB'",
                "-fps_mode",
                "passthrough",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-bf",
                "2",
                "-pix_fmt",
                "yuv420p",
            ],
        ),
    ]
}

/// A real clip scaled to `w`×`h` (square pixels), 25 fps H.264, 3.2 s.
fn reshaped(dir: &Path, source: &str, w: u32, h: u32) -> PathBuf {
    let src = shared_dir().join("data/videos").join(source);
    let stem = source.split('.').next().unwrap_or(source);
    ffmpeg(
        dir,
        &format!("{stem}_{w}x{h}.mp4"),
        &[
            "-i",
            &src.to_string_lossy(),
            "-t",
            "3.2",
            "-an",
            "-vf",
            &format!("scale={w}:{h},setsar=1"),
            "-r",
            "25",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

/// Other shapes under other protocols: which of libtorch's resize kernels runs depends on the
/// sizes and the frame count, so each shape meets the protocols that scale it differently.
fn shape_jobs(tmp: &Path) -> Vec<Job> {
    // The issue's case: X3D-XS (short side 182) on a 640×272 25 fps clip.
    let xs = protocol(4, 12, None, 182, 182, 10, 3, false);
    let s = protocol(13, 6, None, 182, 182, 4, 3, false);
    let m = protocol(16, 5, None, 256, 256, 4, 3, false);
    let l = protocol(16, 5, None, 356, 356, 3, 3, false);
    let r8 = protocol(8, 8, None, 256, 256, 4, 3, false);
    let mvit = protocol(16, 4, None, 256, 224, 5, 1, false);
    // Not a zoo protocol: 3 frames are 3 NCHW channels, which libtorch resizes with another
    // kernel at one thread than at two.
    let t3 = protocol(3, 12, None, 182, 182, 4, 3, false);
    type Case<'a> = (&'a str, u32, u32, &'a [(&'a str, &'a Protocol)]);
    let cases: [Case; 9] = [
        (
            "k400_demo.mp4",
            640,
            272,
            &[("x3d_xs", &xs), ("x3d_l", &l), ("t3", &t3)],
        ),
        (
            "mobile_demo_3.mp4",
            720,
            306,
            &[("x3d_xs", &xs), ("r8x8", &r8)],
        ),
        ("spatiotemporal_det_demo.mp4", 1280, 536, &[("x3d_m", &m)]),
        (
            "mobile_demo_1.mp4",
            640,
            360,
            &[("mvit", &mvit), ("t3", &t3)],
        ),
        ("mobile_demo_3.mp4", 480, 360, &[("x3d_s", &s)]),
        ("k400_demo.mp4", 272, 640, &[("x3d_xs", &xs)]),
        ("k400_demo.mp4", 320, 136, &[("x3d_xs", &xs)]),
        ("mobile_demo_2.mp4", 398, 226, &[("r8x8", &r8)]),
        ("mobile_demo_1.mp4", 300, 300, &[("x3d_xs", &xs)]),
    ];
    let mut out = Vec::new();
    for (source, w, h, protocols) in cases {
        let video = reshaped(tmp, source, w, h);
        let stem = source.split('.').next().unwrap_or(source);
        for (tag, p) in protocols {
            out.push(Job {
                name: format!("{stem}_{w}x{h}__{tag}"),
                video: video.clone(),
                protocol: (*p).clone(),
            });
        }
    }
    out
}

fn jobs(tmp: &Path) -> Vec<Job> {
    let videos = shared_dir().join("data/videos");
    let real = [
        "k400_demo.mp4",
        "mobile_demo_1.mp4",
        "mobile_demo_2.mp4",
        "mobile_demo_3.mp4",
        "spatiotemporal_det_demo.mp4",
        "short.avi",
    ];
    let p8x8 = protocol(8, 8, None, 256, 256, 10, 3, false);
    let p4x12 = protocol(4, 12, None, 182, 182, 10, 3, false);
    let mut out = Vec::new();
    for v in real {
        let stem = v.split('.').next().unwrap_or(v);
        for (tag, p) in [("8x8_256", &p8x8), ("4x12_182", &p4x12)] {
            out.push(Job {
                name: format!("{stem}__{tag}"),
                video: videos.join(v),
                protocol: p.clone(),
            });
        }
    }
    // SlowFast packing and BGR (2 clips keep the fast pathway's 32 frames affordable), and a
    // single-crop protocol on the portrait clip (which crop does aug_index 0 pick?).
    out.push(Job {
        name: "k400_demo__slowfast_8x8_bgr".into(),
        video: videos.join("k400_demo.mp4"),
        protocol: protocol(8, 8, Some(4), 256, 256, 2, 3, true),
    });
    out.push(Job {
        name: "mobile_demo_2__16x4_224_5x1".into(),
        video: videos.join("mobile_demo_2.mp4"),
        protocol: protocol(16, 4, None, 224, 224, 5, 1, false),
    });
    for v in generated_videos(tmp) {
        let name = v.file_name().unwrap().to_string_lossy().replace('.', "_");
        out.push(Job {
            name: format!("{name}__4x12_182"),
            video: v,
            protocol: p4x12.clone(),
        });
    }
    out.extend(shape_jobs(tmp));
    out
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double))
        .abs()
        .max()
        .double_value(&[])
}

#[test]
fn views_match_pytorchvideo_pixel_for_pixel() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("oracle");
    std::fs::create_dir(&out_dir).unwrap();
    // VBENCH_PARITY_ONLY=substring runs the matching jobs only (for debugging one video).
    let only = std::env::var("VBENCH_PARITY_ONLY").unwrap_or_default();
    let jobs: Vec<Job> = jobs(tmp.path())
        .into_iter()
        .filter(|j| j.name.contains(&only))
        .collect();
    let spec: Vec<_> = jobs
        .iter()
        .map(|j| {
            let p = &j.protocol;
            json!({
                "name": j.name, "video": j.video, "frames": p.frames, "sample_rate": p.sample_rate,
                "alpha": p.alpha, "short_side": p.short_side, "crop": p.crop, "clips": p.temporal_clips,
                "crops": p.spatial_crops, "target_fps": p.target_fps, "bgr": p.channels == ChannelOrder::Bgr,
            })
        })
        .collect();
    let spec_path = tmp.path().join("jobs.json");
    std::fs::write(&spec_path, serde_json::to_string(&spec).unwrap()).unwrap();
    let clock = std::time::Instant::now();
    let oracle = vbench_testkit::repo_root().join("tests/oracles/pixels.py");
    let log_path = tmp.path().join("oracle.log");
    let mut child = Command::new(venv_python())
        .arg(&oracle)
        .arg(&spec_path)
        .arg(&out_dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("run the oracle venv (ci/setup.sh)");
    let stdout = BufReader::new(child.stdout.take().unwrap());

    // The oracle names each job as it finishes; compare it while the oracle works on the next.
    let mut failures = Vec::new();
    let mut compared = 0;
    let per_threads = "values  views   max|Δ|";
    println!(
        "{:<40} {per_threads:>23} {per_threads:>23} {:>5} {:>7}",
        "job (1 thread | 2 threads)", "u8 Δ", "frames"
    );
    for line in stdout.lines() {
        let name = line.unwrap();
        let job = jobs
            .iter()
            .find(|j| j.name == name.trim())
            .expect("a job the test asked for");
        let file = out_dir.join(format!("{}.safetensors", job.name));
        let theirs: HashMap<String, Tensor> = Tensor::read_safetensors(&file)
            .unwrap()
            .into_iter()
            .collect();
        let _ = std::fs::remove_file(&file); // bound the temp dir's size
        let (row, errors) = compare(job, &theirs);
        println!("{row}");
        failures.extend(errors.into_iter().map(|e| format!("{}: {e}", job.name)));
        compared += 1;
    }
    let status = child.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "oracle failed:\n{log}");
    assert_eq!(compared, jobs.len(), "the oracle skipped jobs:\n{log}");
    println!(
        "oracle + comparison: {:.1} s",
        clock.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Differing values and views of one thread count.
#[derive(Default)]
struct ViewDiff {
    views: usize,
    values: i64,
    max: f64,
}

/// Compares vbench's views at `threads` libtorch threads with the oracle's; pathway counts and
/// frame indices go to `fail`.
fn compare_views(
    job: &Job,
    sampled: &vbench_data::SampledVideo,
    theirs: &HashMap<String, Tensor>,
    threads: i32,
    fail: &mut dyn FnMut(String),
) -> (usize, ViewDiff, bool) {
    let before = tch::get_num_threads();
    tch::set_num_threads(threads);
    let ours = views_from_samples(sampled, &job.protocol);
    tch::set_num_threads(before);
    let ours = match ours {
        Ok(v) => v,
        Err(e) => {
            fail(format!("{threads} threads: {e}"));
            return (0, ViewDiff::default(), false);
        }
    };
    let n_theirs = theirs
        .keys()
        .filter(|k| k.ends_with(".frame_indices"))
        .count();
    let n_ours: usize = ours.iter().map(|v| v.pathways.len()).sum();
    if n_theirs != n_ours {
        fail(format!(
            "{n_ours} pathway tensors vs PyTorchVideo's {n_theirs}"
        ));
    }
    let (mut diff, mut frames_ok) = (ViewDiff::default(), true);
    for v in &ours {
        let mut differs = false;
        for (p, t) in v.pathways.iter().enumerate() {
            let name = view_tensor_name(&v.view, p);
            let Some(r) = theirs.get(&name) else {
                fail(format!("PyTorchVideo has no {name}"));
                continue;
            };
            let idx = Vec::<i64>::try_from(&theirs[&format!("{name}.frame_indices")]).unwrap();
            if idx != v.view.pathway_frame_indices[p] {
                frames_ok = false;
                fail(format!(
                    "{name}: frames {:?} vs {idx:?}",
                    v.view.pathway_frame_indices[p]
                ));
            }
            if r.size() != t.size() {
                fail(format!("{name}: shape {:?} vs {:?}", t.size(), r.size()));
                continue;
            }
            let n = t.ne_tensor(r).sum(Kind::Int64).int64_value(&[]);
            if n > 0 {
                differs = true;
                diff.values += n;
                diff.max = diff.max.max(max_abs(r, t));
            }
        }
        diff.views += differs as usize;
    }
    (ours.len(), diff, frames_ok)
}

/// One job: its table row, and what differs from PyTorchVideo.
fn compare(job: &Job, theirs: &HashMap<String, Tensor>) -> (String, Vec<String>) {
    let mut failures = Vec::new();
    let mut fail = |m: String| failures.push(m);
    let sampled = match sample_clips(&job.video, &job.protocol) {
        Ok(s) => s,
        Err(e) => {
            return (
                format!("{:<36} vbench failed", job.name),
                vec![e.to_string()],
            )
        }
    };
    let d = Vec::<i64>::try_from(&theirs["duration"]).unwrap();
    let dur = sampled.duration;
    if (dur.num(), dur.den()) != (d[0] as i128, d[1] as i128) {
        fail(format!("duration {dur} vs PyTorchVideo {}/{}", d[0], d[1]));
    }
    let (mut raw_diff, mut frames_ok) = (0i64, true);
    for clip in &sampled.clips {
        let k = clip.info.clip_index;
        let pts = Vec::<i64>::try_from(&theirs[&format!("clip{k:02}.pts")]).unwrap();
        if pts != clip.frame_pts {
            frames_ok = false;
            fail(format!(
                "clip {k}: pts {:?} vs PyTorchVideo {pts:?}",
                clip.frame_pts
            ));
            continue;
        }
        let raw = &theirs[&format!("clip{k:02}.raw")];
        if raw.size() != clip.frames.size() {
            fail(format!(
                "clip {k}: frames {:?} vs {:?}",
                clip.frames.size(),
                raw.size()
            ));
            continue;
        }
        raw_diff = raw_diff.max(max_abs(raw, &clip.frames) as i64);
    }
    if raw_diff != 0 {
        fail(format!(
            "decoded frames differ by up to {raw_diff} levels (must be bit-exact)"
        ));
    }
    let mut row = format!("{:<40}", job.name);
    for threads in THREADS {
        let (n, diff, same_frames) = compare_views(job, &sampled, theirs, threads, &mut fail);
        frames_ok &= same_frames;
        if diff.values > 0 {
            fail(format!(
                "at {threads} threads {} of {n} views differ from PyTorchVideo in {} values, \
                 by up to {:e} (must be bit-identical)",
                diff.views, diff.values, diff.max
            ));
        }
        row += &format!(
            " {:>5} {:>3}/{:<3} {:>9.2e}",
            diff.values, diff.views, n, diff.max
        );
    }
    row += &format!(
        " {:>5} {:>7}",
        raw_diff,
        if frames_ok { "same" } else { "DIFFER" }
    );
    (row, failures)
}
