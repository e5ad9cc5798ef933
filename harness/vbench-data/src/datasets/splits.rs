//! HMDB51 and UCF101 from their official split files.

use super::{read_lines, rsplit_last, Labels, Sample, Source, VideoDataset};
use crate::error::{DataError, Result};
use std::path::Path;

/// Which part of an HMDB51 fold to read (the split files' 1/2/0 codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmdbSplit {
    Train,
    Test,
    Unused,
}

impl HmdbSplit {
    fn code(self) -> i64 {
        match self {
            HmdbSplit::Train => 1,
            HmdbSplit::Test => 2,
            HmdbSplit::Unused => 0,
        }
    }
}

/// HMDB51 (PyTorchVideo's `Hmdb51LabeledVideoPaths`): `splits_dir/<class>_test_split<N>.txt`,
/// lines `<video>.avi <0|1|2>`; the video is `videos_root/<class>/<video>`. Labels index the
/// class names sorted alphabetically (PyTorchVideo keeps the name; models need the index).
#[derive(Clone, Debug)]
pub struct Hmdb51 {
    samples: Vec<Sample>,
    classes: Vec<String>,
}

impl Hmdb51 {
    pub fn new(splits_dir: &Path, videos_root: &Path, fold: u32, split: HmdbSplit) -> Result<Self> {
        if !(1..=3).contains(&fold) {
            return Err(DataError::Invalid {
                what: splits_dir.display().to_string(),
                message: format!("HMDB51 fold {fold} is not 1, 2 or 3"),
            });
        }
        let suffix = format!("_test_split{fold}");
        let mut files: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(splits_dir)
            .map_err(|e| DataError::io(splits_dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .filter_map(|p| {
                let stem = p.file_stem()?.to_string_lossy().into_owned();
                Some((stem.strip_suffix(&suffix)?.to_string(), p))
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(DataError::Dataset {
                path: splits_dir.to_path_buf(),
                message: format!("no *{suffix}.txt split files"),
            });
        }
        let classes: Vec<String> = files.iter().map(|(c, _)| c.clone()).collect();
        let mut samples = Vec::new();
        for (label, (class, file)) in files.iter().enumerate() {
            for (n, line) in read_lines(file)? {
                let (video, code) = rsplit_last(&line);
                let code = code
                    .and_then(|c| c.parse::<i64>().ok())
                    .ok_or_else(|| DataError::parse(file, n, "expected `<video> <0|1|2>`"))?;
                if code != split.code() {
                    continue;
                }
                samples.push(Sample {
                    id: video.to_string(),
                    labels: Labels::Single(label as i64),
                    source: Source::Video(videos_root.join(class).join(video)),
                });
            }
        }
        Ok(Self { samples, classes })
    }
}

impl VideoDataset for Hmdb51 {
    fn name(&self) -> &str {
        "hmdb51"
    }
    fn samples(&self) -> &[Sample] {
        &self.samples
    }
    fn class_names(&self) -> Option<&[String]> {
        Some(&self.classes)
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

impl Ucf101 {
    pub fn new(class_ind: &Path, list: &Path, videos_root: &Path) -> Result<Self> {
        let mut classes = Vec::new();
        for (n, line) in read_lines(class_ind)? {
            let mut it = line.split_whitespace();
            let (Some(i), Some(name)) = (it.next(), it.next()) else {
                return Err(DataError::parse(class_ind, n, "expected `<index> <class>`"));
            };
            if i.parse::<usize>().ok() != Some(classes.len() + 1) {
                return Err(DataError::parse(
                    class_ind,
                    n,
                    format!("index `{i}`; expected {}", classes.len() + 1),
                ));
            }
            classes.push(name.to_string());
        }
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

impl VideoDataset for Ucf101 {
    fn name(&self) -> &str {
        "ucf101"
    }
    fn samples(&self) -> &[Sample] {
        &self.samples
    }
    fn class_names(&self) -> Option<&[String]> {
        Some(&self.classes)
    }
}
