//! A full disk while `vbench run` writes results.json or a predictions file: exit 2 naming the
//! file, results.json keeps its last good content, and no partial temporary file is left.
//!
//! The disk is real and really full, without root: a 4 MiB tmpfs mounted inside an unprivileged
//! user and mount namespace (`unshare --user --map-root-user --mount`), filled with `dd` until
//! ENOSPC, then two pages freed (one for the run's lock file, one for its writability probe).
//! The runs happen inside the namespace; what they left is copied out before it ends. A machine
//! without unprivileged user namespaces fails this test, saying so.

use vbench_testkit::shards::*;
use vbench_testkit::{s, tempdir, text};

use std::process::Command;

const SCRIPT: &str = r#"
set -u
M=$1; EXT=$2; VB=$3; D=$4; W=$5
mount -t tmpfs -o size=4m tmpfs "$M" || exit 90
"$VB" run --suite k400 --entry x3d_xs --no-latency --out "$M/out" > "$EXT/log.good" 2>&1
echo $? > "$EXT/rc.good"
cp "$M/out/results.json" "$EXT/good.json"
dd if=/dev/zero of="$M/filler" bs=4096 2> /dev/null
truncate -s -8192 "$M/filler"
# results.json: a second entry makes it larger than the one free page.
"$VB" run --suite k400 --entry x3d_xs --entry c2d_r50 --no-latency --out "$M/out" > "$EXT/log.results" 2>&1
echo $? > "$EXT/rc.results"
cp "$M/out/results.json" "$EXT/after.results.json"
ls -A "$M/out" > "$EXT/ls.results"
# predictions: the header fits, the first video's record does not.
"$VB" run --suite k400 --entry x3d_xs --data-root "$D" --weights "$W" --no-latency --out "$M/out" > "$EXT/log.predictions" 2>&1
echo $? > "$EXT/rc.predictions"
cp "$M/out/results.json" "$EXT/after.predictions.json"
ls -A "$M/out" > "$EXT/ls.predictions"
"#;

#[test]
fn a_full_disk_exits_2_naming_the_file_and_keeps_the_last_good_results() {
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "this test needs unprivileged user namespaces (`unshare --user --map-root-user --mount`, \
         util-linux; kernel.unprivileged_userns_clone=1): {probe:?}"
    );
    let dir = tempdir();
    let root = dir.path();
    let data = make_dataset(root, 1);
    let weights = make_weights(root);
    let (mnt, ext) = (root.join("mnt"), root.join("ext"));
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::create_dir_all(&ext).unwrap();
    let o = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "bash",
            "-c",
            SCRIPT,
            "full-disk",
        ])
        .args([
            s(&mnt),
            s(&ext),
            env!("CARGO_BIN_EXE_vbench"),
            s(&data),
            s(&weights),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let read = |name: &str| std::fs::read_to_string(ext.join(name)).unwrap();
    assert_eq!(read("rc.good").trim(), "0", "{}", read("log.good"));
    let good = read("good.json");
    let out = mnt.join("out");
    for (phase, file) in [
        ("results", out.join("results.json")),
        ("predictions", out.join("predictions/x3d_xs.jsonl")),
    ] {
        let log = read(&format!("log.{phase}"));
        assert_eq!(read(&format!("rc.{phase}")).trim(), "2", "{phase}: {log}");
        let line = log
            .lines()
            .find(|l| l.starts_with("vbench: error: "))
            .unwrap_or_else(|| panic!("{phase}: no error line:\n{log}"));
        assert_eq!(
            line,
            format!(
                "vbench: error: {}: cannot write: No space left on device (os error 28)",
                file.display()
            ),
            "{phase}"
        );
        assert_eq!(
            read(&format!("after.{phase}.json")),
            good,
            "{phase}: results.json changed"
        );
        let left = read(&format!("ls.{phase}"));
        assert!(
            !left.contains(".tmp"),
            "{phase}: a temporary file is left: {left}"
        );
        assert!(
            !left.contains("vbench.lock"),
            "{phase}: the lock is left: {left}"
        );
    }
}
