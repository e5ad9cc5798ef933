//! `vbench clips`: writes what the model sees for every view of one video (normalized float
//! tensors per pathway and the frame numbers chosen) to a safetensors file, for inspection or a
//! comparison with another pipeline. Names: `clip03.crop1.fast` and `clip03.crop1.fast.frame_indices`.
//! AVA detectors take a keyframe of a dataset instead of a video (`--data-root D --keyframe
//! VIDEO_ID,SSSS`); the person boxes the model gets are written as `clip00.crop0.boxes`.

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_data::datasets::{format_of, load_manifest, ManifestOptions};
use vbench_data::{extract_views, view_tensor_name, write_views_safetensors};

#[derive(clap::Args)]
pub struct Args {
    /// The entry whose protocol applies: an id like k400/x3d_xs, or a name with --suite.
    #[arg(long)]
    entry: String,
    /// The suite of --entry (a built-in name or a .toml) [default: the id's prefix].
    #[arg(long)]
    suite: Option<String>,
    /// The video file (not for AVA detectors: see --keyframe).
    video: Option<PathBuf>,
    /// AVA: the dataset root (PySlowFast's layout, docs/datasets.md).
    #[arg(long, requires = "keyframe")]
    data_root: Option<PathBuf>,
    /// AVA: the keyframe, as `video_id,SSSS` (e.g. -5KQ66BBWC4,0902).
    #[arg(long, requires = "data_root")]
    keyframe: Option<String>,
    /// Output .safetensors file.
    #[arg(long)]
    output: PathBuf,
    /// Views as TEMPORALxSPATIAL (e.g. 10x3) instead of the protocol's.
    #[arg(long)]
    views: Option<String>,
    /// What to print about the views: table or json (the full view descriptions).
    #[arg(long, default_value = "table")]
    format: String,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    if !matches!(args.format.as_str(), "table" | "json") {
        bail!("unknown --format `{}`; use table or json", args.format);
    }
    let mut entry = super::common::resolve_entry(args.suite.as_deref(), &args.entry)?;
    if let Some(v) = &args.views {
        let (t, c) = super::common::parse_views(v)?;
        entry.protocol.temporal_clips = t;
        entry.protocol.spatial_crops = c;
    }
    let (views, source) = match (&args.video, &args.data_root, &args.keyframe) {
        (Some(video), None, None) if !entry.model.is_detector() => (
            extract_views(video, &entry.protocol)?,
            video.display().to_string(),
        ),
        (None, Some(root), Some(key)) if entry.model.is_detector() => {
            let suite = entry.id.split('/').next().unwrap_or_default();
            let plan = vbench_suite::load_suite(args.suite.as_deref().unwrap_or(suite))?;
            let list = ManifestOptions::for_entry(&entry.protocol, plan.suite.split);
            let data = load_manifest(plan.suite.dataset, root, &list)?;
            let Some(sample) = data.samples.iter().find(|s| s.id == *key) else {
                bail!(
                    "{}: no keyframe `{key}` ({} keyframes; ids look like `{}`)",
                    root.display(),
                    data.samples.len(),
                    data.samples
                        .first()
                        .map_or("video_id,0902", |s| s.id.as_str())
                );
            };
            (
                format_of(plan.suite.dataset).views(sample, &entry.protocol)?,
                key.clone(),
            )
        }
        _ if entry.model.is_detector() => {
            bail!(
                "{} is an AVA detector: give --data-root D --keyframe VIDEO_ID,SSSS, not a video",
                entry.id
            )
        }
        _ => bail!("give the video file (--data-root/--keyframe are for AVA detectors)"),
    };
    if views.is_empty() {
        bail!("{source}: no person box at or above the detection threshold, so no view");
    }
    write_views_safetensors(&views, &args.output)?;
    if args.format == "json" {
        let described: Vec<_> = views.iter().map(|v| &v.view).collect();
        println!("{}", serde_json::to_string_pretty(&described)?);
    } else {
        for v in &views {
            let shapes: Vec<String> = v
                .pathways
                .iter()
                .enumerate()
                .map(|(p, t)| format!("{} {:?}", view_tensor_name(&v.view, p), t.size()))
                .collect();
            println!(
                "clip {:>2} crop {}  {:>8.3}-{:<8.3} s  frames {:?}  {}",
                v.view.clip_index,
                v.view.spatial_index,
                v.view.start_sec,
                v.view.end_sec,
                v.view.frame_indices,
                shapes.join(", ")
            );
        }
    }
    eprintln!(
        "{}: {} views of {} written to {}",
        entry.id,
        views.len(),
        source,
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
