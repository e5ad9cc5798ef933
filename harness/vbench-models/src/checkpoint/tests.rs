//! Hand-made archives: views, byte order, every error, corrupted files; strict loading.

use std::io::Write;
use std::path::{Path, PathBuf};

use tch::{nn, Device, Kind, Tensor};

use super::pickle::tests::P;
use super::*;

fn f32_bytes(v: &[f32], big: bool) -> Vec<u8> {
    v.iter()
        .flat_map(|x| {
            if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        })
        .collect()
}

fn write_zip(path: &Path, members: &[(&str, Vec<u8>)], deflate: bool) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in members {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

/// A `torch.save`-shaped archive `arc/...` holding `pkl` and the given storages.
fn archive(
    dir: &Path,
    name: &str,
    pkl: Vec<u8>,
    storages: &[(&str, Vec<u8>)],
    order: &str,
) -> PathBuf {
    let path = dir.join(name);
    let mut members = vec![
        ("arc/data.pkl", pkl),
        ("arc/byteorder", order.as_bytes().to_vec()),
    ];
    let names: Vec<String> = storages
        .iter()
        .map(|(k, _)| format!("arc/data/{k}"))
        .collect();
    members.extend(
        names
            .iter()
            .zip(storages)
            .map(|(n, (_, b))| (n.as_str(), b.clone())),
    );
    members.push(("arc/version", b"3\n".to_vec()));
    write_zip(&path, &members, false);
    path
}

/// `{"model_state": {w, t, tail, bcast, n}, "optimizer_state": {"lr": 0.1}, "epoch": 3}` over
/// one shared float storage (0..6) and one long storage.
fn views_pickle() -> Vec<u8> {
    P::new(2)
        .op(b'}')
        .op(b'(')
        .s("model_state")
        .op(b'}')
        .op(b'(')
        .s("w")
        .tensor("FloatStorage", "0", 6, 0, &[2, 3], &[3, 1])
        .s("t")
        .tensor("FloatStorage", "0", 6, 0, &[3, 2], &[1, 3])
        .s("tail")
        .tensor("FloatStorage", "0", 6, 4, &[2], &[1])
        .s("bcast")
        .tensor("FloatStorage", "0", 6, 1, &[2, 3], &[0, 1])
        .s("n")
        .tensor("LongStorage", "1", 1, 0, &[], &[])
        .op(b'u')
        .s("optimizer_state")
        .op(b'}')
        .s("lr")
        .op(b'G')
        .raw(&0.1f64.to_be_bytes())
        .op(b's')
        .s("epoch")
        .k(3)
        .op(b'u')
        .stop()
}

fn values(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).reshape([-1])).unwrap()
}

fn check_views(sd: &[(String, Tensor)]) {
    let keys: Vec<&str> = sd.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["w", "t", "tail", "bcast", "n"]);
    assert_eq!(values(&sd[0].1), [0., 1., 2., 3., 4., 5.]);
    assert_eq!(sd[1].1.size(), [3, 2]);
    assert_eq!(values(&sd[1].1), [0., 3., 1., 4., 2., 5.]);
    assert_eq!(values(&sd[2].1), [4., 5.]);
    assert_eq!(values(&sd[3].1), [1., 2., 3., 1., 2., 3.]);
    assert_eq!(
        (sd[4].1.kind(), sd[4].1.size(), sd[4].1.int64_value(&[])),
        (Kind::Int64, vec![], 1234)
    );
    assert!(sd
        .iter()
        .all(|(_, t)| t.device() == Device::Cpu && t.is_contiguous()));
}

