//! MViT-B (16×4, 32×3), the AVA detectors (Slow 4×16, SlowFast 8×8) and efficient X3D
//! (XS, S; original and deployment forms) in `vbench-models` match PyTorchVideo 0.1.5.
//!
//! `tests/oracles/parity_issue4.py` builds each entry with PyTorchVideo's hub builder (weights
//! randomised), saves zoo-format checkpoints (efficient X3D's bare state dicts included), inputs
//! (and person boxes) and outputs; here each checkpoint is read by the pure-Rust reader, loaded
//! strictly, and run on the same inputs (f32, CPU, batch 1–2). Also checked: parameter counts, and
//! for efficient X3D the deployment form (`deploy_form()`) against PyTorchVideo's
//! `convert_to_deployable_form` and against the original form.
//!
//! Slow: ~1.5 min on 2 shared cores, most of it MViT at its only valid input (16 / 32 frames of
//! 224², about 70 / 170 GFLOPs), run once by the oracle and once here.

use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use tch::{nn, Device, Tensor};
use vbench_models::{checkpoint, param_count, zoo_config, ModelInput, ModelOutput, ZooNet};
use vbench_suite::{Activation, Arch};
use vbench_testkit::oracle::OracleIo;
use vbench_testkit::{repo_root, venv_python};

/// max|Δ| ≤ TOL × max|expected|, for the scores and for the pre-activation logits.
const TOL: f64 = 1e-4;

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string `{key}` in {v}"))
}

fn int(v: &Value, key: &str) -> i64 {
    v.get(key)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("no integer `{key}` in {v}"))
}

fn parse_arch(s: &str) -> Arch {
    serde_json::from_value(Value::String(s.into())).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn parse_activation(s: &str) -> Activation {
    serde_json::from_value(Value::String(s.into())).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn max_rel(got: &Tensor, want: &Tensor) -> f64 {
    let scale = want.abs().max().double_value(&[]);
    let diff = (got - want).abs().max().double_value(&[]);
    diff / scale.max(f64::MIN_POSITIVE)
}

/// Compares both outputs; returns (scores Δ, pre-activation Δ) or a failure.
fn compare(
    case: &str,
    out: &ModelOutput,
    scores: &Tensor,
    pre: &Tensor,
) -> Result<(f64, f64), String> {
    if out.scores.size() != scores.size() || out.pre_activation.size() != pre.size() {
        return Err(format!(
            "{case}: outputs {:?} / {:?}, PyTorchVideo {:?} / {:?}",
            out.scores.size(),
            out.pre_activation.size(),
            scores.size(),
            pre.size()
        ));
    }
    let (s, p) = (
        max_rel(&out.scores, scores),
        max_rel(&out.pre_activation, pre),
    );
    match s <= TOL && p <= TOL {
        true => Ok((s, p)),
        false => Err(format!(
            "{case}: max relative Δ {s:.3e} (scores), {p:.3e} (pre-activation) > {TOL:e}"
        )),
    }
}

#[test]
fn new_families_match_pytorchvideo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let oracle = repo_root().join("tests/oracles/parity_issue4.py");
    let status = Command::new(venv_python())
        .arg(&oracle)
        .arg(dir.path())
        .status()
        .unwrap_or_else(|e| panic!("{}: cannot run: {e}", oracle.display()));
    assert!(status.success(), "{} failed: {status}", oracle.display());
    let oracle_secs = started.elapsed().as_secs_f64();

    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("manifest.json")).expect("manifest.json"),
    )
    .expect("manifest is JSON");
    let models = manifest["models"].as_array().expect("models");
    let cases = manifest["cases"].as_array().expect("cases");

    let started = Instant::now();
    let (mut report, mut failures) = (Vec::new(), Vec::new());
    let mut ran = 0;
    for m in models {
        let id = text(m, "id");
        let arch = parse_arch(text(m, "arch"));
        let activation = parse_activation(text(m, "activation"));
        let ckpt = dir.path().join(format!("{id}.pyth"));
        let weights = checkpoint::read_state_dict(&ckpt).unwrap_or_else(|e| panic!("{id}: {e}"));
        let mut vs = nn::VarStore::new(Device::Cpu);
        let net = zoo_config(arch, int(m, "num_classes"), activation)
            .and_then(|cfg| cfg.build(arch, &vs.root()))
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let (ours, theirs) = (param_count(&vs), int(m, "params"));
        if ours != theirs {
            failures.push(format!(
                "{id}: {ours} parameters, PyTorchVideo has {theirs}"
            ));
        }
        if let Err(e) = checkpoint::load_strict(&mut vs, weights, &ckpt) {
            failures.push(format!("{id}: strict load: {e}"));
            continue;
        }
        let deploy = net
            .deploy_form()
            .unwrap_or_else(|e| panic!("{id}: deploy form: {e}"));

        for case in cases.iter().filter(|c| text(c, "model") == id) {
            let case_id = text(case, "id");
            let io_path = dir.path().join(format!("{case_id}.safetensors"));
            let io = OracleIo::read(&io_path);
            let get = |k: &str| io.get(k);
            let input = io.model_input(arch.is_slowfast());
            let t = Instant::now();
            let out = match arch.is_detector() {
                true => net.forward_boxes(&input, &get("boxes")),
                false => net.forward(&input),
            };
            let secs = t.elapsed().as_secs_f64();
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    failures.push(format!("{case_id}: forward: {e}"));
                    continue;
                }
            };
            ran += 1;
            match compare(case_id, &out, &get("scores"), &get("pre_activation")) {
                Ok((s, p)) => report.push(format!(
                    "{case_id:<36} params {ours:>9}  max rel |Δ| scores {s:.1e}, \
                     pre-activation {p:.1e}  (forward {secs:.1} s)"
                )),
                Err(e) => failures.push(e),
            }
            if let Some(deploy) = &deploy {
                check_deploy(case_id, deploy.as_ref(), &input, &out, &get, &mut report)
                    .unwrap_or_else(|e| failures.push(e));
            }
        }
    }
    println!("{}", report.join("\n"));
    println!(
        "oracle {oracle_secs:.1} s, vbench-models {:.1} s, {ran} cases",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        ran,
        cases.len(),
        "not every case ran:\n{}",
        failures.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The deployment form against PyTorchVideo's converted model and against our original form.
fn check_deploy(
    case: &str,
    deploy: &dyn ZooNet,
    input: &ModelInput,
    original: &ModelOutput,
    get: &dyn Fn(&str) -> Tensor,
    report: &mut Vec<String>,
) -> Result<(), String> {
    let out = deploy
        .forward(input)
        .map_err(|e| format!("{case}: deploy form: {e}"))?;
    let name = format!("{case} (deploy form)");
    let (s, p) = compare(
        &name,
        &out,
        &get("deploy_scores"),
        &get("deploy_pre_activation"),
    )?;
    let (os, op) = compare(
        &format!("{name} vs original"),
        &out,
        &original.scores,
        &original.pre_activation,
    )?;
    report.push(format!(
        "{name:<46}  max rel |Δ| scores {s:.1e}, pre-activation {p:.1e}; \
         vs our original form {os:.1e}, {op:.1e}"
    ));
    Ok(())
}
