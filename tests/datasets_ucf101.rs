//! UCF101 behind the dataset seam: the official split files (`ucfTrainTestlist/classInd.txt`,
//! `testlist0{1,2,3}.txt`) on a tree built here from the shared videos (symlinks), read through
//! `load_manifest` for each fold and compared with torchvision's fold selection and PyTorchVideo's
//! list reader (`tests/oracles/datasets_splits.py`); malformed files are errors naming file and
//! line; a model of another output size is refused; views come through the format.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use vbench_data::datasets::{
    check_class_list, format_of, load_manifest, ClassList, Labels, ManifestOptions, Source,
    UCF101_LISTS, UCF101_VIDEOS,
};
use vbench_data::{extract_views, DataError};
use vbench_suite::{find_entry, Dataset, Fold};
use vbench_testkit::{repo_root, shared_dir, venv_python};

/// classInd.txt's 101 classes, alphabetical as the official file: three real names around
/// generated ones (the reader needs the format, not the names).
fn class_names() -> Vec<String> {
    let mut names = vec!["ApplyEyeMakeup".to_string()];
    names.extend((2..=99).map(|i| format!("Class{i:03}")));
    names.extend(["HandstandPushups".into(), "YoYo".into()]);
    names
}

/// (list path, shared video, folds whose test list names it).
const VIDEOS: [(&str, &str, &[u8]); 4] = [
    (
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
        "short.avi",
        &[1, 2],
    ),
    // The official files spell this class's videos `HandStandPushups`.
    (
        "HandstandPushups/v_HandStandPushups_g01_c01.avi",
        "k400_demo.mp4",
        &[1, 3],
    ),
    ("YoYo/v_YoYo_g01_c01.avi", "mobile_demo_1.mp4", &[2, 3]),
    ("Class050/v_Class050_g02_c01.avi", "mobile_demo_2.mp4", &[2]),
];

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The official layout under `root`: split files, and the videos under `UCF-101/` (or the root).
fn ucf_tree(root: &Path, archive_folder: bool) -> PathBuf {
    let videos = if archive_folder {
        root.join(UCF101_VIDEOS)
    } else {
        root.to_path_buf()
    };
    let lists = root.join(UCF101_LISTS);
    let ind: String = class_names()
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} {c}\r\n", i + 1))
        .collect();
    write(&lists.join("classInd.txt"), &ind);
    let shared = |real: &str| shared_dir().join("data/videos").join(real);
    // Every class has a training video, in no test list (torchvision wants none empty).
    let mut train = String::new();
    for (i, c) in class_names().iter().enumerate() {
        let rel = format!("{c}/v_{c}_g08_c01.avi");
        std::fs::create_dir_all(videos.join(c)).unwrap();
        std::os::unix::fs::symlink(shared("short.avi"), videos.join(&rel)).unwrap();
        train.push_str(&format!("{rel} {}\r\n", i + 1));
    }
    for fold in 1..=3u8 {
        let test: String = VIDEOS
            .iter()
            .filter(|(_, _, f)| f.contains(&fold))
            .map(|(p, _, _)| format!("{p}\r\n"))
            .collect();
        write(&lists.join(format!("testlist0{fold}.txt")), &test);
        write(&lists.join(format!("trainlist0{fold}.txt")), &train);
    }
    for (rel, real, _) in VIDEOS {
        std::os::unix::fs::symlink(shared(real), videos.join(rel)).unwrap();
    }
    videos
}

fn fold(n: i64) -> Option<Fold> {
    Some(Fold::try_from(n).unwrap())
}

fn opts(split: Option<Fold>, num_classes: Option<u32>) -> ManifestOptions {
    ManifestOptions {
        split,
        num_classes,
        ..ManifestOptions::default()
    }
}

fn oracle(videos: &Path, lists: &Path, fold: u8) -> Value {
    let out = Command::new(venv_python())
        .arg(repo_root().join("tests/oracles/datasets_splits.py"))
        .args(["ucf101".as_ref(), videos.as_os_str(), lists.as_os_str()])
        .arg(fold.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oracle: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn ucf101_folds_match_torchvision_and_pytorchvideo() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let videos = ucf_tree(root, true);
    for n in 1..=3u8 {
        let m = load_manifest(Dataset::Ucf101, root, &opts(fold(n.into()), Some(101))).unwrap();
        assert_eq!(m.name, "ucf101");
        assert_eq!(m.manifest, format!("ucfTrainTestlist/testlist0{n}.txt"));
        let want = oracle(&videos, &root.join(UCF101_LISTS), n);
        // List order, as PyTorchVideo reads the test list.
        let ids: Vec<&str> = m.samples.iter().map(|s| s.id.as_str()).collect();
        let order: Vec<&str> = want["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(ids, order, "fold {n}");
        // Membership and labels, as torchvision's UCF101 selects the fold.
        let mut ours: Vec<(String, i64)> = m
            .samples
            .iter()
            .map(|s| {
                let (Source::Video(p), Labels::Single(l)) = (&s.source, &s.labels) else {
                    panic!("{}: not a labelled video", s.id)
                };
                (p.display().to_string(), *l)
            })
            .collect();
        let mut theirs: Vec<(String, i64)> = want["labeled"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v[0].as_str().unwrap().into(), v[1].as_i64().unwrap()))
            .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "fold {n}");
        let list = m.class_list.as_ref().unwrap();
        assert_eq!(list.names, class_names());
        assert_eq!(list.path, root.join("ucfTrainTestlist/classInd.txt"));
    }
    // No split: fold 1.
    let m = load_manifest(Dataset::Ucf101, root, &ManifestOptions::default()).unwrap();
    assert_eq!(m.manifest, "ucfTrainTestlist/testlist01.txt");
}

