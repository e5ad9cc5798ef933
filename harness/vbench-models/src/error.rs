//! The crate's one error type: every message names the architecture, the state-dict key or the
//! file it is about.

use vbench_suite::Arch;

use crate::checkpoint::CheckpointError;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An architecture the registry knows but this crate does not build yet.
    #[error("{arch}: not implemented in vbench-models")]
    NotImplemented { arch: Arch },

    /// The input does not fit the model (wrong variant, rank, channels, or a clip too short for a
    /// fixed-size pool).
    #[error("{arch}: bad input: {reason}")]
    BadInput { arch: Arch, reason: String },

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
