//! `vbench run`: suite → plan → per entry (params, FLOPs, latency, accuracy) → results.json after every
//! entry (atomic) → report.html. Re-running into the same --out resumes: finished entries are kept.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use vbench_eval::evaluate::{AccuracyOptions, WeightsSource};
use vbench_eval::latency::LatencyOptions;
use vbench_eval::pipeline::EvalOptions;
use vbench_eval::runner::{measure_entry_with_accuracy, RunOptions};
use vbench_report::exporter;
use vbench_results::{
    load_results, save_results, write_atomic, EntryResult, Results, SuiteSummary,
};
use vbench_suite::{load_suite, Plan};

#[derive(clap::Args)]
pub struct Args {
    /// A built-in suite (k400, ssv2, charades, ava, mobile) or a path to a suite .toml.
    #[arg(long)]
    suite: String,
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
    /// A checkpoint (.pyth/.safetensors) for the accuracy run of a single --entry, instead of the cache's.
    #[arg(long, requires = "data_root")]
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
    threads: Option<i32>,
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
    shard: Option<vbench_eval::shard::Shard>,
    /// Run as K local shard processes (--out DIR/shard-i each), then merge them into --out.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
}

/// `cpu`, `cuda` or `cuda:<i>`; a CUDA device libtorch cannot see is refused here, before any work.
pub fn parse_device(s: &str) -> Result<tch::Device> {
    let device = match s {
        "cpu" => tch::Device::Cpu,
        "cuda" => tch::Device::Cuda(0),
        _ => match s.strip_prefix("cuda:").and_then(|i| i.parse().ok()) {
            Some(i) => tch::Device::Cuda(i),
            None => bail!("unknown --device `{s}`; use cpu, cuda or cuda:<index>"),
        },
    };
    vbench_eval::latency::check_device(device)?;
    Ok(device)
}

/// Creates `dir` and proves it writable before any work starts.
fn prepare_out(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {}: cannot create directory", dir.display()))?;
    write_atomic(&dir.join(".vbench-write-probe"), b"ok")
        .with_context(|| format!("--out {}: not writable", dir.display()))?;
    let _ = std::fs::remove_file(dir.join(".vbench-write-probe"));
    Ok(())
}

/// Entries of a previous run into the same directory that can be kept (same suite and protocol, not failed).
fn resumable(path: &Path, plan: &Plan) -> Vec<EntryResult> {
    let Ok(old) = load_results(path) else {
        return Vec::new();
    };
    if old.suite.name != plan.suite.name {
        return Vec::new();
    }
    old.entries
        .into_iter()
        .filter(|r| {
            plan.entries
                .iter()
                .any(|e| e.id == r.id && e.protocol == r.protocol)
                && r.params.status() != "failed"
                && r.latency.iter().all(|l| l.status() != "failed")
        })
        .collect()
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let plan = load_suite(&args.suite)?;
    let selected: Vec<_> = plan
        .entries
        .iter()
        .filter(|e| {
            args.entries.is_empty() || args.entries.iter().any(|n| *n == e.name || *n == e.id)
        })
        .collect();
    if selected.is_empty() {
        bail!(
            "no entry of suite `{}` matches --entry {:?}",
            plan.suite.name,
            args.entries
        );
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&plan.suite.name));
    prepare_out(&out)?;
    if let Some(shard) = args.shard {
        super::merge::record_shard(&out, shard, &plan, &selected, args.fresh)?;
    }
    let device = parse_device(&args.device)?;
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    let opts = RunOptions {
        device,
        latency: (!args.no_latency).then(|| LatencyOptions {
            device,
            threads: tch::get_num_threads() as i64,
            warmup: args.latency_warmup,
            iters: args.latency_iters,
            max_time: Duration::from_secs(300),
            ..LatencyOptions::default()
        }),
        data_root: args.data_root.clone(),
        weights_dir: args.weights_dir.clone(),
    };

    if args.weights.is_some() && selected.len() != 1 {
        bail!("--weights needs exactly one --entry (other entries have other checkpoints)");
    }
    if let Some(jobs) = args.jobs.filter(|&k| k > 1) {
        let threads_given = args.threads.is_some();
        return super::merge::run_jobs(jobs as usize, &out, &selected, &opts, threads_given);
    }
    let accuracy = args.data_root.as_ref().map(|root| AccuracyOptions {
        dataset: plan.suite.dataset,
        suite: args.suite.clone(),
        data_root: root.clone(),
        weights: match &args.weights {
            Some(f) => WeightsSource::File(f.clone()),
            None => WeightsSource::Cache(
                args.weights_dir
                    .clone()
                    .unwrap_or_else(vbench_eval::weights::default_dir),
            ),
        },
        out_dir: out.clone(),
        fresh: args.fresh,
        eval: EvalOptions {
            device,
            batch: args.batch,
            decode_threads: args.decode_threads,
            ..EvalOptions::default()
        },
        shard: args.shard.unwrap_or_default(),
    });

    let results_path = out.join("results.json");
    let mut previous = if args.fresh {
        Vec::new()
    } else {
        resumable(&results_path, &plan)
    };
    // With data, entries whose accuracy was skipped or failed are measured again (their
    // predictions file resumes).
    if accuracy.is_some() {
        previous.retain(|r| !matches!(r.accuracy.status(), "skipped" | "failed"));
    }
    let mut results = Results {
        schema_version: vbench_results::SCHEMA_VERSION,
        suite: SuiteSummary {
            name: plan.suite.name.clone(),
            title: plan.suite.title.clone(),
            dataset: format!("{:?}", plan.suite.dataset).to_lowercase(),
            task: format!("{:?}", plan.suite.task).to_lowercase(),
            source: plan.source.display().to_string(),
            description: plan.suite.description.clone(),
        },
        provenance: vbench_eval::provenance::collect(std::env::args().collect()),
        entries: Vec::new(),
    };
    for (i, entry) in selected.iter().enumerate() {
        let prefix = format!("[{}/{}] {}", i + 1, selected.len(), entry.id);
        if let Some(done) = previous.iter().find(|r| r.id == entry.id) {
            eprintln!("{prefix}: kept from the previous run in {}", out.display());
            results.entries.push(done.clone());
            continue;
        }
        eprintln!("{prefix}: measuring");
        let mut progress = crate::commands::score::progress_bar(&prefix);
        let r = measure_entry_with_accuracy(entry, &opts, accuracy.as_ref(), &mut progress);
        if accuracy.is_some() {
            crate::commands::score::print_accuracy(&prefix, &r.accuracy);
        }
        eprintln!(
            "{prefix}: params {}, FLOPs {}, latency {}, accuracy {}",
            r.params.status(),
            r.flops.status(),
            r.latency.first().map_or("off", |l| l.status()),
            r.accuracy.status()
        );
        results.entries.push(r);
        save_results(&results_path, &results)?;
    }
    results.provenance.finished_at = Some(vbench_eval::provenance::now_utc());
    save_results(&results_path, &results)?;
    let html = exporter("html")
        .context("html exporter")?
        .render(&results)?;
    write_atomic(&out.join("report.html"), html.as_bytes())?;
    println!(
        "{}",
        exporter("markdown")
            .context("markdown exporter")?
            .render(&results)?
    );
    println!(
        "wrote {} and {}",
        results_path.display(),
        out.join("report.html").display()
    );
    Ok(ExitCode::SUCCESS)
}
