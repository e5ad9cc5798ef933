//! AVA's frame resize: OpenCV's fixed-point INTER_LINEAR as vbench reproduces it
//! (`cv_resize::resize_linear_u8`, what the AVA protocol needs) against libtorch's float bilinear
//! (`transforms::short_side_scale`, the Kinetics path) on the same 32 frames, short side 720 → 256,
//! one thread each, in the same run. `cargo bench -p vbench-data --bench ava_resize`
//!
//! Frames: the first 32 of `../shared/data/videos/k400_demo.mp4` (`VBENCH_SHARED` overrides
//! `../shared`), brought to 1280×720 first; without the clip the bench says so and measures nothing.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;
use vbench_data::cv_resize::{resize_linear_u8, scale_size};
use vbench_data::transforms::{short_side_scale, thwc_u8_to_cthw_f32};
use vbench_data::{Seconds, VideoReader};

const FRAMES: usize = 32;
const H: usize = 720;
const W: usize = 1280;

fn demo_video() -> Option<PathBuf> {
    let shared = std::env::var_os("VBENCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let p = shared.join("data/videos/k400_demo.mp4");
    p.is_file().then_some(p)
}

fn bench(c: &mut Criterion) {
    let Some(video) = demo_video() else {
        eprintln!(
            "ava_resize bench: k400_demo.mp4 not found (set VBENCH_SHARED); nothing measured"
        );
        return;
    };
    tch::set_num_threads(1);
    let mut reader = VideoReader::open(&video).expect("demo video opens");
    let clip = reader
        .get_clip(Seconds::Float(0.0), Seconds::Float(2.0))
        .and_then(|c| c.all_to_tensor(&video))
        .expect("demo video decodes");
    let size = clip.size();
    let (h, w) = (size[1] as usize, size[2] as usize);
    let big: Vec<Vec<u8>> = (0..FRAMES as i64)
        .map(|i| {
            let f = Vec::<u8>::try_from(clip.get(i).flatten(0, -1)).expect("frame bytes");
            resize_linear_u8(&f, h, w, 3, H, W).expect("upscale")
        })
        .collect();
    let (nh, nw) = scale_size(H, W, 256);
    c.bench_function("ava_resize_cv2_linear_u8_32x720p", |b| {
        b.iter(|| {
            for f in &big {
                black_box(resize_linear_u8(black_box(f), H, W, 3, nh, nw).expect("resize"));
            }
        })
    });
    let flat: Vec<u8> = big.concat();
    let thwc = tch::Tensor::from_slice(&flat).reshape([FRAMES as i64, H as i64, W as i64, 3]);
    let clip = thwc_u8_to_cthw_f32(&thwc).expect("clip");
    c.bench_function("ava_resize_torch_bilinear_f32_32x720p", |b| {
        b.iter(|| short_side_scale(black_box(&clip), 256).expect("scale"))
    });
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
