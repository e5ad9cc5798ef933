//! Pairing constructed predictions files with known flips.

use super::runs::{pair_predictions, PairOptions, PairingError};
use super::synthetic::{write_synthetic, SyntheticRun};
use super::BootstrapSpec;
use crate::metrics::registry;
use std::path::{Path, PathBuf};

const N: usize = 2000;
const CLASSES: usize = 10;

fn labels() -> Vec<i64> {
    (0..N).map(|i| (i % CLASSES) as i64).collect()
}

/// 75 % right: every fourth video wrong.
fn baseline_correct() -> Vec<bool> {
    (0..N).map(|i| i % 4 != 3).collect()
}

fn write(dir: &Path, name: &str, correct: &[bool], failed: &[usize], sha: &str) -> PathBuf {
    let path = dir.join(name);
    write_synthetic(
        &path,
        &SyntheticRun {
            num_classes: CLASSES,
            labels: &labels(),
            correct,
            failed,
            dataset_sha256: sha,
            entry: "k400/x3d_xs",
            task: "classification",
        },
    )
    .unwrap();
    path
}

fn opts() -> PairOptions<'static> {
    PairOptions {
        metrics: registry::gated().collect(),
        bootstrap: BootstrapSpec::default(),
        class_names: None,
    }
}

#[test]
fn identical_runs_have_no_flips_and_p_one() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.jsonl", &baseline_correct(), &[], "s");
    let b = write(dir.path(), "b.jsonl", &baseline_correct(), &[], "s");
    let p = pair_predictions(&a, &b, &opts()).unwrap();
    assert_eq!((p.paired, p.unpaired_count()), (N, 0));
    let top1 = p.metric("top1").unwrap();
    assert_eq!((top1.fixed, top1.broken), (Some(0), Some(0)));
    assert_eq!((top1.difference, top1.p_value), (0.0, 1.0));
    assert!((top1.baseline - 75.0).abs() < 1e-12);
    assert!(p.flips.is_empty() && p.moved_most.is_empty());
    // Top-5 is right everywhere (the label is first or second of ten).
    assert_eq!(p.metric("top5").unwrap().baseline, 100.0);
    assert!(p.metric("map").is_none(), "no mAP on a single-label file");
}

/// Ten right videos broken (0.5 points of 2000), spread over the classes: McNemar's p is
/// 2·(½)^10 and the flips name every one.
#[test]
fn a_half_point_drop_is_found_video_by_video() {
    let dir = tempfile::tempdir().unwrap();
    let base = baseline_correct();
    let mut cand = base.clone();
    let broken: Vec<usize> = (0..N).filter(|i| i % 4 == 0).step_by(20).take(10).collect();
    for &i in &broken {
        cand[i] = false;
    }
    let a = write(dir.path(), "a.jsonl", &base, &[], "s");
    let b = write(dir.path(), "b.jsonl", &cand, &[], "s");
    let p = pair_predictions(&a, &b, &opts()).unwrap();
    let top1 = p.metric("top1").unwrap();
    assert_eq!((top1.fixed, top1.broken), (Some(0), Some(10)));
    assert!((top1.difference + 0.5).abs() < 1e-12);
    assert!((top1.p_value - 2.0 / 1024.0).abs() < 1e-15);
    assert!(top1.ci95.0 < -0.5 && top1.ci95.1 < 0.0, "{:?}", top1.ci95);
    let flipped: Vec<usize> = p.flips.iter().map(|f| f.index).collect();
    assert_eq!(flipped, broken);
    assert!(p.flips.iter().all(|f| f.change == "broken"));
    let f = &p.flips[0];
    assert_eq!((f.baseline_top1 as i64, f.label), (f.label, f.label));
    assert_eq!(f.candidate_top1, (f.label as usize + 1) % CLASSES);
}

