//! `vbench merge` on shard folders whose files were cut short or edited by hand: two real shards
//! of one run (x3d_xs, random weights, three real videos and a missing one) are copied for each
//! of at least 500 cases generated from a fixed seed, and one of their files (results.json,
//! shard.json, the predictions file) is mutated. No case may panic; every refusal names the file
//! and the line (or, for a JSON document, serde's line) of what is wrong, or, for a shard that
//! is whole but does not belong (say, an edited shard index), the folder.

use std::path::{Path, PathBuf};
use vbench_eval::run::merge::merge_into;
use vbench_eval::run::options::RunOptions;
use vbench_eval::run::session::Session;
use vbench_eval::run::shard::Shard;
use vbench_testkit::fuzz::{mutate, names_file_and_line, no_panic, Rng};
use vbench_testkit::{repo_root, shared_dir};

const CASES: usize = 540;

/// k400 with one temporal clip (3 views a video), its table copied to agree.
fn suite(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("suites/k400.toml")).unwrap();
    let path = dir.join("k400.toml");
    std::fs::write(
        &path,
        text.replace("\ntemporal_clips = 10\n", "\ntemporal_clips = 1\n"),
    )
    .unwrap();
    let csv = std::fs::read_to_string(repo_root().join("reference-results/k400.csv")).unwrap();
    std::fs::write(dir.join("k400.csv"), csv.replace(",3,10,", ",3,1,")).unwrap();
    path
}

fn dataset(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("videos")).unwrap();
    for (i, v) in ["k400_demo.mp4", "mobile_demo_1.mp4", "short.avi"]
        .iter()
        .enumerate()
    {
        let ext = v.rsplit('.').next().unwrap();
        std::os::unix::fs::symlink(
            shared_dir().join("data/videos").join(v),
            data.join(format!("videos/v{i}.{ext}")),
        )
        .unwrap();
    }
    std::fs::write(
        data.join("test.csv"),
        "videos/v0.mp4 1\nvideos/v1.mp4 2\nvideos/missing.mp4 3\nvideos/v2.avi 4\n",
    )
    .unwrap();
    data
}

fn weights(dir: &Path) -> PathBuf {
    tch::manual_seed(3);
    let plan = vbench_suite::load_suite("k400").unwrap();
    let e = plan.entry("x3d_xs").unwrap();
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let _m = vbench_models::build(
        e.arch().unwrap(),
        e.protocol.num_classes as i64,
        e.protocol.head_activation,
        &vs.root(),
    )
    .unwrap();
    let path = dir.join("w.safetensors");
    vs.save(&path).unwrap();
    path
}

/// The two shard folders of one run.
fn shards(dir: &Path) -> [PathBuf; 2] {
    let (suite, data, w) = (suite(dir), dataset(dir), weights(dir));
    [0, 1].map(|i| {
        let out = dir.join(format!("base/shard-{i}"));
        let opts = RunOptions {
            entries: vec!["x3d_xs".into()],
            out: Some(out.clone()),
            latency: None,
            data_root: Some(data.clone()),
            weights: Some(w.clone()),
            threads: Some(1),
            shard: Some(Shard::new(i, 2).unwrap()),
            ..RunOptions::new(suite.display().to_string())
        };
        let finished = Session::open(opts).unwrap().run(&mut |_| {}).unwrap();
        assert_eq!(finished.results.entries[0].accuracy.status(), "measured");
        out
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn merges_of_cut_or_edited_shards_never_panic_and_refusals_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = shards(dir.path());
    let provenance = || vbench_eval::provenance::collect(vec!["test".into()]);
    // The untouched shards merge.
    merge_into(&base, &dir.path().join("merged"), provenance()).unwrap();

    let files = ["results.json", "shard.json", "predictions/x3d_xs.jsonl"];
    let mut rng = Rng::new(0x6d65_7267);
    let (mut refused, mut panics, mut unnamed) = (0, Vec::new(), Vec::new());
    for case in 0..CASES {
        let root = dir.path().join(format!("case{case}"));
        let dirs: Vec<PathBuf> = base
            .iter()
            .map(|b| {
                let d = root.join(b.file_name().unwrap());
                copy_dir(b, &d);
                d
            })
            .collect();
        let target = dirs[rng.below(2)].join(rng.pick(&files));
        let (bytes, what) = mutate(&mut rng, &std::fs::read(&target).unwrap());
        std::fs::write(&target, bytes).unwrap();
        let what = format!("{}: {what}", target.display());
        match no_panic(|| merge_into(&dirs, &root.join("out"), provenance())) {
            Err(p) => panics.push(format!("case {case} ({what}): panic: {p}")),
            Ok(Err(e)) => {
                refused += 1;
                let m = e.to_string();
                let file = target.display().to_string();
                let folder = target
                    .ancestors()
                    .find(|a| {
                        a.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("shard-"))
                    })
                    .unwrap()
                    .display()
                    .to_string();
                let named =
                    names_file_and_line(&m, &file) || (m.contains(&folder) && !m.contains(&file));
                if !named {
                    unnamed.push(format!("case {case} ({what}): {m}"));
                }
            }
            Ok(Ok(_)) => {}
        }
        std::fs::remove_dir_all(&root).unwrap();
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
        "{} refusals not naming the file and line:\n{}",
        unnamed.len(),
        unnamed.join("\n")
    );
    assert!(refused > CASES / 4, "the corpus barely hurts: {refused}");
}
