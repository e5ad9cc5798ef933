//! View aggregation and metrics scored exactly like PySlowFast.
//!
//! The oracles (`tests/oracles/metrics_*.py`, run with the venv's Python) generate the cases with a
//! fixed seed and score them with torch (TestMeter aggregation, `topks_correct`), scikit-learn
//! (`get_map`), scipy (Wilson) and a numpy restatement of the AVA PASCAL evaluator. Inputs and exact
//! expectations travel as little-endian arrays and IEEE bit patterns.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use vbench_results::metrics::aggregate::aggregate;
use vbench_results::metrics::ava;
use vbench_results::metrics::map::{charades_map, MultiLabelVideo};
use vbench_results::metrics::topk::{video_and_clip, wilson_ci95, Accuracy, LabeledVideo};
use vbench_results::metrics::Score;
use vbench_suite::Aggregation;
use vbench_testkit::{repo_root, shared_dir, venv_python};

/// Relative tolerance for mAP/AP against the references (we expect, and report, bit equality).
const REL_TOL: f64 = 1e-9;

fn run_oracle(script: &str, out: &Path, extra: &[&Path]) {
    let py = venv_python();
    let result = Command::new(&py)
        .arg(repo_root().join("tests/oracles").join(script))
        .arg(out)
        .args(extra)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (ci/setup.sh creates the venv): {e}",
                py.display()
            )
        });
    assert!(
        result.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// The classification oracle's cases and binary arrays, generated once per test binary.
struct Classification {
    cases: Value,
    bins: HashMap<String, Vec<u8>>,
}

fn classification() -> &'static Classification {
    static CELL: OnceLock<Classification> = OnceLock::new();
    CELL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        run_oracle("metrics_classification.py", dir.path(), &[]);
        let cases: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("cases.json")).unwrap()).unwrap();
        let mut bins = HashMap::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "bin") {
                bins.insert(
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
        Classification { cases, bins }
    })
}

/// f32/f64 from little-endian bytes, and their bits for exact comparison.
trait Le: Score {
    fn from_le(bytes: &[u8]) -> Vec<Self>;
    fn bits(self) -> u64;
}

impl Le for f32 {
    fn from_le(bytes: &[u8]) -> Vec<f32> {
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }
    fn bits(self) -> u64 {
        self.to_bits() as u64
    }
}

