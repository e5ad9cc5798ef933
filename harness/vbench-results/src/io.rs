//! Atomic writes (temp file in the same directory + rename) and results.json reading.

use crate::schema::{Results, SCHEMA_VERSION};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a results file (or any atomically written file) could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a vbench results file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: schema version {found}, this vbench reads {expected}")]
    SchemaVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{0}")]
    Serialize(String),
}

pub type Result<T, E = ResultsError> = std::result::Result<T, E>;

/// Writes `bytes` to `path` so that a reader sees either the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| ResultsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    };
    // A failure (a full disk) leaves `path` as it was and no partial temporary file.
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

pub fn save_results(path: &Path, results: &Results) -> Result<()> {
    let json =
        serde_json::to_vec_pretty(results).map_err(|e| ResultsError::Serialize(e.to_string()))?;
    write_atomic(path, &json)
}

/// `bytes` as text, or which line is not valid UTF-8 (so a refusal can name it).
pub fn utf8_text(bytes: Vec<u8>) -> std::result::Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = 1 + bytes[..valid].iter().filter(|&&b| b == b'\n').count();
        let column = valid
            - bytes[..valid]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
        format!("line {line} column {}: not valid UTF-8", column + 1)
    })
}

pub fn load_results(path: &Path) -> Result<Results> {
    let bytes = std::fs::read(path).map_err(|source| ResultsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = utf8_text(bytes).map_err(|message| ResultsError::Parse {
        path: path.to_path_buf(),
        message,
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| ResultsError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let found = v
        .get("schema_version")
        .and_then(|x| x.as_u64())
        .unwrap_or(0) as u32;
    if found != SCHEMA_VERSION {
        return Err(ResultsError::SchemaVersion {
            path: path.to_path_buf(),
            found,
            expected: SCHEMA_VERSION,
        });
    }
    // Deserialize from the text again (not the Value) so errors keep their line, and name the key.
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| ResultsError::Parse {
        path: path.to_path_buf(),
        message: format!("at `{}`: {}", e.path(), e.inner()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn malformed_results_name_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json");
        std::fs::write(&p, r#"{"schema_version": 1, "suite": {"name": 3}}"#).unwrap();
        let e = load_results(&p).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("suite.name"), "{e}");
        std::fs::write(&p, "{not json").unwrap();
        assert!(load_results(&p)
            .unwrap_err()
            .to_string()
            .contains("bad.json"));
        std::fs::write(&p, r#"{"schema_version": 99}"#).unwrap();
        assert!(load_results(&p)
            .unwrap_err()
            .to_string()
            .contains("schema version 99"));
    }

    #[test]
    fn unwritable_dir_names_the_path() {
        let err = write_atomic(Path::new("/proc/vbench-no/r.json"), b"x").unwrap_err();
        assert!(err.to_string().contains("/proc/vbench-no/r.json"));
    }
}
