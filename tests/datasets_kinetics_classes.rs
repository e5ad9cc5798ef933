//! A Kinetics-layout tree with its own class list (`classes.txt` under the data root, any number of
//! classes), on trees built here from the shared videos (symlinks): labels map through the list
//! (class folders, and class names in a CSV list), the list decides the model's output size, the
//! built-in Kinetics-400 names label folders only when the tree has no list, and malformed lists
//! are errors naming file and line.

use std::path::{Path, PathBuf};
use vbench_data::datasets::{
    check_class_list, format_of, kinetics400_classes, load_manifest, Labels, ManifestOptions,
    Source, CLASS_LIST_FILE,
};
use vbench_data::DataError;
use vbench_suite::Dataset;
use vbench_testkit::shared_dir;

fn link(root: &Path, rel: &str, real: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(shared_dir().join("data/videos").join(real), p).unwrap();
}

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let p = root.join(rel);
    std::fs::write(&p, text).unwrap();
    p
}

fn with_classes(n: Option<u32>) -> ManifestOptions {
    ManifestOptions {
        num_classes: n,
        ..ManifestOptions::default()
    }
}

fn labels(root: &Path, n: Option<u32>) -> Vec<(String, i64)> {
    load_manifest(Dataset::Kinetics400, root, &with_classes(n))
        .unwrap()
        .samples
        .iter()
        .map(|s| match s.labels {
            Labels::Single(l) => (s.id.clone(), l),
            _ => panic!("{}: not a single label", s.id),
        })
        .collect()
}

/// A 3-class tree in the list's own order (not alphabetical), folders spelled with `_`.
fn folder_tree(root: &Path) -> PathBuf {
    link(root, "val/zumba/a.mp4", "k400_demo.mp4");
    link(root, "val/arm_wrestling/b.avi", "short.avi");
    link(root, "val/making_tea/c.mp4", "mobile_demo_1.mp4");
    write(
        root,
        CLASS_LIST_FILE,
        "zumba\n\nmaking tea\narm wrestling\n",
    )
}

#[test]
fn kinetics_class_folders_map_through_the_trees_class_list() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let classes = folder_tree(root);
    assert_eq!(
        labels(root, Some(3)),
        [
            ("arm_wrestling/b.avi".to_string(), 2),
            ("making_tea/c.mp4".to_string(), 1),
            ("zumba/a.mp4".to_string(), 0),
        ]
    );
    let m = load_manifest(Dataset::Kinetics400, root, &with_classes(Some(3))).unwrap();
    let list = m.class_list.unwrap();
    assert_eq!((list.path, list.names.len()), (classes.clone(), 3));
    assert_eq!(list.builtin, None);

    // The model's output size must be the list's: refused both when reading and before a run.
    for e in [
        load_manifest(Dataset::Kinetics400, root, &with_classes(Some(400))).unwrap_err(),
        check_class_list(Dataset::Kinetics400, root, &with_classes(Some(400))).unwrap_err(),
    ] {
        let text = e.to_string();
        let DataError::ClassCount {
            path,
            found,
            expected,
            ..
        } = e
        else {
            panic!("expected a class-count refusal, got {text}")
        };
        assert_eq!((path, found, expected), (classes.clone(), 3, 400), "{text}");
        assert!(text.contains("classes.txt"), "{text}");
    }

    // A folder the list does not name is an error naming the folder.
    link(root, "val/juggling/d.mp4", "short.avi");
    let e = load_manifest(Dataset::Kinetics400, root, &with_classes(Some(3)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("juggling"), "{e}");
}

#[test]
fn kinetics_csv_labels_are_indices_or_class_names() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    link(root, "videos/a.mp4", "k400_demo.mp4");
    link(root, "videos/b.avi", "short.avi");
    write(root, CLASS_LIST_FILE, "zumba\nmaking tea\narm wrestling\n");
    write(
        root,
        "test.csv",
        "videos/a.mp4 arm_wrestling\nvideos/b.avi 1\n",
    );
    assert_eq!(
        labels(root, Some(3)),
        [
            ("videos/a.mp4".to_string(), 2),
            ("videos/b.avi".to_string(), 1)
        ]
    );
    let list = write(
        root,
        "test.csv",
        "videos/a.mp4 zumba\nvideos/b.avi 1\nvideos/a.mp4 juggling\n",
    );
    let e = load_manifest(Dataset::Kinetics400, root, &with_classes(Some(3))).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, DataError::Parse { ref path, line: 3, .. } if *path == list),
        "{text}"
    );
    assert!(
        text.contains("juggling") && text.contains("classes.txt"),
        "{text}"
    );
}

#[test]
fn kinetics_class_list_repeats_are_refused_at_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    folder_tree(root);
    let classes = write(root, CLASS_LIST_FILE, "zumba\nmaking tea\nmaking_tea\n");
    for e in [
        load_manifest(Dataset::Kinetics400, root, &with_classes(None)).unwrap_err(),
        check_class_list(Dataset::Kinetics400, root, &with_classes(Some(3))).unwrap_err(),
    ] {
        let text = e.to_string();
        assert!(
            matches!(e, DataError::Parse { ref path, line: 3, .. } if *path == classes),
            "{text}"
        );
    }
}

#[test]
fn kinetics_without_a_class_list_keeps_the_builtin_names() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    link(root, "test/arm_wrestling/x.mp4", "k400_demo.mp4");
    // Folders map through the 400 built-in names, so they fix the output size too.
    assert_eq!(
        labels(root, Some(400)),
        [("arm_wrestling/x.mp4".to_string(), 6)]
    );
    let e = check_class_list(Dataset::Kinetics400, root, &with_classes(Some(10))).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, DataError::ClassCount { ref path, found: 400, .. } if *path == root.join("test")),
        "{text}"
    );
    assert!(
        text.contains("Kinetics-400") && text.contains("classes.txt"),
        "{text}"
    );
    assert_eq!(
        format_of(Dataset::Kinetics400).builtin_class_names(),
        Some(kinetics400_classes())
    );

    // A CSV of plain indices has no class list: any output size reads it.
    let csv = tempfile::tempdir().unwrap();
    link(csv.path(), "v/a.mp4", "short.avi");
    write(csv.path(), "val.csv", "v/a.mp4 7\n");
    assert_eq!(labels(csv.path(), Some(10)), [("v/a.mp4".to_string(), 7)]);
    assert!(
        check_class_list(Dataset::Kinetics400, csv.path(), &with_classes(Some(10)))
            .unwrap()
            .is_none()
    );
    let m = load_manifest(Dataset::Kinetics400, csv.path(), &with_classes(None)).unwrap();
    assert_eq!(
        m.samples[0].source,
        Source::Video(csv.path().join("v/a.mp4"))
    );
}
