use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: bad gate policy: {message}")]
    Policy { path: PathBuf, message: String },
    #[error("plot `{plot}`: {message}")]
    Plot { plot: String, message: String },
    #[error("template `{template}`: {message}")]
    Template { template: String, message: String },
    #[error(transparent)]
    Results(#[from] vbench_results::ResultsError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, ReportError>;
