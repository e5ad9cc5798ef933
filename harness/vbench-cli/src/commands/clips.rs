//! `vbench clips`: writes what the model sees for every view of one video (normalized float
//! tensors per pathway and the frame numbers chosen) to a safetensors file, for inspection or a
//! comparison with another pipeline. Names: `clip03.crop1.fast` and `clip03.crop1.fast.frame_indices`.

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_data::{extract_views, view_tensor_name, write_views_safetensors};

#[derive(clap::Args)]
pub struct Args {
    /// The entry whose protocol applies: an id like k400/x3d_xs, or a name with --suite.
    #[arg(long)]
    entry: String,
    /// The suite of --entry (a built-in name or a .toml) [default: the id's prefix].
    #[arg(long)]
    suite: Option<String>,
    /// The video file.
    video: PathBuf,
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
    let mut entry = super::infer::resolve_entry(args.suite.as_deref(), &args.entry)?;
    if let Some(v) = &args.views {
        let (t, c) = super::infer::parse_views(v)?;
        entry.protocol.temporal_clips = t;
        entry.protocol.spatial_crops = c;
    }
    let views = extract_views(&args.video, &entry.protocol)?;
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
        args.video.display(),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
