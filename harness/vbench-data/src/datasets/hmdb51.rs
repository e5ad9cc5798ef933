//! HMDB51 from its official split files (`testTrainMulti_7030_splits/`): one file per class and
//! fold, each video marked train (1), test (2) or unused (0); vbench evaluates the test videos.

use super::format::{layout_error, ClassList, DatasetFormat, Listing, ManifestOptions};
use super::sample::{Labels, Sample, Source};
use super::text::{read_lines, rsplit_last};
use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// The folder of the official split files, under the data root.
pub const HMDB51_SPLITS: &str = "testTrainMulti_7030_splits";

/// The HMDB51 layout (`dataset = "hmdb51"`, `split = 1|2|3`).
pub struct Hmdb51Format;

impl DatasetFormat for Hmdb51Format {
    fn name(&self) -> &'static str {
        "hmdb51"
    }

    fn layout(&self) -> &'static str {
        "testTrainMulti_7030_splits/<class>_test_split<N>.txt for the suite's split N (1, 2 or \
         3; default 1), lines `<video> <0|1|2>` (2 = test), videos in <class>/<video> under the \
         root"
    }

    fn read(&self, root: &Path, opts: &ManifestOptions) -> Result<Listing> {
        let dir = root.join(HMDB51_SPLITS);
        if !dir.is_dir() {
            return Err(layout_error(self, root, &format!("no {HMDB51_SPLITS}/")));
        }
        let fold = opts.fold().number();
        let ds = Hmdb51::new(&dir, root, fold.into(), HmdbSplit::Test)?;
        if ds.samples.is_empty() {
            return Err(DataError::Dataset {
                path: dir,
                message: format!("no video of split {fold} is marked 2 (test)"),
            });
        }
        Ok(Listing {
            manifest: format!("{HMDB51_SPLITS}/*_test_split{fold}.txt"),
            samples: ds.samples,
            class_list: Some(ClassList {
                names: ds.classes.clone(),
                path: dir,
                builtin: None,
            }),
            classes: Some(ds.classes),
            label_map: None,
        })
    }

    fn class_list(&self, root: &Path, opts: &ManifestOptions) -> Result<Option<ClassList>> {
        let dir = root.join(HMDB51_SPLITS);
        if !dir.is_dir() {
            return Ok(None);
        }
        let names = split_files(&dir, opts.fold().number().into())?
            .into_iter()
            .map(|(class, _)| class)
            .collect();
        Ok(Some(ClassList {
            names,
            path: dir,
            builtin: None,
        }))
    }
}

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
        let files = split_files(splits_dir, fold)?;
        let classes: Vec<String> = files.iter().map(|(c, _)| c.clone()).collect();
        let mut samples = Vec::new();
        for (label, (class, file)) in files.iter().enumerate() {
            for (n, line) in read_lines(file)? {
                let (video, code) = rsplit_last(&line);
                let code = code
                    .and_then(|c| c.parse::<i64>().ok())
                    .filter(|c| (0..=2).contains(c))
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

impl Hmdb51 {
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
    pub fn class_names(&self) -> Option<&[String]> {
        Some(&self.classes)
    }
}

/// `(class, file)` of every `<class>_test_split<fold>.txt` in `splits_dir`, sorted by class.
fn split_files(splits_dir: &Path, fold: u32) -> Result<Vec<(String, PathBuf)>> {
    let suffix = format!("_test_split{fold}");
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(splits_dir)
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
    Ok(files)
}
