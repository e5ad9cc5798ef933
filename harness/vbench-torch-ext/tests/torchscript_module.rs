//! The shim's TorchScript module on small files written by `tests/oracles/torchext_small.py`:
//! a scripted module with control flow, params of a plain and a frozen module, the three input
//! layouts, and the bad-input errors (each naming the file).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{assert_counts_equal_fvcore, counts, oracle, rel_max_diff, tensors};
use serde_json::Value;
use tch::{Device, Kind, Tensor};
use vbench_torch_ext::{Convention, ModuleInput, ParamSource, TorchExtError, TsModule};

fn fixtures() -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    let o = oracle("torchext_small.py", &[dir.path().to_str().unwrap()]);
    (dir, o)
}

fn nonzero(m: BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    m.into_iter().filter(|(_, v)| *v > 0).collect()
}

/// Both branches of a `torch.jit.script`ed module run through the interpreter; the counted FLOPs
/// equal fvcore's on the eager module, which takes the same branch, under every convention.
/// fvcore cannot analyse a ScriptModule itself, and its trace of the eager module differs from
/// the scripted graph in two known ways, which the uncounted list shows: the ops the
/// interpreter runs for Python-level logic (`aten::Bool`, `aten::floordiv`, ...) and the branch
/// condition `x.sum()`, which only Python's `bool()` consumes, so the trace drops it.
#[test]
fn scripted_module_with_control_flow_counts_as_fvcore_on_the_eager_module() {
    let (dir, o) = fixtures();
    let io = tensors(&dir.path().join("io_gated.safetensors"));
    let m = TsModule::load(dir.path().join("gated.pt"), Device::Cpu).unwrap();
    assert_eq!(
        Some(m.params().unwrap().count),
        o["gated"]["params"].as_i64()
    );
    for branch in ["pos", "neg"] {
        let x = &io[branch];
        let y = tch::no_grad(|| m.forward(&ModuleInput::Single(x))).unwrap();
        let d = rel_max_diff(&y, &io[&format!("out_{branch}")]);
        assert!(d <= 1e-5, "{branch}: forward differs from eager by {d:e}");
        let (y2, cap) = m.capture_ops(&ModuleInput::Single(x)).unwrap();
        assert!(y2.equal(&y), "{branch}: captured forward differs");
        let truth = &o["gated"][branch];
        let conv_linear: BTreeMap<String, u64> = counts(&truth["eval"])
            .into_iter()
            .filter(|(k, _)| common::MUL_ADD.contains(&k.as_str()))
            .collect();
        let want = [
            (Convention::Fvcore2021, counts(&truth["train"])),
            (Convention::ConvLinear, conv_linear),
            (Convention::FvcoreEval, counts(&truth["eval"])),
        ];
        for (conv, want) in want {
            let got = cap.flops(conv).unwrap();
            assert_eq!(nonzero(got.by_operator), want, "{branch}, {conv}");
            eprintln!("gated {branch}, {conv}: shim {} = fvcore", got.total);
        }
        let uncounted = cap.flops(Convention::FvcoreEval).unwrap().uncounted;
        let interpreter: BTreeMap<String, usize> = uncounted
            .iter()
            .filter(|(k, _)| cap.ops.iter().any(|r| r.interpreter && &r.name == *k))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let mut dispatched = uncounted.clone();
        dispatched.retain(|k, _| !interpreter.contains_key(k));
        let mut want: BTreeMap<String, usize> = counts(&truth["unsupported"])
            .into_iter()
            .map(|(k, v)| (k, v as usize))
            .collect();
        *want.entry("aten::sum".into()).or_default() += 1; // the branch condition
        assert_eq!(dispatched, want, "{branch}: uncounted tensor ops");
        for op in ["aten::Bool", "aten::floordiv"] {
            assert!(interpreter.contains_key(op), "{branch}: {interpreter:?}");
        }
        eprintln!("gated {branch}: uncounted {dispatched:?}, interpreter-only {interpreter:?}");
    }
}

/// Every op fvcore has a handle for, in one traced module: the shim's counts equal fvcore's on
/// the eager module under every convention.
#[test]
fn every_fvcore_handle_counts_as_fvcore() {
    let (dir, o) = fixtures();
    let io = tensors(&dir.path().join("io_all_ops.safetensors"));
    let m = TsModule::load(dir.path().join("all_ops.pt"), Device::Cpu).unwrap();
    let (_, cap) = m.capture_ops(&ModuleInput::Single(&io["input"])).unwrap();
    let handled = counts(&o["all_ops"]["eval"]).len();
    assert_eq!(
        handled, 14,
        "the fixture exercises each of fvcore's 14 handled names"
    );
    for line in assert_counts_equal_fvcore("all_ops", &cap, &o["all_ops"]) {
        eprintln!("{line}");
    }
}

#[test]
fn params_of_a_plain_and_a_frozen_module_equal_the_python_modules() {
    let (dir, o) = fixtures();
    let want = o["plain"]["params"].as_i64();
    let plain = TsModule::load(dir.path().join("plain.pt"), Device::Cpu).unwrap();
    let p = plain.params().unwrap();
    assert_eq!((Some(p.count), p.source), (want, ParamSource::Parameters));
    let frozen = TsModule::load(dir.path().join("plain_frozen.pt"), Device::Cpu).unwrap();
    let f = frozen.params().unwrap();
    assert_eq!(
        (Some(f.count), f.source),
        (want, ParamSource::FrozenConstants)
    );
    let x = Tensor::rand([1, 3, 4, 8, 8], (Kind::Float, Device::Cpu));
    let (a, b) = tch::no_grad(|| {
        let input = ModuleInput::Single(&x);
        (
            plain.forward(&input).unwrap(),
            frozen.forward(&input).unwrap(),
        )
    });
    assert!(rel_max_diff(&b, &a) <= 1e-5);
}

