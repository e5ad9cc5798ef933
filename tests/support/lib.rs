//! Helpers shared by the integration tests in `tests/`: where the repository, the shared data and
//! the oracle venv are.

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the checkout: the seed, the real videos, the oracle facts.
pub fn shared_dir() -> PathBuf {
    repo_root().join("../shared")
}

/// The project venv's Python (torch 2.13, pytorchvideo 0.1.5, fvcore): the parity oracle.
pub fn venv_python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}
