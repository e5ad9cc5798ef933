//! The merge itself at scale, without models: 1,001 synthetic videos with random
//! scores (some failed, some superseded by a later record as a resume leaves them) cut into 7
//! shards by the documented rule; merging the shards must give the metrics of scoring the one
//! file of all of them, bit for bit, and the same latest record per video, byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vbench_eval::run::merge::prepare;
use vbench_eval::run::shard::{Shard, ShardManifest};
use vbench_results::metrics::aggregate::aggregate;
use vbench_results::predictions::{
    score_file, DatasetInfo, Header, PredictionsWriter, Record, RecordStatus, ViewRecord,
    WeightsInfo,
};
use vbench_results::{save_results, EntryResult, Measure, Provenance, Published, Results};
use vbench_suite::Protocol;

const VIDEOS: usize = 1001;
const SHARDS: usize = 7;
const CLASSES: usize = 12;

/// A small LCG: the test needs varied numbers, not good ones.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn f32(&mut self) -> f32 {
        (self.next() % 1_000_000) as f32 / 999_983.0
    }
}

fn protocol() -> Protocol {
    let plan = vbench_suite::load_suite("k400").unwrap();
    let mut p = plan.entry("x3d_xs").unwrap().protocol.clone();
    p.num_classes = CLASSES as u32;
    p.temporal_clips = 2;
    p.spatial_crops = 2;
    p
}

fn header(p: &Protocol) -> Header {
    Header {
        vbench_predictions: vbench_results::predictions::FORMAT_VERSION,
        transform: vbench_data::transforms::TRANSFORM_VERSION,
        entry: "k400/x3d_xs".into(),
        arch: "x3d_xs".into(),
        task: "classification".into(),
        num_classes: CLASSES,
        protocol: p.clone(),
        weights: WeightsInfo {
            file: "w.pyth".into(),
            sha256: "ab".repeat(32),
        },
        dataset: DatasetInfo {
            name: "kinetics".into(),
            manifest: "test.csv".into(),
            videos: VIDEOS,
            sha256: "cd".repeat(32),
        },
        batch: 10,
        device: "cpu".into(),
        vbench_version: env!("CARGO_PKG_VERSION").into(),
        label_map: None,
        variant: None,
        variant_model: None,
        protocol_from: None,
    }
}

/// Every record in writing order: position `p`'s record, sometimes twice (a failure, then the
/// resumed success), sometimes failed for good.
fn records(p: &Protocol, rng: &mut Rng) -> Vec<Record> {
    let views = (p.temporal_clips * p.spatial_crops) as usize;
    let mut out = Vec::new();
    for i in 0..VIDEOS {
        let id = format!("class/v{i:04}.mp4");
        let mut r = Record {
            index: i,
            id: id.clone(),
            status: RecordStatus::Ok,
            label: Some(if i % 50 == 0 {
                -1
            } else {
                (rng.next() % CLASSES as u64) as i64
            }),
            labels: None,
            scores: None,
            views: Vec::new(),
            gt: None,
            boxes: None,
            kind: None,
            error: None,
        };
        if i % 97 == 5 || i % 31 == 0 {
            let mut f = r.clone();
            f.status = RecordStatus::Failed;
            f.kind = Some("decode".into());
            f.error = Some(format!("{id}: broken"));
            out.push(f);
            if i % 97 == 5 {
                continue; // failed for good
            }
        }
        r.views = (0..views as u32)
            .map(|v| ViewRecord {
                clip: v / p.spatial_crops,
                crop: v % p.spatial_crops,
                scores: (0..CLASSES).map(|_| rng.f32()).collect(),
                logits: None,
            })
            .collect();
        let vs: Vec<&[f32]> = r.views.iter().map(|v| v.scores.as_slice()).collect();
        r.scores = Some(aggregate(&id, &vs, p.aggregation).unwrap());
        out.push(r);
    }
    out
}

fn write(path: &Path, h: &Header, records: &[&Record]) {
    let (mut w, _) = PredictionsWriter::open(path, h, true).unwrap();
    for r in records {
        w.append(r).unwrap();
    }
}