#[test]
fn pathway_list_and_clip_boxes_inputs_reach_forward() {
    let (dir, _) = fixtures();
    let io = tensors(&dir.path().join("io_inputs.safetensors"));
    let pair = TsModule::load(dir.path().join("pair.pt"), Device::Cpu).unwrap();
    let pathways = [io["slow"].shallow_clone(), io["fast"].shallow_clone()];
    let y = tch::no_grad(|| pair.forward(&ModuleInput::Pathways(&pathways))).unwrap();
    assert!(rel_max_diff(&y, &io["out_pair"]) <= 1e-6);
    let cb = TsModule::load(dir.path().join("clip_boxes.pt"), Device::Cpu).unwrap();
    let input = ModuleInput::ClipBoxes {
        clip: &io["clip"],
        boxes: &io["boxes"],
    };
    let y = tch::no_grad(|| cb.forward(&input)).unwrap();
    assert!(rel_max_diff(&y, &io["out_clip_boxes"]) <= 1e-6);
    let (_, cap) = cb.capture_ops(&input).unwrap();
    assert!(cap.flops(Convention::FvcoreEval).unwrap().by_operator["conv"] > 0);
}

fn assert_names(err: &TorchExtError, file: &Path, words: &[&str]) {
    let msg = err.to_string();
    eprintln!("{msg}\n---");
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    for w in words {
        assert!(msg.contains(w), "`{w}` not in: {msg}");
    }
}

#[test]
fn bad_files_and_inputs_give_errors_naming_the_file() {
    let (dir, _) = fixtures();
    let p = |name: &str| dir.path().join(name);
    let text = p("notes.pt");
    std::fs::write(&text, "not a model").unwrap();
    for f in [text, p("state_dict.pth")] {
        let err = TsModule::load(&f, Device::Cpu).err().unwrap();
        assert!(matches!(err, TorchExtError::NotTorchScript { .. }), "{err}");
        assert_names(&err, &f, &["not a TorchScript file"]);
    }
    let err = TsModule::load(p("roi_align.pt"), Device::Cpu)
        .err()
        .unwrap();
    assert!(
        matches!(err, TorchExtError::UnknownOperator { .. }),
        "{err}"
    );
    assert_names(&err, &p("roi_align.pt"), &["torchvision::roi_align"]);
    let missing = p("missing.pt");
    let err = TsModule::load(&missing, Device::Cpu).err().unwrap();
    assert!(matches!(err, TorchExtError::Io { .. }), "{err}");
    assert_names(&err, &missing, &[]);

    // A device constant is found at load; a device picked at run time fails in forward.
    let err = TsModule::load(p("cuda_constant.pt"), Device::Cpu)
        .err()
        .unwrap();
    assert!(matches!(err, TorchExtError::NeedsCuda { .. }), "{err}");
    assert_names(
        &err,
        &p("cuda_constant.pt"),
        &["needs a CUDA device", "cuda"],
    );
    let m = TsModule::load(p("cuda_runtime.pt"), Device::Cpu).unwrap();
    let x = Tensor::rand([1, 3, 2, 4, 4], (Kind::Float, Device::Cpu));
    let err = m.forward(&ModuleInput::Single(&x)).err().unwrap();
    assert!(matches!(err, TorchExtError::NeedsCuda { .. }), "{err}");
    assert_names(&err, &p("cuda_runtime.pt"), &["needs a CUDA device"]);

    // Wrong rank, and a list where one tensor is expected: libtorch's message and the shapes.
    let gated = TsModule::load(p("gated.pt"), Device::Cpu).unwrap();
    let x4 = Tensor::rand([1, 3, 8, 8], (Kind::Float, Device::Cpu));
    let err = gated.forward(&ModuleInput::Single(&x4)).err().unwrap();
    assert!(
        matches!(err, TorchExtError::ForwardRejected { .. }),
        "{err}"
    );
    assert_names(
        &err,
        &p("gated.pt"),
        &["[1, 3, 8, 8]", "to have 3 channels"],
    );
    if let TorchExtError::ForwardRejected { detail, .. } = &err {
        assert!(detail.contains("Traceback of TorchScript") && detail.contains("conv3d"));
    }
    let list = [x.shallow_clone(), x.shallow_clone()];
    let err = gated.forward(&ModuleInput::Pathways(&list)).err().unwrap();
    assert!(
        matches!(err, TorchExtError::ForwardRejected { .. }),
        "{err}"
    );
    assert_names(
        &err,
        &p("gated.pt"),
        &["list [[1, 3, 2, 4, 4], [1, 3, 2, 4, 4]]", "List[Tensor]"],
    );
    let err = gated.capture_ops(&ModuleInput::Single(&x4)).err().unwrap();
    assert!(
        matches!(err, TorchExtError::ForwardRejected { .. }),
        "{err}"
    );

    let tuple = TsModule::load(p("tuple.pt"), Device::Cpu).unwrap();
    let err = tuple.forward(&ModuleInput::Single(&x)).err().unwrap();
    assert!(matches!(err, TorchExtError::BadOutput { .. }), "{err}");
    assert_names(&err, &p("tuple.pt"), &["Tuple", "expected one Tensor"]);
}