#[test]
fn reads_strided_views_of_shared_storages_in_both_byte_orders() {
    let dir = tempfile::tempdir().unwrap();
    let data = [0f32, 1., 2., 3., 4., 5.];
    for (order, big) in [("little", false), ("big", true)] {
        let long = if big {
            1234i64.to_be_bytes()
        } else {
            1234i64.to_le_bytes()
        };
        let storages = [("0", f32_bytes(&data, big)), ("1", long.to_vec())];
        let path = archive(
            dir.path(),
            &format!("{order}.pyth"),
            views_pickle(),
            &storages,
            order,
        );
        check_views(&read_state_dict(&path).unwrap());
    }
    // Deflated members and no `byteorder` member (archives before torch 1.10) also work.
    let path = dir.path().join("deflated.pth");
    let members = [
        ("old/data.pkl", views_pickle()),
        ("old/data/0", f32_bytes(&data, false)),
        ("old/data/1", 1234i64.to_le_bytes().to_vec()),
    ];
    write_zip(&path, &members, true);
    check_views(&read_state_dict(&path).unwrap());
}

fn err(path: &Path) -> CheckpointError {
    let e = read_state_dict(path).expect_err("should fail");
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name the file: {msg}"
    );
    e
}

fn bare(key: &str, ty: &str, numel: u8, size: &[u8]) -> Vec<u8> {
    let stride: Vec<u8> = vec![1; size.len()];
    P::new(2)
        .op(b'}')
        .s(key)
        .tensor(ty, "0", numel, 0, size, &stride)
        .op(b's')
        .stop()
}

#[test]
fn every_error_names_the_file_and_the_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let six = f32_bytes(&[0.; 6], false);
    let e = err(&archive(
        d,
        "nostorage.pt",
        bare("w", "FloatStorage", 6, &[6]),
        &[],
        "little",
    ));
    assert!(
        matches!(&e, CheckpointError::MissingStorage { key, member, .. } if key == "w" && member == "arc/data/0")
    );
    let short = archive(
        d,
        "short.pt",
        bare("w", "FloatStorage", 6, &[6]),
        &[("0", six[..20].to_vec())],
        "little",
    );
    assert!(matches!(
        err(&short),
        CheckpointError::StorageTooSmall {
            needed: 24,
            available: 20,
            ..
        }
    ));
    let view = archive(
        d,
        "view.pt",
        bare("w", "FloatStorage", 6, &[7]),
        &[("0", six.clone())],
        "little",
    );
    assert!(matches!(
        err(&view),
        CheckpointError::StorageTooSmall {
            needed: 28,
            available: 24,
            ..
        }
    ));
    let q = archive(
        d,
        "q.pt",
        bare("q", "QInt8Storage", 6, &[6]),
        &[("0", six.clone())],
        "little",
    );
    assert!(
        matches!(err(&q), CheckpointError::UnsupportedDtype { key, dtype, .. } if key == "q" && dtype == "torch.QInt8Storage")
    );
    let order = archive(
        d,
        "order.pt",
        bare("w", "FloatStorage", 6, &[6]),
        &[("0", six.clone())],
        "middle",
    );
    assert!(
        matches!(err(&order), CheckpointError::BadByteorder { found, .. } if found == "middle")
    );

    let mixed = P::new(2)
        .op(b'}')
        .op(b'(')
        .s("w")
        .tensor("FloatStorage", "0", 6, 0, &[6], &[1])
        .s("step")
        .k(3);
    let e = err(&archive(
        d,
        "mixed.pt",
        mixed.op(b'u').stop(),
        &[("0", six.clone())],
        "little",
    ));
    assert!(
        matches!(&e, CheckpointError::NotATensor { key, found, .. } if key == "step" && found == "int 3"),
        "{e}"
    );
    let intkey = P::new(2)
        .op(b'}')
        .op(b'(')
        .s("w")
        .tensor("FloatStorage", "0", 6, 0, &[6], &[1])
        .k(9)
        .k(3);
    let e = err(&archive(
        d,
        "intkey.pt",
        intkey.op(b'u').stop(),
        &[("0", six.clone())],
        "little",
    ));
    assert!(matches!(&e, CheckpointError::NonStringKey { found, .. } if found == "int 9"));
    let none = P::new(2)
        .op(b'}')
        .op(b'(')
        .s("epoch")
        .k(3)
        .s("cfg")
        .s("x")
        .op(b'u')
        .stop();
    let e = err(&archive(d, "none.pt", none, &[], "little"));
    assert!(
        matches!(&e, CheckpointError::NoStateDict { top_level, .. } if top_level == &["epoch", "cfg"])
    );
    assert!(e.to_string().ends_with("top level: epoch, cfg"), "{e}");
    let list = err(&archive(
        d,
        "list.pt",
        P::new(2).op(b']').stop(),
        &[],
        "little",
    ));
    assert!(
        matches!(&list, CheckpointError::NoStateDict { top_level, .. } if top_level == &["list of 0"])
    );

    let e = err(&archive(
        d,
        "ext.pt",
        P::new(2).op(b'}').op(0x82).op(1).stop(),
        &[],
        "little",
    ));
    assert!(
        matches!(&e, CheckpointError::UnsupportedOpcode { opcode: 0x82, offset: 3, member, .. } if member == "arc/data.pkl")
    );
    let e = err(&archive(d, "trunc.pt", P::new(2).op(b'}').0, &[], "little"));
    assert!(
        matches!(&e, CheckpointError::MalformedPickle { offset: 3, .. }),
        "{e}"
    );

    let unrelated = d.join("unrelated.pth");
    write_zip(
        &unrelated,
        &[("readme.txt", b"hi".to_vec()), ("a/b/data.pkl", vec![])],
        false,
    );
    let e = err(&unrelated);
    assert!(
        matches!(&e, CheckpointError::MissingDataPkl { members, .. } if members == &["a/b/data.pkl", "readme.txt"])
    );

    let files: [(&str, &[u8]); 3] = [
        ("empty.pyth", b""),
        ("garbage.pyth", b"\x00\x01garbage"),
        ("legacy.pt", &[0x80, 2, 0x8a, 10, 0x6c]),
    ];
    for (name, bytes) in files {
        std::fs::write(d.join(name), bytes).unwrap();
    }
    assert!(
        matches!(err(&d.join("empty.pyth")), CheckpointError::NotZip { detail, .. } if detail.contains("empty"))
    );
    assert!(matches!(
        err(&d.join("garbage.pyth")),
        CheckpointError::NotZip { .. }
    ));
    assert!(matches!(
        err(&d.join("legacy.pt")),
        CheckpointError::LegacyFormat { .. }
    ));
    assert!(matches!(
        err(&d.join("absent.pyth")),
        CheckpointError::NotFound { .. }
    ));
    assert!(matches!(err(d), CheckpointError::Io { .. }));
    std::fs::write(d.join("bad.safetensors"), b"\x10\0\0\0\0\0\0\0{}").unwrap();
    assert!(matches!(
        err(&d.join("bad.safetensors")),
        CheckpointError::Safetensors { .. }
    ));
}

