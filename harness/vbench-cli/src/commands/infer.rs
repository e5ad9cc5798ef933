//! `vbench infer`: one video through an entry's whole test protocol (every view, the suite's
//! aggregation) with given weights; the top-5 classes, or in JSON every score. Same pipeline as the
//! dataset evaluation of `vbench run` (`vbench_eval::pipeline::run_videos`).

use anyhow::{anyhow, bail, Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_data::datasets::{read_class_names, Labels, Sample, Source};
use vbench_eval::evaluate::{kinetics400_classes, load_model, resolve_weights, WeightsSource};
use vbench_eval::pipeline::{run_videos, EvalOptions, VideoJob, VideoOutcome, VideoPrediction};
use vbench_eval::weights::default_dir;
use vbench_suite::{find_entry, load_suite, Dataset, Entry};

#[derive(clap::Args)]
pub struct Args {
    /// The entry: an id like k400/x3d_xs, or a name with --suite.
    #[arg(long)]
    entry: String,
    /// The suite of --entry (a built-in name or a .toml) [default: the id's prefix].
    #[arg(long)]
    suite: Option<String>,
    /// Checkpoint (.pyth or .safetensors) [default: the entry's official one from the weights cache].
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Weights cache for the default checkpoint [default: the user cache dir].
    #[arg(long)]
    weights_dir: Option<PathBuf>,
    /// The video file.
    video: PathBuf,
    /// Views as TEMPORALxSPATIAL (e.g. 10x3) instead of the protocol's.
    #[arg(long)]
    views: Option<String>,
    /// Class names, one per line in label order [default: the Kinetics-400 names for Kinetics suites].
    #[arg(long)]
    class_names: Option<PathBuf>,
    /// How many classes to list.
    #[arg(long, default_value_t = 5)]
    top: usize,
    #[arg(long, default_value = "table")]
    format: String,
    /// cpu or cuda[:i].
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Views per forward.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// libtorch intra-op threads [default: libtorch's choice].
    #[arg(long)]
    threads: Option<i32>,
}

/// `k400/x3d_xs`, or `x3d_xs` with a suite.
pub fn resolve_entry(suite: Option<&str>, entry: &str) -> Result<Entry> {
    match suite {
        Some(s) => {
            let plan = load_suite(s)?;
            plan.entry(entry)
                .cloned()
                .ok_or_else(|| anyhow!("suite `{}` has no entry `{entry}`", plan.suite.name))
        }
        None => {
            let (plan, i) = find_entry(entry)?;
            Ok(plan.entries[i].clone())
        }
    }
}

/// The dataset of an entry's suite, for the default class names.
fn suite_dataset(suite: Option<&str>, entry: &Entry) -> Option<Dataset> {
    let name = suite.or_else(|| entry.id.split('/').next())?;
    load_suite(name).ok().map(|p| p.suite.dataset)
}

/// `10x3` → (10 temporal clips, 3 spatial crops).
pub fn parse_views(s: &str) -> Result<(u32, u32)> {
    let (t, c) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| anyhow!("--views `{s}`: expected TEMPORALxSPATIAL, e.g. 10x3"))?;
    let t: u32 = t
        .trim()
        .parse()
        .ok()
        .filter(|&t| t > 0)
        .ok_or_else(|| anyhow!("--views `{s}`: temporal clips must be a positive integer"))?;
    let c: u32 = c
        .trim()
        .parse()
        .ok()
        .filter(|c| matches!(c, 1 | 3))
        .ok_or_else(|| anyhow!("--views `{s}`: spatial crops must be 1 or 3"))?;
    Ok((t, c))
}

