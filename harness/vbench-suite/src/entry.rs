//! One `[[entry]]` as written → a validated [`Entry`]: its model source, its protocol (a zoo
//! entry's by `protocol_from`, then the suite's `[protocol]`, then the entry's own keys), its
//! reference row, checkpoint and published numbers. Errors are (key, message); the caller adds
//! the file and the entry.

use crate::builtin::{builtin_names, builtin_reference, load_suite, REFERENCES};
use crate::model::{InputLayout, ModelSource, RawModel};
use crate::plan::{check_protocol, Checkpoint, Entry, KeyError, Protocol};
use crate::presets::{Dataset, Sampler};
use crate::published::Published;
use crate::raw::{RawEntry, RawProtocol};
use crate::reference::{Precision, ReferenceRow};
use std::path::Path;

pub(crate) struct EntryContext<'a> {
    /// The suite file's folder: relative model and checkpoint paths start here.
    pub dir: &'a Path,
    pub defaults: &'a RawProtocol,
    /// The suite's reference table: its file name and rows.
    pub table: Option<(&'a str, &'a [ReferenceRow])>,
}

fn key_err<T>(key: &str, message: impl Into<String>) -> Result<T, KeyError> {
    Err((key.to_string(), message.into()))
}

pub(crate) fn resolve_entry(
    ctx: &EntryContext,
    suite: &str,
    e: &RawEntry,
) -> Result<Entry, KeyError> {
    let base = match &e.protocol_from {
        Some(id) => RawProtocol::from(&zoo_protocol(id)?),
        None => RawProtocol::default(),
    };
    let raw = e.protocol.or(ctx.defaults).or(&base);
    let model = model_source(ctx, e, &raw)?;
    let protocol = complete(&raw, &model)?;
    check_protocol(&model, &protocol)?;
    let row = reference_row(ctx, e)?;
    if let Some(row) = row {
        check_against_row(&protocol, row)?;
    }
    let checkpoint =
        match (&model, &e.checkpoint) {
            (ModelSource::Zoo(_), None) => return key_err(
                "checkpoint",
                "a zoo model needs its weights: an official file name (`vbench list` shows them) \
                 or a path to your own .pyth or .safetensors file, relative to the suite file",
            ),
            (ModelSource::TorchScript { .. }, Some(_)) => {
                return key_err(
                    "checkpoint",
                    "a TorchScript file holds its own weights; remove `checkpoint`",
                )
            }
            (ModelSource::TorchScript { .. }, None) => None,
            (ModelSource::Zoo(_), Some(c)) => Some(checkpoint(ctx, c, row)?),
        };
    let precision = e.precision.unwrap_or(Precision::Fp32);
    if let Some(row) = row {
        if precision != row.precision {
            return key_err(
                "precision",
                format!("the reference row is {:?}", row.precision),
            );
        }
    }
    let mut published = match (row, ctx.table) {
        (Some(row), Some((table, _))) => Published::from_row(table, row),
        _ => Published::none(),
    };
    if let Some(inline) = &e.published {
        published = published.overridden(inline);
    }
    Ok(Entry {
        id: format!("{suite}/{}", e.name),
        name: e.name.clone(),
        model,
        precision,
        protocol,
        checkpoint,
        reference: row.cloned(),
        published,
        protocol_from: e.protocol_from.clone(),
        notes: e.notes.clone(),
    })
}

/// The whole protocol of a built-in zoo entry, `<suite>/<name>`.
pub(crate) fn zoo_protocol(id: &str) -> Result<Protocol, KeyError> {
    zoo_entry(id).map(|(_, e)| e.protocol)
}

/// A built-in zoo entry and its suite's dataset.
pub(crate) fn zoo_entry(id: &str) -> Result<(Dataset, Entry), KeyError> {
    let unknown = |known: String| {
        key_err(
            "protocol_from",
            format!("`{id}` is not a zoo entry; {known} (`vbench list` shows every entry)"),
        )
    };
    let Some((suite, name)) = id.split_once('/') else {
        return unknown("zoo entries look like `<suite>/<name>`, e.g. `k400/x3d_m`".into());
    };
    if !builtin_names().contains(&suite) {
        return unknown(format!("the zoo suites are {}", builtin_names().join(", ")));
    }
    let plan = load_suite(suite).map_err(|e| ("protocol_from".to_string(), e.to_string()))?;
    match plan.entries.iter().find(|x| x.name == name) {
        Some(x) => Ok((plan.suite.dataset, x.clone())),
        None => {
            let names: Vec<&str> = plan.entries.iter().map(|x| x.name.as_str()).collect();
            unknown(format!("the entries of `{suite}` are {}", names.join(", ")))
        }
    }
}

