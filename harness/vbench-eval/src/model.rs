//! An entry's model through the model seam ([`vbench_models::load_model`]), as the measurements
//! need it: with random init (params, FLOPs and latency do not depend on the values; a TorchScript
//! file carries its own weights), or with its weights loaded (accuracy, `vbench infer`,
//! `vbench forward`: a checkpoint strictly, a TorchScript file as it is).

use std::path::Path;
use tch::Device;
use vbench_models::checkpoint::CheckpointError;
use vbench_models::{LoadOptions, ModelError, VideoModel, Weights};
use vbench_suite::{Entry, Plan, SuiteError};

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

/// `e`'s model with random init (zoo) or as its file holds it (TorchScript), on `device`. The
/// error says why there is none (it becomes a `not_implemented` or failed measure).
pub fn build_model(e: &Entry, device: Device) -> Result<Box<dyn VideoModel>, String> {
    load_model(e, None, device).map_err(|err| match err {
        LoadError::Model { source, .. } => source.to_string(),
        other => other.to_string(),
    })
}

/// `entry`'s model with `weights` (a checkpoint, loaded strictly; an int8 entry's published file);
/// `None`: random init, or the TorchScript file itself.
pub fn load_model(
    entry: &Entry,
    weights: Option<&Path>,
    device: Device,
) -> Result<Box<dyn VideoModel>, LoadError> {
    let opts = LoadOptions {
        device,
        weights: weights.map_or(Weights::Random, Weights::File),
    };
    vbench_models::load_model(entry, &opts).map_err(|err| match err {
        ModelError::Checkpoint(source @ CheckpointError::Mismatch { .. }) => {
            LoadError::CheckpointMismatch {
                entry: entry.id.clone(),
                arch: entry.model.label(),
                source: Box::new(source),
            }
        }
        ModelError::Checkpoint(source) => LoadError::Checkpoint {
            entry: entry.id.clone(),
            source: Box::new(source),
        },
        source => LoadError::Model {
            entry: entry.id.clone(),
            source: Box::new(source),
        },
    })
}

#[derive(Debug, thiserror::Error)]
pub enum OwnPlanError {
    #[error(transparent)]
    Suite(#[from] SuiteError),
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// `--model F --protocol E`: the one-entry plan of `file` under the zoo entry `protocol`'s whole
/// protocol, with the class count the file's forward returns (a fine-tuned model may have
/// another than the zoo entry's). A file that cannot run one view of that protocol is refused
/// here, naming it.
pub fn own_model_plan(file: &Path, protocol: &str, device: Device) -> Result<Plan, OwnPlanError> {
    let mut plan = vbench_suite::own_model_plan(file, protocol, None)?;
    let entry = &mut plan.entries[0];
    let classes = vbench_models::torchscript::output_classes(entry, device).map_err(|source| {
        LoadError::Model {
            entry: entry.id.clone(),
            source: Box::new(source),
        }
    })?;
    entry.protocol.num_classes = classes as u32;
    Ok(plan)
}
