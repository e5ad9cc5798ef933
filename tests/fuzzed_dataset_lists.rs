//! Dataset lists as real copies leave them (cut by a full disk, edited by hand, converted by a
//! script): for each format a corpus of at least 500 mutations of a valid list, generated from a
//! fixed seed at test time and read the way `vbench run` and `check-data` read them
//! (`load_manifest` under a data root; the official Kinetics CSV through `--reference-list`).
//! No case may panic, and every refusal names a file of the list and a line of it.

use std::path::{Path, PathBuf};
use vbench_data::datasets::{
    load_manifest, ManifestOptions, AVA_GROUNDTRUTH, AVA_LABEL_MAP, AVA_PERSON_BOXES,
};
use vbench_results::gap::reference_list::read_reference_list;
use vbench_suite::Dataset;
use vbench_testkit::fuzz::{mutate, names_file_and_line, no_panic, Rng};

const CASES: usize = 500;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

fn write(root: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = root.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

const FRAME_HEADER: &str = "original_vido_id video_id frame_id path labels\n";

/// One corpus: a valid root, the files a mutation may hit, and how vbench reads it.
struct Corpus {
    name: &'static str,
    root: tempfile::TempDir,
    files: Vec<(PathBuf, Vec<u8>)>,
    read: fn(&Path) -> Result<usize, String>,
}

fn listed(dataset: Dataset) -> impl Fn(&Path) -> Result<usize, String> {
    move |root| {
        load_manifest(dataset, root, &ManifestOptions::default())
            .map(|m| m.samples.len())
            .map_err(|e| e.to_string())
    }
}

fn kinetics() -> Corpus {
    let root = tempfile::tempdir().unwrap();
    let text = "abseiling/0wR5jVB-WPk_000417_000427.mp4 0\n\
                air_drumming/--Q48Jqc-9g_000046_000056.mp4 1\n\
                zumba/a b c.mp4 399\n\
                unlabelled/v.mp4\n\
                archery/x.mp4 5\n";
    let f = write(root.path(), "test.csv", text.as_bytes());
    Corpus {
        name: "Kinetics list (test.csv)",
        root,
        files: vec![(f, text.into())],
        read: |r| listed(Dataset::Kinetics400)(r),
    }
}

fn kinetics_official_csv() -> Corpus {
    let root = tempfile::tempdir().unwrap();
    let text = "label,youtube_id,time_start,time_end,split\n\
                abseiling,0wR5jVB-WPk,417,427,test\n\
                air drumming,--Q48Jqc-9g,46,56,test\n\
                \"balloon blowing\",-0HnT8w0-8o,3,13,test\n\
                zumba,zzzzzzzzzzz,0,10,test\n";
    let f = write(root.path(), "kinetics_400_test.csv", text.as_bytes());
    Corpus {
        name: "Kinetics official CSV (--reference-list)",
        root,
        files: vec![(f, text.into())],
        read: |r| {
            read_reference_list(&r.join("kinetics_400_test.csv"))
                .map(|l| l.videos.len())
                .map_err(|e| e.to_string())
        },
    }
}

fn ssv2() -> Corpus {
    let root = tempfile::tempdir().unwrap();
    let labels = r#"{"Pushing something from left to right": "1", "Holding something": "0",
 "Putting something on a surface": "2"}"#;
    let split = r#"[{"id": "7", "label": "pushing a cup from left to right", "template": "Pushing [something] from left to right", "placeholders": ["a cup"]},
 {"id": "9", "template": "Holding [something]"},
 {"id": "8", "template": "Putting [something] on a surface"}]"#;
    let frames = format!(
        "{FRAME_HEADER}7 0 0 7/000001.jpg \"\"\n7 0 1 7/000002.jpg \"\"\n9 1 0 9/000001.jpg \"\"\n8 2 0 8/000001.jpg \"\"\n"
    );
    let l = write(
        root.path(),
        "something-something-v2-labels.json",
        labels.as_bytes(),
    );
    let s = write(
        root.path(),
        "something-something-v2-validation.json",
        split.as_bytes(),
    );
    write(root.path(), "val.csv", frames.as_bytes());
    Corpus {
        name: "SSv2 JSON (labels, validation)",
        root,
        files: vec![(l, labels.into()), (s, split.into())],
        read: |r| listed(Dataset::Ssv2)(r),
    }
}

