//! Hot paths of scoring a run: view aggregation + top-k over a K400-validation-sized set, Charades
//! mAP, and the latency statistics (bootstrap CI). Synthetic, seeded scores.
//! `cargo bench -p vbench-eval --bench metrics`

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;
use vbench_eval::timing::stats::{self, SplitMix64};
use vbench_results::metrics::map::{charades_map, MultiLabelVideo};
use vbench_results::metrics::topk::{video_and_clip, LabeledVideo};
use vbench_suite::Aggregation;

fn scores(rng: &mut SplitMix64, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.unit() as f32).collect()
}

fn bench(c: &mut Criterion) {
    let mut rng = SplitMix64(8);
    // K400 validation: ~20k videos × 10 views × 400 classes is 320 MB of f32; a tenth keeps the
    // bench small and the per-video cost identical.
    let (videos, views, classes) = (2_000, 10, 400);
    let data: Vec<Vec<Vec<f32>>> = (0..videos)
        .map(|_| (0..views).map(|_| scores(&mut rng, classes)).collect())
        .collect();
    let ids: Vec<String> = (0..videos).map(|i| format!("v{i}")).collect();
    let labeled: Vec<LabeledVideo<'_, Vec<f32>>> = data
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (v, id))| LabeledVideo {
            id,
            label: (i % classes) as i64,
            views: v.as_slice(),
        })
        .collect();
    c.bench_function("topk_2000_videos_10_views_400_classes", |b| {
        b.iter(|| video_and_clip::<f32, _>(black_box(&labeled), Aggregation::Sum, classes, &[1, 5]))
    });

    // Charades test: 1863 videos × 157 classes.
    let (cv, cc) = (1_863, 157);
    let cscores: Vec<Vec<f32>> = (0..cv).map(|_| scores(&mut rng, cc)).collect();
    let positives: Vec<Vec<usize>> = (0..cv).map(|i| vec![i % cc, (i * 7) % cc]).collect();
    let mvideos: Vec<MultiLabelVideo<'_, f32>> = cscores
        .iter()
        .zip(&positives)
        .zip(&ids)
        .map(|((s, p), id)| MultiLabelVideo {
            id,
            positives: p,
            scores: s,
        })
        .collect();
    c.bench_function("charades_map_1863_videos_157_classes", |b| {
        b.iter(|| charades_map(black_box(&mvideos), cc))
    });

    let samples: Vec<f64> = (0..200).map(|_| 50.0 + 5.0 * rng.normal()).collect();
    c.bench_function("latency_bootstrap_ci_200_samples", |b| {
        b.iter(|| stats::bootstrap_mean_ci95(black_box(&samples)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