fn model_source(
    ctx: &EntryContext,
    e: &RawEntry,
    raw: &RawProtocol,
) -> Result<ModelSource, KeyError> {
    Ok(match &e.model {
        RawModel::Zoo(arch) => ModelSource::Zoo(*arch),
        RawModel::TorchScript(t) => {
            let path = ctx.dir.join(&t.torchscript);
            if !path.is_file() {
                return key_err(
                    "model.torchscript",
                    format!("{}: no such file", path.display()),
                );
            }
            let implied = InputLayout::implied(
                raw.alpha.is_some(),
                raw.sampler == Some(Sampler::AvaKeyframe),
            );
            ModelSource::TorchScript {
                path,
                input: t.input.unwrap_or(implied),
            }
        }
    })
}

fn complete(raw: &RawProtocol, model: &ModelSource) -> Result<Protocol, KeyError> {
    macro_rules! field {
        ($f:ident) => {
            raw.$f.ok_or_else(|| {
                (
                    concat!("protocol.", stringify!($f)).to_string(),
                    format!(
                        "missing for model `{model}` (set it in [protocol], in the entry's \
                         `protocol`, or take a zoo entry's whole protocol with `protocol_from`)"
                    ),
                )
            })?
        };
    }
    Ok(Protocol {
        frames: field!(frames),
        sample_rate: field!(sample_rate),
        alpha: raw.alpha,
        short_side: field!(short_side),
        crop: field!(crop),
        spatial_crops: field!(spatial_crops),
        temporal_clips: field!(temporal_clips),
        target_fps: field!(target_fps),
        num_classes: field!(num_classes),
        channels: field!(channels),
        normalization: field!(normalization),
        head_activation: field!(head_activation),
        aggregation: field!(aggregation),
        sampler: field!(sampler),
        person_score_threshold: raw.person_score_threshold,
    })
}

fn reference_row<'a>(
    ctx: &EntryContext<'a>,
    e: &RawEntry,
) -> Result<Option<&'a ReferenceRow>, KeyError> {
    let Some(name) = &e.reference else {
        return Ok(None);
    };
    let Some((file, rows)) = ctx.table else {
        return key_err(
            "reference",
            format!(
                "row `{name}` named, but the suite names no table (`[suite] reference = \"k400.csv\"`)"
            ),
        );
    };
    rows.iter()
        .find(|r| r.row == *name)
        .map(Some)
        .ok_or_else(|| {
            (
                "reference".to_string(),
                format!("no row `{name}` in reference-results/{file}"),
            )
        })
}

fn check_against_row(p: &Protocol, row: &ReferenceRow) -> Result<(), KeyError> {
    if (p.frames, p.sample_rate) != (row.frames, row.sample_rate) {
        return key_err(
            "protocol.frames",
            format!(
                "{}x{} disagrees with the reference row's {}x{}",
                p.frames, p.sample_rate, row.frames, row.sample_rate
            ),
        );
    }
    if let Some(s) = row.spatial_views {
        if s != p.spatial_crops {
            return key_err(
                "protocol.spatial_crops",
                format!("{} but the table says {s}", p.spatial_crops),
            );
        }
    }
    if let Some(t) = row.temporal_views {
        if t != p.temporal_clips {
            return key_err(
                "protocol.temporal_clips",
                format!("{} but the table says {t}", p.temporal_clips),
            );
        }
    }
    Ok(())
}

/// An official file name (any reference table's checkpoint URL ends in it) or a path to one's own
/// weights, relative to the suite file.
fn checkpoint(
    ctx: &EntryContext,
    name: &str,
    row: Option<&ReferenceRow>,
) -> Result<Checkpoint, KeyError> {
    if let Some(url) = official_url(ctx, name) {
        if let Some(row) = row {
            if row.checkpoint_file() != name {
                return key_err(
                    "checkpoint",
                    format!(
                        "`{name}` but the reference row's URL ends in `{}`",
                        row.checkpoint_file()
                    ),
                );
            }
        }
        return Ok(Checkpoint::Official {
            file: name.to_string(),
            url,
        });
    }
    let path = ctx.dir.join(name);
    if !path.is_file() {
        return key_err(
            "checkpoint",
            format!(
                "`{name}` is neither an official checkpoint name (those of reference-results/*.csv) \
                 nor a file: {} does not exist",
                path.display()
            ),
        );
    }
    Ok(Checkpoint::Path(path))
}

fn official_url(ctx: &EntryContext, name: &str) -> Option<String> {
    let own = ctx.table.map(|(_, rows)| rows).unwrap_or(&[]);
    let builtin = REFERENCES
        .iter()
        .filter_map(|(file, _)| builtin_reference(file).ok())
        .flatten();
    own.iter()
        .cloned()
        .chain(builtin)
        .find(|r| r.checkpoint_file() == name)
        .map(|r| r.checkpoint_url)
}
