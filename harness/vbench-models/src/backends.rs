//! The backends of the model seam (`model.rs`), registered in one list: [`load_model`] makes an
//! entry's model with the first backend in [`BACKENDS`] that claims it. Registration of a new
//! backend: one line here.

use vbench_suite::Entry;

use crate::error::{ModelError, Result};
use crate::model::{Backend, LoadOptions, VideoModel};
use crate::torchscript::{PublishedInt8, TorchScriptBackend};
use crate::zoo::ZooBackend;

/// Every backend, in the order they are asked. Registration of a new backend: one line here.
pub static BACKENDS: &[&dyn Backend] = &[&PublishedInt8, &TorchScriptBackend, &ZooBackend];

/// The backend that makes `entry`'s model.
pub fn backend_for(entry: &Entry) -> Result<&'static dyn Backend> {
    BACKENDS
        .iter()
        .copied()
        .find(|b| b.claims(entry))
        .ok_or_else(|| ModelError::NoBackend {
            entry: entry.id.clone(),
            model: entry.model.label(),
        })
}

/// `entry`'s model, ready to run, from the backend that claims it.
pub fn load_model(entry: &Entry, opts: &LoadOptions) -> Result<Box<dyn VideoModel>> {
    backend_for(entry)?.load(entry, opts)
}
