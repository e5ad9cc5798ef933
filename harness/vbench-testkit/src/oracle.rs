//! The oracle's safetensors case files: inputs and expected outputs by name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::Tensor;
use vbench_models::ModelInput;

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
