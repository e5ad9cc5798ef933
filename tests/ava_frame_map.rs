//! AVA v2.2 frame-mAP through the evaluation engine, against PySlowFast's AVA test loader
//! (`tests/oracles/ava_pyslowfast.py`: its `ava_helper`/`ava_dataset`/`cv2_transform` test path
//! restated over OpenCV, feeding PyTorchVideo 0.1.5's hub detectors with random official-format
//! weights) on a tiny AVA tree built from two real videos (one 340×256, one 400×300 so the
//! short-side resize runs). Checked per keyframe: which keyframes and person boxes are scored
//! (threshold 0.8, exclusions), the clip's frame numbers (clamped at the movie's end), the boxes the
//! model gets, the input pixels, the per-box scores; then the frame-mAP against the evaluator.

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tch::{Kind, Tensor};
use vbench_data::ava_views::extract_keyframe_views;
use vbench_data::datasets::{load_manifest, ManifestOptions, Source};
use vbench_eval::accuracy::evaluate::{measure_accuracy, AccuracyOptions, WeightsSource};
use vbench_eval::accuracy::pipeline::EvalOptions;
use vbench_results::predictions::{score_file, Record};
use vbench_results::Measure;
use vbench_suite::{find_entry, Dataset};
use vbench_testkit::oracle::OracleIo;
use vbench_testkit::{repo_root, venv_python};

