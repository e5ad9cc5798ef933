//! The crate's one error type. Every variant names the file (and the line, for text formats) so a
//! bad entry in a 20 000-video manifest can be found.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot open as a video container: {message}")]
    Open { path: PathBuf, message: String },
    #[error("{path}: the file is empty")]
    EmptyFile { path: PathBuf },
    #[error("{path}: no video stream")]
    NoVideoStream { path: PathBuf },
    #[error("{path}: decoding failed: {message}")]
    Decode { path: PathBuf, message: String },
    #[error("{path}: a decoded frame has no timestamp (PyTorchVideo's PyAV path rejects such videos too)")]
    MissingTimestamp { path: PathBuf },
    #[error("{path}: the duration is unknown (no stream duration and no decodable frame)")]
    UnknownDuration { path: PathBuf },
    #[error(
        "{path}: no frame with a timestamp in [{start}, {end}) s; the video lasts {duration} s"
    )]
    EmptyClip {
        path: PathBuf,
        start: f64,
        end: f64,
        duration: f64,
    },
    #[error("{path}: {message}")]
    Frames { path: PathBuf, message: String },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Dataset { path: PathBuf, message: String },
    #[error(
        "{path}: the class list has {found} classes but the model has {expected} outputs \
         (num_classes); labels would index the wrong classes{note}"
    )]
    ClassCount {
        path: PathBuf,
        found: usize,
        expected: u32,
        /// Where the list comes from, when that is not the file itself.
        note: String,
    },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("{what}: exact arithmetic overflowed i128")]
    Overflow { what: String },
    #[error("{path}: torch: {message}")]
    Torch { path: PathBuf, message: String },
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        DataError::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
    /// Errors from path-less stages (sampling arithmetic, transforms) gain the file's name.
    pub(crate) fn for_file(self, path: &std::path::Path) -> Self {
        match self {
            DataError::Invalid { what, message } => DataError::Frames {
                path: path.to_path_buf(),
                message: format!("{what}: {message}"),
            },
            DataError::Overflow { what } => DataError::Frames {
                path: path.to_path_buf(),
                message: format!("{what}: exact arithmetic overflowed i128"),
            },
            DataError::Torch { message, .. } => DataError::Torch {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        }
    }
    pub(crate) fn torch(path: impl Into<PathBuf>, e: tch::TchError) -> Self {
        DataError::Torch {
            path: path.into(),
            message: e.to_string(),
        }
    }
}

impl DataError {
    /// A stable snake_case name for the variant (JSON reports, counts by cause).
    pub fn code(&self) -> &'static str {
        match self {
            DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "not_found"
            }
            DataError::Io { .. } => "io",
            DataError::Open { .. } => "open",
            DataError::EmptyFile { .. } => "empty_file",
            DataError::NoVideoStream { .. } => "no_video_stream",
            DataError::Decode { .. } => "decode",
            DataError::MissingTimestamp { .. } => "missing_timestamp",
            DataError::UnknownDuration { .. } => "unknown_duration",
            DataError::EmptyClip { .. } => "empty_clip",
            DataError::Frames { .. } => "frames",
            DataError::Parse { .. } => "parse",
            DataError::Dataset { .. } => "dataset",
            DataError::ClassCount { .. } => "class_count",
            DataError::Invalid { .. } => "invalid",
            DataError::Overflow { .. } => "overflow",
            DataError::Torch { .. } => "torch",
        }
    }
}
