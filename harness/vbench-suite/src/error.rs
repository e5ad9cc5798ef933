use std::path::PathBuf;

/// Everything that can be wrong with a suite file or a reference table. Each variant names the file,
/// and where it can, the entry, the key or the line.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: entry `{entry}`: key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        entry: String,
        key: String,
        message: String,
    },
    #[error("{path}: line {line}: {message}")]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("unknown suite `{name}`; known suites: {known}")]
    UnknownSuite { name: String, known: String },
    #[error("unknown entry `{id}`; entries look like `<suite>/<name>`, e.g. `k400/x3d_xs` (see `vbench list`)")]
    UnknownEntry { id: String },
}

pub type Result<T> = std::result::Result<T, SuiteError>;