/// A drop concentrated in one class: that class moves most, the others not at all.
#[test]
fn a_drop_in_one_class_shows_in_the_per_class_deltas() {
    let dir = tempfile::tempdir().unwrap();
    let base = baseline_correct();
    let mut cand = base.clone();
    // Class 3: 200 videos, 150 right in the baseline; break 30 of them.
    let class3: Vec<usize> = (0..N).filter(|i| i % CLASSES == 3 && base[*i]).collect();
    for &i in class3.iter().take(30) {
        cand[i] = false;
    }
    let names: Vec<String> = (0..CLASSES).map(|c| format!("action {c}")).collect();
    let a = write(dir.path(), "a.jsonl", &base, &[], "s");
    let b = write(dir.path(), "b.jsonl", &cand, &[], "s");
    let p = pair_predictions(
        &a,
        &b,
        &PairOptions {
            class_names: Some(&names),
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(p.moved_most.len(), 1);
    let c = &p.moved_most[0];
    assert_eq!((c.label, c.class.as_str(), c.broken), (3, "action 3", 30));
    assert!((c.delta + 15.0).abs() < 1e-9, "{c:?}");
    assert_eq!(p.flips[0].class, "action 3");
    assert!(p
        .classes
        .iter()
        .filter(|c| c.label != 3)
        .all(|c| c.delta == 0.0));
    assert!(p.metric("top1").unwrap().p_value < 1e-8);
}

#[test]
fn failures_are_not_paired_and_counted_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.jsonl", &baseline_correct(), &[5, 6], "s");
    let b = write(dir.path(), "b.jsonl", &baseline_correct(), &[6, 7, 8], "s");
    let p = pair_predictions(&a, &b, &opts()).unwrap();
    assert_eq!(p.paired, N - 4);
    let reasons: Vec<(String, usize)> = p
        .unpaired
        .iter()
        .map(|u| (u.reason.clone(), u.count))
        .collect();
    assert_eq!(
        reasons,
        [
            ("failed (decode) in both runs".to_string(), 1),
            ("failed (decode) in the baseline".to_string(), 1),
            ("failed (decode) in the candidate".to_string(), 2),
        ]
    );
    assert!(p.pairing_summary().contains("1996 of 2000 videos paired"));
}

#[test]
fn different_lists_are_refused_naming_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.jsonl", &baseline_correct(), &[], "aaaa");
    let b = write(dir.path(), "b.jsonl", &baseline_correct(), &[], "bbbb");
    let e = pair_predictions(&a, &b, &opts()).unwrap_err();
    assert!(matches!(e, PairingError::DifferentLists { .. }));
    let s = e.to_string();
    assert!(
        s.contains("aaaa") && s.contains("bbbb") && s.contains("a.jsonl"),
        "{s}"
    );
}

/// Charades-style files: mAP by a paired bootstrap over videos, its generator, seed and resample
/// count in the output.
#[test]
fn map_is_paired_by_a_seeded_bootstrap_over_videos() {
    let dir = tempfile::tempdir().unwrap();
    let labels: Vec<i64> = (0..300).map(|i| (i % CLASSES) as i64).collect();
    let base: Vec<bool> = (0..300).map(|i| i % 5 != 0).collect();
    let worse: Vec<bool> = (0..300).map(|i| i % 5 != 0 && i % 3 != 0).collect();
    let mk = |name: &str, correct: &[bool]| {
        let path = dir.path().join(name);
        write_synthetic(
            &path,
            &SyntheticRun {
                num_classes: CLASSES,
                labels: &labels,
                correct,
                failed: &[],
                dataset_sha256: "s",
                entry: "charades/slow_r50",
                task: "multi_label",
            },
        )
        .unwrap();
        path
    };
    let (a, b, c) = (mk("a", &base), mk("b", &base), mk("c", &worse));
    let spec = BootstrapSpec {
        seed: 7,
        resamples: 300,
    };
    let o = PairOptions {
        bootstrap: spec,
        ..opts()
    };
    let same = pair_predictions(&a, &b, &o).unwrap();
    let m = same.metric("map").unwrap();
    assert_eq!((m.difference, m.ci95, m.p_value), (0.0, (0.0, 0.0), 1.0));
    let info = m.bootstrap.as_ref().unwrap();
    assert_eq!((info.seed, info.resamples), (7, 300));
    assert!(info.generator.contains("ChaCha20"));
    assert!(
        same.metric("top1").is_none(),
        "no top-k on a multi-label file"
    );
    let drop = pair_predictions(&a, &c, &o).unwrap();
    let m = drop.metric("map").unwrap();
    assert!(
        m.difference < -5.0 && m.ci95.1 < 0.0 && m.p_value < 0.01,
        "{m:?}"
    );
    // The same seed gives the same interval.
    let again = pair_predictions(&a, &c, &o).unwrap();
    assert_eq!(again.metric("map").unwrap().ci95, m.ci95);
}

