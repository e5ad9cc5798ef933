//! Predictions file: resume, torn tails, refusals, exact f32 round trip.

use super::*;
use crate::metrics::aggregate::aggregate;
use std::fs::OpenOptions;
use std::io::Write;
use vbench_suite::{find_entry, Aggregation};

fn header(weights: &str) -> Header {
    let (plan, i) = find_entry("k400/x3d_xs").unwrap();
    let mut protocol = plan.entries[i].protocol.clone();
    protocol.num_classes = 3;
    Header {
        vbench_predictions: FORMAT_VERSION,
        transform: 2,
        entry: "k400/x3d_xs".into(),
        arch: "x3d_xs".into(),
        task: "classification".into(),
        num_classes: 3,
        protocol,
        weights: WeightsInfo {
            file: "w.pyth".into(),
            sha256: weights.into(),
        },
        dataset: DatasetInfo {
            name: "kinetics".into(),
            manifest: "test.csv".into(),
            videos: 3,
            sha256: "d".into(),
        },
        batch: 10,
        device: "cpu".into(),
        vbench_version: String::new(),
        label_map: None,
        variant: None,
        variant_model: None,
        protocol_from: None,
    }
}

fn ok(index: usize, label: i64, views: &[[f32; 3]]) -> Record {
    let views: Vec<ViewRecord> = views
        .iter()
        .map(|s| ViewRecord {
            clip: 0,
            crop: 0,
            scores: s.to_vec(),
            logits: None,
        })
        .collect();
    let refs: Vec<&[f32]> = views.iter().map(|v| v.scores.as_slice()).collect();
    Record {
        index,
        id: format!("v{index}"),
        status: RecordStatus::Ok,
        label: Some(label),
        labels: None,
        scores: Some(aggregate("v", &refs, Aggregation::Sum).unwrap()),
        views,
        gt: None,
        boxes: None,
        kind: None,
        error: None,
    }
}

#[test]
fn predictions_resume_drops_torn_tail_and_latest_record_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.jsonl");
    let (mut w, done) = PredictionsWriter::open(&path, &header("w"), false).unwrap();
    assert_eq!(done.scored(), 0);
    let failed = Record {
        index: 1,
        id: "v1".into(),
        status: RecordStatus::Failed,
        label: Some(1),
        labels: None,
        scores: None,
        views: Vec::new(),
        gt: None,
        boxes: None,
        kind: Some("decode".into()),
        error: Some("broken".into()),
    };
    w.append(&ok(0, 2, &[[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]]))
        .unwrap();
    w.append(&failed).unwrap();
    drop(w);
    // A torn write: half a record, no newline.
    let line = serde_json::to_string(&ok(2, 0, &[[0.5, 0.25, 0.25]])).unwrap();
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&line.as_bytes()[..line.len() / 2]).unwrap();
    drop(f);
    let s = score_file(&path, None).unwrap();
    assert!(s.torn_tail);
    assert_eq!((s.accuracy.videos, s.accuracy.failed_videos), (1, 1));
    assert_eq!(s.not_reached, 1);

    let (mut w, done) = PredictionsWriter::open(&path, &header("w"), false).unwrap();
    assert!(done.is_scored(0, "v0") && !done.is_scored(1, "v1"));
    assert!(done.has_failure(1, "v1", "broken"));
    w.append(&ok(1, 1, &[[0.2, 0.6, 0.2]])).unwrap();
    w.append(&ok(2, 0, &[[0.5, 0.25, 0.25]])).unwrap();
    drop(w);
    let s = score_file(&path, None).unwrap();
    assert!(!s.torn_tail);
    assert_eq!((s.accuracy.videos, s.accuracy.failed_videos), (3, 0));
    // Video level: v0 → 2 (sum 0.4, 0.5, 1.1) right, v1 right, v2 right.
    assert_eq!(s.accuracy.top1, Some(100.0));
    // Clip level: 4 views, the second view of v0 (0.3, 0.3, 0.4) right too.
    assert_eq!(s.accuracy.clip_top1, Some(100.0));
    assert_eq!(s.accuracy.details.unwrap().clip_views, 4);
    // Max instead of sum: v0 → (0.3, 0.3, 0.7), still class 2.
    assert_eq!(
        score_file(&path, Some(Aggregation::Max))
            .unwrap()
            .accuracy
            .top1,
        Some(100.0)
    );
}

#[test]
fn predictions_refuse_other_inputs_and_corrupt_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.jsonl");
    drop(PredictionsWriter::open(&path, &header("w"), false).unwrap());
    let e = PredictionsWriter::open(&path, &header("other"), false)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("weights sha256") && e.contains("--fresh"), "{e}");
    // --fresh starts over.
    drop(PredictionsWriter::open(&path, &header("other"), true).unwrap());
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"{not json}\n").unwrap();
    f.write_all(
        serde_json::to_string(&ok(0, 0, &[[1.0, 0.0, 0.0]]))
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);
    let e = score_file(&path, None).err().unwrap().to_string();
    assert!(e.contains("p.jsonl:2:"), "{e}");
}