#[test]
fn truncated_and_corrupted_archives_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let storages = [
        ("0", f32_bytes(&[0., 1., 2., 3., 4., 5.], false)),
        ("1", 1234i64.to_le_bytes().to_vec()),
    ];
    let good = std::fs::read(archive(
        dir.path(),
        "good.pyth",
        views_pickle(),
        &storages,
        "little",
    ))
    .unwrap();
    let path = dir.path().join("bad.pyth");
    for n in 0..good.len() {
        std::fs::write(&path, &good[..n]).unwrap();
        assert!(read_state_dict(&path).is_err(), "a {n}-byte prefix loaded");
    }
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 0x5a;
        std::fs::write(&path, &b).unwrap();
        let _ = read_state_dict(&path);
    }
}

#[test]
fn safetensors_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let a = Tensor::arange(6, (Kind::Float, Device::Cpu)).reshape([2, 3]);
    let b = Tensor::from_slice(&[true, false]);
    Tensor::write_safetensors(&[("a", &a), ("b", &b)], &path).unwrap();
    let mut sd = read_state_dict(&path).unwrap();
    sd.sort_by(|x, y| x.0.cmp(&y.0));
    assert!(sd[0].1.equal(&a) && sd[1].1.equal(&b) && sd[1].1.kind() == Kind::Bool);
}

