//! The CNN zoo in `vbench-models` is logit-identical to PyTorchVideo 0.1.5.
//!
//! `tests/oracles/parity_cnn.py` builds every CNN entry with PyTorchVideo (BN randomised), saves
//! official-format `.pyth` checkpoints plus inputs and expected outputs; here each checkpoint is
//! loaded strictly into the tch model and run on the same inputs (f32, CPU). Also checked: the
//! parameter counts of every entry at its zoo configuration, and that a strict load of a tampered
//! checkpoint names every missing, unexpected and wrong-shape key in one error.
//!
//! One test, because the oracle's fixtures (~2 GB of checkpoints) are generated once per run.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use tch::{nn, Device, Tensor};
use vbench_models::{checkpoint, param_count, zoo_config, ModelConfig};
use vbench_suite::{Activation, Arch};
use vbench_testkit::oracle::OracleIo;
use vbench_testkit::{repo_root, venv_python};

/// max|Δ| ≤ TOL × max|expected|, for the scores and for the pre-activation logits.
const TOL: f64 = 1e-4;

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("manifest entry without `{key}`: {v}"))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    field(v, key)
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {v}"))
}

fn int(v: &Value, key: &str) -> i64 {
    field(v, key)
        .as_i64()
        .unwrap_or_else(|| panic!("`{key}` is not an integer in {v}"))
}

fn parse_arch(s: &str) -> Arch {
    serde_json::from_value(Value::String(s.into())).unwrap_or_else(|e| panic!("arch {s:?}: {e}"))
}

fn parse_activation(s: &str) -> Activation {
    serde_json::from_value(Value::String(s.into()))
        .unwrap_or_else(|e| panic!("activation {s:?}: {e}"))
}

fn config(model: &Value, pools: &Value) -> (Arch, ModelConfig) {
    let arch = parse_arch(text(model, "arch"));
    let activation = parse_activation(text(model, "activation"));
    let mut cfg = zoo_config(arch, int(model, "num_classes"), activation)
        .unwrap_or_else(|e| panic!("{arch}: {e}"));
    if let Some(list) = pools.as_array() {
        let kernels: Vec<[i64; 3]> = list
            .iter()
            .map(|k| serde_json::from_value(k.clone()).expect("kernel is [t, h, w]"))
            .collect();
        cfg.set_head_pool_kernel_sizes(&kernels)
            .unwrap_or_else(|e| panic!("{arch}: {e}"));
    }
    (arch, cfg)
}

fn max_rel(got: &Tensor, want: &Tensor) -> f64 {
    let scale = want.abs().max().double_value(&[]);
    let diff = (got - want).abs().max().double_value(&[]);
    diff / scale.max(f64::MIN_POSITIVE)
}