fn oracle(args: &[&str]) -> String {
    let script = repo_root().join("tests/oracles/ava_pyslowfast.py");
    let out = Command::new(venv_python())
        .arg(&script)
        .args(args)
        .output()
        .expect("run the oracle");
    assert!(
        out.status.success(),
        "oracle {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double))
        .abs()
        .max()
        .double_value(&[])
}

fn records(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Builds the dataset and weights, runs the oracle and vbench, and compares them.
fn case(arch: &str, save_inputs: usize, resume: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p);
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let (root, weights, expected) = (t("D"), t("w.pyth"), t("oracle.safetensors"));
    oracle(&["make-dataset", "--out", &s(&root)]);
    oracle(&["weights", "--arch", arch, "--out", &s(&weights)]);
    let n = save_inputs.to_string();
    oracle(&[
        "run",
        "--data-root",
        &s(&root),
        "--arch",
        arch,
        "--weights",
        &s(&weights),
        "--out",
        &s(&expected),
        "--save-inputs",
        &n,
    ]);
    let scored: Value = serde_json::from_str(&oracle(&[
        "score",
        "--data-root",
        &s(&root),
        "--oracle",
        &s(&expected),
    ]))
    .unwrap();
    let meta: Value =
        serde_json::from_slice(&std::fs::read(expected.with_extension("json")).unwrap()).unwrap();
    let keys: Vec<String> = meta["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let io = OracleIo::read(&expected);

    let (plan, i) = find_entry(&format!("ava/{arch}")).unwrap();
    let entry = &plan.entries[i];
    let manifest = load_manifest(Dataset::Ava, &root, &ManifestOptions::default()).unwrap();
    // Keyframes with person boxes are the oracle's, less the excluded one (PySlowFast scores it
    // and drops it in evaluation; vbench drops it first). Keyframes with ground truth only are
    // samples too (all misses).
    let with_boxes: HashMap<&str, usize> = manifest
        .samples
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(&s.source, Source::Keyframe { person_boxes, .. } if !person_boxes.is_empty()))
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let expected_keys: Vec<&String> = keys.iter().filter(|k| *k != "movieA,0906").collect();
    assert_eq!(keys.len(), 14, "{keys:?}");
    assert_eq!(
        with_boxes.len(),
        expected_keys.len(),
        "{keys:?} vs {with_boxes:?}"
    );
    assert!(
        manifest.samples.iter().any(|s| s.id == "movieA,0904"),
        "ground truth, no boxes"
    );
    assert!(
        !manifest.samples.iter().any(|s| s.id == "movieA,0906"),
        "excluded"
    );

    let (mut pixels, mut compared) = (0.0f64, 0);
    for (k, key) in keys.iter().enumerate() {
        let Some(&index) = with_boxes.get(key.as_str()) else {
            continue;
        };
        let views = extract_keyframe_views(&manifest.samples[index], &entry.protocol).unwrap();
        assert_eq!(views.len(), 1, "{key}");
        let v = &views[0];
        let frames = Vec::<i64>::try_from(&io.get(&format!("kf{k}.frame_indices"))).unwrap();
        assert_eq!(v.view.frame_indices, frames, "{key}: frame numbers");
        let boxes = io.get(&format!("kf{k}.boxes"));
        assert_eq!(
            max_abs_diff(v.boxes.as_ref().unwrap(), &boxes),
            0.0,
            "{key}: boxes {:?} vs {:?}",
            Vec::<f32>::try_from(v.boxes.as_ref().unwrap().flatten(0, -1)).unwrap(),
            Vec::<f32>::try_from(boxes.flatten(0, -1)).unwrap()
        );
        if k < save_inputs {
            let names: &[&str] = match entry.protocol.alpha {
                Some(_) => &["slow", "fast"],
                None => &["input"],
            };
            let theirs: Vec<Tensor> = names
                .iter()
                .map(|n| io.get(&format!("kf{k}.{n}")).squeeze_dim(0))
                .collect();
            assert_eq!(v.pathways.len(), theirs.len());
            for (ours, theirs) in v.pathways.iter().zip(&theirs) {
                pixels = pixels.max(max_abs_diff(ours, theirs));
            }
            compared += 1;
        }
    }
    assert!(compared >= save_inputs.min(expected_keys.len()));
    assert_eq!(pixels, 0.0, "input pixels of {compared} keyframes");

    // The evaluation engine, as `vbench run --suite ava --data-root D --weights W` calls it.
    let out = t("out");
    let opts = AccuracyOptions {
        split: None,
        dataset: Dataset::Ava,
        suite: "ava".into(),
        data_root: root.clone(),
        weights: WeightsSource::File(weights.clone()),
        out_dir: out.clone(),
        fresh: false,
        eval: EvalOptions::default(),
        shard: Default::default(),
        variant: vbench_suite::Variant::Fp32,
        logits: false,
        int8: Default::default(),
    };
    let map_of = |m: Measure<_>| match m {
        Measure::Measured { value } => {
            let v: vbench_results::AccuracyResult = value;
            (v.map.expect("a frame-mAP"), v.videos, v.failed_videos)
        }
        other => panic!("{other:?}"),
    };
    let (map, keyframes, failed) =
        map_of(measure_accuracy(entry, &opts, None, &mut |_| {}).unwrap());
    assert_eq!((keyframes as usize, failed), (manifest.samples.len(), 0));
    let predictions = out.join("predictions").join(format!("{arch}.jsonl"));
    let mut worst = 0.0f64;
    for r in records(&predictions) {
        let boxes = r.boxes.as_ref().unwrap();
        match keys.iter().position(|k| *k == r.id) {
            Some(k) => {
                let theirs = io.get(&format!("kf{k}.scores"));
                let ours: Vec<f32> = boxes.iter().flat_map(|b| b.scores.clone()).collect();
                let ours = Tensor::from_slice(&ours).reshape(theirs.size());
                worst = worst.max(max_abs_diff(&ours, &theirs));
                let ori = io.get(&format!("kf{k}.ori_boxes"));
                let ours: Vec<f64> = boxes.iter().flat_map(|b| b.bbox).collect();
                assert_eq!(
                    max_abs_diff(&Tensor::from_slice(&ours).reshape(ori.size()), &ori),
                    0.0
                );
            }
            None => assert!(boxes.is_empty(), "{}: scored without person boxes", r.id),
        }
    }
    // Same pixels and boxes in; the models agree to float32 rounding (issue 4: ≤ 3.6e-7 relative).
    assert!(worst < 1e-5, "per-box scores: max |Δ| {worst:e}");
    let reference = scored["map"].as_f64().unwrap() * 100.0;
    eprintln!(
        "{arch}: {} keyframes, inputs of {compared} bit-identical, per-box scores max |Δ| {worst:e}, \
         frame-mAP {map} vs PySlowFast evaluator {reference}",
        keyframes
    );
    assert!(
        (map - reference).abs() < 1e-6,
        "frame-mAP {map} vs {reference}"
    );
    assert_eq!(
        score_file(&predictions, None).unwrap().accuracy.map,
        Some(map)
    );

    if resume {
        // Every keyframe is on record: a second run scores nothing and reports the same number.
        let before = std::fs::read(&predictions).unwrap();
        let (again, _, _) = map_of(measure_accuracy(entry, &opts, None, &mut |_| {}).unwrap());
        assert_eq!(again, map);
        assert_eq!(std::fs::read(&predictions).unwrap(), before);
    }
}

#[test]
fn ava_slow_r50_detection_matches_pyslowfast() {
    case("slow_r50_detection", 14, true);
}

#[test]
fn ava_slowfast_r50_detection_matches_pyslowfast() {
    case("slowfast_r50_detection", 3, false);
}
