//! Where the `int8` variant's quantized model comes from, and the one place run, infer and
//! latency turn an entry's model into a variant ([`transform`]). The quantized model is a
//! TorchScript file of the entry's network: one the user gives (`--int8-model`), else the
//! published int8 file of the entry's int8 sibling in its suite (mobile's `efficient_x3d_xs_int8`
//! for `efficient_x3d_xs`) when the weights cache holds it. Every other entry has none.

use std::path::{Path, PathBuf};

use vbench_models::variant::{self, Applied, VariantError, NO_QUANTIZED_MODEL};
use vbench_models::VideoModel;
use vbench_suite::{Entry, Precision, Variant};

use vbench_results::predictions::WeightsInfo;

use crate::timing::latency::int8_torchscript;
use crate::weights::sha256_file;

/// The quantized models a run may use.
#[derive(Debug, Clone, Default)]
pub struct Int8Source {
    /// A quantized TorchScript file of the (single) entry's network (`--int8-model`).
    pub file: Option<PathBuf>,
    /// The weights cache holding published int8 files [default: the user cache dir].
    pub weights_dir: Option<PathBuf>,
}

impl Int8Source {
    /// The quantized file for `entry`, or why there is none (a "not available" reason).
    pub fn file_for(&self, entry: &Entry) -> Result<PathBuf, String> {
        if let Some(f) = &self.file {
            return Ok(f.clone());
        }
        let Some(sibling) = published_int8(entry) else {
            return Err(NO_QUANTIZED_MODEL.into());
        };
        let Some(path) = int8_torchscript(&sibling, self.weights_dir.as_deref()) else {
            return Err(NO_QUANTIZED_MODEL.into());
        };
        if path.is_file() {
            return Ok(path);
        }
        let suite = entry.id.split('/').next().unwrap_or_default();
        Err(format!(
            "no quantized model here: the published int8 file of {} ({}) is not in the weights \
             cache (`vbench fetch --suite {suite}`, or give one with --int8-model FILE)",
            sibling.id,
            path.display()
        ))
    }

    /// What the predictions header names for `v`'s views: the int8 file (name and sha256), so
    /// that a resume refuses views of another quantized model; `None` for every other variant.
    pub fn model_info(&self, entry: &Entry, v: Variant) -> Option<WeightsInfo> {
        if v != Variant::Int8 {
            return None;
        }
        let file = self.file_for(entry).ok()?;
        Some(WeightsInfo {
            file: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            // Unreadable: the model load names the file.
            sha256: sha256_file(&file).ok()?,
        })
    }
}

/// `--int8-model` given with the wrong flags: bad input, exit 2.
#[derive(Debug, thiserror::Error)]
pub enum Int8FlagError {
    #[error("--int8-model is the int8 variant's model: give --variant int8")]
    WithoutInt8,
    #[error("--int8-model {}: no such file", .0.display())]
    NoFile(PathBuf),
}

/// `--int8-model FILE` goes with the int8 variant, and the file is there.
pub fn check_int8_model(file: Option<&Path>, variants: &[Variant]) -> Result<(), Int8FlagError> {
    let Some(file) = file else { return Ok(()) };
    if !variants.contains(&Variant::Int8) {
        return Err(Int8FlagError::WithoutInt8);
    }
    if !file.is_file() {
        return Err(Int8FlagError::NoFile(file.to_path_buf()));
    }
    Ok(())
}

/// The int8 entry of `entry`'s suite with the same zoo architecture and view shape.
fn published_int8(entry: &Entry) -> Option<Entry> {
    if entry.precision == Precision::Int8 {
        return None;
    }
    let arch = entry.arch()?;
    let suite = entry.id.split_once('/')?.0;
    let plan = vbench_suite::load_suite(suite).ok()?;
    plan.entries.into_iter().find(|e| {
        e.precision == Precision::Int8
            && e.arch() == Some(arch)
            && (e.protocol.frames, e.protocol.crop) == (entry.protocol.frames, entry.protocol.crop)
    })
}

/// `model` (`entry`'s, weights loaded) run as `v`. `int8` is only asked for the `int8` variant.
pub fn transform(
    entry: &Entry,
    v: Variant,
    model: Box<dyn VideoModel>,
    int8: &Int8Source,
) -> Result<(Box<dyn VideoModel>, Applied), VariantError> {
    if v != Variant::Int8 {
        return variant::apply(v, model, &entry.protocol);
    }
    match int8.file_for(entry) {
        Ok(file) => variant::apply_for_entry(entry, v, model, Some(&file)),
        Err(reason) => Err(VariantError::NotAvailable {
            variant: v,
            model: model.label(),
            reason,
        }),
    }
}
