//! An entry's model, as the measurements need it: built with PyTorchVideo-style random init (params,
//! FLOPs and latency do not depend on the values), or with a checkpoint loaded strictly (accuracy,
//! `vbench infer`, `vbench forward`).

use std::path::Path;
use tch::{nn::VarStore, Device};
use vbench_models::checkpoint::{load_strict, read_state_dict, CheckpointError};
use vbench_models::{ModelError, VideoModel};
use vbench_suite::Entry;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{entry}: {source}")]
    Model {
        entry: String,
        #[source]
        source: Box<ModelError>,
    },
    /// A strict load that fails on keys or shapes: most likely another entry's checkpoint.
    #[error("{entry}: the checkpoint does not fit {arch} (is it another entry's?): {source}")]
    CheckpointMismatch {
        entry: String,
        arch: String,
        #[source]
        source: Box<CheckpointError>,
    },
    #[error("{entry}: {source}")]
    Checkpoint {
        entry: String,
        #[source]
        source: Box<CheckpointError>,
    },
}

fn build(e: &Entry, vs: &VarStore) -> Result<Box<dyn VideoModel>, ModelError> {
    vbench_models::build(
        e.arch,
        e.protocol.num_classes as i64,
        e.protocol.head_activation,
        &vs.root(),
    )
}

/// A freshly built model with PyTorchVideo-style random init, on `device`. The error is the reason
/// an architecture is not built (it becomes a `not_implemented` measure).
pub fn build_model(e: &Entry, device: Device) -> Result<(VarStore, Box<dyn VideoModel>), String> {
    let vs = VarStore::new(device);
    let model = build(e, &vs).map_err(|err| err.to_string())?;
    Ok((vs, model))
}

/// Builds `entry`'s model and loads `weights` strictly.
pub fn load_model(
    entry: &Entry,
    weights: &Path,
    device: Device,
) -> Result<(VarStore, Box<dyn VideoModel>), LoadError> {
    let mut vs = VarStore::new(device);
    let model = build(entry, &vs).map_err(|source| LoadError::Model {
        entry: entry.id.clone(),
        source: Box::new(source),
    })?;
    let checkpoint = |source: CheckpointError| match source {
        CheckpointError::Mismatch { .. } => LoadError::CheckpointMismatch {
            entry: entry.id.clone(),
            arch: entry.arch.to_string(),
            source: Box::new(source),
        },
        _ => LoadError::Checkpoint {
            entry: entry.id.clone(),
            source: Box::new(source),
        },
    };
    let tensors = read_state_dict(weights).map_err(checkpoint)?;
    load_strict(&mut vs, tensors, weights).map_err(checkpoint)?;
    Ok((vs, model))
}
