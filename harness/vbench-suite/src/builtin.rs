//! The suites and reference tables shipped in the repository, embedded so that `vbench` runs from
//! anywhere. A suite can also be a path to a `.toml` file; its table is then read from
//! `../reference-results/` next to the file's folder, or from the file's own folder.

use crate::error::{Result, SuiteError};
use crate::plan::{parse_plan, Plan};
use crate::reference::{load_reference, parse_reference, ReferenceRow};
use std::path::{Path, PathBuf};

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

/// Loads a suite by built-in name (`k400`) or by path to a TOML file.
pub fn load_suite(name_or_path: &str) -> Result<Plan> {
    if let Some((name, text)) = SUITES.iter().find(|(n, _)| *n == name_or_path) {
        let label = PathBuf::from(format!("suites/{name}.toml"));
        return parse_plan(&label, text, builtin_reference);
    }
    let path = Path::new(name_or_path);
    if path.extension().is_some_and(|e| e == "toml") || path.exists() {
        let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        return parse_plan(path, &text, move |file| {
            let sibling = dir.join("../reference-results").join(file);
            let local = dir.join(file);
            if sibling.exists() {
                load_reference(&sibling)
            } else if local.exists() {
                load_reference(&local)
            } else {
                builtin_reference(file)
            }
        });
    }
    Err(SuiteError::UnknownSuite {
        name: name_or_path.to_string(),
        known: builtin_names().join(", "),
    })
}

/// Every built-in plan.
pub fn all_suites() -> Result<Vec<Plan>> {
    builtin_names().into_iter().map(load_suite).collect()
}

/// Finds `<suite>/<name>` among the built-in suites.
pub fn find_entry(id: &str) -> Result<(Plan, usize)> {
    let (suite, name) = id
        .split_once('/')
        .ok_or_else(|| SuiteError::UnknownEntry { id: id.to_string() })?;
    let plan = load_suite(suite)?;
    let idx = plan
        .entries
        .iter()
        .position(|e| e.name == name)
        .ok_or_else(|| SuiteError::UnknownEntry { id: id.to_string() })?;
    Ok((plan, idx))
}
