//! Suite entries for one's own models: TorchScript files and zoo architectures with one's own
//! weights, protocols taken from zoo entries (`protocol_from`), optional reference rows, inline
//! published numbers, and the one-entry plan `--model F --protocol E` builds. Broken entries are
//! refused with the file, the entry and the key named.

use std::path::{Path, PathBuf};
use vbench_suite::{
    find_entry, load_suite, own_model_plan, Activation, Arch, Checkpoint, FlopsConvention,
    InputLayout, ModelSource, PublishedSource,
};

/// A suite file in a temp dir, with empty files standing in for a model and a checkpoint.
struct Suite {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Suite {
    fn new(text: &str) -> Suite {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("models")).unwrap();
        for f in ["models/mine.pt", "models/x3d_s_ucf101.pyth"] {
            std::fs::write(dir.path().join(f), b"").unwrap();
        }
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, text).unwrap();
        Suite { dir, path }
    }

    fn load(&self) -> vbench_suite::Plan {
        load_suite(self.path.to_str().unwrap()).unwrap()
    }

    fn error(&self) -> String {
        load_suite(self.path.to_str().unwrap())
            .unwrap_err()
            .to_string()
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

const OWN: &str = "[suite]\nname = \"mine\"\ntitle = \"Mine\"\ndataset = \"kinetics400\"\n";

fn zoo(id: &str) -> vbench_suite::Entry {
    let (plan, i) = find_entry(id).unwrap();
    plan.entries[i].clone()
}

#[test]
fn torchscript_entry_takes_a_zoo_protocol_and_overrides_single_keys() {
    let s = Suite::new(&format!(
        "{OWN}[[entry]]\nname = \"r3d\"\nmodel = {{ torchscript = \"models/mine.pt\" }}\n\
         protocol_from = \"k400/x3d_xs\"\nprotocol = {{ temporal_clips = 2, spatial_crops = 1 }}\n\
         [[entry]]\nname = \"mvit_like\"\nmodel = {{ torchscript = \"models/mine.pt\", input = \"clip\" }}\n\
         protocol_from = \"k400/mvit_base_16x4\"\n"
    ));
    let plan = s.load();
    let e = plan.entry("r3d").unwrap();
    assert_eq!(e.id, "mine/r3d");
    assert_eq!(
        e.model,
        ModelSource::TorchScript {
            path: s.file("models/mine.pt"),
            input: InputLayout::Clip
        }
    );
    assert!(e.checkpoint.is_none() && e.reference.is_none() && e.arch().is_none());
    assert_eq!(e.protocol_from.as_deref(), Some("k400/x3d_xs"));
    assert_eq!(e.published.source, PublishedSource::None);
    let mut want = zoo("k400/x3d_xs").protocol;
    (want.temporal_clips, want.spatial_crops) = (2, 1);
    assert_eq!(e.protocol, want);
    assert_eq!(
        plan.entry("mvit_like").unwrap().protocol,
        zoo("k400/mvit_base_16x4").protocol
    );
}

#[test]
fn suite_defaults_sit_between_the_zoo_protocol_and_the_entry() {
    let s = Suite::new(&format!(
        "{OWN}[protocol]\nnum_classes = 101\ntemporal_clips = 3\n\
         [[entry]]\nname = \"x3d_s_ucf\"\nmodel = \"x3d_s\"\ncheckpoint = \"models/x3d_s_ucf101.pyth\"\n\
         protocol_from = \"k400/x3d_s\"\nprotocol = {{ temporal_clips = 1, head_activation = \"none\" }}\n"
    ));
    let plan = s.load();
    let e = &plan.entries[0];
    assert_eq!(e.arch(), Some(Arch::X3dS));
    assert_eq!(
        e.checkpoint,
        Some(Checkpoint::Path(s.file("models/x3d_s_ucf101.pyth")))
    );
    assert_eq!(e.protocol.num_classes, 101);
    assert_eq!(e.protocol.temporal_clips, 1);
    assert_eq!(e.protocol.head_activation, Activation::None);
    assert_eq!(e.protocol.crop, zoo("k400/x3d_s").protocol.crop);
}

#[test]
fn slowfast_protocols_imply_two_pathways_and_a_declared_layout_must_fit() {
    let s = Suite::new(&format!(
        "{OWN}[[entry]]\nname = \"sf\"\nmodel = {{ torchscript = \"models/mine.pt\" }}\n\
         protocol_from = \"k400/slowfast_r50\"\n"
    ));
    let plan = s.load();
    assert_eq!(
        plan.entries[0].model,
        ModelSource::TorchScript {
            path: s.file("models/mine.pt"),
            input: InputLayout::Slowfast
        }
    );
    assert_eq!(plan.entries[0].protocol.alpha, Some(4));

    let s = Suite::new(&format!(
        "{OWN}[[entry]]\nname = \"sf\"\nmodel = {{ torchscript = \"models/mine.pt\", input = \"slowfast\" }}\n\
         protocol_from = \"k400/x3d_m\"\n"
    ));
    let err = s.error();
    assert!(
        err.contains("mine.toml") && err.contains("entry `sf`") && err.contains("protocol.alpha"),
        "{err}"
    );
    let s = Suite::new(&format!(
        "{OWN}[[entry]]\nname = \"det\"\nmodel = {{ torchscript = \"models/mine.pt\" }}\n\
         protocol_from = \"ava/slow_r50_detection\"\n"
    ));
    assert!(matches!(
        s.load().entries[0].model,
        ModelSource::TorchScript {
            input: InputLayout::ClipBoxes,
            ..
        }
    ));
}

#[test]
fn unknown_protocol_from_names_file_entry_key_and_the_known_entries() {
    for (id, hint) in [
        ("k400/x3d_q", "x3d_xs"),
        ("k401/x3d_m", "k400, ssv2"),
        ("x3d_m", "<suite>/<name>"),
    ] {
        let s = Suite::new(&format!(
            "{OWN}[[entry]]\nname = \"m\"\nmodel = {{ torchscript = \"models/mine.pt\" }}\nprotocol_from = \"{id}\"\n"
        ));
        let err = s.error();
        assert!(
            err.contains("mine.toml")
                && err.contains("entry `m`")
                && err.contains("key `protocol_from`")
                && err.contains(id)
                && err.contains(hint),
            "{err}"
        );
    }
}

#[test]
fn published_numbers_inline_or_from_a_row_with_inline_overrides() {
    let s = Suite::new(&format!(
        "{OWN}reference = \"k400.csv\"\n[[entry]]\nname = \"paper\"\nmodel = {{ torchscript = \"models/mine.pt\" }}\n\
         protocol_from = \"k400/x3d_m\"\n\
         published = {{ top1 = \"77.40\", top5 = 93.1, gflops = 6.2, gflops_convention = \"fvcore-2021\", params_m = 3.5 }}\n\
         [[entry]]\nname = \"x3d_m_again\"\nmodel = \"x3d_m\"\ncheckpoint = \"X3D_M.pyth\"\nreference = \"x3d_m\"\n\
         protocol_from = \"k400/x3d_m\"\npublished = {{ top1 = 80 }}\n"
    ));
    let plan = s.load();
    let p = &plan.entries[0].published;
    assert_eq!(p.source, PublishedSource::Inline);
    assert_eq!(p.top1.unwrap().to_string(), "77.40");
    assert_eq!(p.gflops_convention, Some(FlopsConvention::Fvcore2021));
    assert!(p.map.is_none() && p.latency_ms.is_none());

    let e = &plan.entries[1];
    let row = e.reference.as_ref().unwrap();
    assert_eq!(
        e.published.source,
        PublishedSource::TableAndInline {
            table: "k400.csv".into(),
            row: "x3d_m".into()
        }
    );
    assert_eq!(e.published.top1.unwrap().value, 80.0);
    assert_eq!(e.published.gflops, row.gflops);
    assert_eq!(e.published.params_m, row.params_m);
    assert_eq!(
        e.checkpoint.as_ref().and_then(|c| c.url()),
        Some(row.checkpoint_url.as_str())
    );
    // The zoo's own entries: their row, nothing inline.
    let x = zoo("k400/x3d_m");
    assert_eq!(x.published.gflops, x.reference.as_ref().unwrap().gflops);
    assert!(matches!(x.published.source, PublishedSource::Table { .. }));
}

#[test]
fn an_official_checkpoint_name_needs_no_reference_row() {
    let s = Suite::new(&format!(
        "{OWN}[[entry]]\nname = \"x\"\nmodel = \"x3d_xs\"\ncheckpoint = \"X3D_XS.pyth\"\nprotocol_from = \"k400/x3d_xs\"\n"
    ));
    let e = &s.load().entries[0];
    assert_eq!(
        e.checkpoint.as_ref().and_then(|c| c.url()),
        zoo("k400/x3d_xs").checkpoint.as_ref().and_then(|c| c.url())
    );
}

#[test]
fn broken_own_entries_name_file_entry_and_key() {
    let cases = [
        (
            "model = { torchscript = \"models/absent.pt\" }\nprotocol_from = \"k400/x3d_m\"",
            "model.torchscript",
            "absent.pt",
        ),
        (
            "model = { torchscript = \"models/mine.pt\" }\ncheckpoint = \"X3D_M.pyth\"\nprotocol_from = \"k400/x3d_m\"",
            "checkpoint",
            "holds its own weights",
        ),
        (
            "model = \"x3d_m\"\nprotocol_from = \"k400/x3d_m\"",
            "checkpoint",
            "official file name",
        ),
        (
            "model = \"x3d_m\"\ncheckpoint = \"models/nope.pyth\"\nprotocol_from = \"k400/x3d_m\"",
            "checkpoint",
            "nope.pyth",
        ),
        (
            "model = { torchscript = \"models/mine.pt\" }\nprotocol_from = \"k400/x3d_m\"\nreference = \"x3d_m\"",
            "reference",
            "no table",
        ),
        (
            "model = { torchscript = \"models/mine.pt\" }",
            "protocol.frames",
            "protocol_from",
        ),
    ];
    for (body, key, what) in cases {
        let s = Suite::new(&format!("{OWN}[[entry]]\nname = \"bad\"\n{body}\n"));
        let err = s.error();
        assert!(
            err.contains("mine.toml")
                && err.contains("entry `bad`")
                && err.contains(&format!("key `{key}`"))
                && err.contains(what),
            "{body}: {err}"
        );
    }
    // Unknown keys, in the model table and inline numbers too.
    for body in [
        "model = { torchscript = \"models/mine.pt\", layout = \"clip\" }\nprotocol_from = \"k400/x3d_m\"",
        "model = { torchscript = \"models/mine.pt\" }\nprotocol_from = \"k400/x3d_m\"\npublished = { top_1 = 3 }",
        "model = { torchscript = \"models/mine.pt\" }\nprotocl_from = \"k400/x3d_m\"",
    ] {
        let s = Suite::new(&format!("{OWN}[[entry]]\nname = \"bad\"\n{body}\n"));
        let err = s.error();
        let unknown = ["layout", "top_1", "protocl_from"]
            .into_iter()
            .any(|k| err.contains(k));
        assert!(
            err.contains("mine.toml") && err.contains("line") && unknown,
            "{body}: {err}"
        );
    }
}

#[test]
fn own_model_plan_is_one_entry_under_the_zoo_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("my-model.v2.pt");
    std::fs::write(&model, b"").unwrap();
    let plan = own_model_plan(&model, "k400/x3d_m", None).unwrap();
    assert_eq!(plan.entries.len(), 1);
    let e = &plan.entries[0];
    assert_eq!(e.id, "own/my-model_v2");
    assert_eq!(e.protocol, zoo("k400/x3d_m").protocol);
    assert_eq!(e.protocol_from.as_deref(), Some("k400/x3d_m"));
    assert_eq!(plan.suite.dataset, vbench_suite::Dataset::Kinetics400);
    assert_eq!(
        e.model,
        ModelSource::TorchScript {
            path: model.clone(),
            input: InputLayout::Clip
        }
    );

    let err = own_model_plan(&model, "k400/x3d_q", None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("my-model.v2.pt") && err.contains("--protocol") && err.contains("x3d_m"),
        "{err}"
    );
    let missing = own_model_plan(Path::new("no/such.pt"), "k400/x3d_m", None)
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("no/such.pt") && missing.contains("no such file"),
        "{missing}"
    );
}