#[test]
fn cnn_zoo_matches_pytorchvideo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let oracle = repo_root().join("tests/oracles/parity_cnn.py");
    let status = Command::new(venv_python())
        .arg(&oracle)
        .arg(dir.path())
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "{}: cannot run {}: {e}",
                oracle.display(),
                venv_python().display()
            )
        });
    assert!(status.success(), "{} failed: {status}", oracle.display());
    let oracle_secs = started.elapsed().as_secs_f64();

    let manifest_path = dir.path().join("manifest.json");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(&manifest_path).expect("oracle wrote manifest.json"),
    )
    .expect("manifest is JSON");
    let models = field(&manifest, "models").as_array().expect("models list");
    let cases = field(&manifest, "cases").as_array().expect("cases list");

    let started = Instant::now();
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for model in models {
        let id = text(model, "id");
        let ckpt = dir.path().join(format!("{id}.pyth"));
        let read_started = Instant::now();
        let weights = checkpoint::read_state_dict(&ckpt).unwrap_or_else(|e| panic!("{id}: {e}"));
        let read_secs = read_started.elapsed().as_secs_f64();

        // Parameter count at the zoo configuration (head pools have no parameters).
        let (arch, zoo) = config(model, &Value::Null);
        let vs = nn::VarStore::new(Device::Cpu);
        drop(
            zoo.build(arch, &vs.root())
                .unwrap_or_else(|e| panic!("{id}: {e}")),
        );
        let (ours, theirs) = (param_count(&vs), int(model, "params"));
        if ours != theirs {
            failures.push(format!(
                "{id}: {ours} parameters, PyTorchVideo has {theirs}"
            ));
        }
        drop(vs);

        for case in cases.iter().filter(|c| text(c, "model") == id) {
            let case_id = text(case, "id");
            let (arch, cfg) = config(model, field(case, "head_pool_kernel_sizes"));
            let mut vs = nn::VarStore::new(Device::Cpu);
            let net = cfg
                .build(arch, &vs.root())
                .unwrap_or_else(|e| panic!("{case_id}: {e}"));
            let tensors = weights
                .iter()
                .map(|(k, t)| (k.clone(), t.shallow_clone()))
                .collect();
            if let Err(e) = checkpoint::load_strict(&mut vs, tensors, &ckpt) {
                failures.push(format!("{case_id}: strict load: {e}"));
                continue;
            }
            let io_path = dir.path().join(format!("{case_id}.safetensors"));
            let io = OracleIo::read(&io_path);
            let get = |k: &str| io.get(k);
            let input = io.model_input(arch.is_slowfast());
            let forward_started = Instant::now();
            let out = match net.forward(&input) {
                Ok(out) => out,
                Err(e) => {
                    failures.push(format!("{case_id}: forward: {e}"));
                    continue;
                }
            };
            let forward_secs = forward_started.elapsed().as_secs_f64();
            let (want_scores, want_pre) = (get("scores"), get("pre_activation"));
            if out.scores.size() != want_scores.size() {
                failures.push(format!(
                    "{case_id}: scores {:?}, PyTorchVideo {:?}",
                    out.scores.size(),
                    want_scores.size()
                ));
                continue;
            }
            let rel_scores = max_rel(&out.scores, &want_scores);
            let rel_pre = max_rel(&out.pre_activation, &want_pre);
            report.push(format!(
                "{case_id:<34} params {ours:>9}  max rel |Δ| scores {rel_scores:.1e}, \
                 pre-activation {rel_pre:.1e}  (read {read_secs:.1} s, forward {forward_secs:.1} s)"
            ));
            if !(rel_scores <= TOL && rel_pre <= TOL) {
                failures.push(format!(
                    "{case_id}: max relative Δ {rel_scores:.3e} (scores), {rel_pre:.3e} (pre-activation) > {TOL:e}"
                ));
            }
        }
    }
    let tamper = check_tampered(dir.path(), field(&manifest, "tampered"), models);
    failures.extend(tamper);

    println!("{}", report.join("\n"));
    println!(
        "oracle {oracle_secs:.1} s, vbench-models {:.1} s, {} cases",
        started.elapsed().as_secs_f64(),
        report.len()
    );
    assert_eq!(
        report.len(),
        cases.len(),
        "not every case ran:\n{}",
        failures.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A strict load of the tampered x3d_xs checkpoint must fail and name all three culprits.
fn check_tampered(dir: &Path, tampered: &Value, models: &[Value]) -> Vec<String> {
    let file = dir.join(text(tampered, "file"));
    let model_id = text(tampered, "model");
    let model = models
        .iter()
        .find(|m| text(m, "id") == model_id)
        .unwrap_or_else(|| panic!("tampered model {model_id} not in the manifest"));
    let (arch, cfg) = config(model, &Value::Null);
    let mut vs = nn::VarStore::new(Device::Cpu);
    drop(cfg.build(arch, &vs.root()).expect("x3d_xs builds"));
    let tensors = match checkpoint::read_state_dict(&file) {
        Ok(t) => t,
        Err(e) => return vec![format!("{}: {e}", file.display())],
    };
    let message = match checkpoint::load_strict(&mut vs, tensors, &file) {
        Ok(()) => {
            return vec![format!(
                "{}: strict load accepted a tampered checkpoint",
                file.display()
            )]
        }
        Err(e) => e.to_string(),
    };
    ["missing", "unexpected", "wrong_shape"]
        .iter()
        .map(|k| text(tampered, k))
        .filter(|key| !message.contains(key))
        .map(|key| format!("tampered checkpoint: `{key}` not named in: {message}"))
        .collect()
}
