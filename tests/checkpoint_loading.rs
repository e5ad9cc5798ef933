//! Official PyTorchVideo checkpoints (`torch.save` zip archives) load in pure Rust, and
//! load strictly. `tests/oracles/write_checkpoints.py` writes each checkpoint shape next to a
//! safetensors dump of the same tensors; every tensor read from the checkpoint must be
//! bit-identical to its safetensors twin. Broken files must give a typed error naming the file.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tch::{nn, Device, Kind, Tensor};
use vbench_models::checkpoint::{load_strict, read_state_dict, CheckpointError};
use vbench_testkit::{repo_root, venv_python};

fn run_oracle(out: &Path) {
    let py = venv_python();
    let result = Command::new(&py)
        .arg(repo_root().join("tests/oracles/write_checkpoints.py"))
        .arg(out)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (ci/setup.sh creates the venv): {e}",
                py.display()
            )
        });
    assert!(
        result.status.success(),
        "write_checkpoints.py failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// The tensor's bytes in row-major order: the exact comparison, NaN payloads and -0.0 included.
fn bits(t: &Tensor) -> Vec<u8> {
    let t = t.contiguous();
    let n = t.numel();
    let mut buf = vec![0u8; n * t.kind().elt_size_in_bytes()];
    t.copy_data_u8(&mut buf, n);
    buf
}

fn read(path: &Path) -> Vec<(String, Tensor)> {
    read_state_dict(path).unwrap_or_else(|e| panic!("{e}"))
}

fn read_err(path: &Path) -> CheckpointError {
    let e = read_state_dict(path).expect_err("must not load");
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "error does not name the file: {msg}"
    );
    e
}

