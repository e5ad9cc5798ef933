//! Shards whose requested measurements fail still merge: `--jobs` accepts a shard's exit 3, the
//! merged run carries the failure and exits 3 (the Slurm scripts: `shards_slurm.rs`). A shard
//! in which no video scored fails its entry, but its records merge, and the merged run, which
//! scored videos, is complete.

use vbench_testkit::shards::*;
use vbench_testkit::{s, tempdir, text, vbench};

fn summary(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .find(|l| l.starts_with("vbench: ") && l.contains("produced no result"))
        .unwrap_or_else(|| panic!("no summary line:\n{}", text(o)))
        .to_string()
}

#[test]
fn jobs_merge_shards_with_failed_entries_and_exit_3() {
    let dir = tempdir();
    let root = dir.path();
    let suite = make_suite(root);
    let data = make_dataset(root, 2);
    let empty = root.join("no-weights");
    std::fs::create_dir_all(&empty).unwrap();
    let top = root.join("top");
    let o = vbench(&[
        "run",
        "--suite",
        s(&suite),
        "--entry",
        ENTRY,
        "--data-root",
        s(&data),
        "--weights-dir",
        s(&empty),
        "--no-latency",
        "--jobs",
        "2",
        "--out",
        s(&top),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let line = summary(&o);
    assert!(
        line.contains(
            "1 requested measurement produced no result: k400/x3d_xs accuracy (shard 0/2"
        ),
        "{line}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("with failed measurements (merged all the same)"),
        "{err}"
    );
    let merged = read_json(&top.join("results.json"));
    let a = &merged["entries"][0]["accuracy"];
    assert_eq!(a["status"], "failed");
    let e = a["error"].as_str().unwrap();
    assert!(
        e.contains("shard 0/2") && e.contains("shard 1/2") && e.contains("X3D_XS.pyth"),
        "{e}"
    );
    // `vbench merge` of the same shards, elsewhere: the same verdict.
    let again = root.join("again");
    let o = vbench(&[
        "merge",
        "--out",
        s(&again),
        s(&top.join("shard-0")),
        s(&top.join("shard-1")),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(
        read_json(&again.join("results.json"))["entries"][0]["accuracy"],
        *a
    );
}

#[test]
fn a_shard_without_a_scored_video_fails_but_merges_into_a_complete_run() {
    let dir = tempdir();
    let root = dir.path();
    let suite = make_suite(root);
    let data = make_dataset(root, 1);
    // Position 0 (shard 0) is a real video; position 1 (shard 1) does not exist.
    std::fs::write(
        data.join("test.csv"),
        "videos/v00.mp4 3\nvideos/not_there.mp4 7\n",
    )
    .unwrap();
    let weights = make_weights(root);
    let top = root.join("top");
    let o = vbench(&[
        "run",
        "--suite",
        s(&suite),
        "--entry",
        ENTRY,
        "--data-root",
        s(&data),
        "--weights",
        s(&weights),
        "--no-latency",
        "--jobs",
        "2",
        "--out",
        s(&top),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let shard1 = read_json(&top.join("shard-1/results.json"));
    let e = shard1["entries"][0]["accuracy"]["error"].as_str().unwrap();
    assert!(
        e.contains("no video could be scored: all 1 failed: 1 missing"),
        "{e}"
    );
    let log = std::fs::read_to_string(top.join("shard-1/run.log")).unwrap();
    assert!(log.contains("produced no result"), "{log}");
    let a = &read_json(&top.join("results.json"))["entries"][0]["accuracy"];
    assert_eq!(a["status"], "measured", "{a}");
    assert_eq!(
        (
            a["value"]["videos"].as_u64(),
            a["value"]["failed_videos"].as_u64()
        ),
        (Some(1), Some(1))
    );
}