impl Le for f64 {
    fn from_le(bytes: &[u8]) -> Vec<f64> {
        bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(usize_of).collect()
}

fn f64_of_bits(v: &Value) -> Option<f64> {
    v.as_u64().map(f64::from_bits)
}

fn rel_diff(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

struct TopkCase<T> {
    name: String,
    num_classes: usize,
    labels: Vec<i64>,
    /// [video][view][class]
    views: Vec<Vec<Vec<T>>>,
    method: Aggregation,
}

fn topk_case<T: Le>(c: &Value, bins: &HashMap<String, Vec<u8>>) -> TopkCase<T> {
    let (n, v, nc) = (
        usize_of(&c["num_videos"]),
        usize_of(&c["num_views"]),
        usize_of(&c["num_classes"]),
    );
    let flat = T::from_le(&bins[c["scores"].as_str().unwrap()]);
    assert_eq!(flat.len(), n * v * nc);
    let views = (0..n)
        .map(|i| {
            (0..v)
                .map(|j| flat[(i * v + j) * nc..(i * v + j + 1) * nc].to_vec())
                .collect()
        })
        .collect();
    TopkCase {
        name: c["name"].as_str().unwrap().to_string(),
        num_classes: nc,
        labels: c["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_i64().unwrap())
            .collect(),
        views,
        method: if c["method"] == "sum" {
            Aggregation::Sum
        } else {
            Aggregation::Max
        },
    }
}

fn check_aggregation<T: Le>(c: &Value, bins: &HashMap<String, Vec<u8>>) -> usize {
    let case = topk_case::<T>(c, bins);
    let expected = T::from_le(&bins[c["aggregated"].as_str().unwrap()]);
    let nc = case.num_classes;
    for (i, views) in case.views.iter().enumerate() {
        let got = aggregate(&format!("{}/{i}", case.name), views, case.method).unwrap();
        for (k, (g, e)) in got.iter().zip(&expected[i * nc..(i + 1) * nc]).enumerate() {
            assert_eq!(
                g.bits(),
                e.bits(),
                "{}: video {i} class {k}: {g:?} vs TestMeter {e:?}",
                case.name
            );
        }
    }
    case.views.len() * nc
}

#[test]
fn aggregation_is_bitwise_testmeter() {
    let cls = classification();
    let mut compared = 0;
    for c in cls.cases["topk"].as_array().unwrap() {
        compared += match c["dtype"].as_str().unwrap() {
            "f4" => check_aggregation::<f32>(c, &cls.bins),
            _ => check_aggregation::<f64>(c, &cls.bins),
        };
    }
    eprintln!("aggregation: {compared} aggregated scores bit-identical to TestMeter (sum and max)");
}

/// Our counts against torch's: equal without ambiguous ties, within our bounds with them.
fn check_level(name: &str, level: &str, got: &Accuracy, exp: &Value, known_total: usize) -> usize {
    assert_eq!(
        got.total,
        usize_of(&exp["total"]),
        "{name} {level}: scored samples"
    );
    assert_eq!(
        got.unknown_label + got.total,
        known_total,
        "{name} {level}: unknown + scored"
    );
    let (torch, lower) = (usizes(&exp["torch"]), usizes(&exp["lower_index"]));
    let mut ambiguous = 0;
    for (i, t) in got.topk.iter().enumerate() {
        assert_eq!(
            t.correct, lower[i],
            "{name} {level} top-{}: lower-index-first reference",
            t.k
        );
        assert!(
            t.certain <= torch[i] && torch[i] <= t.certain + t.ambiguous,
            "{name} {level} top-{}: torch {} outside [{}, {}]",
            t.k,
            torch[i],
            t.certain,
            t.certain + t.ambiguous
        );
        if t.ambiguous == 0 {
            assert_eq!(
                t.correct, torch[i],
                "{name} {level} top-{}: torch.topk",
                t.k
            );
        }
        ambiguous += t.ambiguous;
        assert_eq!(t.ci95, wilson_ci95(t.correct, t.total));
    }
    ambiguous
}

fn check_topk<T: Le>(c: &Value, bins: &HashMap<String, Vec<u8>>) -> (usize, usize) {
    let case = topk_case::<T>(c, bins);
    let ids: Vec<String> = (0..case.views.len())
        .map(|i| format!("{}/{i}", case.name))
        .collect();
    let videos: Vec<LabeledVideo<'_, Vec<T>>> = case
        .views
        .iter()
        .zip(&case.labels)
        .zip(&ids)
        .map(|((views, &label), id)| LabeledVideo { id, label, views })
        .collect();
    let ks = usizes(&c["ks"]);
    let r = video_and_clip(&videos, case.method, case.num_classes, &ks).unwrap();
    let n = case.views.len();
    let views = n * case.views.first().map_or(0, |v| v.len());
    let amb_video = check_level(&case.name, "video", &r.video, &c["video"], n);
    let amb_clip = check_level(&case.name, "clip", &r.clip, &c["clip"], views);
    // What PySlowFast logs (unknown labels count as wrong), recovered from our counts.
    for (t, p) in r
        .video
        .topk
        .iter()
        .zip(c["video"]["pyslowfast_percent"].as_array().unwrap())
    {
        if t.ambiguous == 0 && n > 0 {
            assert_eq!(
                t.correct as f64 / n as f64 * 100.0,
                p.as_f64().unwrap(),
                "{}: PySlowFast percent",
                case.name
            );
        }
    }
    (amb_video, amb_clip)
}

#[test]
fn topk_matches_topks_correct() {
    let cls = classification();
    for c in cls.cases["topk"].as_array().unwrap() {
        let (v, cl) = match c["dtype"].as_str().unwrap() {
            "f4" => check_topk::<f32>(c, &cls.bins),
            _ => check_topk::<f64>(c, &cls.bins),
        };
        eprintln!(
            "top-k {}: ambiguous tie verdicts video {v}, clip {cl}",
            c["name"]
        );
    }
}

#[test]
fn wilson_matches_scipy() {
    let mut worst: f64 = 0.0;
    for w in classification().cases["wilson"].as_array().unwrap() {
        let (k, n) = (usize_of(&w["k"]), usize_of(&w["n"]));
        let [lo, hi] = wilson_ci95(k, n).unwrap();
        for (got, exp) in [
            (lo, w["lo"].as_f64().unwrap()),
            (hi, w["hi"].as_f64().unwrap()),
        ] {
            assert!(
                (got - exp).abs() <= 1e-12,
                "Wilson({k}, {n}): {got} vs scipy {exp}"
            );
            worst = worst.max((got - exp).abs());
        }
    }
    eprintln!("Wilson 95 %: max |diff| vs scipy {worst:e}");
}

fn check_map<T: Le>(c: &Value, bins: &HashMap<String, Vec<u8>>) -> (f64, usize, usize) {
    let name = c["name"].as_str().unwrap();
    let (n, nc) = (usize_of(&c["num_videos"]), usize_of(&c["num_classes"]));
    let scores = T::from_le(&bins[c["scores"].as_str().unwrap()]);
    let positives: Vec<Vec<usize>> = c["positives"]
        .as_array()
        .unwrap()
        .iter()
        .map(usizes)
        .collect();
    let ids: Vec<String> = (0..n).map(|i| format!("{name}/{i}")).collect();
    let videos: Vec<MultiLabelVideo<'_, T>> = (0..n)
        .map(|i| MultiLabelVideo {
            id: &ids[i],
            positives: &positives[i],
            scores: &scores[i * nc..(i + 1) * nc],
        })
        .collect();
    let r = charades_map(&videos, nc).unwrap();
    let (mut worst, mut exact, mut total) = (0.0f64, 0, 0);
    for (class, (got, exp)) in r
        .per_class
        .iter()
        .zip(c["per_class"].as_array().unwrap())
        .enumerate()
    {
        match (got, f64_of_bits(exp)) {
            (None, None) => {}
            (Some(g), Some(e)) => {
                let d = rel_diff(*g, e);
                assert!(d <= REL_TOL, "{name} class {class}: AP {g} vs sklearn {e}");
                worst = worst.max(d);
                exact += (g.to_bits() == e.to_bits()) as usize;
                total += 1;
            }
            (g, e) => panic!("{name} class {class}: AP {g:?} vs sklearn {e:?}"),
        }
    }
    match (r.map, f64_of_bits(&c["map"])) {
        (Some(g), Some(e)) => {
            let d = rel_diff(g, e);
            assert!(d <= REL_TOL, "{name}: mAP {g} vs get_map {e}");
            worst = worst.max(d);
            exact += (g.to_bits() == e.to_bits()) as usize;
            total += 1;
        }
        // get_map caught sklearn's ValueError and reported 0; we report no mAP.
        (None, None) => assert_eq!(c["pyslowfast_map"].as_f64(), Some(0.0), "{name}"),
        (g, e) => panic!("{name}: mAP {g:?} vs get_map {e:?}"),
    }
    (worst, exact, total)
}

#[test]
fn charades_map_matches_sklearn() {
    let cls = classification();
    let (mut worst, mut exact, mut total) = (0.0f64, 0, 0);
    for c in cls.cases["map"].as_array().unwrap() {
        let (w, e, t) = match c["dtype"].as_str().unwrap() {
            "f4" => check_map::<f32>(c, &cls.bins),
            _ => check_map::<f64>(c, &cls.bins),
        };
        worst = worst.max(w);
        exact += e;
        total += t;
    }
    eprintln!("Charades mAP: {exact}/{total} APs and mAPs bit-identical to sklearn/get_map; max rel diff {worst:e}");
}

#[test]
fn ava_frame_map_matches_pascal_evaluator() {
    let dir = tempfile::tempdir().unwrap();
    let sample = shared_dir().join("data/ava-sample");
    run_oracle("metrics_ava.py", dir.path(), &[&sample]);
    let names: Vec<String> =
        serde_json::from_slice(&std::fs::read(dir.path().join("cases.json")).unwrap()).unwrap();
    assert!(
        names.len() >= 8 && names.iter().any(|n| n == "sample"),
        "{names:?}"
    );
    let (mut worst, mut exact, mut total) = (0.0f64, 0, 0);
    for name in &names {
        let f = dir.path().join(name);
        let exp: Value =
            serde_json::from_slice(&std::fs::read(f.join("expected.json")).unwrap()).unwrap();
        let lm = ava::read_label_map(&f.join("labelmap.pbtxt")).unwrap();
        let gt = ava::read_boxes(&f.join("gt.csv"), false).unwrap();
        let det = ava::read_boxes(&f.join("det.csv"), true).unwrap();
        let ex = ava::read_exclusions(&f.join("excluded.csv")).unwrap();
        let r = ava::frame_map(&lm, &gt, &det, &ex).unwrap();
        let per_class = exp["per_class"].as_object().unwrap();
        assert_eq!(r.per_class.len(), per_class.len(), "{name}: classes");
        let mut compare = |what: String, got: Option<f64>, exp: Option<f64>| match (got, exp) {
            (None, None) => {}
            (Some(g), Some(e)) => {
                let d = rel_diff(g, e);
                assert!(d <= REL_TOL, "{what}: {g} vs evaluator {e}");
                worst = worst.max(d);
                exact += (g.to_bits() == e.to_bits()) as usize;
                total += 1;
            }
            (g, e) => panic!("{what}: {g:?} vs evaluator {e:?}"),
        };
        for c in &r.per_class {
            let e = &per_class[&c.id.to_string()];
            assert_eq!(
                c.num_gt,
                usize_of(&e["num_gt"]),
                "{name} class {}: ground truth",
                c.id
            );
            compare(
                format!("{name} class {}", c.id),
                c.ap,
                f64_of_bits(&e["ap"]),
            );
        }
        compare(format!("{name} mAP"), r.map, f64_of_bits(&exp["map"]));
        // Frame by frame (what `vbench score` does for AVA files) gives the same bits: frames in
        // order of first appearance among the detections, then those with ground truth only.
        let mut acc = ava::FrameMap::new(&lm);
        let mut keys: Vec<&ava::FrameKey> = Vec::new();
        for b in det.iter().chain(&gt) {
            if !ex.contains(&b.key) && !keys.contains(&&b.key) {
                keys.push(&b.key);
            }
        }
        for k in keys {
            let of = |v: &[ava::AvaBox]| {
                v.iter()
                    .filter(|b| &b.key == k)
                    .cloned()
                    .collect::<Vec<_>>()
            };
            acc.add_frame(&of(&gt), &of(&det)).unwrap();
        }
        let streamed = acc.finish();
        assert_eq!(
            streamed.map.map(f64::to_bits),
            r.map.map(f64::to_bits),
            "{name}: streamed"
        );
        assert_eq!(
            streamed.per_class, r.per_class,
            "{name}: streamed per class"
        );
        // The reference's own (unstable) sort agrees wherever no tie mixes TPs and FPs.
        if r.per_class.iter().all(|c| !c.tie_sensitive) {
            assert_eq!(exp["map"], exp["map_default_sort"], "{name}: default sort");
        }
        if name == "ties" {
            assert!(
                r.per_class.iter().any(|c| c.tie_sensitive),
                "the ties case has no mixed tie"
            );
        }
    }
    eprintln!("AVA frame-mAP: {exact}/{total} APs and mAPs bit-identical to the evaluator; max rel diff {worst:e}");
}

#[test]
fn ava_real_sample_reads() {
    let d = shared_dir().join("data/ava-sample");
    let lm = ava::read_label_map(&d.join("action_list.txt")).unwrap();
    let ids: Vec<i64> = lm.classes().iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, vec![12, 17, 79, 80]);
    let gt = ava::read_boxes(&d.join("ava_sample.csv"), false).unwrap();
    assert_eq!(gt.len(), 8);
    assert_eq!(gt[0].key.to_string(), "0f39OWEqJ24,0902");
    assert_eq!(gt[0].yxyx, [0.162, 0.031, 0.995, 0.670]);
    let ex = ava::read_exclusions(&d.join("ava_excluded_timestamps_sample.csv")).unwrap();
    assert_eq!(ex.len(), 2);
    // Ground truth scored against itself: both frames but one are excluded, class 74 is not in the
    // label map, so classes 12, 17 and 79 are perfect and 80 has no ground truth left.
    let det: Vec<ava::AvaBox> = gt
        .iter()
        .map(|b| ava::AvaBox {
            score: 0.5,
            ..b.clone()
        })
        .collect();
    let r = ava::frame_map(&lm, &gt, &det, &ex).unwrap();
    let aps: Vec<_> = r.per_class.iter().map(|c| (c.id, c.ap)).collect();
    assert_eq!(
        aps,
        vec![
            (12, Some(1.0)),
            (17, Some(1.0)),
            (79, Some(1.0)),
            (80, None)
        ]
    );
    assert_eq!((r.map, r.gt_frames, r.excluded_frames), (Some(1.0), 1, 2));
}