fn charades() -> Corpus {
    let root = tempfile::tempdir().unwrap();
    let text = format!(
        "{FRAME_HEADER}AB 0 0 AB/1.jpg \"3,1\"\nAB 0 1 AB/2.jpg \"1,7\"\nCD 1 0 CD/1.jpg \"\"\nEF 2 0 EF/1.jpg \"156\"\nEF 2 1 EF/2.jpg \"0\"\n"
    );
    let f = write(root.path(), "val.csv", text.as_bytes());
    Corpus {
        name: "Charades frame list (val.csv)",
        root,
        files: vec![(f, text.into())],
        read: |r| listed(Dataset::Charades)(r),
    }
}

fn ava() -> Corpus {
    let root = tempfile::tempdir().unwrap();
    let sample = shared().join("ava-sample");
    let gt = std::fs::read(sample.join("ava_sample.csv")).unwrap();
    let map = std::fs::read(sample.join("action_list.txt")).unwrap();
    let dets = b"0f39OWEqJ24,0902,0.03,0.16,0.67,0.99,,0.95\n\
                 0f39OWEqJ24,0903,0.5,0.1,0.9,0.9,,0.85\n\
                 _-Z6wFjXtGQ,0902,0.063,0.049,0.524,0.996,,0.99\n"
        .to_vec();
    let ann = root.path().join("annotations");
    let g = write(&ann, AVA_GROUNDTRUTH, &gt);
    write(&ann, AVA_LABEL_MAP, &map);
    let d = write(&ann, AVA_PERSON_BOXES, &dets);
    Corpus {
        name: "AVA CSV (ground truth, person detections)",
        root,
        files: vec![(g, gt), (d, dets)],
        read: |r| listed(Dataset::Ava)(r),
    }
}

/// Runs `CASES` mutations of `corpus`; returns (refusals, panics, refusals naming no line).
fn run(corpus: &Corpus, rng: &mut Rng) -> (usize, Vec<String>, Vec<String>) {
    let root = corpus.root.path();
    let valid = (corpus.read)(root).unwrap_or_else(|e| panic!("{}: {e}", corpus.name));
    assert!(valid > 0, "{}: the valid list is empty", corpus.name);
    let (mut refused, mut panics, mut unnamed) = (0, Vec::new(), Vec::new());
    for case in 0..CASES {
        let (path, base) = &corpus.files[case % corpus.files.len()];
        let (bytes, what) = mutate(rng, base);
        std::fs::write(path, &bytes).unwrap();
        let name = path.display().to_string();
        match no_panic(|| (corpus.read)(root)) {
            Err(p) => panics.push(format!("case {case} ({what}) of {name}: panic: {p}")),
            Ok(Err(m)) => {
                refused += 1;
                // The mutated file, or the list file where its change shows (an SSv2 label
                // renamed in labels.json is refused at the video whose template no longer
                // matches).
                let named = corpus
                    .files
                    .iter()
                    .any(|(p, _)| names_file_and_line(&m, &p.display().to_string()));
                if !named {
                    unnamed.push(format!("case {case} ({what}) of {name}: {m}"));
                }
            }
            Ok(Ok(_)) => {}
        }
        std::fs::write(path, base).unwrap();
    }
    (refused, panics, unnamed)
}

#[test]
fn malformed_dataset_lists_never_panic_and_refusals_name_file_and_line() {
    let mut rng = Rng::new(0x6c69_7374);
    let mut failures = Vec::new();
    for corpus in [
        kinetics(),
        kinetics_official_csv(),
        ssv2(),
        charades(),
        ava(),
    ] {
        let (refused, panics, unnamed) = run(&corpus, &mut rng);
        println!("{}: {CASES} cases, {refused} refusals", corpus.name);
        if refused < CASES / 5 {
            failures.push(format!(
                "{}: the corpus barely hurts: {refused}",
                corpus.name
            ));
        }
        for (kind, list) in [
            ("panics", panics),
            ("refusals without file and line", unnamed),
        ] {
            if !list.is_empty() {
                failures.push(format!(
                    "{}: {} {kind}:\n{}",
                    corpus.name,
                    list.len(),
                    list.join("\n")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
