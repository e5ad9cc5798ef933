//! HMDB51 behind the dataset seam: the official split files
//! (`testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`, test = 2) on a tree built here
//! from the shared videos (symlinks), read through `load_manifest` for each fold and compared with
//! PyTorchVideo's `Hmdb51LabeledVideoPaths` (`tests/oracles/datasets_splits.py`); malformed files
//! are errors naming file and line; a model of another output size is refused.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use vbench_data::datasets::{
    check_class_list, load_manifest, Labels, ManifestOptions, Source, HMDB51_SPLITS,
};
use vbench_data::DataError;
use vbench_suite::{Dataset, Fold};
use vbench_testkit::{repo_root, shared_dir, venv_python};

/// A video: its file, the shared video it links to, and its code per fold (0 unused, 1 train,
/// 2 test).
type Video = (&'static str, &'static str, [u8; 3]);

/// Per class, its videos.
const CLASSES: [(&str, [Video; 2]); 3] = [
    (
        "brush_hair",
        [
            (
                "April_09_brush_hair_u_nm_np1_ba_goo_0.avi",
                "short.avi",
                [2, 1, 0],
            ),
            (
                "Blonde_being_brushed_u_cm_np2_ri_med_1.avi",
                "k400_demo.mp4",
                [1, 2, 2],
            ),
        ],
    ),
    (
        "cartwheel",
        [
            (
                "Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8.avi",
                "mobile_demo_1.mp4",
                [2, 2, 1],
            ),
            (
                "Bodenturnen_2004_cartwheel_f_cm_np1_le_med_0.avi",
                "mobile_demo_2.mp4",
                [1, 1, 2],
            ),
        ],
    ),
    (
        "ride_bike",
        [
            (
                "Bike_Tricks_ride_bike_f_cm_np1_ba_med_0.avi",
                "mobile_demo_3.mp4",
                [2, 0, 2],
            ),
            (
                "Extreme_BMX_ride_bike_f_cm_np1_fr_med_1.avi",
                "short.avi",
                [0, 2, 1],
            ),
        ],
    ),
];

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The official layout under `root`: split files (`<video> <code> ` lines, the trailing space
/// as in the official files) and the videos in class folders.
fn hmdb_tree(root: &Path) {
    for (class, videos) in CLASSES {
        for fold in 1..=3 {
            let text: String = videos
                .iter()
                .map(|(v, _, codes)| format!("{v} {} \n", codes[fold - 1]))
                .collect();
            write(
                &root
                    .join(HMDB51_SPLITS)
                    .join(format!("{class}_test_split{fold}.txt")),
                &text,
            );
        }
        std::fs::create_dir_all(root.join(class)).unwrap();
        for (v, real, _) in videos {
            let src = shared_dir().join("data/videos").join(real);
            std::os::unix::fs::symlink(src, root.join(class).join(v)).unwrap();
        }
    }
}

fn opts(split: i64, num_classes: Option<u32>) -> ManifestOptions {
    ManifestOptions {
        split: Some(Fold::try_from(split).unwrap()),
        num_classes,
        ..ManifestOptions::default()
    }
}

fn oracle(root: &Path, fold: i64) -> Value {
    let out = Command::new(venv_python())
        .arg(repo_root().join("tests/oracles/datasets_splits.py"))
        .args(["hmdb51".as_ref(), root.as_os_str()])
        .arg(root.join(HMDB51_SPLITS))
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
fn hmdb51_folds_match_pytorchvideo() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    hmdb_tree(root);
    for n in 1..=3 {
        let m = load_manifest(Dataset::Hmdb51, root, &opts(n, Some(3))).unwrap();
        assert_eq!(m.name, "hmdb51");
        assert_eq!(
            m.manifest,
            format!("testTrainMulti_7030_splits/*_test_split{n}.txt")
        );
        let want = oracle(root, n);
        let ours: Vec<(String, i64)> = m
            .samples
            .iter()
            .map(|s| {
                let (Source::Video(p), Labels::Single(l)) = (&s.source, &s.labels) else {
                    panic!("{}: not a labelled video", s.id)
                };
                assert_eq!(p.file_name().unwrap().to_string_lossy(), s.id);
                (p.display().to_string(), *l)
            })
            .collect();
        let theirs: Vec<(String, i64)> = want["labeled"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v[0].as_str().unwrap().into(), v[1].as_i64().unwrap()))
            .collect();
        // Same videos, labels and order (class files sorted, lines in file order).
        assert_eq!(ours, theirs, "fold {n}");
        assert_eq!(ours.len(), 3, "fold {n}: one test video per class");
        let list = m.class_list.as_ref().unwrap();
        assert_eq!(list.names, ["brush_hair", "cartwheel", "ride_bike"]);
        assert_eq!(list.path, root.join(HMDB51_SPLITS));
    }
}

fn parse_error(e: DataError) -> (PathBuf, usize) {
    match e {
        DataError::Parse { path, line, .. } => (path, line),
        other => panic!("expected a parse error, got {other}"),
    }
}

#[test]
fn hmdb51_malformed_files_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    hmdb_tree(root);
    let split = root.join(HMDB51_SPLITS).join("cartwheel_test_split2.txt");
    for bad in [
        "a.avi 2\nb.avi test\n",
        "a.avi 2\nb.avi 7\n",
        "a.avi 2\nb.avi\n",
    ] {
        write(&split, bad);
        let e = load_manifest(Dataset::Hmdb51, root, &opts(2, None)).unwrap_err();
        assert_eq!(parse_error(e), (split.clone(), 2), "{bad:?}");
    }
    // A fold with no split files, and a root without the folder, name what is missing.
    for class in ["brush_hair", "cartwheel", "ride_bike"] {
        std::fs::remove_file(
            root.join(HMDB51_SPLITS)
                .join(format!("{class}_test_split3.txt")),
        )
        .unwrap();
    }
    let e = load_manifest(Dataset::Hmdb51, root, &opts(3, None))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("_test_split3.txt") && e.contains(HMDB51_SPLITS),
        "{e}"
    );
    let empty = tempfile::tempdir().unwrap();
    let e = load_manifest(Dataset::Hmdb51, empty.path(), &opts(1, None))
        .unwrap_err()
        .to_string();
    assert!(e.contains("testTrainMulti_7030_splits/"), "{e}");
}

#[test]
fn hmdb51_refuses_a_model_of_another_output_size() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    hmdb_tree(root);
    for e in [
        load_manifest(Dataset::Hmdb51, root, &opts(1, Some(51))).unwrap_err(),
        check_class_list(Dataset::Hmdb51, root, &opts(1, Some(51))).unwrap_err(),
    ] {
        let DataError::ClassCount {
            path,
            found,
            expected,
            ..
        } = e
        else {
            panic!("expected a class-count refusal, got {e}")
        };
        assert_eq!((path, found, expected), (root.join(HMDB51_SPLITS), 3, 51));
    }
    assert!(check_class_list(Dataset::Hmdb51, root, &opts(1, Some(3))).is_ok());
}
