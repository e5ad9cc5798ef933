//! `vbench infer`: one video through an entry's whole test protocol (every view, the suite's
//! aggregation) with given weights; the top-5 classes, or in JSON every score. Same pipeline as the
//! dataset evaluation of `vbench run` (`vbench_eval::accuracy::infer`).

use super::common::{check_format, parse_device, parse_views, resolve_entry, suite_dataset};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_eval::accuracy::evaluate::WeightsSource;
use vbench_eval::accuracy::infer::{infer, InferOptions};
use vbench_eval::variants::int8::check_int8_model;
use vbench_eval::variants::Int8Source;
use vbench_eval::weights::default_dir;
use vbench_models::variant::check_device;
use vbench_report::tables::infer::table;
use vbench_suite::Variant;

#[derive(clap::Args)]
pub struct Args {
    /// The entry: an id like k400/x3d_xs, or a name with --suite.
    #[arg(long, required_unless_present = "model", conflicts_with = "model")]
    entry: Option<String>,
    /// The suite of --entry (a built-in name or a .toml) [default: the id's prefix].
    #[arg(long, conflicts_with = "model")]
    suite: Option<String>,
    /// `--model F --protocol E`: one's own TorchScript file under E's whole protocol instead of
    /// an entry.
    #[command(flatten)]
    own: super::common::OwnModelArgs,
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
    threads: Option<usize>,
    /// Speed variants, comma-separated (fp32, bf16, bf16-cast, channels-last, folded-bn, int8,
    /// fp16): the video through each in turn; JSON: one inference per variant.
    #[arg(long, value_name = "LIST")]
    variant: Option<String>,
    /// The int8 variant's model: a TorchScript file of the same network quantized for QNNPACK
    /// [default: the entry's published int8 file, if cached].
    #[arg(long, value_name = "FILE", requires = "variant")]
    int8_model: Option<PathBuf>,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    check_format(&args.format, &["table", "json"])?;
    let device = parse_device(&args.device)?;
    let (entry, dataset) = match (args.own.entry(device)?, &args.entry) {
        (Some((e, d)), _) => (e, Some(d)),
        (None, Some(id)) => {
            let e = resolve_entry(args.suite.as_deref(), id)?;
            let d = suite_dataset(args.suite.as_deref(), &e);
            (e, d)
        }
        (None, None) => anyhow::bail!("--entry or --model is required"),
    };
    let views = args.views.as_deref().map(parse_views).transpose()?;
    let variants = match &args.variant {
        Some(list) => super::latency::parse_variants(list)?,
        None => vec![Variant::Fp32],
    };
    for &v in &variants {
        check_device(v, device)?;
    }
    check_int8_model(args.int8_model.as_deref(), &variants)?;
    let weights_dir = args.weights_dir.unwrap_or_else(default_dir);
    let mut opts = InferOptions {
        dataset,
        entry,
        video: args.video,
        views,
        weights: match args.weights {
            Some(w) => WeightsSource::File(w),
            None => WeightsSource::Cache(weights_dir.clone()),
        },
        class_names: args.class_names,
        top: args.top,
        device,
        batch: args.batch,
        threads: args.threads,
        variant: Variant::Fp32,
        int8: Int8Source {
            file: args.int8_model,
            weights_dir: Some(weights_dir),
        },
    };
    if args.variant.is_none() {
        let inference = infer(&opts)?;
        if let Some(n) = &inference.weights.note {
            eprintln!("{n}");
        }
        match args.format.as_str() {
            "json" => println!("{}", serde_json::to_string_pretty(&inference)?),
            _ => print!("{}", table(&inference)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    // One inference per variant; one that cannot run is named and the others go on.
    let (mut all, mut failed) = (Vec::new(), false);
    for v in variants {
        opts.variant = v;
        match infer(&opts) {
            Ok(i) => {
                if let Some(n) = &i.weights.note {
                    eprintln!("{n}");
                }
                if args.format != "json" {
                    print!("{}", table(&i));
                }
                all.push(i);
            }
            Err(e) => {
                eprintln!("vbench infer: variant {v}: {e}");
                failed = true;
            }
        }
    }
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
