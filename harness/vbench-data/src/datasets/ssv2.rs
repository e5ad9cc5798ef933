//! Something-Something v2: the labels JSON (template → index), the split JSON (video id →
//! template) and the frame list, as PyTorchVideo's `ssv2._read_video_paths_and_labels`.

use super::format::{layout_error, DatasetFormat, Listing, ManifestOptions};
use super::sample::{Labels, Sample, Source};
use super::text::{json_member_lines, read_frame_list, read_text, MemberLines};
use crate::error::{DataError, Result};
use crate::sampler::frames::FrameSampling;
use std::collections::HashMap;
use std::path::Path;
use vbench_suite::Protocol;

/// The files of an SSv2 root, in the order [`Ssv2::new`] takes them.
const FILES: [&str; 3] = [
    "something-something-v2-labels.json",
    "something-something-v2-validation.json",
    "val.csv",
];

/// The Something-Something v2 layout (`dataset = "ssv2"`).
pub struct Ssv2Format;

impl DatasetFormat for Ssv2Format {
    fn name(&self) -> &'static str {
        "ssv2"
    }

    fn layout(&self) -> &'static str {
        "something-something-v2-labels.json, something-something-v2-validation.json and \
         val.csv (the frame list, paths relative to the root)"
    }

    fn read(&self, root: &Path, _opts: &ManifestOptions) -> Result<Listing> {
        if let Some(f) = FILES.iter().find(|f| !root.join(f).exists()) {
            return Err(layout_error(self, root, &format!("no {f}")));
        }
        let p = |i: usize| root.join(FILES[i]);
        let ds = Ssv2::new(&p(0), &p(1), &p(2), root)?;
        Ok(Listing {
            manifest: "val.csv".into(),
            samples: ds.samples,
            classes: Some(ds.classes),
            ..Listing::default()
        })
    }

    fn frame_sampling(&self) -> Option<FrameSampling> {
        Some(FrameSampling::Ssv2Segments)
    }

    /// SSv2 takes the whole video as its clip.
    fn clip_seconds(&self, _protocol: &Protocol, _what: &Path) -> Option<f64> {
        None
    }
}

#[derive(Clone, Debug)]
pub struct Ssv2 {
    samples: Vec<Sample>,
    classes: Vec<String>,
}

/// A JSON file, and the line where each of its top-level members begins.
fn json(path: &Path) -> Result<(serde_json::Value, MemberLines)> {
    let text = read_text(path)?;
    let value =
        serde_json::from_str(&text).map_err(|e| DataError::parse(path, e.line(), e.to_string()))?;
    Ok((value, json_member_lines(&text)))
}

impl Ssv2 {
    /// `labels_json`: `{"Approaching something with your camera": "0", …}`;
    /// `split_json`: `[{"id": "…", "template": "Pushing [something] from left to right", …}]`;
    /// `frame_list`: `original_vido_id video_id frame_id path labels`, paths joined to `prefix`.
    /// Videos come in split-JSON order; those absent from the frame list are skipped (as
    /// PyTorchVideo does). The template's brackets are stripped before the label lookup.
    pub fn new(
        labels_json: &Path,
        split_json: &Path,
        frame_list: &Path,
        prefix: &Path,
    ) -> Result<Self> {
        let frames: HashMap<String, Vec<std::path::PathBuf>> = read_frame_list(frame_list, prefix)?
            .videos
            .into_iter()
            .map(|v| (v.id, v.paths))
            .collect();
        let (labels, members) = json(labels_json)?;
        let labels = labels.as_object().ok_or_else(|| {
            DataError::parse(
                labels_json,
                1,
                "expected an object mapping templates to indices",
            )
        })?;
        // Where each template is defined (a repeated key: its last definition, as serde keeps).
        let label_line: HashMap<String, usize> = members
            .into_iter()
            .filter_map(|(n, k)| Some((k?, n)))
            .collect();
        let mut by_name = HashMap::new();
        let mut classes = vec![String::new(); labels.len()];
        for (name, v) in labels {
            let idx = v
                .as_str()
                .and_then(|s| s.parse::<usize>().ok())
                .or_else(|| v.as_u64().map(|n| n as usize))
                .filter(|&i| i < labels.len())
                .ok_or_else(|| {
                    DataError::parse(
                        labels_json,
                        label_line.get(name).copied().unwrap_or(1),
                        format!("label `{name}` has index {v}, not 0..{}", labels.len()),
                    )
                })?;
            classes[idx] = name.clone();
            by_name.insert(name.clone(), idx as i64);
        }
        let (split, members) = json(split_json)?;
        let entries = split
            .as_array()
            .ok_or_else(|| DataError::parse(split_json, 1, "expected a list of videos"))?;
        let mut samples = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let line = members.get(i).map_or(1, |m| m.0);
            let field = |k: &str| {
                e.get(k).and_then(|v| v.as_str()).ok_or_else(|| {
                    DataError::parse(split_json, line, format!("entry {i} has no string `{k}`"))
                })
            };
            let id = field("id")?;
            let Some(paths) = frames.get(id) else {
                continue;
            };
            let template = field("template")?.replace(['[', ']'], "");
            let label = *by_name.get(&template).ok_or_else(|| {
                DataError::parse(
                    split_json,
                    line,
                    format!(
                        "video {id}: template `{template}` is not in {}",
                        labels_json.display()
                    ),
                )
            })?;
            samples.push(Sample {
                id: id.to_string(),
                labels: Labels::Single(label),
                source: Source::Frames(paths.clone()),
            });
        }
        Ok(Self { samples, classes })
    }
}

impl Ssv2 {
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
    pub fn class_names(&self) -> Option<&[String]> {
        Some(&self.classes)
    }
}
