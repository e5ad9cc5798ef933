//! Reading official PyTorchVideo checkpoints without Python, and loading them strictly.
//!
//! - `.pyth`/`.pth`/`.pt`: `torch.save` zip archives, read by a small pickle interpreter
//!   ([`pickle`]) that never executes anything. The state_dict is `checkpoint["model_state"]` in
//!   the official zoo files (next to optimizer state and cfg), or the whole file for the bare
//!   efficient-X3D ones; `state_dict`/`model`/`model_state_dict`/`module` wrappers work too.
//! - `.safetensors`: through tch.
//!
//! Tensors come back on the CPU in the dtype they were stored in; [`load_strict`] converts them
//! to each variable's dtype and device.

mod archive;
mod error;
mod pickle;
mod write;

use std::collections::HashMap;
use std::path::Path;

use tch::nn::VarStore;
use tch::Tensor;

pub use error::CheckpointError;
pub use write::write_safetensors;

/// The `(key, tensor)` pairs of the checkpoint's state_dict, in file order.
pub fn read_state_dict(path: &Path) -> Result<Vec<(String, Tensor)>, CheckpointError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CheckpointError::NotFound {
                file: path.to_owned(),
            })
        }
        Err(source) => {
            return Err(CheckpointError::Io {
                file: path.to_owned(),
                source,
            })
        }
        Ok(m) if m.is_dir() => {
            let source = std::io::Error::other("is a directory");
            return Err(CheckpointError::Io {
                file: path.to_owned(),
                source,
            });
        }
        Ok(_) => {}
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"))
    {
        return Tensor::read_safetensors(path).map_err(|e| CheckpointError::Safetensors {
            file: path.to_owned(),
            detail: e.to_string(),
        });
    }
    archive::read(path)
}

/// Copies `tensors` into `vs`: every variable must get exactly one tensor of its shape, and every
/// tensor must have a variable. All missing, unexpected and wrong-shape keys are reported in one
/// [`CheckpointError::Mismatch`], before anything is copied. `source` names the file in errors.
pub fn load_strict(
    vs: &mut VarStore,
    tensors: Vec<(String, Tensor)>,
    source: &Path,
) -> Result<(), CheckpointError> {
    let file = || source.to_owned();
    let vars = vs.variables();
    let mut given: HashMap<String, Tensor> = HashMap::with_capacity(tensors.len());
    for (key, t) in tensors {
        if given.contains_key(&key) {
            return Err(CheckpointError::DuplicateKey { file: file(), key });
        }
        given.insert(key, t);
    }
    let mut missing: Vec<String> = vars
        .keys()
        .filter(|k| !given.contains_key(*k))
        .cloned()
        .collect();
    let mut unexpected: Vec<String> = given
        .keys()
        .filter(|k| !vars.contains_key(*k))
        .cloned()
        .collect();
    let mut shape: Vec<(String, Vec<i64>, Vec<i64>)> = vars
        .iter()
        .filter_map(|(k, v)| {
            let t = given.get(k)?;
            (v.size() != t.size()).then(|| (k.clone(), v.size(), t.size()))
        })
        .collect();
    if !(missing.is_empty() && unexpected.is_empty() && shape.is_empty()) {
        missing.sort();
        unexpected.sort();
        shape.sort();
        return Err(CheckpointError::Mismatch {
            file: file(),
            missing,
            unexpected,
            shape,
        });
    }
    tch::no_grad(|| {
        for (key, mut var) in vars {
            // `copy_` converts dtype and device to the variable's.
            var.f_copy_(&given[&key])
                .map_err(|source| CheckpointError::Torch {
                    file: file(),
                    key: key.clone(),
                    source,
                })?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests;
