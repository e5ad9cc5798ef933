//! Bad input for one's own model: each case exits 2 with one message that names the file at
//! fault, and writes nothing (the run folder is never created). The TorchScript files come from
//! `tests/oracles/tiny_torchscript.py`: `strict16.pt` rejects any clip that is not 16 frames,
//! `cuda.pt` allocates on CUDA in its forward, `tiny.pt` returns 5 classes.

use std::path::Path;
use std::process::{Command, Output};
use vbench_testkit::{repo_root as repo, vbench};

/// The tiny TorchScript files, plus `notscript.pt` (text, not a TorchScript archive).
fn files(dir: &Path) {
    let status = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tests/oracles/tiny_torchscript.py"))
        .arg(dir)
        .status()
        .expect("the venv's python runs (ci/setup.sh)");
    assert!(status.success(), "tiny_torchscript.py failed");
    std::fs::write(dir.join("notscript.pt"), "def forward(x): return x\n").unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exit 2, one `vbench: error:` line naming `file` and containing every `needle`, nothing in
/// `out`.
fn refused(o: &Output, out: &Path, file: &str, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{file}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one message: {err}");
    assert!(lines[0].starts_with("vbench: error:"), "{err}");
    assert!(lines[0].contains(file), "names {file}: {err}");
    for n in needles {
        assert!(lines[0].contains(n), "mentions `{n}`: {err}");
    }
    assert!(!out.exists(), "{file}: {} was written", out.display());
    err
}

fn run_model(dir: &Path, file: &str, protocol: &str, out: &Path) -> Output {
    vbench(&[
        "run",
        "--model",
        s(&dir.join(file)),
        "--protocol",
        protocol,
        "--out",
        s(out),
        "--no-latency",
    ])
}

#[test]
fn own_model_bad_input_exits_2_naming_the_file_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    files(dir);
    let out = dir.join("out");

    // Not TorchScript, through every command that takes --model.
    refused(
        &run_model(dir, "notscript.pt", "k400/x3d_xs", &out),
        &out,
        "notscript.pt",
        &[],
    );
    let model = dir.join("notscript.pt");
    let video = repo().join("../shared/data/videos/k400_demo.mp4");
    for args in [
        vec!["stats", "--model", s(&model), "--protocol", "k400/x3d_xs"],
        vec!["latency", "--model", s(&model), "--protocol", "k400/x3d_xs"],
        vec![
            "infer",
            "--model",
            s(&model),
            "--protocol",
            "k400/x3d_xs",
            s(&video),
        ],
    ] {
        refused(&vbench(&args), &out, "notscript.pt", &[]);
    }

    // A forward that rejects the protocol's input: the layout expected and the shape tried.
    let err = refused(
        &run_model(dir, "strict16.pt", "k400/x3d_xs", &out),
        &out,
        "strict16.pt",
        &["clip", "[1, 3, 4, 182, 182]"],
    );
    assert!(err.contains("16 frames"), "the module's own reason: {err}");

    // A module that needs CUDA, on the CPU.
    refused(
        &run_model(dir, "cuda.pt", "k400/x3d_xs", &out),
        &out,
        "cuda.pt",
        &["CUDA"],
    );

    // An unknown zoo entry, on the command line and in a suite file.
    refused(
        &run_model(dir, "tiny.pt", "k400/x3d_q", &out),
        &out,
        "tiny.pt",
        &["k400/x3d_q"],
    );
    let suite = dir.join("mine.toml");
    std::fs::write(
        &suite,
        "[suite]\nname = \"mine\"\ntitle = \"Mine\"\ndataset = \"kinetics400\"\n\n\
         [[entry]]\nname = \"tiny\"\nmodel = { torchscript = \"tiny.pt\" }\n\
         protocol_from = \"k400/x3d_q\"\n",
    )
    .unwrap();
    refused(
        &vbench(&[
            "run",
            "--suite",
            s(&suite),
            "--out",
            s(&out),
            "--no-latency",
        ]),
        &out,
        "mine.toml",
        &["protocol_from", "k400/x3d_q"],
    );

    // A class list that disagrees with the model's output size: `--model` takes the size the
    // forward returns (5) and the tree's classes.txt has 6 names.
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("videos")).unwrap();
    std::os::unix::fs::symlink(&video, data.join("videos/a.mp4")).unwrap();
    std::fs::write(data.join("test.csv"), "videos/a.mp4 1\n").unwrap();
    std::fs::write(data.join("classes.txt"), "a\nb\nc\nd\ne\nf\n").unwrap();
    let o = vbench(&[
        "run",
        "--model",
        s(&dir.join("tiny.pt")),
        "--protocol",
        "k400/x3d_xs",
        "--data-root",
        s(&data),
        "--out",
        s(&out),
        "--no-latency",
    ]);
    refused(&o, &out, "classes.txt", &["6", "5"]);
    // In a suite, the entry's num_classes (the zoo entry's 400) against the file's 5 outputs.
    std::fs::write(
        &suite,
        "[suite]\nname = \"mine\"\ntitle = \"Mine\"\ndataset = \"kinetics400\"\n\n\
         [[entry]]\nname = \"tiny\"\nmodel = { torchscript = \"tiny.pt\" }\n\
         protocol_from = \"k400/x3d_xs\"\n",
    )
    .unwrap();
    refused(
        &vbench(&[
            "run",
            "--suite",
            s(&suite),
            "--out",
            s(&out),
            "--no-latency",
        ]),
        &out,
        "tiny.pt",
        &["400", "[1, 5]"],
    );
}
