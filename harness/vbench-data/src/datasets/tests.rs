use super::*;
use crate::error::DataError;
use std::fs;
use std::path::PathBuf;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&p, text).unwrap();
    p
}

fn line_of(e: DataError) -> (PathBuf, usize) {
    match e {
        DataError::Parse { path, line, .. } => (path, line),
        other => panic!("expected a parse error, got {other}"),
    }
}

#[test]
fn kinetics_list_rsplits_and_defaults_to_minus_one() {
    let d = tempfile::tempdir().unwrap();
    let list = write(
        d.path(),
        "val.csv",
        "a/b c.mp4 3\n\nsolo.mp4\n/abs/x.mp4\t7  \n",
    );
    let k = Kinetics::from_list(&list, Path::new("/data")).unwrap();
    let s = k.samples();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].labels, Labels::Single(3));
    assert_eq!(s[0].source, Source::Video(PathBuf::from("/data/a/b c.mp4")));
    assert_eq!(s[1].labels, Labels::Single(-1));
    assert_eq!(s[2].source, Source::Video(PathBuf::from("/abs/x.mp4")));
    assert_eq!(s[2].labels, Labels::Single(7));

    let bad = write(d.path(), "bad.csv", "ok.mp4 1\nmy video.mp4\n");
    let (path, line) = line_of(Kinetics::from_list(&bad, d.path()).unwrap_err());
    assert_eq!((path, line), (bad, 2));
}

#[test]
fn kinetics_folders_sort_or_follow_the_class_list() {
    let d = tempfile::tempdir().unwrap();
    for f in [
        "arm_wrestling/b.mp4",
        "arm_wrestling/a.MP4",
        "abseiling/x.avi",
        "abseiling/notes.txt",
    ] {
        write(d.path(), f, "");
    }
    let k = Kinetics::from_dir(d.path(), None).unwrap();
    let got: Vec<(String, Labels)> = k
        .samples()
        .iter()
        .map(|s| (s.id.clone(), s.labels.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("abseiling/x.avi".into(), Labels::Single(0)),
            ("arm_wrestling/a.MP4".into(), Labels::Single(1)),
            ("arm_wrestling/b.mp4".into(), Labels::Single(1)),
        ]
    );
    let names = read_class_names(&shared().join("kinetics400_classnames.txt")).unwrap();
    assert_eq!(names.len(), 400);
    let k = Kinetics::from_dir(d.path(), Some(&names)).unwrap();
    let arm = names.iter().position(|n| n == "arm wrestling").unwrap() as i64;
    assert_eq!(k.samples()[1].labels, Labels::Single(arm));
    write(d.path(), "not_a_kinetics_class/z.mp4", "");
    assert!(matches!(
        Kinetics::from_dir(d.path(), Some(&names)),
        Err(DataError::Dataset { .. })
    ));
}

const FRAME_HEADER: &str = "original_vido_id video_id frame_id path labels\n";

#[test]
fn ssv2_joins_templates_to_labels() {
    let d = tempfile::tempdir().unwrap();
    let labels = write(
        d.path(),
        "labels.json",
        r#"{"Pushing something from left to right": "1", "Holding something": "0"}"#,
    );
    let split = write(
        d.path(),
        "validation.json",
        r#"[{"id": "7", "template": "Pushing [something] from left to right"},
            {"id": "9", "template": "Holding [something]"},
            {"id": "8", "template": "Holding [something]"}]"#,
    );
    let frames = write(
        d.path(),
        "val.csv",
        &format!("{FRAME_HEADER}7 0 0 7/000001.jpg \"\"\n7 0 1 7/000002.jpg \"\"\n9 1 0 9/000001.jpg \"\"\n"),
    );
    let s = Ssv2::new(&labels, &split, &frames, Path::new("/f")).unwrap();
    assert_eq!(s.samples().len(), 2, "video 8 has no frames and is skipped");
    assert_eq!(s.samples()[0].labels, Labels::Single(1));
    assert_eq!(
        s.samples()[0].source,
        Source::Frames(vec!["/f/7/000001.jpg".into(), "/f/7/000002.jpg".into()])
    );
    assert_eq!(s.class_names().unwrap()[0], "Holding something");

    let split = write(
        d.path(),
        "bad.json",
        r#"[{"id": "7", "template": "Dancing [something]"}]"#,
    );
    let e = Ssv2::new(&labels, &split, &frames, d.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.json") && e.contains("Dancing something"),
        "{e}"
    );
}

