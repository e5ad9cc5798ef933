//! `vbench run`: suite (or `--model F --protocol E`, one entry built on the fly) → plan → per entry
//! (params, FLOPs, latency, accuracy) → results.json after every entry (atomic) → report.html, all
//! in `vbench_eval::run::Session`. Re-running into the same --out resumes: finished entries are
//! kept.

use super::common::{device_flag, exit_code, print_summary};
use super::progress::RunDisplay;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_eval::run::options::{LatencyPlan, RunOptions};
use vbench_eval::run::session::Session;
use vbench_eval::run::shard::Shard;

#[derive(clap::Args)]
pub struct Args {
    /// A built-in suite (k400, ssv2, charades, ava, mobile) or a path to a suite .toml.
    #[arg(long, required_unless_present = "model", conflicts_with = "model")]
    suite: Option<String>,
    #[command(flatten)]
    own: super::common::OwnModelArgs,
    /// Output directory for results.json and report.html [default: out/<suite>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only these entries (names or ids); repeatable.
    #[arg(long = "entry")]
    entries: Vec<String>,
    /// Dataset root (layout per dataset: docs/datasets.md); without it accuracy is skipped (and
    /// says how to get it). Predictions go to DIR/predictions/<entry>.jsonl and resume.
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// Where official checkpoints are cached [default: the user cache dir].
    #[arg(long)]
    weights_dir: Option<PathBuf>,
    /// A checkpoint (.pyth/.safetensors) for the accuracy run (--data-root) or the variants
    /// (--variant) of a single --entry, instead of the cache's.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Views per forward in the accuracy run (views of one video only).
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Decoder threads feeding inference in the accuracy run (0: decode inline, no overlap).
    #[arg(long, default_value_t = 1)]
    decode_threads: usize,
    /// cpu or cuda[:i].
    #[arg(long, default_value = "cpu")]
    device: String,
    /// libtorch intra-op threads [default: libtorch's choice].
    #[arg(long)]
    threads: Option<usize>,
    /// Kept latency samples per entry.
    #[arg(long, default_value_t = 5)]
    latency_iters: u32,
    /// Warm-up iterations before latency samples.
    #[arg(long, default_value_t = 1)]
    latency_warmup: u32,
    /// Skip latency measurement.
    #[arg(long)]
    no_latency: bool,
    /// Ignore an existing results.json in --out instead of resuming from it.
    #[arg(long)]
    fresh: bool,
    /// Evaluate only shard i of N: the videos at list positions p with p mod N = i (merge the
    /// N output folders with `vbench merge`).
    #[arg(long, value_name = "i/N", conflicts_with = "jobs")]
    shard: Option<Shard>,
    /// Run as K local shard processes (--out DIR/shard-i each), then merge them into --out.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
    /// The videos the published numbers were measured on (the Kinetics annotation CSV or a path
    /// list): the report then says what this copy explains of the gap to the published top-1.
    #[arg(long, requires = "data_root")]
    reference_list: Option<PathBuf>,
    /// Speed variants measured beside fp32, comma-separated (fp32, bf16, bf16-cast,
    /// channels-last, folded-bn, int8, fp16) [default: the suite's `variants`]: speed against
    /// fp32 in interleaved pairs (--latency-iters pairs), and with --data-root each variant's
    /// accuracy and its paired difference from fp32.
    #[arg(long, value_name = "LIST")]
    variant: Option<String>,
    /// Fidelity of each variant on every view of the entry's protocol of the videos in DIR.
    #[arg(long, value_name = "DIR")]
    fidelity_videos: Option<PathBuf>,
    /// The int8 variant's model (one --entry): a TorchScript file of the same network quantized
    /// for QNNPACK [default: the entry's published int8 file, if cached].
    #[arg(long, value_name = "FILE")]
    int8_model: Option<PathBuf>,
    /// Clips/s against batch size 1, 2, 4, ... up to this batch, for fp32 and each variant.
    #[arg(long, value_name = "MAX_BATCH")]
    throughput: Option<i64>,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let opts = RunOptions {
        suite: args.suite.unwrap_or_default(),
        model: args.own.model(),
        entries: args.entries,
        out: args.out,
        device: device_flag(&args.device)?,
        threads: args.threads,
        latency: (!args.no_latency).then_some(LatencyPlan {
            warmup: args.latency_warmup,
            iters: args.latency_iters,
        }),
        data_root: args.data_root,
        weights_dir: args.weights_dir,
        weights: args.weights,
        batch: args.batch,
        decode_threads: args.decode_threads,
        fresh: args.fresh,
        shard: args.shard,
        jobs: args.jobs.map(|k| k as usize),
        reference_list: args.reference_list,
        variants: match &args.variant {
            Some(list) => super::latency::parse_variants(list)?,
            None => Vec::new(),
        },
        fidelity_videos: args.fidelity_videos,
        int8_model: args.int8_model,
        throughput_max_batch: args.throughput,
        command: std::env::args().collect(),
    };
    let session = Session::open(opts)?;
    let out = session.folder().dir().to_path_buf();
    let mut display = RunDisplay::default();
    let finished = session.run(&mut |e| display.show(e))?;
    print_summary(&finished.results, &out)?;
    Ok(exit_code(&finished.status))
}
