//! Datasets behind one seam. Each format (one file here) implements [`DatasetFormat`]: its layout
//! under `--data-root`, its list reader (PyTorchVideo / PySlowFast formats; every parse error names
//! the file and the 1-based line), its class list and its view extraction. [`format_of`] is the one
//! place that maps the suite's [`Dataset`] to its format; everything else goes through it.
//!
//! Adding a format: a file here implementing [`DatasetFormat`], its `mod` line, arm in
//! [`format_of`] and place in `REGISTERED` here, and its name in `vbench_suite::Dataset`.

mod ava;
mod charades;
mod format;
mod hmdb51;
mod kinetics;
mod manifest;
pub mod sample;
mod ssv2;
mod text;
mod ucf101;

pub use ava::{
    read_ava_label_map, Ava, AvaFiles, AvaFormat, AVA_EXCLUDED, AVA_FRAME_LIST, AVA_GROUNDTRUTH,
    AVA_LABEL_MAP, AVA_PERSON_BOXES, AVA_VALID_SECONDS,
};
pub use charades::{Charades, CharadesFormat};
pub use format::{ClassList, DatasetFormat, Listing, ManifestOptions, AVA_DETECTION_SCORE_THRESH};
pub use hmdb51::{Hmdb51, Hmdb51Format, HmdbSplit, HMDB51_SPLITS};
pub use kinetics::{
    kinetics400_classes, Kinetics, KineticsFormat, CLASS_LIST_FILE, KINETICS400_CLASSES,
};
pub use manifest::{manifest_hash, Manifest};
pub use sample::{AvaBox, Labels, PersonBox, Sample, Source};
pub use ssv2::{Ssv2, Ssv2Format};
pub use text::read_class_names;
pub use ucf101::{read_class_index, Ucf101, Ucf101Format, UCF101_LISTS, UCF101_VIDEOS};

use crate::error::{DataError, Result};
use std::path::Path;
use vbench_suite::Dataset;

/// Every dataset a suite can name, for lookups by reader name.
const REGISTERED: [Dataset; 6] = [
    Dataset::Kinetics400,
    Dataset::Ssv2,
    Dataset::Charades,
    Dataset::Ava,
    Dataset::Ucf101,
    Dataset::Hmdb51,
];

/// The registration point: the format of each dataset a suite can name.
pub fn format_of(dataset: Dataset) -> &'static dyn DatasetFormat {
    match dataset {
        Dataset::Kinetics400 => &KineticsFormat,
        Dataset::Ssv2 => &Ssv2Format,
        Dataset::Charades => &CharadesFormat,
        Dataset::Ava => &AvaFormat,
        Dataset::Ucf101 => &Ucf101Format,
        Dataset::Hmdb51 => &Hmdb51Format,
    }
}

/// The format whose reader is called `name` (a predictions header's `dataset.name`).
pub fn format_named(name: &str) -> Option<&'static dyn DatasetFormat> {
    REGISTERED
        .into_iter()
        .map(format_of)
        .find(|f| f.name() == name)
}

fn check_root(root: &Path) -> Result<()> {
    if root.is_dir() {
        return Ok(());
    }
    Err(DataError::Dataset {
        path: root.to_path_buf(),
        message: "the data root is not a directory".into(),
    })
}

/// Reads `dataset`'s list under `root` (layouts: each format's [`DatasetFormat::layout`],
/// `docs/datasets.md`). With `opts.num_classes`, a class list of another size is refused.
pub fn load_manifest(dataset: Dataset, root: &Path, opts: &ManifestOptions) -> Result<Manifest> {
    check_root(root)?;
    let format = format_of(dataset);
    let listing = format.read(root, opts)?;
    if let (Some(list), Some(n)) = (&listing.class_list, opts.num_classes) {
        list.check(n)?;
    }
    Ok(Manifest {
        dataset,
        name: format.name().to_string(),
        root: root.to_path_buf(),
        manifest: listing.manifest,
        samples: listing.samples,
        classes: listing.classes,
        class_list: listing.class_list,
        label_map: listing.label_map,
    })
}

/// The class list `dataset`'s labels map through under `root`, checked against
/// `opts.num_classes`, without reading the whole list: what a run verifies before it starts.
/// A root without the file that gives the list has `Ok(None)` here (reading the list reports
/// what is missing).
pub fn check_class_list(
    dataset: Dataset,
    root: &Path,
    opts: &ManifestOptions,
) -> Result<Option<ClassList>> {
    if !root.is_dir() {
        return Ok(None);
    }
    let list = format_of(dataset).class_list(root, opts)?;
    if let (Some(list), Some(n)) = (&list, opts.num_classes) {
        list.check(n)?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests;