pub fn exec(args: Args) -> Result<ExitCode> {
    if !matches!(args.format.as_str(), "table" | "json") {
        bail!("unknown --format `{}`; use table or json", args.format);
    }
    let mut entry = resolve_entry(args.suite.as_deref(), &args.entry)?;
    if entry.arch.is_detector() {
        bail!(
            "{} scores person boxes of AVA keyframes, not whole videos: run `vbench run --suite ava \
             --entry {} --data-root D` on an AVA tree (docs/datasets.md)",
            entry.id,
            entry.name
        );
    }
    if let Some(v) = &args.views {
        let (t, c) = parse_views(v)?;
        entry.protocol.temporal_clips = t;
        entry.protocol.spatial_crops = c;
    }
    if !args.video.is_file() {
        bail!("{}: no such video file", args.video.display());
    }
    let device = super::run::parse_device(&args.device)?;
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    let source = match &args.weights {
        Some(w) => WeightsSource::File(w.clone()),
        None => WeightsSource::Cache(args.weights_dir.clone().unwrap_or_else(default_dir)),
    };
    let (weights, sha256) = resolve_weights(&entry, &source)?.ok_or_else(|| {
        anyhow!(
            "checkpoint {} is not in the weights cache: run `vbench fetch --entry {}` or pass --weights",
            entry.checkpoint.file,
            entry.id
        )
    })?;
    let (_vs, model) = load_model(&entry, &weights, device)?;
    let names = match &args.class_names {
        Some(f) => Some(read_class_names(f)?),
        None if suite_dataset(args.suite.as_deref(), &entry) == Some(Dataset::Kinetics400) => {
            Some(kinetics400_classes())
        }
        None => None,
    };
    if let Some(n) = &names {
        if n.len() != entry.protocol.num_classes as usize {
            bail!(
                "{} class names for a {}-class model",
                n.len(),
                entry.protocol.num_classes
            );
        }
    }
    let sample = Sample {
        id: args.video.display().to_string(),
        labels: Labels::Single(-1),
        source: Source::Video(args.video.clone()),
    };
    let opts = EvalOptions {
        device,
        batch: args.batch,
        ..EvalOptions::default()
    };
    let mut outcome = None;
    let dataset = suite_dataset(args.suite.as_deref(), &entry).unwrap_or(Dataset::Kinetics400);
    let stats = run_videos::<anyhow::Error>(
        model.as_ref(),
        dataset,
        &entry.protocol,
        vec![VideoJob { index: 0, sample }],
        &opts,
        &mut |o| {
            outcome = Some(o);
            Ok(())
        },
    )?;
    let prediction = match outcome {
        Some(VideoOutcome::Scored(p)) => p,
        Some(VideoOutcome::Failed(f)) => bail!("{}: {}", f.id, f.message),
        None => bail!("{}: no result", args.video.display()),
    };
    let top = ranked(&prediction.scores, args.top);
    let name = |c: usize| names.as_ref().and_then(|n| n.get(c)).cloned();
    if args.format == "json" {
        let out = serde_json::json!({
            "entry": entry.id,
            "video": args.video,
            "weights": { "file": weights, "sha256": sha256 },
            "protocol": entry.protocol,
            "aggregation": entry.protocol.aggregation,
            "views": prediction.views.iter().map(|v| serde_json::json!({
                "clip": v.view.clip_index,
                "crop": v.view.spatial_index,
                "start_sec": v.view.start_sec,
                "end_sec": v.view.end_sec,
                "frame_indices": v.view.pathway_frame_indices,
                "scores": v.scores,
            })).collect::<Vec<_>>(),
            "scores": prediction.scores,
            "top": top.iter().map(|&(c, s)| serde_json::json!({
                "class": c, "name": name(c), "score": s,
            })).collect::<Vec<_>>(),
            "seconds": stats.wall_s,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&entry, &prediction, &top, &name, stats.wall_s).context("writing the table")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The `k` highest aggregated scores, ties by lower class index.
fn ranked(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.into_iter().take(k).map(|c| (c, scores[c])).collect()
}

fn print_table(
    entry: &Entry,
    p: &VideoPrediction,
    top: &[(usize, f32)],
    name: &dyn Fn(usize) -> Option<String>,
    secs: f64,
) -> Result<()> {
    let n = p.views.len().max(1) as f32;
    let how = match entry.protocol.aggregation {
        vbench_suite::Aggregation::Sum => "sum",
        vbench_suite::Aggregation::Max => "max",
    };
    println!(
        "{}: {} ({} views, {} of {:?} scores, {secs:.1} s)",
        entry.id,
        p.id,
        p.views.len(),
        how,
        entry.protocol.head_activation
    );
    println!(
        "{:>4}  {:>5}  {:>10}  {:>9}  class",
        "rank", "index", "score", "per view"
    );
    for (rank, &(c, s)) in top.iter().enumerate() {
        let per_view = match entry.protocol.aggregation {
            vbench_suite::Aggregation::Sum => s / n,
            vbench_suite::Aggregation::Max => s,
        };
        println!(
            "{:>4}  {c:>5}  {s:>10.6}  {per_view:>9.6}  {}",
            rank + 1,
            name(c).unwrap_or_default()
        );
    }
    Ok(())
}