/// Every checkpoint/safetensors pair in the manifest: same keys in the same order, same dtypes,
/// shapes and bits; all on the CPU.
fn check_pairs(dir: &Path) {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let pairs = manifest["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 8);
    for pair in pairs {
        let ckpt = dir.join(pair["ckpt"].as_str().unwrap());
        let got = read(&ckpt);
        let keys: Vec<&str> = pair["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(
            got.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            keys,
            "{}",
            ckpt.display()
        );
        let want: std::collections::HashMap<String, Tensor> =
            read(&dir.join(pair["safetensors"].as_str().unwrap()))
                .into_iter()
                .collect();
        for (key, t) in &got {
            let w = &want[key];
            let at = format!("{} `{key}`", ckpt.display());
            assert_eq!(
                (t.kind(), t.size(), t.device()),
                (w.kind(), w.size(), Device::Cpu),
                "{at}"
            );
            assert!(bits(t) == bits(w), "{at}: values differ");
        }
    }
}

fn check_float8(dir: &Path) {
    let sd = read(&dir.join("float8.pt"));
    assert_eq!(sd[0].1.kind(), Kind::Float8e4m3fn);
    // Every float8 value is exact in float32.
    assert!(bits(&sd[0].1.to_kind(Kind::Float)) == bits(&sd[1].1));
}

fn check_failures(dir: &Path) {
    assert!(matches!(
        read_err(&dir.join("legacy.pt")),
        CheckpointError::LegacyFormat { .. }
    ));
    let e = read_err(&dir.join("uint16.pt"));
    assert!(
        matches!(&e, CheckpointError::UnsupportedDtype { key, dtype, .. } if key == "w" && dtype == "torch.uint16"),
        "{e}"
    );
    let e = read_err(&dir.join("no_state_dict.pt"));
    assert!(
        matches!(&e, CheckpointError::NoStateDict { top_level, .. } if top_level == &["epoch", "cfg"]),
        "{e}"
    );
    let e = read_err(&dir.join("non_tensor.pt"));
    assert!(
        matches!(&e, CheckpointError::NotATensor { key, found, .. } if key == "b" && found == "int 3"),
        "{e}"
    );
    let e = read_err(&dir.join("unrelated.pyth"));
    assert!(
        matches!(&e, CheckpointError::MissingDataPkl { members, .. } if members.len() == 2),
        "{e}"
    );
}

/// The official file cut at several lengths, and with one flipped byte inside the weights.
fn check_damaged(dir: &Path) {
    let full = std::fs::read(dir.join("official_x3d_xs.pyth")).unwrap();
    let n = full.len();
    let cut = dir.join("cut.pyth");
    for len in [0, 1, 4, 100, 5000, n / 2, n - 4096, n - 100, n - 22, n - 1] {
        std::fs::write(&cut, &full[..len]).unwrap();
        let e = read_err(&cut);
        assert!(
            matches!(e, CheckpointError::NotZip { .. }),
            "cut at {len}: {e}"
        );
    }
    let mut flipped = full;
    flipped[n / 4] ^= 0xff;
    std::fs::write(&cut, &flipped).unwrap();
    let e = read_err(&cut);
    assert!(
        matches!(&e, CheckpointError::ZipMember { member, .. } if member.contains("/data/")),
        "{e}"
    );
}

/// A VarStore holding one float32 variable per `(key, shape)`; keys are dotted paths.
fn store(vars: &[(String, Vec<i64>)]) -> nn::VarStore {
    let vs = nn::VarStore::new(Device::Cpu);
    for (key, shape) in vars {
        let mut segs: Vec<&str> = key.split('.').collect();
        let name = segs.pop().unwrap();
        let path = segs.iter().fold(vs.root(), |p, s| p / *s);
        let _ = path.zeros(name, shape);
    }
    vs
}

/// The real X3D-XS state_dict loads strictly into a hand-built VarStore of its keys, and a store
/// that differs in three ways gets all three reported at once.
fn check_strict_load(dir: &Path) {
    let path = dir.join("official_x3d_xs.pyth");
    let shapes: Vec<(String, Vec<i64>)> = read(&path)
        .iter()
        .map(|(k, t)| (k.clone(), t.size()))
        .collect();
    let mut vs = store(&shapes);
    load_strict(&mut vs, read(&path), &path).unwrap();
    let vars = vs.variables();
    for (key, t) in read(&dir.join("official_x3d_xs.safetensors")) {
        assert!(
            vars[&key].equal(&t.to_kind(Kind::Float)),
            "`{key}` was not copied"
        );
    }

    let mut wrong = shapes.clone();
    let (dropped, _) = wrong.pop().unwrap();
    wrong.push(("head.extra.weight".into(), vec![3]));
    let conv = wrong
        .iter()
        .position(|(k, _)| k == "blocks.0.conv.conv_t.weight")
        .unwrap();
    let right = wrong[conv].1.clone();
    wrong[conv].1.swap(0, 1);
    let swapped = wrong[conv].1.clone();
    let mut vs = store(&wrong);
    let e = load_strict(&mut vs, read(&path), &path).unwrap_err();
    let CheckpointError::Mismatch {
        missing,
        unexpected,
        shape,
        ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(missing, &["head.extra.weight"]);
    assert_eq!(unexpected, &[dropped]);
    assert_eq!(
        shape,
        &[("blocks.0.conv.conv_t.weight".to_string(), swapped, right)]
    );
    let msg = e.to_string();
    assert_eq!(msg.lines().count(), 7, "{msg}");
    assert!(
        msg.contains("official_x3d_xs.pyth: checkpoint does not match the model"),
        "{msg}"
    );
}

#[test]
fn checkpoints_written_by_torch_load_bit_identically() {
    let dir = tempfile::tempdir().unwrap();
    run_oracle(dir.path());
    check_pairs(dir.path());
    check_float8(dir.path());
    check_failures(dir.path());
    check_damaged(dir.path());
    check_strict_load(dir.path());
}

#[test]
fn garbage_empty_and_missing_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(matches!(
        read_err(&file("garbage.pyth", &garbage)),
        CheckpointError::NotZip { .. }
    ));
    assert!(matches!(
        read_err(&file("empty.pyth", b"")),
        CheckpointError::NotZip { .. }
    ));
    assert!(matches!(
        read_err(&file("pk.pyth", b"PK\x03\x04")),
        CheckpointError::NotZip { .. }
    ));
    assert!(matches!(
        read_err(&file("garbage.safetensors", &garbage)),
        CheckpointError::Safetensors { .. }
    ));
    assert!(matches!(
        read_err(&dir.path().join("absent.pyth")),
        CheckpointError::NotFound { .. }
    ));
}
