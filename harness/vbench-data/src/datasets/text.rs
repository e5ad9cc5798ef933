//! The text formats several dataset files share: non-blank lines with their numbers, Python's
//! `rsplit`, one-name-per-line class lists, and the space-separated frame list of PySlowFast.

use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// Reads a UTF-8 text file; bytes that are not UTF-8 are refused at their line.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
        DataError::parse(path, line, format!("not UTF-8 text (byte {at})"))
    })
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Where each top-level member of a JSON document begins: (1-based line, the key of an
/// object's member; `None` for an array's element).
pub(crate) type MemberLines = Vec<(usize, Option<String>)>;

/// The lines where the top-level members of a JSON document begin, in file order: the elements
/// of an array (`None`), or the keys of an object (`Some(key)`). `text` must be valid JSON.
pub(crate) fn json_member_lines(text: &str) -> MemberLines {
    let b = text.as_bytes();
    let (mut depth, mut i, mut out) = (0usize, 0usize, Vec::new());
    let mut expect = false; // at depth 1, the next token starts a member
    let mut object = false;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            if depth == 1 && expect {
                let key = object
                    .then(|| serde_json::from_str(&text[start..=i.min(b.len() - 1)]).ok())
                    .flatten();
                out.push((line_at(text, start), key));
                expect = false;
            }
        } else if !c.is_ascii_whitespace() {
            if depth == 1 && expect && !matches!(c, b']' | b'}') {
                out.push((line_at(text, i), None));
                expect = false;
            }
            match c {
                b'[' | b'{' => {
                    depth += 1;
                    if depth == 1 {
                        object = c == b'{';
                        expect = true;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                b',' if depth == 1 => expect = true,
                _ => {}
            }
        }
        i += 1;
    }
    out
}

/// Reads a text file and yields (1-based line number, line) for lines that are not blank.
pub(crate) fn read_lines(path: &Path) -> Result<Vec<(usize, String)>> {
    let text = read_text(path)?;
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
        return Err(DataError::parse(path, 1, "the frame list is empty"));
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
