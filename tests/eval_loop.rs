//! The evaluation loop's wiring, at library level (the metrics themselves are checked
//! against PySlowFast/sklearn in `metrics_pyslowfast.rs`; the CLI end to end in
//! `harness/vbench-cli/tests/issue_7_*.rs`).
//!
//! - Charades-style protocol: sigmoid head, views combined by element-wise max, mAP from the
//!   predictions file equal to `charades_map` over those maxima;
//! - batching and decoder threads change nothing (bit for bit at equal batch size, float noise
//!   across batch sizes); missing files and unusable sources fail per video with their kind;
//! - dataset layouts under a data root: list precedence, class folders mapped through the
//!   Kinetics-400 names (the embedded copy equals the shared list), clear errors.

use std::path::{Path, PathBuf};
use vbench_data::datasets::{
    kinetics400_classes, load_manifest, manifest_hash, Labels, Manifest, ManifestOptions, Sample,
    Source,
};
use vbench_data::DataError;
use vbench_eval::accuracy::evaluate::record_for_sample;
use vbench_eval::accuracy::pipeline::{
    run_videos, EvalOptions, FailureKind, VideoJob, VideoOutcome, VideoPrediction,
};
use vbench_models::VideoModel;
use vbench_results::metrics::map::{charades_map, MultiLabelVideo};
use vbench_results::predictions::{
    score_file, DatasetInfo, Header, PredictionsWriter, RecordStatus, ViewRecord, WeightsInfo,
};
use vbench_suite::{
    Activation, Aggregation, Arch, ChannelOrder, Dataset, Normalization, Protocol, Sampler,
};
use vbench_testkit::shared_dir;

fn video(name: &str) -> PathBuf {
    shared_dir().join("data/videos").join(name)
}

/// x3d_xs's K400 protocol with other views, head and aggregation.
fn protocol(classes: u32, act: Activation, agg: Aggregation, clips: u32, crops: u32) -> Protocol {
    Protocol {
        frames: 4,
        sample_rate: 12,
        alpha: None,
        short_side: 182,
        crop: 182,
        spatial_crops: crops,
        temporal_clips: clips,
        target_fps: 30,
        num_classes: classes,
        channels: ChannelOrder::Rgb,
        normalization: Normalization::Kinetics,
        head_activation: act,
        aggregation: agg,
        sampler: Sampler::ConstantClipsPerVideo,
        person_score_threshold: None,
    }
}

fn model(p: &Protocol) -> Box<dyn VideoModel> {
    tch::manual_seed(7);
    let cfg = vbench_models::zoo_config(Arch::X3dXs, p.num_classes as i64, p.head_activation);
    Box::new(
        vbench_models::ZooModel::from_config(Arch::X3dXs, &cfg.unwrap(), tch::Device::Cpu).unwrap(),
    )
}

fn sample(id: &str, labels: Labels, source: Source) -> Sample {
    Sample {
        id: id.into(),
        labels,
        source,
    }
}

fn evaluate(
    m: &dyn VideoModel,
    dataset: Dataset,
    p: &Protocol,
    samples: &[Sample],
    batch: usize,
    threads: usize,
) -> Vec<VideoOutcome> {
    let jobs: Vec<VideoJob> = samples
        .iter()
        .enumerate()
        .map(|(index, sample)| VideoJob {
            index,
            sample: sample.clone(),
        })
        .collect();
    let opts = EvalOptions {
        batch,
        decode_threads: threads,
        ..EvalOptions::default()
    };
    let mut out = Vec::new();
    run_videos::<()>(m, dataset, p, jobs, &opts, &mut |o| {
        out.push(o);
        Ok(())
    })
    .unwrap();
    out.sort_by_key(|o| match o {
        VideoOutcome::Scored(p) => p.index,
        VideoOutcome::Failed(f) => f.index,
    });
    out
}

fn scored(o: &VideoOutcome) -> &VideoPrediction {
    match o {
        VideoOutcome::Scored(p) => p,
        VideoOutcome::Failed(f) => panic!("{}: {:?} {}", f.id, f.kind, f.message),
    }
}

