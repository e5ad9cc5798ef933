//! Kinetics layouts (and any "path label" list): PyTorchVideo's `LabeledVideoPaths`, with
//! Kinetics-400's class names built in or the tree's own `classes.txt`.

use super::format::{
    first_existing, layout_error, ClassList, DatasetFormat, Listing, ManifestOptions,
};
use super::sample::{Labels, Sample, Source};
use super::text::{class_key, join, read_lines, read_unique_class_names, rsplit_last};
use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// The 400 Kinetics class names in label-index order (mmaction2's `label_map_k400.txt`,
/// Apache-2.0): folder layouts map to indices through it, and `vbench infer` prints it.
pub const KINETICS400_CLASSES: &str = include_str!("../../data/kinetics400_classnames.txt");

/// [`KINETICS400_CLASSES`], one name per class.
pub fn kinetics400_classes() -> Vec<String> {
    KINETICS400_CLASSES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// A tree's own class list, under the data root.
pub const CLASS_LIST_FILE: &str = "classes.txt";

/// The lists a Kinetics root may hold; the first that exists is read.
const LISTS: [&str; 4] = ["test.csv", "val.csv", "test", "val"];

/// The Kinetics layout (`dataset = "kinetics400"`).
pub struct KineticsFormat;

impl KineticsFormat {
    /// `root/classes.txt`, when the tree has its own class list.
    fn own_classes(root: &Path) -> Result<Option<ClassList>> {
        let path = root.join(CLASS_LIST_FILE);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(ClassList {
            names: read_unique_class_names(&path)?,
            path,
            builtin: None,
        }))
    }

    /// The Kinetics-400 names, labelling the class folders of `folder`.
    fn builtin(folder: &Path) -> ClassList {
        ClassList {
            names: kinetics400_classes(),
            path: folder.to_path_buf(),
            builtin: Some("Kinetics-400"),
        }
    }
}

impl DatasetFormat for KineticsFormat {
    fn name(&self) -> &'static str {
        "kinetics"
    }

    fn layout(&self) -> &'static str {
        "test.csv or val.csv (`<path> <label>` lines, paths relative to the root), or a test/ \
         or val/ folder of class folders; optional classes.txt (the class list labels map \
         through, one name per line)"
    }

    fn read(&self, root: &Path, _opts: &ManifestOptions) -> Result<Listing> {
        let (manifest, path) = first_existing(root, &LISTS)
            .ok_or_else(|| layout_error(self, root, "no Kinetics list"))?;
        let own = Self::own_classes(root)?;
        let (ds, class_list) = if path.is_dir() {
            let list = own.unwrap_or_else(|| Self::builtin(&path));
            (Kinetics::from_dir(&path, Some(&list.names))?, Some(list))
        } else {
            let names = own.as_ref().map(|c| c.names.as_slice());
            (Kinetics::from_list_with(&path, root, names)?, own)
        };
        Ok(Listing {
            manifest,
            classes: ds.classes,
            samples: ds.samples,
            class_list,
            label_map: None,
        })
    }

    fn class_list(&self, root: &Path, _opts: &ManifestOptions) -> Result<Option<ClassList>> {
        if let Some(own) = Self::own_classes(root)? {
            return Ok(Some(own));
        }
        Ok(first_existing(root, &LISTS)
            .filter(|(_, p)| p.is_dir())
            .map(|(_, p)| Self::builtin(&p)))
    }

    fn builtin_class_names(&self) -> Option<Vec<String>> {
        Some(kinetics400_classes())
    }
}

#[derive(Clone, Debug)]
pub struct Kinetics {
    samples: Vec<Sample>,
    classes: Option<Vec<String>>,
}

impl Kinetics {
    /// `<path> <label>` per line (`LabeledVideoPaths.from_csv`): the label is the last
    /// whitespace-separated token, so paths may contain spaces; a line with one token has label
    /// -1. Relative paths are joined to `prefix`. Blank lines are skipped.
    pub fn from_list(list: &Path, prefix: &Path) -> Result<Self> {
        Self::from_list_with(list, prefix, None)
    }

