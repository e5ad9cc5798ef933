//! `vbench check-data --reference-list`: what a copy lacks or adds against the list a published
//! number was measured on, on a Kinetics-style tree of the real videos in `../shared/data` (one of
//! them truncated, so it fails to decode and counts as missing); an unknown list format exits 2
//! naming the file and line.

use std::path::{Path, PathBuf};
use vbench_testkit::{text, vbench};

fn shared_videos() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/videos")
}

/// A copy of three listed videos (A, B decodable; C truncated) plus E listed but absent.
fn tree(dir: &Path) -> PathBuf {
    let root = dir.join("k400");
    let v = root.join("videos");
    std::fs::create_dir_all(&v).unwrap();
    let src = shared_videos();
    std::fs::copy(
        src.join("k400_demo.mp4"),
        v.join("AAAAAAAAAAA_000001_000011.mp4"),
    )
    .unwrap();
    std::fs::copy(
        src.join("short.avi"),
        v.join("BBBBBBBBBBB_000002_000012.avi"),
    )
    .unwrap();
    let bytes = std::fs::read(src.join("k400_demo.mp4")).unwrap();
    std::fs::write(v.join("CCCCCCCCCCC_000003_000013.mp4"), &bytes[..1000]).unwrap();
    std::fs::write(
        root.join("test.csv"),
        "videos/AAAAAAAAAAA_000001_000011.mp4 5\nvideos/BBBBBBBBBBB_000002_000012.avi 7\n\
         videos/CCCCCCCCCCC_000003_000013.mp4 9\nvideos/EEEEEEEEEEE_000005_000015.mp4 9\n",
    )
    .unwrap();
    root
}

#[test]
fn counts_what_the_copy_lacks_and_adds() {
    let dir = tempfile::tempdir().unwrap();
    let root = tree(dir.path());
    // The reference: A, B (other time range: not the same clip), C, D.
    let list = dir.path().join("val.csv");
    std::fs::write(
        &list,
        "label,youtube_id,time_start,time_end,split\narm wrestling,AAAAAAAAAAA,1,11,val\n\
         x,BBBBBBBBBBB,20,30,val\nx,CCCCCCCCCCC,3,13,val\nx,DDDDDDDDDDD,4,14,val\n",
    )
    .unwrap();
    let o = vbench(&[
        "check-data",
        "--suite",
        "k400",
        "--data-root",
        root.to_str().unwrap(),
        "--reference-list",
        list.to_str().unwrap(),
        "--format",
        "json",
    ]);
    // The copy itself fails the check (C corrupt, E missing): exit 1, the coverage still reported.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &j["reference"];
    assert_eq!(r["reference_videos"], 4);
    // A present; B's range differs, so absent like D; C fails to decode: missing.
    assert_eq!(
        (r["present"].as_u64(), r["absent"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(
        (r["unusable"].as_u64(), r["missing"].as_u64()),
        (Some(1), Some(3))
    );
    // B (decodable, another range) is what the copy adds; E is absent from disk, so not added.
    assert_eq!(r["extra"], 1);
    assert!(r["extra_examples"][0]
        .as_str()
        .unwrap()
        .contains("BBBBBBBBBBB"));
    assert!(r["unusable_examples"][0]
        .as_str()
        .unwrap()
        .contains("corrupt"));

    let o = vbench(&[
        "check-data",
        "--suite",
        "k400",
        "--data-root",
        root.to_str().unwrap(),
        "--reference-list",
        list.to_str().unwrap(),
    ]);
    let out = text(&o);
    assert!(
        out.contains("reference list") && out.contains("failing to decode"),
        "{out}"
    );
}

#[test]
fn an_unknown_list_format_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = tree(dir.path());
    let list = dir.path().join("list.txt");
    std::fs::write(&list, "AAAAAAAAAAA_000001_000011.mp4 1\nnot a video name\n").unwrap();
    let o = vbench(&[
        "check-data",
        "--suite",
        "k400",
        "--data-root",
        root.to_str().unwrap(),
        "--reference-list",
        list.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "{}:2: unknown reference-list format",
            list.display()
        )),
        "{}",
        text(&o)
    );
}
