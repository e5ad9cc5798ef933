//! The TorchScript backend through the model seam, on small modules written by
//! `tests/oracles/tiny_torchscript.py`: logits equal to the Python module's, the protocol's head
//! activation applied by vbench (`none` keeps a module's own sigmoid), params (and a frozen
//! module's constants), FLOPs under every convention, the SlowFast list layout, and the bad
//! inputs, each refused at load with a message naming the file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use tch::{Device, Kind, Tensor};
use vbench_models::{load_model, LoadOptions, ModelInput, ParamSource, VideoModel, Weights};
use vbench_suite::{own_model_plan, Activation, Entry, FlopsConvention, InputLayout};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The oracle's files, written once per test binary.
fn files() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new(repo().join(".venv/bin/python"))
            .arg(repo().join("tests/oracles/tiny_torchscript.py"))
            .arg(dir.path())
            .status()
            .expect("the venv's python runs (ci/setup.sh)");
        assert!(status.success(), "tiny_torchscript.py failed");
        dir
    })
    .path()
}

fn oracle() -> Value {
    serde_json::from_slice(&std::fs::read(files().join("tiny.json")).unwrap()).unwrap()
}

/// `file` under the protocol of `zoo` (`k400/x3d_xs`: 4×182², 5 classes here).
fn entry(file: &str, zoo: &str, classes: u32) -> Entry {
    let mut e = own_model_plan(&files().join(file), zoo, None)
        .unwrap()
        .entries
        .remove(0);
    e.protocol.num_classes = classes;
    e
}

fn load(e: &Entry) -> Result<Box<dyn VideoModel>, String> {
    let opts = LoadOptions {
        device: Device::Cpu,
        weights: Weights::Random,
    };
    load_model(e, &opts).map_err(|err| err.to_string())
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn torchscript_logits_equal_the_python_module_and_vbench_applies_the_head() {
    let o = oracle();
    let x = Tensor::from_slice(&floats(&o["input"])).reshape([1, 3, 4, 182, 182]);
    let want = Tensor::from_slice(&floats(&o["logits"])).reshape([1, 5]);
    let e = entry("tiny.pt", "k400/x3d_xs", 5);
    let m = load(&e).unwrap();
    assert_eq!(m.label(), "torchscript:tiny.pt");
    assert_eq!(m.input_layout(), InputLayout::Clip);
    let out = m.forward(&ModelInput::Single(x.shallow_clone())).unwrap();
    let diff = (&out.pre_activation - &want).abs().max().double_value(&[]);
    assert!(diff <= 1e-5, "logits differ by {diff}");
    let softmax = want.softmax(1, Kind::Float);
    assert!((&out.scores - &softmax).abs().max().double_value(&[]) <= 1e-6);

    // A module that ends in sigmoid, scored as is.
    let mut e = entry("tiny_sigmoid.pt", "k400/x3d_xs", 5);
    e.protocol.head_activation = Activation::None;
    let out = load(&e).unwrap().forward(&ModelInput::Single(x)).unwrap();
    assert!((&out.scores - want.sigmoid()).abs().max().double_value(&[]) <= 1e-5);
}

#[test]
fn torchscript_params_and_frozen_constants_are_counted_and_say_which() {
    let o = oracle();
    let p = load(&entry("tiny.pt", "k400/x3d_xs", 5))
        .unwrap()
        .params()
        .unwrap();
    assert_eq!(
        (p.count, p.source),
        (o["params"].as_i64().unwrap(), ParamSource::Parameters)
    );
    let f = load(&entry("tiny.frozen.pt", "k400/x3d_xs", 5))
        .unwrap()
        .params()
        .unwrap();
    assert_eq!(
        (f.count, f.source),
        (
            o["frozen_constants"].as_i64().unwrap(),
            ParamSource::FrozenConstants
        )
    );
}

#[test]
fn torchscript_flops_follow_the_conventions() {
    let e = entry("tiny.pt", "k400/x3d_xs", 5);
    let f = load(&e).unwrap().flops(&e.protocol).unwrap();
    // conv: 8·3·9 weights × 4·91·91 outputs; BN at 5 (2 in eval) per element of [8, 4, 91, 91];
    // linear 8·5. fvcore ignores relu and has no handle for the 3-D pool: listed, not counted.
    let conv = 8 * 3 * 9 * 4 * 91 * 91;
    let bn = 8 * 4 * 91 * 91;
    let linear = 8 * 5;
    assert_eq!(
        f.total(FlopsConvention::Fvcore2021),
        Some(conv + 5 * bn + linear)
    );
    assert_eq!(f.total(FlopsConvention::ConvLinear), Some(conv + linear));
    assert_eq!(
        f.total(FlopsConvention::FvcoreEval),
        Some(conv + 2 * bn + linear)
    );
    assert!(
        f.uncounted.contains_key("aten::adaptive_avg_pool3d"),
        "{:?}",
        f.uncounted
    );
}

#[test]
fn torchscript_slowfast_layout_takes_the_pathway_list() {
    let e = entry("pathways.pt", "k400/slowfast_r50", 5);
    let m = load(&e).unwrap();
    assert_eq!(m.input_layout(), InputLayout::Slowfast);
    let out = m
        .forward(&ModelInput::dummy(&e.protocol, 2, Device::Cpu))
        .unwrap();
    assert_eq!(out.scores.size(), [2, 5]);
    let one = ModelInput::dummy(
        &vbench_suite::find_entry("k400/x3d_xs")
            .map(|(p, i)| p.entries[i].protocol.clone())
            .unwrap(),
        1,
        Device::Cpu,
    );
    let err = m.forward(&one).err().unwrap().to_string();
    assert!(
        err.contains("pathways.pt") && err.contains("slowfast"),
        "{err}"
    );
}

#[test]
fn bad_torchscript_files_are_refused_at_load_naming_the_file() {
    let not_ts = files().join("not_torchscript.pt");
    std::fs::write(&not_ts, b"these bytes are no zip archive").unwrap();
    let cases = [
        (
            entry("not_torchscript.pt", "k400/x3d_xs", 5),
            "not a TorchScript file",
        ),
        (entry("cuda.pt", "k400/x3d_xs", 5), "CUDA"),
        (
            entry("strict16.pt", "k400/x3d_xs", 5),
            "[1, 3, 4, 182, 182]",
        ),
        (entry("six.pt", "k400/x3d_xs", 5), "[1, 6]"),
    ];
    for (e, what) in cases {
        let ModelSourcePath(path) = ModelSourcePath::of(&e);
        let err = load(&e).err().unwrap_or_else(|| panic!("{path} loaded"));
        assert!(err.contains(&path) && err.contains(what), "{path}: {err}");
    }
    // The layout the forward expects is named too.
    let err = load(&entry("strict16.pt", "k400/x3d_xs", 5)).err().unwrap();
    assert!(
        err.contains("`clip` input layout: forward(clip: Tensor[B, C, T, H, W])")
            && err.contains("expected 16 frames"),
        "{err}"
    );
}

struct ModelSourcePath(String);

impl ModelSourcePath {
    fn of(e: &Entry) -> ModelSourcePath {
        match &e.model {
            vbench_suite::ModelSource::TorchScript { path, .. } => {
                ModelSourcePath(path.display().to_string())
            }
            other => panic!("{other:?}"),
        }
    }
}
