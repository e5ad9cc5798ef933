//! Helpers shared by the integration tests in `tests/`: where the repository, the shared data and
//! the oracle venv are.

pub mod chromium;
pub mod fuzz;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::Tensor;
use vbench_models::ModelInput;

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

/// One oracle case file (safetensors): inputs and expected outputs by name. Test support, so a
/// missing file or key panics with the file and key named.
pub struct OracleIo {
    path: PathBuf,
    tensors: HashMap<String, Tensor>,
}

impl OracleIo {
    pub fn read(path: &Path) -> OracleIo {
        let tensors = Tensor::read_safetensors(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .into_iter()
            .collect();
        OracleIo {
            path: path.to_path_buf(),
            tensors,
        }
    }

    pub fn get(&self, key: &str) -> Tensor {
        self.tensors
            .get(key)
            .unwrap_or_else(|| panic!("{}: no `{key}`", self.path.display()))
            .shallow_clone()
    }

    /// The model input the oracle fed: `slow` + `fast`, or `input`.
    pub fn model_input(&self, slowfast: bool) -> ModelInput {
        if slowfast {
            ModelInput::SlowFast {
                slow: self.get("slow"),
                fast: self.get("fast"),
            }
        } else {
            ModelInput::Single(self.get("input"))
        }
    }
}
