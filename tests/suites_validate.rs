//! Every built-in suite validates, entry ids follow `<suite>/<name>`, and broken suite files
//! are refused with the file, the entry and the key named.

use vbench_suite::{all_suites, load_suite, Arch};

#[test]
fn builtin_suites_validate_with_expected_entries() {
    let plans = all_suites().unwrap();
    let counts: Vec<(String, usize)> = plans
        .iter()
        .map(|p| (p.suite.name.clone(), p.entries.len()))
        .collect();
    assert_eq!(
        counts,
        [
            ("k400", 16),
            ("ssv2", 2),
            ("charades", 2),
            ("ava", 2),
            ("mobile", 3)
        ]
        .map(|(a, b)| (a.to_string(), b))
    );
    for p in &plans {
        for e in &p.entries {
            assert_eq!(e.id, format!("{}/{}", p.suite.name, e.name));
            assert_eq!(
                e.protocol.alpha.is_some(),
                e.model.is_slowfast(),
                "{}",
                e.id
            );
        }
    }
}

#[test]
fn named_entries_exist_with_their_protocols() {
    let k400 = load_suite("k400").unwrap();
    let x = k400.entry("x3d_xs").unwrap();
    assert_eq!(
        (x.protocol.frames, x.protocol.sample_rate, x.protocol.crop),
        (4, 12, 182)
    );
    assert_eq!(x.arch(), Some(Arch::X3dXs));
    let sf = k400.entry("slowfast_r50_4x16").unwrap();
    assert_eq!(sf.protocol.alpha, Some(8));
    assert_eq!(sf.protocol.input_frames(), 32);
    let mvit = k400.entry("mvit_base_16x4").unwrap();
    assert_eq!(
        (mvit.protocol.temporal_clips, mvit.protocol.spatial_crops),
        (5, 1)
    );
    for id in [
        "k400/slowfast_16x8_r101_50_50",
        "ssv2/slow_r50",
        "charades/slowfast_r50",
        "ava/slowfast_r50_detection",
        "mobile/efficient_x3d_xs",
    ] {
        vbench_suite::find_entry(id).unwrap_or_else(|e| panic!("{id}: {e}"));
    }
    let ch = load_suite("charades").unwrap();
    assert_eq!(
        ch.entries[0].protocol.aggregation,
        vbench_suite::Aggregation::Max
    );
    assert_eq!(
        ch.entries[0].protocol.channels,
        vbench_suite::ChannelOrder::Bgr
    );
}

fn broken(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, text).unwrap();
    load_suite(path.to_str().unwrap()).unwrap_err().to_string()
}

const HEADER: &str = "[suite]\nname = \"t\"\ntitle = \"T\"\ndataset = \"kinetics400\"\nreference = \"k400.csv\"\n\
[protocol]\nnum_classes = 400\nchannels = \"rgb\"\nnormalization = \"kinetics\"\nhead_activation = \"softmax\"\n\
aggregation = \"sum\"\nsampler = \"constant_clips_per_video\"\ntarget_fps = 30\ntemporal_clips = 10\nspatial_crops = 3\n\
short_side = 256\ncrop = 256\n";

#[test]
fn unknown_key_names_file_and_key() {
    let err = broken(&format!(
        "{HEADER}[[entry]]\nname = \"c2d_r50\"\nmodel = \"c2d_r50\"\ncheckpoint = \"C2D_8x8_R50.pyth\"\nreference = \"c2d_r50\"\nframez = 8\n"
    ));
    assert!(
        err.contains("broken.toml") && err.contains("framez"),
        "{err}"
    );
}

#[test]
fn missing_and_inconsistent_keys_name_the_entry() {
    let missing = broken(&format!(
        "{HEADER}[[entry]]\nname = \"c2d_r50\"\nmodel = \"c2d_r50\"\ncheckpoint = \"C2D_8x8_R50.pyth\"\nreference = \"c2d_r50\"\n"
    ));
    assert!(
        missing.contains("broken.toml")
            && missing.contains("`c2d_r50`")
            && missing.contains("protocol.frames"),
        "{missing}"
    );
    let wrong = broken(&format!(
        "{HEADER}[[entry]]\nname = \"sf\"\nmodel = \"slowfast_r50\"\ncheckpoint = \"SLOWFAST_8x8_R50.pyth\"\nreference = \"slowfast_r50\"\nprotocol = {{ frames = 8, sample_rate = 8 }}\n"
    ));
    assert!(
        wrong.contains("entry `sf`") && wrong.contains("protocol.alpha"),
        "{wrong}"
    );
    let ckpt = broken(&format!(
        "{HEADER}[[entry]]\nname = \"c\"\nmodel = \"c2d_r50\"\ncheckpoint = \"X.pyth\"\nreference = \"c2d_r50\"\nprotocol = {{ frames = 8, sample_rate = 8 }}\n"
    ));
    assert!(ckpt.contains("key `checkpoint`"), "{ckpt}");
    let model = broken(&format!(
        "{HEADER}[[entry]]\nname = \"c\"\nmodel = \"resnet9000\"\ncheckpoint = \"C2D_8x8_R50.pyth\"\nreference = \"c2d_r50\"\n"
    ));
    assert!(
        model.contains("resnet9000") && model.contains("line"),
        "{model}"
    );
}

#[test]
fn ava_person_score_threshold_is_checked() {
    let ava = include_str!("../suites/ava.toml");
    let t = load_suite("ava").unwrap();
    assert!(t
        .entries
        .iter()
        .all(|e| e.protocol.person_score_threshold == Some(0.8)));
    let bad = broken(&ava.replace(
        "person_score_threshold = 0.8",
        "person_score_threshold = 1.5",
    ));
    assert!(
        bad.contains("protocol.person_score_threshold") && bad.contains("1.5"),
        "{bad}"
    );
    let none = broken(&ava.replace("person_score_threshold = 0.8", ""));
    assert!(none.contains("protocol.person_score_threshold"), "{none}");
    let classifier = broken(&format!(
        "{HEADER}person_score_threshold = 0.8\n[[entry]]\nname = \"c\"\nmodel = \"c2d_r50\"\ncheckpoint = \"C2D_8x8_R50.pyth\"\nreference = \"c2d_r50\"\nprotocol = {{ frames = 8, sample_rate = 8 }}\n"
    ));
    assert!(classifier.contains("not a detector"), "{classifier}");
}

#[test]
fn unknown_suite_lists_known_ones() {
    let err = load_suite("k401").unwrap_err().to_string();
    assert!(err.contains("k401") && err.contains("k400, ssv2"), "{err}");
}
