//! The text formats several dataset files share: non-blank lines with their numbers, Python's
//! `rsplit`, one-name-per-line class lists, and the space-separated frame list of PySlowFast.

use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// Reads a text file and yields (1-based line number, line) for lines that are not blank.
pub(crate) fn read_lines(path: &Path) -> Result<Vec<(usize, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r').to_string()))
        .collect())
}

/// Python's `str.rsplit(None, 1)`: the last whitespace-separated token and everything before it.
pub(crate) fn rsplit_last(line: &str) -> (&str, Option<&str>) {
    let t = line.trim();
    match t.rfind(char::is_whitespace) {
        Some(i) => (t[..i].trim_end(), Some(&t[i + 1..])),
        None => (t, None),
    }
}

/// One class name per line, in label-index order (e.g. `kinetics400_classnames.txt`); blank
/// lines are skipped.
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

/// A class list that names every class once: [`read_class_names`], refusing a name that
/// repeats an earlier one (`_` and space are the same) at its line.
pub(crate) fn read_unique_class_names(path: &Path) -> Result<Vec<String>> {
    let mut seen = std::collections::HashMap::new();
    for (n, line) in read_lines(path)? {
        let name = line.trim();
        if let Some(first) = seen.insert(class_key(name), n) {
            return Err(DataError::parse(
                path,
                n,
                format!("class `{name}` is listed twice (first at line {first})"),
            ));
        }
    }
    read_class_names(path)
}

/// How a class name is compared with a folder or a label: `_` and space are the same.
pub(crate) fn class_key(name: &str) -> String {
    name.replace('_', " ")
}

/// Joins `rel` to `prefix` as `os.path.join` does (an absolute `rel` wins).
pub(crate) fn join(prefix: &Path, rel: &str) -> PathBuf {
    prefix.join(rel)
}

/// The space-separated frame list SSv2 and Charades share:
/// `original_vido_id video_id frame_id path labels`, with a header row. Returns, per video in
/// order of first appearance, its frame paths and the per-frame label fields (with their lines).
pub(crate) struct FrameList {
    pub videos: Vec<FrameListVideo>,
}

pub(crate) struct FrameListVideo {
    pub id: String,
    pub paths: Vec<PathBuf>,
    /// (1-based line, the `labels` field) per frame.
    pub labels: Vec<(usize, String)>,
}

pub(crate) fn read_frame_list(path: &Path, prefix: &Path) -> Result<FrameList> {
    let lines = read_lines(path)?;
    let Some((hl, header)) = lines.first() else {
        return Err(DataError::Dataset {
            path: path.to_path_buf(),
            message: "the frame list is empty".into(),
        });
    };
    let cols: Vec<&str> = header.split(' ').collect();
    let want = ["original_vido_id", "video_id", "frame_id", "path", "labels"];
    let pos = |name: &str| cols.iter().position(|c| c.trim_matches('"') == name);
    let idx: Vec<usize> = want
        .iter()
        .map(|w| {
            pos(w).ok_or_else(|| {
                DataError::parse(path, *hl, format!("the header lacks the `{w}` column"))
            })
        })
        .collect::<Result<_>>()?;
    let mut order: Vec<FrameListVideo> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (n, line) in &lines[1..] {
        let fields: Vec<&str> = line.split(' ').map(|f| f.trim_matches('"')).collect();
        if fields.len() != cols.len() {
            return Err(DataError::parse(
                path,
                *n,
                format!("{} fields, the header has {}", fields.len(), cols.len()),
            ));
        }
        let video = fields[idx[0]].to_string();
        let i = *index.entry(video.clone()).or_insert_with(|| {
            order.push(FrameListVideo {
                id: video,
                paths: Vec::new(),
                labels: Vec::new(),
            });
            order.len() - 1
        });
        order[i].paths.push(join(prefix, fields[idx[3]]));
        order[i].labels.push((*n, fields[idx[4]].to_string()));
    }
    Ok(FrameList { videos: order })
}
