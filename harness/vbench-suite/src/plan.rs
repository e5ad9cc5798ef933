//! Validation: a raw suite plus its reference table become a [`Plan`] whose every entry has a complete,
//! consistent protocol. Every error names the file, the entry and the key. A `protocol_from`
//! entry's zoo protocol comes from parsing its built-in suite here.

use crate::embedded::{builtin_names, builtin_reference, SUITES};
use crate::entry::{resolve_entry, EntryContext};
use crate::error::{Result, SuiteError};
use crate::presets::Dataset;
use crate::raw::{RawProtocol, RawSuite};
use crate::reference::ReferenceRow;
use crate::types::KeyError;
use crate::variant::Variant;
use std::path::{Path, PathBuf};

pub use crate::types::{Checkpoint, Entry, Plan, Protocol, SuiteInfo};

/// Parses and validates suite text. `path` labels errors and anchors the relative paths of model
/// files and checkpoints; `reference` resolves the table it names.
pub fn parse_plan(
    path: &Path,
    text: &str,
    reference: impl Fn(&str) -> Result<Vec<ReferenceRow>>,
) -> Result<Plan> {
    let raw: RawSuite = toml::from_str(text).map_err(|e| SuiteError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().replace('\n', "\n  "),
    })?;
    let invalid = |entry: &str, key: &str, message: String| SuiteError::Invalid {
        path: path.to_path_buf(),
        entry: entry.to_string(),
        key: key.to_string(),
        message,
    };
    let suite = &raw.suite;
    if suite.name.is_empty()
        || !suite
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(invalid(
            "-",
            "suite.name",
            "must be a non-empty [A-Za-z0-9_] word".into(),
        ));
    }
    if suite.split.is_some() && !suite.dataset.has_folds() {
        return Err(invalid(
            "-",
            "suite.split",
            format!(
                "{:?} has no official folds; `split` applies to ucf101 and hmdb51",
                suite.dataset
            )
            .to_lowercase(),
        ));
    }
    if raw.entries.is_empty() {
        return Err(invalid(
            "-",
            "entry",
            "the suite declares no [[entry]]".into(),
        ));
    }
    let variants = suite
        .variants
        .iter()
        .map(|v| v.parse::<Variant>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|err| invalid("-", "suite.variants", err.to_string()))?;
    let table = match &suite.reference {
        Some(file) => Some((file.as_str(), reference(file)?)),
        None => None,
    };
    let ctx = EntryContext {
        dir: path.parent().unwrap_or(Path::new("")),
        defaults: &raw.protocol,
        table: table.as_ref().map(|(f, rows)| (*f, rows.as_slice())),
    };
    let mut entries: Vec<Entry> = Vec::with_capacity(raw.entries.len());
    for e in &raw.entries {
        if entries.iter().any(|x| x.name == e.name) {
            return Err(invalid(&e.name, "name", "duplicate entry name".into()));
        }
        let entry = entry_base(e.protocol_from.as_deref())
            .and_then(|base| resolve_entry(&ctx, &suite.name, e, &base))
            .map_err(|(k, m)| invalid(&e.name, &k, m))?;
        entries.push(entry);
    }
    Ok(Plan {
        suite: SuiteInfo {
            name: suite.name.clone(),
            title: suite.title.clone(),
            dataset: suite.dataset,
            split: suite.split,
            task: suite.dataset.task(),
            description: suite.description.clone(),
            variants,
        },
        source: path.to_path_buf(),
        entries,
    })
}

/// The protocol an entry starts from: its `protocol_from` zoo entry's, else nothing.
pub(crate) fn entry_base(
    protocol_from: Option<&str>,
) -> std::result::Result<RawProtocol, KeyError> {
    match protocol_from {
        Some(id) => Ok(RawProtocol::from(&zoo_protocol(id)?)),
        None => Ok(RawProtocol::default()),
    }
}

/// The whole protocol of a built-in zoo entry, `<suite>/<name>`.
pub(crate) fn zoo_protocol(id: &str) -> std::result::Result<Protocol, KeyError> {
    zoo_entry(id).map(|(_, e)| e.protocol)
}

/// A built-in zoo entry and its suite's dataset.
pub(crate) fn zoo_entry(id: &str) -> std::result::Result<(Dataset, Entry), KeyError> {
    let unknown = |known: String| {
        Err((
            "protocol_from".to_string(),
            format!("`{id}` is not a zoo entry; {known} (`vbench list` shows every entry)"),
        ))
    };
    let Some((suite, name)) = id.split_once('/') else {
        return unknown("zoo entries look like `<suite>/<name>`, e.g. `k400/x3d_m`".into());
    };
    let Some(plan) = builtin_plan(suite) else {
        return unknown(format!("the zoo suites are {}", builtin_names().join(", ")));
    };
    let plan = plan.map_err(|e| ("protocol_from".to_string(), e.to_string()))?;
    match plan.entries.iter().find(|x| x.name == name) {
        Some(x) => Ok((plan.suite.dataset, x.clone())),
        None => {
            let names: Vec<&str> = plan.entries.iter().map(|x| x.name.as_str()).collect();
            unknown(format!("the entries of `{suite}` are {}", names.join(", ")))
        }
    }
}

/// A built-in suite by name, parsed against the built-in tables; `None` for other names.
pub(crate) fn builtin_plan(name: &str) -> Option<Result<Plan>> {
    let (name, text) = SUITES.iter().find(|(n, _)| *n == name)?;
    let label = PathBuf::from(format!("suites/{name}.toml"));
    Some(parse_plan(&label, text, builtin_reference))
}
