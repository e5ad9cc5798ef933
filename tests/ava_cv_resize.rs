//! PySlowFast's AVA test loader scales each uint8 BGR frame's short side to 256 with
//! `cv2.resize(..., INTER_LINEAR)` (slowfast/datasets/cv2_transform.py `scale`). vbench's
//! `cv_resize` must give the same pixels: this holds it bit-identical to the venv's OpenCV on real
//! frames (the shared videos, also brought to 640x360 ... 1920x1080 and portrait sizes), seeded
//! noise and gradients/edges, for the `scale` geometry (identity, up, down, odd, exact half) and
//! for explicit sizes in 1 to 4 channels. The oracle is `tests/oracles/cv_resize.py`.

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use vbench_data::cv_resize::{resize_linear_u8, scale_size};
use vbench_testkit::{repo_root, shared_dir, venv_python};

fn read(dir: &Path, name: &str) -> Vec<u8> {
    let path = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn cv2_resize_inter_linear_is_bit_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let status = Command::new(venv_python())
        .arg(repo_root().join("tests/oracles/cv_resize.py"))
        .arg(shared_dir().join("data/videos"))
        .arg(tmp.path())
        .status()
        .expect("the venv's python (ci/setup.sh installs it)");
    assert!(status.success(), "tests/oracles/cv_resize.py failed");
    let manifest: Value = serde_json::from_slice(&read(tmp.path(), "manifest.json")).unwrap();
    println!(
        "OpenCV {} ({})",
        manifest["opencv"].as_str().unwrap_or("?"),
        manifest["cpu"].as_str().unwrap_or("?")
    );
    let cases = manifest["cases"].as_array().expect("manifest cases");
    assert!(cases.len() > 100, "only {} cases", cases.len());

    let mut failures = Vec::new();
    let (mut total, mut exact_total) = (0usize, 0usize);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let dim = |key: &str| case[key].as_u64().unwrap() as usize;
        let (h, w, c, new_h, new_w) = (dim("h"), dim("w"), dim("c"), dim("new_h"), dim("new_w"));
        if let Some(size) = case["scale"].as_u64() {
            assert_eq!(
                scale_size(h, w, size as usize),
                (new_h, new_w),
                "{name}: scale_size({h}, {w}, {size})"
            );
        }
        let src = read(tmp.path(), &format!("{name}.in"));
        let want = read(tmp.path(), &format!("{name}.out"));
        let got =
            resize_linear_u8(&src, h, w, c, new_h, new_w).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.len(), want.len(), "{name}: output length");
        let max_delta = got
            .iter()
            .zip(&want)
            .map(|(&a, &b)| a.abs_diff(b))
            .max()
            .unwrap_or(0);
        let exact = got.iter().zip(&want).filter(|(a, b)| a == b).count();
        total += want.len();
        exact_total += exact;
        println!(
            "{name:<34} {h:>4}x{w:<4}x{c} -> {new_h:>4}x{new_w:<4} max|d| {max_delta} exact {:.6}",
            exact as f64 / want.len() as f64
        );
        if max_delta != 0 {
            failures.push(format!("{name} (max |d| {max_delta})"));
        }
    }
    println!("{} cases, {exact_total}/{total} values exact", cases.len());
    assert!(failures.is_empty(), "differs from cv2.resize: {failures:?}");
}
