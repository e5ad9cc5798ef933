//! One `[[entry]]` as written → a validated [`Entry`]: its model source, its protocol (a zoo
//! entry's by `protocol_from`, then the suite's `[protocol]`, then the entry's own keys), its
//! reference row, checkpoint and published numbers. Errors are (key, message); the caller adds
//! the file and the entry.

use crate::embedded::{builtin_reference, REFERENCES};
use crate::model::{InputLayout, ModelSource, RawModel};
use crate::presets::Sampler;
use crate::published::Published;
use crate::raw::{RawEntry, RawProtocol};
use crate::reference::{Precision, ReferenceRow};
use crate::types::{Checkpoint, Entry, KeyError, Protocol};
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

/// `base`: the protocol of the entry's `protocol_from` zoo entry (`plan::entry_base`).
pub(crate) fn resolve_entry(
    ctx: &EntryContext,
    suite: &str,
    e: &RawEntry,
    base: &RawProtocol,
) -> Result<Entry, KeyError> {
    let raw = e.protocol.or(ctx.defaults).or(base);
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

fn check_protocol(model: &ModelSource, p: &Protocol) -> std::result::Result<(), KeyError> {
    let err = |k: &str, m: String| Err((k.to_string(), m));
    let positive = [
        ("protocol.frames", p.frames),
        ("protocol.sample_rate", p.sample_rate),
        ("protocol.short_side", p.short_side),
        ("protocol.crop", p.crop),
        ("protocol.temporal_clips", p.temporal_clips),
        ("protocol.target_fps", p.target_fps),
        ("protocol.num_classes", p.num_classes),
    ];
    for (k, v) in positive {
        if v == 0 {
            return err(k, "must be > 0".into());
        }
    }
    if !matches!(p.spatial_crops, 1 | 3) {
        return err(
            "protocol.spatial_crops",
            format!("must be 1 or 3, got {}", p.spatial_crops),
        );
    }
    if p.crop > p.short_side {
        return err(
            "protocol.crop",
            format!("crop {} is larger than short_side {}", p.crop, p.short_side),
        );
    }
    let two = match model {
        ModelSource::Zoo(_) => "is a SlowFast model",
        ModelSource::TorchScript { .. } => "takes the slowfast input layout",
    };
    match (model.is_slowfast(), p.alpha) {
        (true, None) => return err("protocol.alpha", format!("`{model}` {two} and needs α")),
        (false, Some(_)) => {
            return err(
                "protocol.alpha",
                format!("`{model}` has one pathway; α does not apply"),
            )
        }
        (true, Some(a)) if a == 0 || !p.sample_rate.is_multiple_of(a) => {
            return err(
                "protocol.alpha",
                format!(
                    "α {a} must divide sample_rate {} (the fast pathway's stride is τ/α)",
                    p.sample_rate
                ),
            )
        }
        _ => {}
    }
    if model.is_detector() != (p.sampler == Sampler::AvaKeyframe) {
        return err(
            "protocol.sampler",
            format!("`{:?}` does not fit model `{model}`", p.sampler),
        );
    }
    match (model.is_detector(), p.person_score_threshold) {
        (true, None) => err(
            "protocol.person_score_threshold",
            format!("`{model}` scores detected person boxes and needs their score threshold"),
        ),
        (true, Some(t)) if !(0.0..=1.0).contains(&t) => err(
            "protocol.person_score_threshold",
            format!("{t} is not a score in [0, 1]"),
        ),
        (false, Some(_)) => err(
            "protocol.person_score_threshold",
            format!("`{model}` is not a detector; it takes no person boxes"),
        ),
        _ => Ok(()),
    }
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
