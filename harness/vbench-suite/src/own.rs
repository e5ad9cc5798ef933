//! One's own model without a suite file: `vbench run --model my.pt --protocol k400/x3d_m` builds a
//! one-entry plan whose entry is the TorchScript file under that zoo entry's whole protocol, on
//! that entry's dataset.

use crate::entry::{resolve_entry, EntryContext};
use crate::error::{Result, SuiteError};
use crate::model::{InputLayout, RawModel, RawTorchScript};
use crate::plan::{entry_base, zoo_entry};
use crate::raw::{RawEntry, RawProtocol};
use crate::types::{Plan, SuiteInfo};
use std::path::Path;

/// The suite name of plans built on the fly.
pub const OWN_SUITE: &str = "own";

/// A plan of one TorchScript entry, `own/<file stem>`, under the protocol of the zoo entry
/// `protocol_from`; `input` overrides the layout that protocol implies. Errors name the file.
pub fn own_model_plan(
    model: &Path,
    protocol_from: &str,
    input: Option<InputLayout>,
) -> Result<Plan> {
    let name: String = model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = if name.is_empty() {
        "model".to_string()
    } else {
        name
    };
    let invalid = |key: String, message: String| SuiteError::Invalid {
        path: model.to_path_buf(),
        entry: format!("{OWN_SUITE}/{name}"),
        key: if key == "protocol_from" {
            "--protocol".into()
        } else {
            key
        },
        message,
    };
    let (dataset, zoo) = zoo_entry(protocol_from).map_err(|(k, m)| invalid(k, m))?;
    let raw = RawEntry {
        name: name.clone(),
        model: RawModel::TorchScript(RawTorchScript {
            torchscript: model.to_string_lossy().into_owned(),
            input,
        }),
        checkpoint: None,
        reference: None,
        protocol_from: Some(protocol_from.to_string()),
        published: None,
        precision: None,
        notes: None,
        protocol: RawProtocol::default(),
    };
    let ctx = EntryContext {
        dir: Path::new(""),
        defaults: &RawProtocol::default(),
        table: None,
    };
    let entry = entry_base(raw.protocol_from.as_deref())
        .and_then(|base| resolve_entry(&ctx, OWN_SUITE, &raw, &base))
        .map_err(|(k, m)| invalid(k, m))?;
    Ok(Plan {
        suite: SuiteInfo {
            name: OWN_SUITE.to_string(),
            title: format!("{name} under {}'s protocol", zoo.id),
            dataset,
            split: None,
            variants: Vec::new(),
            task: dataset.task(),
            description: Some(format!(
                "{} under the protocol of the zoo entry {}",
                model.display(),
                zoo.id
            )),
        },
        source: model.to_path_buf(),
        entries: vec![entry],
    })
}