#[test]
fn ucf101_videos_may_sit_directly_under_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    ucf_tree(root, false);
    let m = load_manifest(Dataset::Ucf101, root, &opts(fold(3), None)).unwrap();
    assert_eq!(
        m.samples[0].source,
        Source::Video(root.join("HandstandPushups/v_HandStandPushups_g01_c01.avi"))
    );
    assert_eq!(m.samples[0].labels, Labels::Single(99));
}

fn parse_error(e: DataError) -> (PathBuf, usize, String) {
    let text = e.to_string();
    match e {
        DataError::Parse { path, line, .. } => (path, line, text),
        other => panic!("expected a parse error, got {other}"),
    }
}

#[test]
fn ucf101_malformed_files_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    ucf_tree(root, true);
    let lists = root.join(UCF101_LISTS);
    let load = |split| load_manifest(Dataset::Ucf101, root, &opts(fold(split), None));

    // A folder classInd.txt does not name, at line 2.
    let test = lists.join("testlist02.txt");
    write(
        &test,
        "YoYo/v_YoYo_g01_c01.avi\nJuggling/v_Juggling_g01_c01.avi\n",
    );
    let (path, line, text) = parse_error(load(2).unwrap_err());
    assert_eq!((path, line), (test.clone(), 2), "{text}");
    assert!(text.contains("Juggling"), "{text}");
    // A label that disagrees with its folder.
    write(&test, "YoYo/v_YoYo_g01_c01.avi 1\n");
    assert_eq!(parse_error(load(2).unwrap_err()).1, 1);

    // classInd.txt: an index out of sequence, a class listed twice, an extra field.
    let ind = lists.join("classInd.txt");
    let good = std::fs::read_to_string(&ind).unwrap();
    for (bad, line) in [
        ("1 ApplyEyeMakeup\n3 Class002\n", 2),
        ("1 ApplyEyeMakeup\n2 Class002\n3 applyeyemakeup\n", 3),
        ("1 ApplyEyeMakeup extra\n", 1),
    ] {
        write(&ind, bad);
        let (path, l, text) = parse_error(load(1).unwrap_err());
        assert_eq!((path, l), (ind.clone(), line), "{text}");
        // The run's check before it starts reads the same file and fails the same way.
        let e = check_class_list(Dataset::Ucf101, root, &opts(fold(1), Some(101))).unwrap_err();
        assert_eq!(parse_error(e).1, line);
    }
    write(&ind, &good);

    // A missing fold file is a layout error naming it.
    std::fs::remove_file(lists.join("testlist03.txt")).unwrap();
    let e = load(3).unwrap_err().to_string();
    assert!(e.contains("ucfTrainTestlist/testlist03.txt"), "{e}");
    assert!(e.contains("classInd.txt"), "the layout is described: {e}");
}

#[test]
fn ucf101_refuses_a_model_of_another_output_size() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    ucf_tree(root, true);
    let ind = root.join("ucfTrainTestlist/classInd.txt");
    let refused = |e: DataError| match e {
        DataError::ClassCount {
            path,
            found,
            expected,
            ..
        } => (path, found, expected),
        other => panic!("expected a class-count refusal, got {other}"),
    };
    let e = load_manifest(Dataset::Ucf101, root, &opts(fold(1), Some(400))).unwrap_err();
    assert!(e.to_string().contains("classInd.txt"), "{e}");
    assert_eq!(refused(e), (ind.clone(), 101, 400));
    let e = check_class_list(Dataset::Ucf101, root, &opts(None, Some(400))).unwrap_err();
    assert_eq!(refused(e), (ind.clone(), 101, 400));
    let ok: Option<ClassList> =
        check_class_list(Dataset::Ucf101, root, &opts(None, Some(101))).unwrap();
    assert_eq!(ok.unwrap().names.len(), 101);
}

#[test]
fn ucf101_views_come_through_the_format_bit_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    ucf_tree(root, true);
    let (plan, i) = find_entry("k400/x3d_xs").unwrap();
    let mut p = plan.entries[i].protocol.clone();
    p.temporal_clips = 2;
    let m = load_manifest(Dataset::Ucf101, root, &opts(fold(2), None)).unwrap();
    let s = &m.samples[0];
    let Source::Video(video) = &s.source else {
        panic!()
    };
    let ours = format_of(Dataset::Ucf101).views(s, &p).unwrap();
    let direct = extract_views(video, &p).unwrap();
    assert_eq!(ours.len(), 6);
    for (a, b) in ours.iter().zip(&direct) {
        assert_eq!(a.view, b.view);
        assert!(a.pathways[0].equal(&b.pathways[0]));
    }
}
