//! Charades: the frame list with `"a,b,c"` per-frame labels; a video's labels are the union over
//! its frames (PyTorchVideo's `charades._read_video_paths_and_labels`).

use super::format::{first_existing, layout_error, DatasetFormat, Listing, ManifestOptions};
use super::sample::{Labels, Sample, Source};
use super::text::read_frame_list;
use crate::error::{DataError, Result};
use crate::sampler::frames::{charades_clip_duration, FrameSampling};
use std::collections::BTreeSet;
use std::path::Path;
use vbench_suite::Protocol;

/// The Charades layout (`dataset = "charades"`).
pub struct CharadesFormat;

impl DatasetFormat for CharadesFormat {
    fn name(&self) -> &'static str {
        "charades"
    }

    fn layout(&self) -> &'static str {
        "test.csv or val.csv (the frame list, paths relative to the root)"
    }

    fn read(&self, root: &Path, _opts: &ManifestOptions) -> Result<Listing> {
        let (manifest, path) = first_existing(root, &["test.csv", "val.csv"])
            .ok_or_else(|| layout_error(self, root, "no Charades frame list"))?;
        Ok(Listing {
            manifest,
            samples: Charades::from_frame_list(&path, root)?.samples,
            ..Listing::default()
        })
    }

    fn frame_sampling(&self) -> Option<FrameSampling> {
        Some(FrameSampling::CharadesClips)
    }

    /// Ptvcharades: ((T − 1)·τ + 1) / 30 s of the input clip.
    fn clip_seconds(&self, protocol: &Protocol, what: &Path) -> Option<f64> {
        Some(charades_clip_duration(protocol, what).unwrap_or(0.0))
    }
}

#[derive(Clone, Debug)]
pub struct Charades {
    samples: Vec<Sample>,
}

impl Charades {
    /// Videos in order of first appearance; paths joined to `prefix`. Empty label fields are
    /// frames with no action.
    pub fn from_frame_list(frame_list: &Path, prefix: &Path) -> Result<Self> {
        let mut samples = Vec::new();
        for v in read_frame_list(frame_list, prefix)?.videos {
            let mut union = BTreeSet::new();
            for (line, field) in &v.labels {
                let field = field.replace('"', "");
                for tok in field.split(',').filter(|t| !t.trim().is_empty()) {
                    let label = tok.trim().parse::<i64>().map_err(|_| {
                        DataError::parse(
                            frame_list,
                            *line,
                            format!("label `{tok}` is not an integer"),
                        )
                    })?;
                    union.insert(label);
                }
            }
            samples.push(Sample {
                id: v.id,
                labels: Labels::Multi(union.into_iter().collect()),
                source: Source::Frames(v.paths),
            });
        }
        Ok(Self { samples })
    }
}

impl Charades {
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
}