#[test]
fn views_of_another_transform_version_are_never_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.jsonl");
    // A file from before the header recorded the transform: it reads as version 1.
    let mut old = serde_json::to_value(header("w")).unwrap();
    old.as_object_mut().unwrap().remove("transform");
    std::fs::write(&path, format!("{old}\n")).unwrap();
    let e = PredictionsWriter::open(&path, &header("w"), false)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("input transform version: the file has 1, this run has 2")
            && e.contains("--fresh"),
        "{e}"
    );
    drop(PredictionsWriter::open(&path, &header("w"), true).unwrap());
    drop(PredictionsWriter::open(&path, &header("w"), false).unwrap());
}

#[test]
fn predictions_f32_scores_round_trip_exactly() {
    // Every bit pattern class: tiny, subnormal, near 1, large, from a fixed LCG.
    let mut x: u32 = 12345;
    let mut values = vec![f32::MIN_POSITIVE, 1e-45, 1.0 - f32::EPSILON, 3.4e38];
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let v = f32::from_bits(x);
        if v.is_finite() {
            values.push(v);
        }
    }
    let text = serde_json::to_string(&values).unwrap();
    let back: Vec<f32> = serde_json::from_str(&text).unwrap();
    assert!(values
        .iter()
        .zip(&back)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}

/// An AVA keyframe record: ground truth `gt` (box, actions) and scored boxes (box, scores).
fn keyframe(
    index: usize,
    id: &str,
    gt: &[([f64; 4], &[u32])],
    boxes: &[([f64; 4], [f32; 3])],
) -> Record {
    Record {
        index,
        id: id.into(),
        status: RecordStatus::Ok,
        label: None,
        labels: None,
        scores: None,
        views: Vec::new(),
        gt: Some(
            gt.iter()
                .map(|(b, a)| GtBoxRecord {
                    bbox: *b,
                    actions: a.to_vec(),
                })
                .collect(),
        ),
        boxes: Some(
            boxes
                .iter()
                .map(|(b, s)| BoxRecord {
                    bbox: *b,
                    person_score: 0.9,
                    scores: s.to_vec(),
                })
                .collect(),
        ),
        kind: None,
        error: None,
    }
}

#[test]
fn ava_frame_map_from_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = header("w");
    h.task = TASK_DETECTION.into();
    h.dataset.videos = 3;
    // Classes 1 and 3 are evaluated; class 2 is not (its scores must not count).
    h.label_map = Some(vec![(1, "a".into()), (3, "c".into())]);
    let b = [0.0, 0.0, 0.5, 0.5];
    let far = [0.6, 0.6, 0.9, 0.9];
    let score = |fp_first: bool| {
        let path = dir.path().join(format!("ava{fp_first}.jsonl"));
        let (mut w, _) = PredictionsWriter::open(&path, &h, true).unwrap();
        let fp = if fp_first { 0.95 } else { 0.5 };
        // Keyframe 0: a hit for class 1. Keyframe 1: no ground truth, a false positive.
        // Keyframe 2: ground truth for class 3 and no person box (a miss).
        w.append(&keyframe(
            0,
            "m,0902",
            &[(b, &[1])],
            &[(b, [0.9, 1.0, 0.0])],
        ))
        .unwrap();
        w.append(&keyframe(1, "m,0903", &[], &[(far, [fp, 1.0, 0.0])]))
            .unwrap();
        w.append(&keyframe(2, "m,0904", &[(far, &[3])], &[]))
            .unwrap();
        drop(w);
        score_file(&path, None).unwrap().accuracy.map.unwrap()
    };
    // Class 1: AP 1 (the hit ranks first) or 0.5; class 3: AP 0 (ground truth, no detection).
    assert_eq!(score(false), 50.0);
    assert_eq!(score(true), 25.0);
}

#[test]
fn predictions_of_another_variant_are_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.jsonl");
    let mut bf16 = header("w");
    bf16.variant = Some(Variant::Bf16);
    drop(PredictionsWriter::open(&path, &bf16, false).unwrap());
    // The header names the variant; a file without one is fp32.
    let line = std::fs::read_to_string(&path).unwrap();
    assert!(line.contains("\"variant\":\"bf16\""), "{line}");
    assert!(!serde_json::to_string(&header("w"))
        .unwrap()
        .contains("variant"));
    let e = PredictionsWriter::open(&path, &header("w"), false)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("variant") && e.contains("bf16") && e.contains("fp32") && e.contains("--fresh"),
        "{e}"
    );
    bf16.variant = Some(Variant::FoldedBn);
    let e = PredictionsWriter::open(&path, &bf16, false)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("folded-bn"), "{e}");
    bf16.variant = Some(Variant::Bf16);
    assert!(PredictionsWriter::open(&path, &bf16, false).is_ok());
}

#[test]
fn int8_predictions_of_another_quantized_file_are_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.jsonl");
    let mut int8 = header("w");
    int8.variant = Some(Variant::Int8);
    let file = |sha: &str| WeightsInfo {
        file: "q.pt".into(),
        sha256: sha.into(),
    };
    int8.variant_model = Some(file("a"));
    drop(PredictionsWriter::open(&path, &int8, false).unwrap());
    assert!(PredictionsWriter::open(&path, &int8, false).is_ok());
    int8.variant_model = Some(file("b"));
    let e = PredictionsWriter::open(&path, &int8, false)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("variant model") && e.contains("sha256 a") && e.contains("sha256 b"),
        "{e}"
    );
}