#[test]
fn charades_takes_the_union_of_frame_labels() {
    let d = tempfile::tempdir().unwrap();
    let list = write(
        d.path(),
        "charades.csv",
        &format!("{FRAME_HEADER}AB 0 0 AB/1.jpg \"3,1\"\nAB 0 1 AB/2.jpg \"1,7\"\nCD 1 0 CD/1.jpg \"\"\n"),
    );
    let c = Charades::from_frame_list(&list, d.path()).unwrap();
    assert_eq!(c.samples()[0].labels, Labels::Multi(vec![1, 3, 7]));
    assert_eq!(c.samples()[1].labels, Labels::Multi(vec![]));
    let bad = write(
        d.path(),
        "bad.csv",
        &format!("{FRAME_HEADER}AB 0 0 AB/1.jpg \"3,x\"\n"),
    );
    assert_eq!(
        line_of(Charades::from_frame_list(&bad, d.path()).unwrap_err()),
        (bad.clone(), 2)
    );
    let short = write(
        d.path(),
        "short.csv",
        &format!("{FRAME_HEADER}AB 0 AB/1.jpg\n"),
    );
    assert_eq!(
        line_of(Charades::from_frame_list(&short, d.path()).unwrap_err()).1,
        2
    );
}

/// The shared AVA sample as ground truth, with `dets` as the person detections.
fn ava_with(dets: &str, excluded: bool, frame_list: Option<&Path>, d: &Path) -> Result<Ava> {
    let s = shared().join("ava-sample");
    let dets = write(d, "dets.csv", dets);
    let excl = s.join("ava_excluded_timestamps_sample.csv");
    Ava::new(&AvaFiles {
        groundtruth: &s.join("ava_sample.csv"),
        label_map: Some(&s.join("action_list.txt")),
        excluded: excluded.then_some(excl.as_path()),
        person_boxes: &dets,
        score_threshold: 0.8,
        frame_list,
        frames_root: Path::new("/frames"),
    })
}

#[test]
fn ava_sample_groups_boxes_and_drops_exclusions() {
    let s = shared().join("ava-sample");
    let map = read_ava_label_map(&s.join("action_list.txt")).unwrap();
    assert_eq!(
        map.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        vec![12, 17, 79, 80]
    );
    let d = tempfile::tempdir().unwrap();
    // Below the threshold (dropped), exactly at it (kept, as PySlowFast's `score < thresh`),
    // a duplicate coordinate string (one box), and a keyframe with detections only.
    let dets = "0f39OWEqJ24,0902,0.03,0.16,0.67,0.99,,0.79\n\
                0f39OWEqJ24,0902,0.03,0.16,0.67,0.99,,0.8\n\
                0f39OWEqJ24,0902,0.03,0.16,0.67,0.99,,0.95\n\
                0f39OWEqJ24,0902,0.5,0.1,0.9,0.9,,0.7\n\
                zzz,0905,0.5,0.1,0.9,0.9,,0.99\n";
    let all = ava_with(dets, false, None, d.path()).unwrap();
    let ids: Vec<&str> = all.samples().iter().map(|x| x.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "0f39OWEqJ24,0902",
            "0f39OWEqJ24,0903",
            "_-Z6wFjXtGQ,0902",
            "zzz,0905"
        ]
    );
    let Labels::Boxes(b) = &all.samples()[2].labels else {
        panic!()
    };
    // Action 74 is not in the label map.
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].actions, vec![12, 80]);
    assert_eq!(b[0].bbox, [0.063, 0.049, 0.524, 0.996]);
    let Labels::Boxes(b) = &all.samples()[0].labels else {
        panic!()
    };
    assert_eq!(b[0].actions, vec![12, 17, 79]);
    let Source::Keyframe {
        video_id,
        timestamp,
        frames_dir,
        person_boxes,
        frames,
    } = &all.samples()[0].source
    else {
        panic!()
    };
    assert_eq!((video_id.as_str(), *timestamp), ("0f39OWEqJ24", 902));
    assert_eq!(frames_dir, Path::new("/frames/0f39OWEqJ24"));
    assert!(frames.is_empty(), "no folder, no frame list");
    assert_eq!(
        person_boxes,
        &vec![PersonBox {
            bbox: [0.03, 0.16, 0.67, 0.99],
            score: 0.8
        }]
    );
    let Labels::Boxes(b) = &all.samples()[3].labels else {
        panic!()
    };
    assert!(b.is_empty(), "detections without ground truth");
    let kept = ava_with(dets, true, None, d.path()).unwrap();
    assert_eq!(kept.samples().len(), 2);
    assert_eq!(kept.excluded.len(), 2);
    // The frame list gives each movie its frames in file order, paths under frames/.
    let list = write(
        d.path(),
        "val.csv",
        "original_vido_id video_id frame_id path labels\n\
         0f39OWEqJ24 0 0 0f39OWEqJ24/a_000002.jpg \"\"\n\
         0f39OWEqJ24 0 1 0f39OWEqJ24/a_000001.jpg \"\"\n",
    );
    let listed = ava_with(dets, false, Some(&list), d.path()).unwrap();
    let Source::Keyframe { frames, .. } = &listed.samples()[0].source else {
        panic!()
    };
    assert_eq!(
        **frames,
        vec![
            PathBuf::from("/frames/0f39OWEqJ24/a_000002.jpg"),
            PathBuf::from("/frames/0f39OWEqJ24/a_000001.jpg")
        ]
    );
    let bad = write(d.path(), "bad.csv", "header\n0f39OWEqJ24 0 0\n");
    assert_eq!(
        line_of(ava_with(dets, false, Some(&bad), d.path()).unwrap_err()).1,
        2
    );
}

