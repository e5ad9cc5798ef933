//! Reference video lists: which videos a published number was measured on. Two formats:
//!
//! * the official Kinetics annotation CSV: a header `label,youtube_id,time_start,time_end,split`
//!   (and `,is_cc` in some releases), then one row per video;
//! * a path list, one video per line, `<path>` or `<path> <label>` (PyTorchVideo's and
//!   MMAction2's lists, or any copy's file listing), whose file names carry
//!   `<youtube_id>_<start:06>_<end:06>` (as the Kinetics download scripts name them) or the bare
//!   11-character YouTube id.
//!
//! Anything else is refused with the file and line. Videos are identified by YouTube id, plus
//! the time range where the list carries one.

use super::{GapError, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A video's identity across copies: YouTube id and, where known, its time range in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct VideoKey {
    pub youtube_id: String,
    pub range: Option<(u32, u32)>,
}

impl std::fmt::Display for VideoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.range {
            Some((s, e)) => write!(f, "{}_{s:06}_{e:06}", self.youtube_id),
            None => f.write_str(&self.youtube_id),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    KineticsCsv,
    PathList,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReferenceVideo {
    pub key: VideoKey,
    pub label: Option<String>,
    /// 1-based line in the list.
    pub line: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReferenceList {
    pub path: PathBuf,
    pub format: ListFormat,
    /// sha256 of the file's bytes.
    pub sha256: String,
    pub videos: Vec<ReferenceVideo>,
}

/// YouTube ids are 11 characters of `A-Z a-z 0-9 - _`.
fn is_youtube_id(s: &str) -> bool {
    s.len() == 11
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The key a file name carries: `<id>_<start:06>_<end:06>.<ext>` or `<id>.<ext>`, in any folder.
/// `None` when the name carries neither.
pub fn key_from_path(path: &str) -> Option<VideoKey> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if name.contains(char::is_whitespace) {
        return None;
    }
    let stem = match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    };
    let six = |s: &str| -> Option<u32> {
        (s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut parts = stem.rsplitn(3, '_');
    if let (Some(end), Some(start), Some(id)) = (parts.next(), parts.next(), parts.next()) {
        if let (Some(s), Some(e), true) = (six(start), six(end), is_youtube_id(id)) {
            return Some(VideoKey {
                youtube_id: id.to_string(),
                range: Some((s, e)),
            });
        }
    }
    is_youtube_id(stem).then(|| VideoKey {
        youtube_id: stem.to_string(),
        range: None,
    })
}

const CSV_COLUMNS: [&str; 5] = ["label", "youtube_id", "time_start", "time_end", "split"];

/// Parses a reference list; `path` names the file in errors.
pub fn parse_reference_list(path: &Path, bytes: &[u8]) -> Result<ReferenceList> {
    let err = |line: usize, message: String| GapError::ReferenceList {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| err(1, format!("not UTF-8 text: {e}")))?;
    let first = text
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())
        .ok_or_else(|| err(1, "the list names no videos".into()))?;
    let header: Vec<&str> = first.1.trim().split(',').map(str::trim).collect();
    let (format, videos) = if header.len() >= 5 && header[..5] == CSV_COLUMNS {
        (ListFormat::KineticsCsv, parse_csv(text, first.0 + 1, &err)?)
    } else {
        (ListFormat::PathList, parse_paths(text, &err)?)
    };
    if videos.is_empty() {
        return Err(err(first.0 + 1, "the list names no videos".into()));
    }
    Ok(ReferenceList {
        path: path.to_path_buf(),
        format,
        sha256: format!("{:x}", Sha256::digest(bytes)),
        videos,
    })
}

pub fn read_reference_list(path: &Path) -> Result<ReferenceList> {
    let bytes = std::fs::read(path).map_err(|source| GapError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_reference_list(path, &bytes)
}

fn parse_csv(
    text: &str,
    header_line: usize,
    err: &dyn Fn(usize, String) -> GapError,
) -> Result<Vec<ReferenceVideo>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let columns = reader.headers().map(|h| h.len()).unwrap_or(5);
    let mut out = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(header_line, |p| p.line() as usize);
            err(line, format!("not a Kinetics annotation row: {e}"))
        })?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if rec.len() != columns {
            return Err(err(
                line,
                format!("{} fields, the header has {columns}", rec.len()),
            ));
        }
        let id = rec[1].trim();
        if !is_youtube_id(id) {
            return Err(err(
                line,
                format!("`{id}` is not an 11-character YouTube id"),
            ));
        }
        let second = |i: usize| -> Result<u32> {
            let s = rec[i].trim();
            s.parse::<f64>()
                .ok()
                .filter(|v| v.fract() == 0.0 && *v >= 0.0 && *v <= u32::MAX as f64)
                .map(|v| v as u32)
                .ok_or_else(|| {
                    err(
                        line,
                        format!("{} `{s}` is not whole seconds", CSV_COLUMNS[i]),
                    )
                })
        };
        out.push(ReferenceVideo {
            key: VideoKey {
                youtube_id: id.to_string(),
                range: Some((second(2)?, second(3)?)),
            },
            label: Some(rec[0].trim().to_string()).filter(|l| !l.is_empty()),
            line,
        });
    }
    Ok(out)
}

