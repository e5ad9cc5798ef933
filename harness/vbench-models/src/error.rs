//! The crate's one error type: every message names the model, the entry, the state-dict key or
//! the file it is about.

use std::path::PathBuf;

use vbench_suite::Arch;

use crate::checkpoint::CheckpointError;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An architecture the registry knows but this crate does not build yet.
    #[error("{arch}: not implemented in vbench-models")]
    NotImplemented { arch: Arch },

    /// The input does not fit the model (wrong variant, rank, channels, or a clip too short for a
    /// fixed-size pool).
    #[error("{model}: bad input: {reason}")]
    BadInput { model: String, reason: String },

    /// No backend makes this entry's model.
    #[error("{entry}: no model backend makes `{model}`")]
    NoBackend { entry: String, model: String },

    /// A checkpoint whose classifier has another class count than the entry's protocol.
    #[error(
        "{}: `{key}` is {checkpoint:?} in the checkpoint and {model:?} in the model: the checkpoint \
         has {} classes, the entry's protocol {num_classes} (set `protocol.num_classes`)",
        .file.display(), .checkpoint.first().copied().unwrap_or(0)
    )]
    ClassCount {
        file: PathBuf,
        key: String,
        model: Vec<i64>,
        checkpoint: Vec<i64>,
        num_classes: i64,
    },

    /// A recorded op whose shapes no FLOPs formula can use.
    #[error("{path} ({op}): {reason}")]
    BadOpRecord {
        path: String,
        op: &'static str,
        reason: String,
    },

    /// Person boxes RoIAlign cannot use (not `[K, 5]`, not finite, a batch index that names no
    /// clip, a box needing an absurd sampling grid).
    #[error("bad boxes: {reason}")]
    BadBoxes { reason: String },

    /// A builder was given parameters PyTorchVideo would reject too.
    #[error("{builder}: bad configuration: {reason}")]
    BadConfig {
        builder: &'static str,
        reason: String,
    },

    /// A parameter was registered twice under the same key (tch would silently rename it).
    #[error("duplicate state-dict key {key}")]
    DuplicateKey { key: String },

    /// A libtorch call failed; `path` is the state-dict prefix of the module that made it.
    #[error("{path}: {}", torch_message(source))]
    Torch {
        path: String,
        #[source]
        source: tch::TchError,
    },

    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),

    /// A TorchScript file that cannot be loaded or run (each message names the file).
    #[error(transparent)]
    TorchScript(#[from] vbench_torch_ext::TorchExtError),

    /// A TorchScript forward that refused one view of the protocol.
    #[error(
        "{}: forward rejected the input {shapes} (the entry's `{layout}` input layout: {expected}): {}",
        .file.display(), vbench_torch_ext::gist(.message)
    )]
    ForwardRejected {
        file: PathBuf,
        layout: &'static str,
        expected: &'static str,
        shapes: String,
        message: String,
    },

    /// A model whose output is not what vbench scores.
    #[error("{}: {reason}", .file.display())]
    BadOutput { file: PathBuf, reason: String },
}

impl ModelError {
    pub(crate) fn torch(path: &str) -> impl Fn(tch::TchError) -> ModelError + '_ {
        move |source| ModelError::Torch {
            path: path.to_string(),
            source,
        }
    }
}

/// libtorch's message without the C++ backtrace it appends.
fn torch_message(e: &tch::TchError) -> String {
    let text = e.to_string();
    match text.find("\nException raised from") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