#[test]
fn ava_errors_name_the_line() {
    let d = tempfile::tempdir().unwrap();
    let empty = write(d.path(), "dets.csv", "");
    let ava = |csv: &Path, dets: &Path| {
        Ava::new(&AvaFiles {
            groundtruth: csv,
            label_map: None,
            excluded: None,
            person_boxes: dets,
            score_threshold: 0.8,
            frame_list: None,
            frames_root: d.path(),
        })
    };
    let csv = write(
        d.path(),
        "boxes.csv",
        "v,0902,0.1,0.1,0.5,0.5,12,0\nv,0903,0.1,x,0.5,0.5,12,0\n",
    );
    assert_eq!(line_of(ava(&csv, &empty).unwrap_err()), (csv.clone(), 2));
    // The same rules hold for the detections file.
    assert_eq!(line_of(ava(&empty, &csv).unwrap_err()), (csv.clone(), 2));
    let csv = write(d.path(), "range.csv", "v,0902,0.1,0.1,1.5,0.5,12,0\n");
    assert_eq!(line_of(ava(&csv, &empty).unwrap_err()).1, 1);
    // Out-of-range keyframes are skipped, not errors.
    let csv = write(d.path(), "early.csv", "v,0900,0.1,0.1,0.5,0.5,12,0\n");
    assert!(ava(&csv, &empty).unwrap().samples().is_empty());
    // A detection needs its score.
    let noscore = write(d.path(), "noscore.csv", "v,0902,0.1,0.1,0.5,0.5,,\n");
    let e = ava(&empty, &noscore).unwrap_err().to_string();
    assert!(e.contains("noscore.csv") && e.contains("v,0902"), "{e}");
    let map = write(d.path(), "map.pbtxt", "item {\n  id: 3\n}\n");
    assert_eq!(line_of(read_ava_label_map(&map).unwrap_err()).1, 2);
}

#[test]
fn hmdb51_reads_one_fold() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "splits/brush_hair_test_split1.txt",
        "a.avi 1 \nb.avi 2 \nc.avi 0 \n",
    );
    write(d.path(), "splits/cartwheel_test_split1.txt", "d.avi 2\n");
    write(d.path(), "splits/cartwheel_test_split2.txt", "e.avi 2\n");
    let h = Hmdb51::new(
        &d.path().join("splits"),
        Path::new("/v"),
        1,
        HmdbSplit::Test,
    )
    .unwrap();
    let got: Vec<(&str, &Labels)> = h
        .samples()
        .iter()
        .map(|s| (s.id.as_str(), &s.labels))
        .collect();
    assert_eq!(
        got,
        vec![("b.avi", &Labels::Single(0)), ("d.avi", &Labels::Single(1))]
    );
    assert_eq!(
        h.samples()[1].source,
        Source::Video("/v/cartwheel/d.avi".into())
    );
    assert!(Hmdb51::new(&d.path().join("splits"), d.path(), 4, HmdbSplit::Test).is_err());
    write(d.path(), "splits/dive_test_split1.txt", "x.avi train\n");
    let e = Hmdb51::new(&d.path().join("splits"), d.path(), 1, HmdbSplit::Test).unwrap_err();
    assert_eq!(line_of(e).1, 1);
}