fn parse_paths(text: &str, err: &dyn Fn(usize, String) -> GapError) -> Result<Vec<ReferenceVideo>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // The whole line is the path, or (PyTorchVideo's rule) the label follows the last
        // space, or (class names with spaces) the first.
        let split = [
            Some((line, "")),
            line.rsplit_once(char::is_whitespace),
            line.split_once(char::is_whitespace),
        ];
        let found = split.iter().flatten().find_map(|&(p, l)| {
            let l = l.trim();
            key_from_path(p.trim()).map(|k| (k, (!l.is_empty()).then(|| l.to_string())))
        });
        let path = line.split_whitespace().next().unwrap_or(line);
        let (key, label) = found.ok_or_else(|| {
            err(
                i + 1,
                format!(
                    "unknown reference-list format: `{path}` carries no YouTube id \
                     (expected the Kinetics CSV header `{}` or file names \
                     <youtube_id>_<start:06>_<end:06>.<ext>)",
                    CSV_COLUMNS.join(",")
                ),
            )
        })?;
        out.push(ReferenceVideo {
            key,
            label,
            line: i + 1,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_id_and_range() {
        let k = key_from_path("abseiling/-3B32lodo2M_000059_000069.mp4").unwrap();
        assert_eq!(k.youtube_id, "-3B32lodo2M");
        assert_eq!(k.range, Some((59, 69)));
        assert_eq!(k.to_string(), "-3B32lodo2M_000059_000069");
        // Ids may contain underscores; the range is the last two fields.
        let k = key_from_path("x/ab_cd_ef_gh_000001_000011.avi").unwrap();
        assert_eq!(
            (k.youtube_id.as_str(), k.range),
            ("ab_cd_ef_gh", Some((1, 11)))
        );
        let k = key_from_path("zzzzzzzzzzz.mp4").unwrap();
        assert_eq!(k.range, None);
        assert!(key_from_path("video_1.mp4").is_none());
        assert!(key_from_path("toolongtobeanid_000001_000011.mp4").is_none());
    }

    #[test]
    fn kinetics_csv_with_and_without_is_cc() {
        let csv = "label,youtube_id,time_start,time_end,split,is_cc\n\
                   \"passing American football (in game)\",--07WQ2iBlw,1,11,val,0\n\
                   abseiling,0wR5jVB-WPk,417,427,val,0\n";
        let l = parse_reference_list(Path::new("val.csv"), csv.as_bytes()).unwrap();
        assert_eq!(l.format, ListFormat::KineticsCsv);
        assert_eq!(l.videos.len(), 2);
        assert_eq!(
            l.videos[0].label.as_deref(),
            Some("passing American football (in game)")
        );
        assert_eq!(l.videos[1].key.range, Some((417, 427)));
        assert_eq!(l.videos[1].line, 3);
        let csv5 =
            "label,youtube_id,time_start,time_end,split\nabseiling,0wR5jVB-WPk,417,427,val\n";
        assert_eq!(
            parse_reference_list(Path::new("a.csv"), csv5.as_bytes())
                .unwrap()
                .videos
                .len(),
            1
        );
    }

    #[test]
    fn path_lists_with_and_without_labels() {
        let txt = "abseiling/0wR5jVB-WPk_000417_000427.mp4 0\n\n# comment\n\
                   val/--07WQ2iBlw_000001_000011.mp4\n";
        let l = parse_reference_list(Path::new("list.txt"), txt.as_bytes()).unwrap();
        assert_eq!(l.format, ListFormat::PathList);
        assert_eq!(l.videos.len(), 2);
        assert_eq!(l.videos[0].label.as_deref(), Some("0"));
        assert_eq!(l.videos[1].label, None);
        assert_eq!(l.videos[1].line, 4);
        let l = parse_reference_list(
            Path::new("names.txt"),
            b"0wR5jVB-WPk_000417_000427.mp4 arm wrestling\n",
        )
        .unwrap();
        assert_eq!(l.videos[0].label.as_deref(), Some("arm wrestling"));
    }

    #[test]
    fn unknown_formats_name_file_and_line() {
        let e = parse_reference_list(
            Path::new("refs/list.txt"),
            b"0wR5jVB-WPk_000417_000427.mp4 1\nmy_video.mp4 3\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("refs/list.txt:2:") && e.contains("my_video.mp4"),
            "{e}"
        );
        let e = parse_reference_list(
            Path::new("v.csv"),
            b"label,youtube_id,time_start,time_end,split\nabseiling,short,1,11,val\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("v.csv:2:") && e.contains("`short`"), "{e}");
        let e = parse_reference_list(
            Path::new("v.csv"),
            b"label,youtube_id,time_start,time_end,split\na,0wR5jVB-WPk,x,11,val\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("v.csv:2:") && e.contains("time_start"), "{e}");
        let e = parse_reference_list(Path::new("e.txt"), b"\n\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("e.txt:1:"), "{e}");
    }
}
