//! One writer per output folder: a `run` or `merge` into a folder another process holds exits 2
//! naming the folder, the host and the pid; with `--jobs` each shard process locks its own
//! `shard-i`. (A resume after `kill -9` taking over the dead run's lock is in
//! `run_resume_cli.rs`.)

use std::path::Path;
use std::process::Output;
use vbench_eval::run::lock::{host_name, OutLock};
use vbench_testkit::vbench;

fn quick_run(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        "--suite",
        "k400",
        "--entry",
        "x3d_xs",
        "--no-latency",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    vbench(&args)
}

fn refused_by_this_process(o: &Output, dir: &Path) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&dir.display().to_string())
            && err.contains(&format!("pid {}", std::process::id()))
            && err.contains(&format!("host {}", host_name())),
        "{err}"
    );
}

#[test]
fn run_and_merge_into_a_held_folder_exit_2_naming_folder_host_and_pid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let held = OutLock::acquire(&out).unwrap();
    let o = quick_run(&out, &[]);
    refused_by_this_process(&o, &out);
    assert!(!out.join("results.json").exists(), "nothing written");
    let o = vbench(&[
        "merge",
        "--out",
        out.to_str().unwrap(),
        dir.path().join("s0").to_str().unwrap(),
        dir.path().join("s1").to_str().unwrap(),
    ]);
    refused_by_this_process(&o, &out);
    drop(held);

    // Released: the run goes ahead, and leaves no lock behind.
    let o = quick_run(&out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("results.json").exists() && !out.join("vbench.lock").exists());
}

#[test]
fn with_jobs_the_parent_locks_the_folder_and_each_shard_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("top");
    let held = OutLock::acquire(&top).unwrap();
    refused_by_this_process(&quick_run(&top, &["--jobs", "2"]), &top);
    drop(held);

    // Shard 1's folder is held: its process refuses it, and the parent says which shard failed.
    let shard1 = top.join("shard-1");
    let _held = OutLock::acquire(&shard1).unwrap();
    let o = quick_run(&top, &["--jobs", "2"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("1 of 2 shards failed") && err.contains("shard 1/2"),
        "{err}"
    );
    let log = std::fs::read_to_string(shard1.join("run.log")).unwrap();
    assert!(
        log.contains(&format!("pid {}", std::process::id())) && log.contains(&host_name()),
        "{log}"
    );
}
