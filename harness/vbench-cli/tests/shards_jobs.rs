//! Without a cluster: `--shard` input errors, `vbench run --jobs K` (local shard
//! processes + merge) equals a single-process run bit for bit, `vbench merge` refuses missing,
//! duplicate and foreign shards naming the folder and writes nothing then, and `vbench slurm`
//! says clearly when Slurm is not reachable.

use vbench_testkit::shards::*;
use vbench_testkit::{s, tempdir, text, vbench};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn shard_index_out_of_range_or_malformed_exits_2() {
    let dir = tempdir();
    let out = dir.path().join("o");
    for (spec, says) in [
        ("4/4", "out of range"),
        ("7/3", "0 to 2"),
        ("0/0", "at least 1"),
        ("two/4", "expected i/N"),
    ] {
        let o = vbench(&["run", "--suite", "k400", "--shard", spec, "--out", s(&out)]);
        assert_eq!(o.status.code(), Some(2), "{spec}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(spec) && err.contains(says), "{spec}: {err}");
    }
    assert!(!out.exists(), "nothing is written for bad input");
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

/// A copy of `shard` with `edit` applied, in `root/name`.
fn tampered(root: &Path, shard: &Path, name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    let t = root.join(name);
    copy_dir(shard, &t);
    edit(&t);
    t
}

/// Rewrites line 1 (the header) of the entry's predictions file.
fn edit_header(dir: &Path, f: impl FnOnce(&mut Value)) {
    let p = dir.join("predictions").join(format!("{ENTRY}.jsonl"));
    let text = std::fs::read_to_string(&p).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    let mut h: Value = serde_json::from_str(first).unwrap();
    f(&mut h);
    std::fs::write(
        &p,
        format!("{}\n{rest}", serde_json::to_string(&h).unwrap()),
    )
    .unwrap();
}

fn edit_json(p: &Path, f: impl FnOnce(&mut Value)) {
    let mut v = read_json(p);
    f(&mut v);
    std::fs::write(p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// `vbench merge dirs --out out` must fail with exit 2, naming `culprit` and saying `says`, and
/// leave no results in `out`.
fn refused(dirs: &[&Path], out: &Path, culprit: &str, says: &str) {
    let mut args = vec!["merge", "--out", s(out)];
    args.extend(dirs.iter().map(|d| s(d)));
    let o = vbench(&args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(culprit) && err.contains(says),
        "expected `{culprit}` and `{says}` in:\n{err}"
    );
    let left: Vec<_> = std::fs::read_dir(out)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "a refused merge wrote {left:?}");
}

#[test]
fn jobs_equal_single_run_and_merge_refuses_bad_shards() {
    let dir = tempdir();
    let root = dir.path();
    let suite = make_suite(root);
    let data = make_dataset(root, 4);
    let weights = make_weights(root);
    let single = root.join("single");
    run_single(&suite, &data, &weights, &single);

    // Two local shard processes, then the merge into --out.
    let jobs = root.join("jobs");
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
        "--out",
        s(&jobs),
        "--no-latency",
        "--threads",
        "1",
        "--jobs",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_same_run(&single, &jobs);
    let shard = |i: usize| jobs.join(format!("shard-{i}"));
    let manifest = read_json(&shard(1).join("shard.json"));
    assert_eq!(
        (manifest["index"].as_u64(), manifest["count"].as_u64()),
        (Some(1), Some(2))
    );
    // Each shard scored only its own list positions (p mod 2).
    let (_, own) = records(&shard(1));
    assert!(own.keys().all(|p| p % 2 == 1) && !own.is_empty());
    let merged = read_json(&jobs.join("merge.json"));
    assert_eq!(merged["shards"].as_array().unwrap().len(), 2);

    // The merge again by hand, into its default folder (the shards' parent), is the same.
    std::fs::remove_file(jobs.join("results.json")).unwrap();
    let o = vbench(&["merge", s(&shard(1)), s(&shard(0))]);
    assert!(o.status.success(), "{}", text(&o));
    assert_same_run(&single, &jobs);

    let out = root.join("refused");
    let (s0, s1) = (shard(0), shard(1));
    refused(&[&s0], &out, "shard 1/2", "missing");
    let dup = tampered(root, &s0, "dup", |_| {});
    refused(&[&s0, &s1, &dup], &out, s(&dup), "given twice");
    let t = tampered(root, &s1, "weights", |d| {
        edit_header(d, |h| h["weights"]["sha256"] = Value::from("0".repeat(64)))
    });
    refused(&[&s0, &t], &out, s(&t), "weights sha256");
    let t = tampered(root, &s1, "protocol", |d| {
        edit_header(d, |h| h["protocol"]["crop"] = Value::from(160))
    });
    refused(&[&s0, &t], &out, s(&t), "protocol");
    let t = tampered(root, &s1, "dataset", |d| {
        edit_header(d, |h| h["dataset"]["sha256"] = Value::from("f".repeat(64)))
    });
    refused(&[&s0, &t], &out, s(&t), "dataset-list sha256");
    let t = tampered(root, &s1, "version", |d| {
        edit_json(&d.join("results.json"), |r| {
            r["provenance"]["vbench_version"] = Value::from("0.0.1")
        })
    });
    refused(&[&s0, &t], &out, s(&t), "vbench version");
    let t = tampered(root, &s1, "suite", |d| {
        edit_json(&d.join("shard.json"), |m| m["suite"] = Value::from("ssv2"))
    });
    refused(&[&s0, &t], &out, s(&t), "suite");
    let t = tampered(root, &s1, "unfinished", |d| {
        let p = d.join("predictions").join(format!("{ENTRY}.jsonl"));
        let text = std::fs::read_to_string(&p).unwrap();
        let keep: Vec<&str> = text.lines().collect();
        std::fs::write(&p, format!("{}\n", keep[..keep.len() - 1].join("\n"))).unwrap();
    });
    refused(&[&s0, &t], &out, s(&t), "no record");
    refused(
        &[&s0, &root.join("single")],
        &out,
        "single",
        "no shard.json",
    );
    // A shard folder is never the merge target.
    let o = vbench(&["merge", "--out", s(&s1), s(&s0), s(&s1)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a shard folder"));
}

#[test]
fn slurm_scripts_and_unreachable_sbatch() {
    let dir = tempdir();
    let out = dir.path().join("run");
    let data = dir.path().join("data");
    let o = vbench(&[
        "slurm",
        "--suite",
        "k400",
        "--shards",
        "3",
        "--entry",
        ENTRY,
        "--partition",
        "gpu",
        "--gpus-per-task",
        "1",
        "--time",
        "01:00:00",
        "--data-root",
        s(&data),
        "--out",
        s(&out),
        "--",
        "--batch",
        "30",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let shards = std::fs::read_to_string(out.join("slurm/shards.sbatch")).unwrap();
    let merge = std::fs::read_to_string(out.join("slurm/merge.sbatch")).unwrap();
    for want in [
        "#SBATCH --array=0-2",
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --time=01:00:00",
        "--shard \"$I/$N\"",
        "/shard-\"$I\"",
        "--device cuda",
        "--batch 30",
    ] {
        assert!(shards.contains(want), "{want} not in\n{shards}");
    }
    assert!(shards.contains(s(&data)), "absolute data root");
    assert!(
        merge.contains("merge --out") && merge.contains("shard-2"),
        "{merge}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("afterok") && stdout.contains("--array=0-2"),
        "{stdout}"
    );

    // No sbatch on PATH.
    let empty = dir.path().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let submit = |path: &Path| {
        Command::new(env!("CARGO_BIN_EXE_vbench"))
            .args([
                "slurm",
                "--suite",
                "k400",
                "--shards",
                "2",
                "--submit",
                "--out",
                s(&out),
            ])
            .env("PATH", path)
            .output()
            .unwrap()
    };
    let o = submit(&empty);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sbatch") && err.contains("not on PATH"),
        "{err}"
    );

    // An sbatch that cannot reach the controller.
    let fake = dir.path().join("fake-slurm");
    std::fs::create_dir_all(&fake).unwrap();
    let script = fake.join("sbatch");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = submit(&fake);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sbatch") && err.contains("Unable to contact slurm controller"),
        "{err}"
    );
}
