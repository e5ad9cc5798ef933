//! Charades: the frame list with `"a,b,c"` per-frame labels; a video's labels are the union over
//! its frames (PyTorchVideo's `charades._read_video_paths_and_labels`).

use super::{read_frame_list, Labels, Sample, Source, VideoDataset};
use crate::error::{DataError, Result};
use std::collections::BTreeSet;
use std::path::Path;

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

impl VideoDataset for Charades {
    fn name(&self) -> &str {
        "charades"
    }
    fn samples(&self) -> &[Sample] {
        &self.samples
    }
}
