//! The one error type of checkpoint reading and strict loading. Every variant names the file,
//! and the state_dict key or archive member where there is one.

use std::fmt::Write as _;
use std::path::PathBuf;

/// Lists longer than this are cut in [`CheckpointError::Mismatch`]'s message (a wrong model
/// against a checkpoint can differ in every one of its ~1000 keys).
const SHOWN: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{}: checkpoint file not found", .file.display())]
    NotFound { file: PathBuf },

    #[error("{}: cannot read: {source}", .file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "{}: legacy (pre-1.6) torch.save format, not a zip archive; re-save it with \
         torch.save(..., _use_new_zipfile_serialization=True) or convert it to safetensors",
        .file.display()
    )]
    LegacyFormat { file: PathBuf },

    /// Not a zip archive at all, or one whose directory is truncated or corrupt.
    #[error("{}: not a torch.save zip archive (truncated or corrupt?): {detail}", .file.display())]
    NotZip { file: PathBuf, detail: String },

    /// A member that cannot be read back whole (truncated data, bad CRC, unsupported compression).
    #[error("{}: archive member {member}: {detail}", .file.display())]
    ZipMember {
        file: PathBuf,
        member: String,
        detail: String,
    },

    #[error("{}: no data.pkl in the archive; members: {}", .file.display(), list(.members))]
    MissingDataPkl { file: PathBuf, members: Vec<String> },

    #[error("{}: {member}: unsupported pickle opcode 0x{opcode:02x} at byte {offset}", .file.display())]
    UnsupportedOpcode {
        file: PathBuf,
        member: String,
        opcode: u8,
        offset: usize,
    },

    #[error("{}: {member}: malformed pickle at byte {offset}: {detail}", .file.display())]
    MalformedPickle {
        file: PathBuf,
        member: String,
        offset: usize,
        detail: String,
    },

    #[error("{}: {member} says {found:?}, expected \"little\" or \"big\"", .file.display())]
    BadByteorder {
        file: PathBuf,
        member: String,
        found: String,
    },

    #[error(
        "{}: no state_dict found (looked for model_state, state_dict, model, model_state_dict, \
         module, or a dict of tensors); top level: {}",
        .file.display(), list(.top_level)
    )]
    NoStateDict {
        file: PathBuf,
        top_level: Vec<String>,
    },

    #[error("{}: state_dict key {found} is not a string", .file.display())]
    NonStringKey { file: PathBuf, found: String },

    #[error("{}: state_dict entry `{key}` is {found}, not a tensor", .file.display())]
    NotATensor {
        file: PathBuf,
        key: String,
        found: String,
    },

    #[error("{}: state_dict entry `{key}` has dtype {dtype}, which tch cannot hold", .file.display())]
    UnsupportedDtype {
        file: PathBuf,
        key: String,
        dtype: String,
    },

    #[error("{}: state_dict entry `{key}` needs storage member {member}, absent from the archive", .file.display())]
    MissingStorage {
        file: PathBuf,
        key: String,
        member: String,
    },

    #[error(
        "{}: state_dict entry `{key}` needs {needed} bytes of {member}, which holds {available}",
        .file.display()
    )]
    StorageTooSmall {
        file: PathBuf,
        key: String,
        member: String,
        needed: u128,
        available: u64,
    },

    #[error("{}: `{key}`: libtorch refused the tensor: {source}", .file.display())]
    Torch {
        file: PathBuf,
        key: String,
        source: tch::TchError,
    },

    #[error("{}: not a readable safetensors file: {detail}", .file.display())]
    Safetensors { file: PathBuf, detail: String },

    #[error("{}: key `{key}` is given more than once", .file.display())]
    DuplicateKey { file: PathBuf, key: String },

    /// Strict loading: everything that does not line up, all at once.
    #[error("{}", mismatch(.file, .missing, .unexpected, .shape))]
    Mismatch {
        file: PathBuf,
        /// Model variables the checkpoint lacks.
        missing: Vec<String>,
        /// Checkpoint keys the model lacks.
        unexpected: Vec<String>,
        /// `(key, model shape, checkpoint shape)`.
        shape: Vec<(String, Vec<i64>, Vec<i64>)>,
    },
}

/// Up to [`SHOWN`] items, comma-separated, with a count of the rest.
fn list(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.is_empty() {
        s.push_str("(none)");
    } else if items.len() > SHOWN {
        let _ = write!(s, ", ... and {} more", items.len() - SHOWN);
    }
    s
}

fn mismatch(
    file: &std::path::Path,
    missing: &[String],
    unexpected: &[String],
    shape: &[(String, Vec<i64>, Vec<i64>)],
) -> String {
    let mut s = format!(
        "{}: checkpoint does not match the model: {} missing, {} unexpected, {} with the wrong shape",
        file.display(),
        missing.len(),
        unexpected.len(),
        shape.len()
    );
    let mut section = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        let _ = write!(s, "\n  {title}:");
        for l in lines.iter().take(SHOWN) {
            let _ = write!(s, "\n    {l}");
        }
        if lines.len() > SHOWN {
            let _ = write!(s, "\n    ... and {} more", lines.len() - SHOWN);
        }
    };
    section(
        "missing (in the model, not in the checkpoint)",
        missing.to_vec(),
    );
    section(
        "unexpected (in the checkpoint, not in the model)",
        unexpected.to_vec(),
    );
    section(
        "wrong shape",
        shape
            .iter()
            .map(|(k, m, c)| format!("{k}: model {m:?}, checkpoint {c:?}"))
            .collect(),
    );
    s
}
