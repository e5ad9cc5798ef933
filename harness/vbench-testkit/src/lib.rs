//! Support shared by the workspace's tests (one crate, no `#[path]` imports): where the repository,
//! the shared data, the oracle venv and the `vbench` binary are, plus fixtures.
//!
//! - [`fidelity`]: a variant's fidelity against Python's recomputation from the stored views;
//! - [`fixtures`]: a fixed synthetic `Results` and paired prediction runs (report, gate, CLI tests);
//! - `shards` (feature `torch`): a small Kinetics-style tree of the real videos, random weights, run comparisons;
//! - `oracle` (feature `torch`): the oracle's safetensors case files as model inputs.

pub mod chromium;
pub mod fidelity;
pub mod fixtures;
pub mod fuzz;
#[cfg(feature = "torch")]
pub mod oracle;
#[cfg(feature = "torch")]
pub use oracle::OracleIo;
#[cfg(feature = "torch")]
pub mod shards;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared` beside the checkout: the seed, the real videos, the oracle facts.
pub fn shared_dir() -> PathBuf {
    repo_root().join("../shared")
}

/// `../shared/data/videos` beside the checkout.
pub fn shared_videos() -> PathBuf {
    let p = shared_dir().join("data/videos");
    assert!(
        p.is_dir(),
        "{}: the shared test videos are missing",
        p.display()
    );
    p
}

/// The project venv's Python (torch 2.13, pytorchvideo 0.1.5, fvcore): the parity oracle.
pub fn venv_python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}

/// The `vbench` binary Cargo built for this test: `CARGO_BIN_EXE_vbench`, which Cargo sets for
/// the integration tests of `vbench-cli` (the package that owns the binary).
pub fn vbench_bin() -> PathBuf {
    std::env::var_os("CARGO_BIN_EXE_vbench")
        .map(PathBuf::from)
        .expect("CARGO_BIN_EXE_vbench is unset: tests that run the binary live in vbench-cli/tests")
}

/// Runs `vbench ARGS` to completion.
pub fn vbench(args: &[&str]) -> Output {
    Command::new(vbench_bin())
        .args(args)
        .output()
        .expect("the vbench binary runs")
}

/// Exit code, stdout and stderr of a finished command, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A path as the `&str` a command line takes.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// A temp folder, kept (and its path printed) when `VBENCH_TEST_KEEP` is set, for looking at.
pub fn tempdir() -> tempfile::TempDir {
    let mut b = tempfile::Builder::new();
    b.prefix("vbench-test-");
    if std::env::var_os("VBENCH_TEST_KEEP").is_some() {
        b.disable_cleanup(true);
    }
    let d = b.tempdir().unwrap();
    eprintln!("temp folder: {}", d.path().display());
    d
}