    /// [`Self::from_list`] with the tree's class list: a label may then also be a class name
    /// (`arm_wrestling`; `_` and space are the same), which maps to its position in the list.
    pub fn from_list_with(
        list: &Path,
        prefix: &Path,
        class_names: Option<&[String]>,
    ) -> Result<Self> {
        let mut samples = Vec::new();
        for (n, line) in read_lines(list)? {
            let (path, label) = match rsplit_last(&line) {
                (p, None) => (p, -1),
                (p, Some(l)) => (p, parse_label(l, class_names, list, n)?),
            };
            samples.push(Sample {
                id: path.to_string(),
                labels: Labels::Single(label),
                source: Source::Video(join(prefix, path)),
            });
        }
        if samples.is_empty() {
            return Err(DataError::parse(list, 1, "the list names no videos"));
        }
        Ok(Self {
            samples,
            classes: class_names.map(<[String]>::to_vec),
        })
    }

    /// `root/<class>/<video>` (`LabeledVideoPaths.from_directory`): classes are the folders
    /// sorted by name and indexed from 0; files ending in `mp4`/`avi`, walked recursively in
    /// sorted order. With `class_names` (e.g. `kinetics400_classnames.txt`), a folder's label is
    /// its position in that list instead (`_` and ` ` are the same; unknown folders are errors).
    pub fn from_dir(root: &Path, class_names: Option<&[String]>) -> Result<Self> {
        let mut classes: Vec<String> = std::fs::read_dir(root)
            .map_err(|e| DataError::io(root, e))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        classes.sort();
        let mut samples = Vec::new();
        for (i, class) in classes.iter().enumerate() {
            let label = match class_names {
                None => i as i64,
                Some(names) => names
                    .iter()
                    .position(|n| class_key(n) == class_key(class))
                    .ok_or_else(|| DataError::Dataset {
                        path: root.join(class),
                        message: format!("class folder `{class}` is not in the class-name list"),
                    })? as i64,
            };
            let mut files = Vec::new();
            walk(&root.join(class), &mut files)?;
            for f in files {
                let id = f
                    .strip_prefix(root)
                    .unwrap_or(&f)
                    .to_string_lossy()
                    .into_owned();
                samples.push(Sample {
                    id,
                    labels: Labels::Single(label),
                    source: Source::Video(f),
                });
            }
        }
        if samples.is_empty() {
            return Err(DataError::Dataset {
                path: root.to_path_buf(),
                message: "no .mp4/.avi videos in class folders".into(),
            });
        }
        let classes = class_names.map(<[String]>::to_vec).or(Some(classes));
        Ok(Self { samples, classes })
    }
}

/// torchvision's `make_dataset` walk: directories in sorted order, files sorted, names ending in
/// `mp4` or `avi` (case-insensitive).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let (dirs, files): (Vec<_>, Vec<_>) = entries.into_iter().partition(|p| p.is_dir());
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if name.ends_with("mp4") || name.ends_with("avi") {
            out.push(f);
        }
    }
    for d in dirs {
        walk(&d, out)?;
    }
    Ok(())
}

impl Kinetics {
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
    pub fn class_names(&self) -> Option<&[String]> {
        self.classes.as_deref()
    }
}

/// A list's label token: an integer, or with a class list, a class name.
fn parse_label(
    token: &str,
    class_names: Option<&[String]>,
    list: &Path,
    line: usize,
) -> Result<i64> {
    if let Ok(label) = token.parse::<i64>() {
        return Ok(label);
    }
    let Some(names) = class_names else {
        return Err(DataError::parse(
            list,
            line,
            format!("`{token}` is not an integer label"),
        ));
    };
    names
        .iter()
        .position(|n| class_key(n) == class_key(token))
        .map(|i| i as i64)
        .ok_or_else(|| {
            DataError::parse(
                list,
                line,
                format!("`{token}` is neither an integer label nor a class of {CLASS_LIST_FILE}"),
            )
        })
}
