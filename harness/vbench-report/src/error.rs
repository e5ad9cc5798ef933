use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
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
    #[error("{path}: bad gate policy: {message}")]
    Policy { path: PathBuf, message: String },
    #[error("plot `{plot}`: {message}")]
    Plot { plot: String, message: String },
    #[error("template `{template}`: {message}")]
    Template { template: String, message: String },
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, ReportError>;