#[test]
fn ucf101_train_and_test_lists() {
    let d = tempfile::tempdir().unwrap();
    let ind = write(
        d.path(),
        "classInd.txt",
        "1 ApplyEyeMakeup\n2 HandStandPushups\n",
    );
    let train = write(
        d.path(),
        "trainlist01.txt",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\nHandstandPushups/v_HandStandPushups_g08_c01.avi 2\n",
    );
    let u = Ucf101::new(&ind, &train, Path::new("/ucf")).unwrap();
    assert_eq!(u.samples()[1].labels, Labels::Single(1));
    let test = write(
        d.path(),
        "testlist01.txt",
        "HandstandPushups/v_HandStandPushups_g01_c01.avi\n",
    );
    let u = Ucf101::new(&ind, &test, Path::new("/ucf")).unwrap();
    assert_eq!(u.samples()[0].labels, Labels::Single(1));
    let wrong = write(
        d.path(),
        "wrong.txt",
        "ApplyEyeMakeup/v_x.avi 1\nApplyEyeMakeup/v_y.avi 2\n",
    );
    assert_eq!(
        line_of(Ucf101::new(&ind, &wrong, d.path()).unwrap_err()),
        (wrong.clone(), 2)
    );
}

#[test]
fn manifest_hash_is_the_documented_canonical_form() {
    // sha256 of "0\tvideos/a.mp4\t5\n1\tvid_b\t[1, 20]\n2\tc\t-1\n" (Python hashlib).
    let s = |id: &str, labels| Sample {
        id: id.into(),
        labels,
        source: Source::Video(PathBuf::from("/anywhere").join(id)),
    };
    let list = vec![
        s("videos/a.mp4", Labels::Single(5)),
        s("vid_b", Labels::Multi(vec![1, 20])),
        s("c", Labels::Single(-1)),
    ];
    assert_eq!(
        manifest_hash(&list),
        "f9e03970305ce52e5270231827f6271d06fae1f15d696921e99842a237c7cce1"
    );
    // Order is part of the identity; the root is not.
    let mut swapped = list.clone();
    swapped.swap(0, 1);
    assert_ne!(manifest_hash(&swapped), manifest_hash(&list));
}

#[test]
fn layouts_resolve_under_a_root_and_name_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let e = load_manifest(
        vbench_suite::Dataset::Kinetics400,
        root,
        &ManifestOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("test.csv or val.csv"), "{e}");
    write(root, "val.csv", "a/x.mp4 3\nb/y.mp4 1\n");
    let m = load_manifest(
        vbench_suite::Dataset::Kinetics400,
        root,
        &ManifestOptions::default(),
    )
    .unwrap();
    assert_eq!((m.manifest.as_str(), m.samples.len()), ("val.csv", 2));
    assert_eq!(m.samples[0].source, Source::Video(root.join("a/x.mp4")));
    let e = load_manifest(
        vbench_suite::Dataset::Ssv2,
        root,
        &ManifestOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("something-something-v2-labels.json"),
        "{e}"
    );
}

#[test]
fn every_registered_format_is_found_by_its_reader_name() {
    let names: Vec<&str> = REGISTERED.iter().map(|&d| format_of(d).name()).collect();
    for (i, n) in names.iter().enumerate() {
        assert!(!names[..i].contains(n), "`{n}` names two formats");
        assert_eq!(format_named(n).map(|f| f.name()), Some(*n));
    }
    assert!(format_named("kinetics700").is_none());
}

#[test]
fn json_members_are_found_at_their_lines() {
    let array = "[\n {\"id\": \"7\", \"t\": \"a,[b]\"},\n\n {\"id\": \"9\", \"x\": [1, {}]}\n]";
    assert_eq!(text::json_member_lines(array), vec![(2, None), (4, None)]);
    let object = "{\"a\\\"b,\": \"1\",\n \"c\": {\"d\": [1, 2]},\n\"e\": 3}";
    assert_eq!(
        text::json_member_lines(object),
        vec![
            (1, Some("a\"b,".to_string())),
            (2, Some("c".to_string())),
            (3, Some("e".to_string()))
        ]
    );
    // An SSv2 video whose template has no label is refused at its entry's line.
    let d = tempfile::tempdir().unwrap();
    let labels = write(d.path(), "labels.json", "{\"Holding something\": \"0\"}");
    let split = write(
        d.path(),
        "split.json",
        "[\n{\"id\": \"7\", \"template\": \"Holding [something]\"},\n{\"id\": \"9\", \"template\": \"Dancing\"}\n]",
    );
    let frames = write(
        d.path(),
        "frames.csv",
        &format!("{FRAME_HEADER}7 0 0 7/1.jpg \"\"\n9 1 0 9/1.jpg \"\"\n"),
    );
    assert_eq!(
        line_of(Ssv2::new(&labels, &split, &frames, d.path()).unwrap_err()),
        (split, 3)
    );
}