fn results(p: &Protocol, accuracy: Measure<vbench_results::AccuracyResult>) -> Results {
    Results {
        schema_version: vbench_results::SCHEMA_VERSION,
        suite: vbench_results::SuiteSummary {
            name: "k400".into(),
            title: "Kinetics-400".into(),
            dataset: "kinetics400".into(),
            task: "classification".into(),
            source: "builtin:k400".into(),
            description: None,
        },
        provenance: Provenance {
            vbench_version: env!("CARGO_PKG_VERSION").into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            ..Provenance::default()
        },
        entries: vec![EntryResult {
            id: "k400/x3d_xs".into(),
            name: "x3d_xs".into(),
            arch: "x3d_xs".into(),
            protocol: p.clone(),
            checkpoint_url: String::new(),
            protocol_from: None,
            model_file: None,
            published: Published::default(),
            notes: None,
            params: Measure::Skipped { reason: "-".into() },
            flops: Measure::Skipped { reason: "-".into() },
            accuracy,
            latency: Vec::new(),
            variants: Vec::new(),
        }],
    }
}

/// The latest line per position of a predictions file, as text.
fn latest_lines(path: &Path) -> BTreeMap<u64, String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["index"].as_u64().unwrap(), l.to_string())
        })
        .collect()
}

#[test]
fn merge_of_7_shards_scores_bit_identical_to_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = protocol();
    let h = header(&p);
    let all = records(&p, &mut Rng(7));

    // The reference: one file, written in another order than any shard's (order never matters).
    let single = dir.path().join("single.jsonl");
    let mut shuffled: Vec<&Record> = all.iter().collect();
    // A stable sort keeps each position's own order (failure before its retry).
    shuffled.sort_by_key(|r| r.index % 13);
    write(&single, &h, &shuffled);
    let reference = score_file(&single, None).unwrap();
    assert_eq!(reference.not_reached, 0);

    let dirs: Vec<PathBuf> = Shard::all(SHARDS)
        .map(|shard| {
            let d = dir.path().join(format!("shard-{}", shard.index));
            std::fs::create_dir_all(d.join("predictions")).unwrap();
            let mine: Vec<&Record> = all.iter().filter(|r| shard.contains(r.index)).collect();
            let file = d.join("predictions/x3d_xs.jsonl");
            write(&file, &h, &mine);
            let mut acc = score_file(&file, None).unwrap().accuracy;
            acc.predictions = Some("predictions/x3d_xs.jsonl".into());
            save_results(
                &d.join("results.json"),
                &results(&p, Measure::Measured { value: acc }),
            )
            .unwrap();
            ShardManifest::new(shard, "k400", vec!["k400/x3d_xs".into()])
                .write(&d)
                .unwrap();
            d
        })
        .collect();

    let out = dir.path().join("merged");
    // Shards given in any order.
    let mut given = dirs.clone();
    given.reverse();
    let staged = prepare(&given, &out, Provenance::default()).unwrap();
    let merged = staged.results.entries[0].accuracy.value().unwrap().clone();
    staged.commit().unwrap();

    let mut expected = reference.accuracy.clone();
    expected.predictions = Some("predictions/x3d_xs.jsonl".into());
    assert_eq!(
        serde_json::to_value(&merged).unwrap(),
        serde_json::to_value(&expected).unwrap()
    );
    for (a, b) in [
        (merged.top1, expected.top1),
        (merged.top5, expected.top5),
        (merged.clip_top1, expected.clip_top1),
    ] {
        assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits));
    }
    assert!(merged.top1.is_some() && merged.failed_videos > 0);
    let merged_file = out.join("predictions/x3d_xs.jsonl");
    assert_eq!(latest_lines(&merged_file), latest_lines(&single));
    // Ordered by list position, one line per video.
    let keys: Vec<u64> = std::fs::read_to_string(&merged_file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["index"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(keys, (0..VIDEOS as u64).collect::<Vec<_>>());
    let re = vbench_results::load_results(&out.join("results.json")).unwrap();
    assert_eq!(re.entries[0].accuracy.status(), "measured");
    // Nothing of the staging folder is left.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");

    // A record of another shard's position in shard 3: refused, naming shard-3; nothing written.
    let bad = &dirs[3];
    let file = bad.join("predictions/x3d_xs.jsonl");
    let foreign = all.iter().find(|r| r.index % SHARDS == 4).unwrap();
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(&serde_json::to_string(foreign).unwrap());
    text.push('\n');
    std::fs::write(&file, text).unwrap();
    let out2 = dir.path().join("merged2");
    let err = prepare(&dirs, &out2, Provenance::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("shard-3") && err.contains("not shard 3/7"),
        "{err}"
    );
    assert!(!out2.exists());
}
