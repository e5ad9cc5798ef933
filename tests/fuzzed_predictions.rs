//! Predictions files that real runs leave malformed (cut by a full disk or a kill, edited by hand,
//! damaged in transfer): a corpus of at least 500 mutations of a valid file, generated from a fixed
//! seed at test time, read the two ways vbench reads them (`score_file`: `vbench score`, merge and
//! every run's metrics; `PredictionsWriter::open`: a resume). No case may panic, and every refusal
//! names the file and the line.

use std::io::Write;
use vbench_results::metrics::aggregate::aggregate;
use vbench_results::predictions::{
    score_file, DatasetInfo, Header, PredictionsWriter, Record, RecordStatus, ViewRecord,
    WeightsInfo, FORMAT_VERSION,
};
use vbench_suite::find_entry;
use vbench_testkit::fuzz::{mutate, names_file_and_line, no_panic, Rng};

const CASES: usize = 600;

fn header(multi_label: bool) -> Header {
    let (plan, i) = find_entry(if multi_label {
        "charades/slowfast_r50"
    } else {
        "k400/x3d_xs"
    })
    .unwrap();
    let mut protocol = plan.entries[i].protocol.clone();
    protocol.num_classes = 5;
    protocol.temporal_clips = 2;
    protocol.spatial_crops = 1;
    Header {
        vbench_predictions: FORMAT_VERSION,
        transform: vbench_data::transforms::TRANSFORM_VERSION,
        entry: plan.entries[i].id.clone(),
        arch: plan.entries[i].model.label(),
        task: if multi_label {
            "multi_label"
        } else {
            "classification"
        }
        .into(),
        num_classes: 5,
        protocol,
        weights: WeightsInfo {
            file: "w.pyth".into(),
            sha256: "ab".repeat(32),
        },
        dataset: DatasetInfo {
            name: "kinetics".into(),
            manifest: "test.csv".into(),
            videos: 7,
            sha256: "cd".repeat(32),
        },
        batch: 10,
        device: "cpu".into(),
        vbench_version: "0.1.0".into(),
        label_map: None,
        variant: None,
        variant_model: None,
        protocol_from: None,
    }
}

fn record(rng: &mut Rng, index: usize, h: &Header) -> Record {
    let views: Vec<ViewRecord> = (0..2)
        .map(|clip| ViewRecord {
            clip,
            crop: 0,
            scores: (0..5).map(|_| (rng.below(1000) as f32) / 997.0).collect(),
            logits: None,
        })
        .collect();
    let refs: Vec<&[f32]> = views.iter().map(|v| v.scores.as_slice()).collect();
    let multi = h.task == "multi_label";
    Record {
        index,
        id: format!("videos/v{index}.mp4"),
        status: RecordStatus::Ok,
        label: (!multi).then_some((index % 5) as i64),
        labels: multi.then(|| vec![(index % 5) as i64, ((index + 2) % 5) as i64]),
        scores: Some(aggregate("v", &refs, h.protocol.aggregation).unwrap()),
        views,
        gt: None,
        boxes: None,
        kind: None,
        error: None,
    }
}

/// A valid file: the header, six scored videos and one failed.
fn valid(rng: &mut Rng, multi_label: bool) -> Vec<u8> {
    let h = header(multi_label);
    let mut out = serde_json::to_vec(&h).unwrap();
    out.push(b'\n');
    for i in 0..7 {
        let r = if i == 3 {
            Record {
                index: 3,
                id: "videos/v3.mp4".into(),
                status: RecordStatus::Failed,
                label: Some(1).filter(|_| !multi_label),
                labels: multi_label.then(|| vec![1]),
                scores: None,
                views: Vec::new(),
                gt: None,
                boxes: None,
                kind: Some("missing".into()),
                error: Some("no such file".into()),
            }
        } else {
            record(rng, i, &h)
        };
        out.extend(serde_json::to_vec(&r).unwrap());
        out.push(b'\n');
    }
    out
}

#[test]
fn malformed_predictions_files_never_panic_and_refusals_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x7072_6564);
    let bases = [valid(&mut rng, false), valid(&mut rng, true)];
    // The valid files read as they are.
    for (k, base) in bases.iter().enumerate() {
        let p = dir.path().join(format!("valid{k}.jsonl"));
        std::fs::write(&p, base).unwrap();
        let s = score_file(&p, None).unwrap();
        assert_eq!((s.accuracy.videos, s.accuracy.failed_videos), (6, 1));
    }
    let (mut refused, mut panics, mut unnamed) = (0, Vec::new(), Vec::new());
    for case in 0..CASES {
        let base = &bases[case % 2];
        let (bytes, what) = mutate(&mut rng, base);
        let path = dir.path().join(format!("case{case}.jsonl"));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&bytes))
            .unwrap();
        let name = path.display().to_string();
        let scored = no_panic(|| score_file(&path, None).map(drop));
        let resumed =
            no_panic(|| PredictionsWriter::open(&path, &header(case % 2 == 1), false).map(drop));
        for (how, r) in [("score", scored), ("resume", resumed)] {
            match r {
                Err(p) => panics.push(format!("case {case} ({what}), {how}: panic: {p}")),
                Ok(Err(e)) => {
                    refused += 1;
                    let m = e.to_string();
                    if !names_file_and_line(&m, &name) {
                        unnamed.push(format!("case {case} ({what}), {how}: {m}"));
                    }
                }
                Ok(Ok(())) => {}
            }
        }
    }
    println!("{CASES} cases, {refused} refusals");
    assert!(
        panics.is_empty(),
        "{} panics:\n{}",
        panics.len(),
        panics.join("\n")
    );
    assert!(
        unnamed.is_empty(),
        "{} refusals without file and line:\n{}",
        unnamed.len(),
        unnamed.join("\n")
    );
    assert!(refused > CASES / 4, "the corpus barely hurts: {refused}");
}
