//! Hot paths of reading a video: decode + clip sampling (FFmpeg) and the test transforms (resize,
//! crop, normalise) on the shared demo clip, at two protocols (X3D-XS: 4 frames at 182 px;
//! SlowFast-R50: 32 frames at 256 px, 3 crops).
//! `cargo bench -p vbench-data --bench decode`
//!
//! The clip is `../shared/data/videos/k400_demo.mp4` beside the checkout (`VBENCH_SHARED` overrides
//! `../shared`); without it the bench says so and measures nothing.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;
use vbench_data::transforms::{short_side_scale, thwc_u8_to_cthw_f32, uniform_crop};
use vbench_data::{sample_clips, views_from_samples};

fn demo_video() -> Option<PathBuf> {
    let shared = std::env::var_os("VBENCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let p = shared.join("data/videos/k400_demo.mp4");
    p.is_file().then_some(p)
}

fn bench(c: &mut Criterion) {
    let Some(video) = demo_video() else {
        eprintln!("decode bench: k400_demo.mp4 not found (set VBENCH_SHARED); nothing measured");
        return;
    };
    tch::set_num_threads(1); // per-video work is single-threaded in a data loader worker
    for id in ["k400/x3d_xs", "k400/slowfast_r50"] {
        let (plan, i) = vbench_suite::find_entry(id).expect("built-in entry");
        let p = plan.entries[i].protocol.clone();
        let name = id.replace('/', "_");
        c.bench_function(&format!("decode_sample_{name}"), |b| {
            b.iter(|| sample_clips(black_box(&video), &p).expect("demo video decodes"))
        });
        let sampled = sample_clips(&video, &p).expect("demo video decodes");
        c.bench_function(&format!("transform_views_{name}"), |b| {
            b.iter(|| views_from_samples(black_box(&sampled), &p).expect("views"))
        });
        // The two resampling steps alone, on one clip.
        let clip = thwc_u8_to_cthw_f32(&sampled.clips[0].frames).expect("clip");
        let short = p.short_side as i64;
        c.bench_function(&format!("short_side_scale_{name}"), |b| {
            b.iter(|| short_side_scale(black_box(&clip), short).expect("scale"))
        });
        let scaled = short_side_scale(&clip, short).expect("scale");
        let crop = p.crop as i64;
        c.bench_function(&format!("uniform_crop_contiguous_{name}"), |b| {
            // The crop is a view; the model needs it contiguous, which is the real cost.
            b.iter(|| {
                uniform_crop(black_box(&scaled), crop, 1)
                    .expect("crop")
                    .contiguous()
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