/// AVA-style keyframe files: frame-mAP paired by a bootstrap that draws videos, each bringing all
/// of its keyframes.
#[test]
fn frame_map_resamples_videos_with_their_keyframes() {
    use crate::predictions::{
        BoxRecord, DatasetInfo, GtBoxRecord, Header, Record, RecordStatus, WeightsInfo,
        FORMAT_VERSION, TASK_DETECTION,
    };
    let (plan, i) = vbench_suite::find_entry("ava/slow_r50_detection").unwrap();
    let header = Header {
        vbench_predictions: FORMAT_VERSION,
        entry: plan.entries[i].id.clone(),
        arch: "slow_r50".into(),
        task: TASK_DETECTION.into(),
        num_classes: 2,
        protocol: plan.entries[i].protocol.clone(),
        weights: WeightsInfo {
            file: "w".into(),
            sha256: "0".into(),
        },
        dataset: DatasetInfo {
            name: "ava".into(),
            manifest: "frames".into(),
            videos: 24,
            sha256: "s".into(),
        },
        transform: 2,
        batch: 1,
        device: "cpu".into(),
        vbench_version: String::new(),
        label_map: Some(vec![(1, "bend".into()), (2, "crouch".into())]),
        variant: None,
        variant_model: None,
        protocol_from: None,
    };
    // 8 videos × 3 keyframes; one person doing action 1 (or 2 in odd videos). `good`: the box is
    // on the person and scores the right action; otherwise it scores the wrong one.
    let write = |path: &Path, good: &dyn Fn(usize) -> bool| {
        let mut out = serde_json::to_vec(&header).unwrap();
        out.push(b'\n');
        for v in 0..8 {
            for k in 0..3 {
                let index = v * 3 + k;
                let action = 1 + (v % 2) as u32;
                let right = good(index);
                let mut scores = vec![0.1f32, 0.1];
                scores[(action as usize - 1 + usize::from(!right)) % 2] = 0.9;
                let r = Record {
                    index,
                    id: format!("video{v},{:04}", 902 + k),
                    status: RecordStatus::Ok,
                    label: None,
                    labels: None,
                    scores: None,
                    views: Vec::new(),
                    gt: Some(vec![GtBoxRecord {
                        bbox: [0.1, 0.1, 0.5, 0.9],
                        actions: vec![action],
                    }]),
                    boxes: Some(vec![BoxRecord {
                        bbox: [0.1, 0.1, 0.5, 0.9],
                        person_score: 0.95,
                        scores,
                    }]),
                    kind: None,
                    error: None,
                };
                out.extend(serde_json::to_vec(&r).unwrap());
                out.push(b'\n');
            }
        }
        std::fs::write(path, out).unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    write(&a, &|_| true);
    write(&b, &|_| true);
    // The candidate gets every keyframe of videos 0–3 wrong.
    write(&c, &|i| i >= 12);
    let o = PairOptions {
        bootstrap: BootstrapSpec {
            seed: 5,
            resamples: 200,
        },
        ..opts()
    };
    let same = pair_predictions(&a, &b, &o).unwrap();
    let m = same.metric("map").unwrap();
    assert_eq!(m.videos, 8, "videos, not keyframes, are resampled");
    assert_eq!((m.difference, m.p_value), (0.0, 1.0));
    assert!((m.baseline - 100.0).abs() < 1e-9, "{m:?}");
    let worse = pair_predictions(&a, &c, &o).unwrap();
    let m = worse.metric("map").unwrap();
    assert!(m.difference < -10.0 && m.ci95.1 < 0.0, "{m:?}");
    assert!(worse.flips.is_empty() && worse.classes.is_empty());
}