/// A VarStore with `a.weight` [2, 3], `a.bias` [2], `b.weight` [4] (float32).
fn store() -> nn::VarStore {
    let vs = nn::VarStore::new(Device::Cpu);
    let a = vs.root() / "a";
    let _ = a.zeros("weight", &[2, 3]);
    let _ = a.zeros("bias", &[2]);
    let _ = (vs.root() / "b").zeros("weight", &[4]);
    vs
}

#[test]
fn strict_load_copies_and_converts_dtype() {
    let mut vs = store();
    let tensors = vec![
        (
            "a.weight".to_string(),
            Tensor::arange(6, (Kind::Double, Device::Cpu)).reshape([2, 3]),
        ),
        ("a.bias".to_string(), Tensor::from_slice(&[7i64, 8])),
        (
            "b.weight".to_string(),
            Tensor::ones([4], (Kind::Half, Device::Cpu)),
        ),
    ];
    load_strict(&mut vs, tensors, Path::new("x.pyth")).unwrap();
    let vars = vs.variables();
    assert_eq!(vars["a.weight"].kind(), Kind::Float);
    assert_eq!(values(&vars["a.weight"]), [0., 1., 2., 3., 4., 5.]);
    assert_eq!(values(&vars["a.bias"]), [7., 8.]);
    assert!(vars["a.weight"].requires_grad());
}

#[test]
fn strict_load_lists_every_mismatch_in_one_error() {
    let mut vs = store();
    let tensors = vec![
        (
            "a.weight".to_string(),
            Tensor::zeros([3, 2], (Kind::Float, Device::Cpu)),
        ),
        (
            "a.bias".to_string(),
            Tensor::zeros([2], (Kind::Float, Device::Cpu)),
        ),
        (
            "head.proj.weight".to_string(),
            Tensor::zeros([1], (Kind::Float, Device::Cpu)),
        ),
        ("a.num_batches_tracked".to_string(), Tensor::from(3i64)),
    ];
    let e = load_strict(&mut vs, tensors, Path::new("ckpt/x3d_s.pyth")).unwrap_err();
    let CheckpointError::Mismatch {
        missing,
        unexpected,
        shape,
        ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(missing, &["b.weight"]);
    assert_eq!(unexpected, &["a.num_batches_tracked", "head.proj.weight"]);
    assert_eq!(shape, &[("a.weight".to_string(), vec![2, 3], vec![3, 2])]);
    let msg = e.to_string();
    assert!(msg.starts_with(
        "ckpt/x3d_s.pyth: checkpoint does not match the model: 1 missing, 2 unexpected, 1 with"
    ));
    assert!(
        msg.contains("\n    a.weight: model [2, 3], checkpoint [3, 2]"),
        "{msg}"
    );
    // Nothing was copied.
    assert_eq!(values(&vs.variables()["a.bias"]), [0., 0.]);

    let dup = (0..2)
        .map(|_| {
            (
                "b.weight".to_string(),
                Tensor::zeros([4], (Kind::Float, Device::Cpu)),
            )
        })
        .collect();
    assert!(matches!(
        load_strict(&mut vs, dup, Path::new("d.pt")),
        Err(CheckpointError::DuplicateKey { .. })
    ));
}

#[test]
fn long_mismatch_lists_are_cut() {
    let mut vs = nn::VarStore::new(Device::Cpu);
    let tensors: Vec<(String, Tensor)> = (0..1000)
        .map(|i| {
            (
                format!("k{i:04}"),
                Tensor::zeros([1], (Kind::Float, Device::Cpu)),
            )
        })
        .collect();
    let msg = load_strict(&mut vs, tensors, Path::new("big.pyth"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("1000 unexpected") && msg.contains("    k0019\n    ... and 980 more"),
        "{msg}"
    );
    assert!(msg.lines().count() < 30);
}

#[test]
fn errors_can_cross_threads() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<CheckpointError>();
}
