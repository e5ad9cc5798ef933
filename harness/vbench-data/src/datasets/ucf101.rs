//! UCF101 from its official split files (`ucfTrainTestlist/`): `classInd.txt` and the test list
//! of one of the three folds.

use super::format::{layout_error, ClassList, DatasetFormat, Listing, ManifestOptions};
use super::sample::{Labels, Sample, Source};
use super::text::{read_lines, rsplit_last};
use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// The folder of the official split files, under the data root.
pub const UCF101_LISTS: &str = "ucfTrainTestlist";
/// The folder the official archive unpacks the videos into; without it, class folders sit
/// directly under the data root.
pub const UCF101_VIDEOS: &str = "UCF-101";

/// The UCF101 layout (`dataset = "ucf101"`, `split = 1|2|3`).
pub struct Ucf101Format;

impl Ucf101Format {
    fn class_ind(root: &Path) -> PathBuf {
        root.join(UCF101_LISTS).join("classInd.txt")
    }
}

impl DatasetFormat for Ucf101Format {
    fn name(&self) -> &'static str {
        "ucf101"
    }

    fn layout(&self) -> &'static str {
        "ucfTrainTestlist/classInd.txt and ucfTrainTestlist/testlist0N.txt of the suite's \
         split N (1, 2 or 3; default 1), videos as listed (<Class>/v_<Class>_gGG_cCC.avi) under \
         UCF-101/ or the root itself"
    }

    fn read(&self, root: &Path, opts: &ManifestOptions) -> Result<Listing> {
        let manifest = format!("{UCF101_LISTS}/testlist0{}.txt", opts.fold());
        let (class_ind, list) = (Self::class_ind(root), root.join(&manifest));
        for f in [&class_ind, &list] {
            if !f.exists() {
                let rel = f.strip_prefix(root).unwrap_or(f).display().to_string();
                return Err(layout_error(self, root, &format!("no {rel}")));
            }
        }
        let videos = root.join(UCF101_VIDEOS);
        let videos = if videos.is_dir() {
            videos
        } else {
            root.to_path_buf()
        };
        let ds = Ucf101::new(&class_ind, &list, &videos)?;
        if ds.samples.is_empty() {
            return Err(DataError::parse(list, 1, "the test list names no videos"));
        }
        Ok(Listing {
            manifest,
            samples: ds.samples,
            class_list: Some(ClassList {
                names: ds.classes.clone(),
                path: class_ind,
                builtin: None,
            }),
            classes: Some(ds.classes),
            label_map: None,
        })
    }

    fn class_list(&self, root: &Path, _opts: &ManifestOptions) -> Result<Option<ClassList>> {
        let path = Self::class_ind(root);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(ClassList {
            names: read_class_index(&path)?,
            path,
            builtin: None,
        }))
    }
}

/// UCF101 from `classInd.txt` (`1 ApplyEyeMakeup`) and a `trainlist0N.txt`
/// (`Class/v_Class_g08_c01.avi 1`, 1-based label) or `testlist0N.txt` (`Class/v_…avi`, label
/// from the folder). Labels are 0-based. Folder names are matched to `classInd` ignoring case
/// (the official files spell `HandstandPushups` two ways).
#[derive(Clone, Debug)]
pub struct Ucf101 {
    samples: Vec<Sample>,
    classes: Vec<String>,
}

/// `classInd.txt`: `<index> <class>` per line, indices 1, 2, 3, … in order; the class names in
/// label order (label = index − 1).
pub fn read_class_index(class_ind: &Path) -> Result<Vec<String>> {
    let mut classes: Vec<String> = Vec::new();
    for (n, line) in read_lines(class_ind)? {
        let mut it = line.split_whitespace();
        let (Some(i), Some(name), None) = (it.next(), it.next(), it.next()) else {
            return Err(DataError::parse(class_ind, n, "expected `<index> <class>`"));
        };
        if i.parse::<usize>().ok() != Some(classes.len() + 1) {
            return Err(DataError::parse(
                class_ind,
                n,
                format!("index `{i}`; expected {}", classes.len() + 1),
            ));
        }
        if let Some(first) = classes.iter().position(|c| c.eq_ignore_ascii_case(name)) {
            return Err(DataError::parse(
                class_ind,
                n,
                format!(
                    "class `{name}` is listed twice (first as index {})",
                    first + 1
                ),
            ));
        }
        classes.push(name.to_string());
    }
    if classes.is_empty() {
        return Err(DataError::Dataset {
            path: class_ind.to_path_buf(),
            message: "no classes".into(),
        });
    }
    Ok(classes)
}

impl Ucf101 {
    pub fn new(class_ind: &Path, list: &Path, videos_root: &Path) -> Result<Self> {
        let classes = read_class_index(class_ind)?;
        let mut samples = Vec::new();
        for (n, line) in read_lines(list)? {
            let (path, given) = rsplit_last(&line);
            let folder = path.split('/').next().unwrap_or_default();
            let from_folder = classes.iter().position(|c| c.eq_ignore_ascii_case(folder));
            let label = match given {
                Some(g) => {
                    let g = g
                        .parse::<usize>()
                        .ok()
                        .filter(|&g| (1..=classes.len()).contains(&g))
                        .ok_or_else(|| {
                            DataError::parse(
                                list,
                                n,
                                format!("label `{g}` is not in 1..={}", classes.len()),
                            )
                        })?;
                    if from_folder.is_some_and(|f| f != g - 1) {
                        return Err(DataError::parse(
                            list,
                            n,
                            format!("label {g} disagrees with the folder `{folder}`"),
                        ));
                    }
                    g - 1
                }
                None => from_folder.ok_or_else(|| {
                    DataError::parse(
                        list,
                        n,
                        format!(
                            "folder `{folder}` is not a class in {}",
                            class_ind.display()
                        ),
                    )
                })?,
            };
            samples.push(Sample {
                id: path.to_string(),
                labels: Labels::Single(label as i64),
                source: Source::Video(videos_root.join(path)),
            });
        }
        Ok(Self { samples, classes })
    }
}

impl Ucf101 {
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
    pub fn class_names(&self) -> Option<&[String]> {
        Some(&self.classes)
    }
}
