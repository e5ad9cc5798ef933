//! The dataset seam: one [`DatasetFormat`] per dataset owns where its files lie under a data root,
//! how its list is read, which class list its labels index, and how a sample becomes the model's
//! views. Callers reach a format through [`super::format_of`] and never match on the dataset.

use super::sample::{Sample, Source};
use crate::ava_views::extract_keyframe_views;
use crate::error::{DataError, Result};
use crate::sampler::frames::FrameSampling;
use crate::views::{extract_frame_views, extract_views, ViewTensor};
use std::path::{Path, PathBuf};
use vbench_suite::{Fold, Protocol};

/// PySlowFast's `AVA.DETECTION_SCORE_THRESH` in its AVA v2.2 configs.
pub const AVA_DETECTION_SCORE_THRESH: f64 = 0.8;

/// What reading a list may depend on besides the data root.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestOptions {
    /// AVA: person detections with at least this score are scored.
    pub person_score_threshold: f64,
    /// UCF101 / HMDB51: the official fold (`split`); `None` is fold 1.
    pub split: Option<Fold>,
    /// The model's output size: a class list of another size is refused
    /// ([`DataError::ClassCount`]). `None` checks nothing.
    pub num_classes: Option<u32>,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        Self {
            person_score_threshold: AVA_DETECTION_SCORE_THRESH,
            split: None,
            num_classes: None,
        }
    }
}

impl ManifestOptions {
    /// The options of one suite entry: its person-score threshold and output size, and the
    /// suite's fold.
    pub fn for_entry(protocol: &Protocol, split: Option<Fold>) -> Self {
        Self {
            person_score_threshold: protocol
                .person_score_threshold
                .unwrap_or(AVA_DETECTION_SCORE_THRESH),
            split,
            num_classes: Some(protocol.num_classes),
        }
    }

    /// The fold to read: the one given, else fold 1.
    pub fn fold(&self) -> Fold {
        self.split.unwrap_or(Fold::FIRST)
    }
}

/// The class list a dataset's labels index: label `i` is `names[i]`, so the model must have
/// exactly `names.len()` outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassList {
    pub names: Vec<String>,
    /// The file (or folder) that gives the list; for a built-in list, the folder it labels.
    pub path: PathBuf,
    /// The list is built into vbench (Kinetics-400), not read from the data root.
    pub builtin: Option<&'static str>,
}

impl ClassList {
    /// Refuses a model whose output size is not the list's length.
    pub fn check(&self, num_classes: u32) -> Result<()> {
        if self.names.len() == num_classes as usize {
            return Ok(());
        }
        Err(DataError::ClassCount {
            path: self.path.clone(),
            found: self.names.len(),
            expected: num_classes,
            note: match self.builtin {
                Some(name) => format!(
                    " (the built-in {name} class list labels these folders; put the model's own \
                     list in classes.txt under the data root)"
                ),
                None => String::new(),
            },
        })
    }
}

/// A list as a format reads it; [`super::load_manifest`] adds the root and the names.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// The list that was read, relative to the root (recorded in predictions headers).
    pub manifest: String,
    pub samples: Vec<Sample>,
    /// Class names by label index, when the files give them.
    pub classes: Option<Vec<String>>,
    /// The list labels map through, checked against the model's output size.
    pub class_list: Option<ClassList>,
    /// AVA: the evaluated classes `(id, name)` of the `.pbtxt`, in file order.
    pub label_map: Option<Vec<(u32, String)>>,
}

/// One dataset format. Adding one is a file implementing this, one line in
/// [`super::format_of`], and its name in the suite's `Dataset` enum.
pub trait DatasetFormat: Sync {
    /// The reader's short name, recorded in predictions headers and check-data (`kinetics`).
    fn name(&self) -> &'static str;

    /// The files it expects under the data root, for messages and `docs/datasets.md`.
    fn layout(&self) -> &'static str;

    /// Reads the list under `root` (an existing directory).
    fn read(&self, root: &Path, opts: &ManifestOptions) -> Result<Listing>;

    /// The class list labels map through, read without the whole list so that a run can refuse
    /// a model of another output size before it starts. `None`: labels are plain indices.
    fn class_list(&self, _root: &Path, _opts: &ManifestOptions) -> Result<Option<ClassList>> {
        Ok(None)
    }

    /// Class names built into vbench, for outputs without a data root (`vbench infer`).
    fn builtin_class_names(&self) -> Option<Vec<String>> {
        None
    }

    /// How samples that list JPEG frames are sampled; `None`: the format lists no frames.
    fn frame_sampling(&self) -> Option<FrameSampling> {
        None
    }

    /// The longest span a protocol's clip covers, in seconds (check-data notes shorter videos);
    /// `None`: the whole video is one clip. `what` names the suite in errors.
    fn clip_seconds(&self, protocol: &Protocol, _what: &Path) -> Option<f64> {
        let (n, d) = protocol.clip_duration();
        Some(n as f64 / d.max(1) as f64)
    }

    /// Every view of one sample under `protocol`, in the sampler's order: videos through the
    /// `Ptvkinetics` test loader, frame lists through [`Self::frame_sampling`], AVA keyframes
    /// through PySlowFast's AVA loader.
    fn views(&self, sample: &Sample, protocol: &Protocol) -> Result<Vec<ViewTensor>> {
        match &sample.source {
            Source::Video(p) => extract_views(p, protocol),
            Source::Frames(frames) => {
                let sampling = self.frame_sampling().ok_or_else(|| DataError::Invalid {
                    what: sample.id.clone(),
                    message: format!("{} lists frames, but has no frame sampling", self.name()),
                })?;
                extract_frame_views(frames, protocol, sampling)
            }
            Source::Keyframe { .. } => extract_keyframe_views(sample, protocol),
        }
    }
}

/// An error for a root that lacks what `format`'s layout needs.
pub(crate) fn layout_error(format: &dyn DatasetFormat, root: &Path, message: &str) -> DataError {
    DataError::Dataset {
        path: root.to_path_buf(),
        message: format!("{message}; expected {}", format.layout()),
    }
}

/// The first of `names` that exists under `root`: (name, path).
pub(crate) fn first_existing(root: &Path, names: &[&str]) -> Option<(String, PathBuf)> {
    names
        .iter()
        .map(|n| (n.to_string(), root.join(n)))
        .find(|(_, p)| p.exists())
}
