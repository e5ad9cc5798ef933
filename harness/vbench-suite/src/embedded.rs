//! The suites and reference tables shipped in the repository, embedded so that `vbench` runs from
//! anywhere.

use crate::error::{Result, SuiteError};
use crate::reference::{parse_reference, ReferenceRow};
use std::path::PathBuf;

pub const SUITES: [(&str, &str); 5] = [
    ("k400", include_str!("../../../suites/k400.toml")),
    ("ssv2", include_str!("../../../suites/ssv2.toml")),
    ("charades", include_str!("../../../suites/charades.toml")),
    ("ava", include_str!("../../../suites/ava.toml")),
    ("mobile", include_str!("../../../suites/mobile.toml")),
];

pub const REFERENCES: [(&str, &str); 5] = [
    (
        "k400.csv",
        include_str!("../../../reference-results/k400.csv"),
    ),
    (
        "ssv2.csv",
        include_str!("../../../reference-results/ssv2.csv"),
    ),
    (
        "charades.csv",
        include_str!("../../../reference-results/charades.csv"),
    ),
    (
        "ava.csv",
        include_str!("../../../reference-results/ava.csv"),
    ),
    (
        "mobile.csv",
        include_str!("../../../reference-results/mobile.csv"),
    ),
];

pub fn builtin_names() -> Vec<&'static str> {
    SUITES.iter().map(|(n, _)| *n).collect()
}

/// A built-in reference table by file name.
pub fn builtin_reference(file: &str) -> Result<Vec<ReferenceRow>> {
    let label = PathBuf::from(format!("reference-results/{file}"));
    let (_, text) = REFERENCES
        .iter()
        .find(|(n, _)| *n == file)
        .ok_or_else(|| SuiteError::Io {
            path: label.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such built-in reference table",
            ),
        })?;
    parse_reference(&label, text)
}
