//! Kinetics (and any "path label" list): PyTorchVideo's `LabeledVideoPaths`.

use super::{join, read_lines, rsplit_last, Labels, Sample, Source, VideoDataset};
use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Kinetics {
    samples: Vec<Sample>,
    classes: Option<Vec<String>>,
}

/// One class name per line, in label-index order (e.g. `kinetics400_classnames.txt`).
pub fn read_class_names(path: &Path) -> Result<Vec<String>> {
    let names: Vec<String> = read_lines(path)?
        .into_iter()
        .map(|(_, l)| l.trim().to_string())
        .collect();
    if names.is_empty() {
        return Err(DataError::Dataset {
            path: path.to_path_buf(),
            message: "no class names".into(),
        });
    }
    Ok(names)
}

impl Kinetics {
    /// `<path> <label>` per line (`LabeledVideoPaths.from_csv`): the label is the last
    /// whitespace-separated token, so paths may contain spaces; a line with one token has label
    /// -1. Relative paths are joined to `prefix`. Blank lines are skipped.
    pub fn from_list(list: &Path, prefix: &Path) -> Result<Self> {
        let mut samples = Vec::new();
        for (n, line) in read_lines(list)? {
            let (path, label) = match rsplit_last(&line) {
                (p, None) => (p, -1),
                (p, Some(l)) => {
                    let label = l.parse::<i64>().map_err(|_| {
                        DataError::parse(list, n, format!("`{l}` is not an integer label"))
                    })?;
                    (p, label)
                }
            };
            samples.push(Sample {
                id: path.to_string(),
                labels: Labels::Single(label),
                source: Source::Video(join(prefix, path)),
            });
        }
        if samples.is_empty() {
            return Err(DataError::Dataset {
                path: list.to_path_buf(),
                message: "the list names no videos".into(),
            });
        }
        Ok(Self {
            samples,
            classes: None,
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
        let norm = |s: &str| s.replace('_', " ");
        let mut samples = Vec::new();
        for (i, class) in classes.iter().enumerate() {
            let label = match class_names {
                None => i as i64,
                Some(names) => names
                    .iter()
                    .position(|n| norm(n) == norm(class))
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

impl VideoDataset for Kinetics {
    fn name(&self) -> &str {
        "kinetics"
    }
    fn samples(&self) -> &[Sample] {
        &self.samples
    }
    fn class_names(&self) -> Option<&[String]> {
        self.classes.as_deref()
    }
}
