//! Loading suites: a built-in one by name (`embedded.rs`), or a path to a `.toml` file whose table
//! is then read from `../reference-results/` next to the file's folder, or from the file's own
//! folder.

use crate::error::{Result, SuiteError};
use crate::plan::{builtin_plan, parse_plan, Plan};
use crate::reference::load_reference;
use std::path::Path;

pub use crate::embedded::{builtin_names, builtin_reference, REFERENCES, SUITES};

/// Loads a suite by built-in name (`k400`) or by path to a TOML file.
pub fn load_suite(name_or_path: &str) -> Result<Plan> {
    if let Some(plan) = builtin_plan(name_or_path) {
        return plan;
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