#[test]
fn eval_charades_style_max_of_sigmoid_and_map() {
    let p = protocol(157, Activation::Sigmoid, Aggregation::Max, 2, 3);
    let m = model(&p);
    let samples = [
        sample(
            "a",
            Labels::Multi(vec![1, 5]),
            Source::Video(video("k400_demo.mp4")),
        ),
        sample(
            "b",
            Labels::Multi(vec![5, 7]),
            Source::Video(video("short.avi")),
        ),
    ];
    let outcomes = evaluate(m.as_ref(), Dataset::Charades, &p, &samples, 4, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.jsonl");
    let header = Header {
        vbench_predictions: vbench_results::predictions::FORMAT_VERSION,
        transform: vbench_data::transforms::TRANSFORM_VERSION,
        entry: "charades/test".into(),
        arch: "x3d_xs".into(),
        task: "multi_label".into(),
        num_classes: 157,
        protocol: p.clone(),
        weights: WeightsInfo {
            file: "random".into(),
            sha256: "0".into(),
        },
        dataset: DatasetInfo {
            name: "test".into(),
            manifest: "-".into(),
            videos: samples.len(),
            sha256: manifest_hash(&samples),
        },
        batch: 4,
        device: "cpu".into(),
        vbench_version: String::new(),
        label_map: None,
        variant: None,
        variant_model: None,
        protocol_from: None,
    };
    let (mut w, done) = PredictionsWriter::open(&path, &header, false).unwrap();
    assert_eq!(done.scored(), 0);
    let mut maxima = Vec::new();
    for o in &outcomes {
        let v = scored(o);
        assert_eq!(v.views.len(), 6);
        // Element-wise max of post-sigmoid scores, exactly.
        let mut max = v.views[0].scores.clone();
        for view in &v.views[1..] {
            assert!(view.scores.iter().all(|&s| s > 0.0 && s < 1.0), "sigmoid");
            for (m, &s) in max.iter_mut().zip(&view.scores) {
                *m = m.max(s);
            }
        }
        assert_eq!(v.scores, max);
        let mut r = record_for_sample(v.index, &samples[v.index], RecordStatus::Ok);
        r.views = v
            .views
            .iter()
            .map(|s| ViewRecord {
                clip: s.view.clip_index,
                crop: s.view.spatial_index,
                scores: s.scores.clone(),
                logits: None,
            })
            .collect();
        r.scores = Some(v.scores.clone());
        w.append(&r).unwrap();
        maxima.push(max);
    }
    drop(w);
    let s = score_file(&path, None).unwrap();
    let positives = [vec![1usize, 5], vec![5, 7]];
    let want = charades_map(
        &[0, 1].map(|i| MultiLabelVideo {
            id: "x",
            positives: &positives[i],
            scores: &maxima[i],
        }),
        157,
    )
    .unwrap();
    assert_eq!(s.accuracy.map, want.map.map(|m| m * 100.0));
    assert!(s.accuracy.map.is_some());
    assert_eq!((s.accuracy.top1, s.accuracy.clip_top1), (None, None));
    assert_eq!(s.accuracy.details.as_ref().unwrap().clip_views, 12);
    // Scoring the same file with the sum of the views gives another aggregate.
    let summed = score_file(&path, Some(Aggregation::Sum)).unwrap();
    assert_ne!(summed.accuracy.map, None);
}

#[test]
fn eval_batching_and_threads_do_not_change_scores() {
    let p = protocol(400, Activation::Softmax, Aggregation::Sum, 2, 3);
    let m = model(&p);
    let samples = [
        sample("b", Labels::Single(3), Source::Video(video("short.avi"))),
        sample(
            "gone",
            Labels::Single(1),
            Source::Video(video("no-such-file.mp4")),
        ),
        sample(
            "frames",
            Labels::Single(2),
            Source::Frames(vec![PathBuf::from("img_00001.jpg")]),
        ),
    ];
    let a = evaluate(m.as_ref(), Dataset::Kinetics400, &p, &samples, 4, 1);
    let b = evaluate(m.as_ref(), Dataset::Kinetics400, &p, &samples, 4, 0);
    let c = evaluate(m.as_ref(), Dataset::Kinetics400, &p, &samples, 1, 2);
    let (va, vb, vc) = (scored(&a[0]), scored(&b[0]), scored(&c[0]));
    let order: Vec<(u32, u32)> = va
        .views
        .iter()
        .map(|v| (v.view.clip_index, v.view.spatial_index))
        .collect();
    assert_eq!(order, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
    for i in 0..6 {
        assert_eq!(
            va.views[i].scores, vb.views[i].scores,
            "view {i}, inline decode"
        );
        let d = va.views[i]
            .scores
            .iter()
            .zip(&vc.views[i].scores)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(d < 1e-6, "view {i}: batch 1 vs 4 differ by {d}");
    }
    let sum: Vec<f32> = (0..400)
        .map(|k| va.views.iter().fold(0.0f32, |acc, v| acc + v.scores[k]))
        .collect();
    assert_eq!(va.scores, sum, "sum of softmax in view order");
    for outcomes in [&a, &b, &c] {
        let kinds: Vec<Option<FailureKind>> = outcomes
            .iter()
            .map(|o| match o {
                VideoOutcome::Scored(_) => None,
                VideoOutcome::Failed(f) => Some(f.kind),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                None,
                Some(FailureKind::Missing),
                // Kinetics has no frame sampling: a frame list is unusable there.
                Some(FailureKind::Decode)
            ]
        );
    }
}

/// A dataset list read with the default options (Kinetics folders map through the built-in names).
fn load_dataset(dataset: Dataset, root: &Path) -> Result<Manifest, DataError> {
    load_manifest(dataset, root, &ManifestOptions::default())
}

#[test]
fn eval_dataset_layouts() {
    let shared = std::fs::read_to_string(shared_dir().join("data/kinetics400_classnames.txt"))
        .unwrap()
        .lines()
        .map(|l| l.trim().to_string())
        .collect::<Vec<_>>();
    assert_eq!(kinetics400_classes(), shared);

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let e = load_dataset(Dataset::Kinetics400, root)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("test.csv") && e.contains("val.csv"), "{e}");

    // Class folders, mapped through the Kinetics-400 names (a subset keeps the real indices).
    let link = |rel: &str, real: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(video(real), &p).unwrap();
    };
    link("val/arm_wrestling/x.mp4", "k400_demo.mp4");
    link("val/zumba/y.avi", "short.avi");
    let ds = load_dataset(Dataset::Kinetics400, root).unwrap();
    assert_eq!(ds.manifest, "val");
    let labels: Vec<(&str, &Labels)> = ds
        .samples
        .iter()
        .map(|s| (s.id.as_str(), &s.labels))
        .collect();
    assert_eq!(
        labels,
        [
            ("arm_wrestling/x.mp4", &Labels::Single(6)),
            ("zumba/y.avi", &Labels::Single(399))
        ]
    );

    // A list wins over folders; paths are relative to the root.
    std::fs::write(root.join("test.csv"), "val/zumba/y.avi 399\n").unwrap();
    let ds = load_dataset(Dataset::Kinetics400, root).unwrap();
    assert_eq!(ds.manifest, "test.csv");
    assert_eq!(
        ds.samples[0].source,
        Source::Video(root.join("val/zumba/y.avi"))
    );

    let e = load_dataset(Dataset::Ssv2, root).err().unwrap().to_string();
    assert!(e.contains("something-something-v2-labels.json"), "{e}");
    let e = load_dataset(Dataset::Ava, root).err().unwrap().to_string();
    assert!(e.contains("ava_val_v2.2.csv"), "{e}");
    let e = load_dataset(Dataset::Kinetics400, Path::new("/nonexistent/vbench"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("/nonexistent/vbench"), "{e}");
}
