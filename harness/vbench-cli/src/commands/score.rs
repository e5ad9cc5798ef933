//! `vbench score`: metrics recomputed offline from a predictions file (JSON Lines, see
//! `docs/predictions.md`), plus the accuracy display helpers `run` shares (progress bar, summary).

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_eval::evaluate::Progress;
use vbench_results::predictions::{score_file, Scored};
use vbench_results::{AccuracyDetails, AccuracyResult, Measure};
use vbench_suite::Aggregation;

#[derive(clap::Args)]
pub struct Args {
    /// A predictions file written by `vbench run --data-root` (out/<suite>/predictions/<entry>.jsonl).
    #[arg(long)]
    predictions: PathBuf,
    /// With --entry: the suite the entry belongs to (a built-in name or a .toml).
    #[arg(long)]
    suite: Option<String>,
    /// Check that the file was written for this entry (an id like k400/x3d_xs, or a name with --suite).
    #[arg(long)]
    entry: Option<String>,
    /// Aggregate the views with this method instead of the protocol's (sum or max).
    #[arg(long)]
    aggregation: Option<String>,
    #[arg(long, default_value = "table")]
    format: String,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let aggregation = match args.aggregation.as_deref() {
        None => None,
        Some("sum") => Some(Aggregation::Sum),
        Some("max") => Some(Aggregation::Max),
        Some(other) => bail!("unknown --aggregation `{other}`; use sum or max"),
    };
    if !matches!(args.format.as_str(), "table" | "json") {
        bail!("unknown --format `{}`; use table or json", args.format);
    }
    let scored = score_file(&args.predictions, aggregation)?;
    if let Some(e) = &args.entry {
        let entry = super::infer::resolve_entry(args.suite.as_deref(), e)?;
        if scored.header.entry != entry.id {
            bail!(
                "{}: written for {}, not {}",
                args.predictions.display(),
                scored.header.entry,
                entry.id
            );
        }
        if scored.header.protocol != entry.protocol {
            bail!(
                "{}: its protocol differs from {}'s in the suite: {}",
                args.predictions.display(),
                entry.id,
                serde_json::to_string(&scored.header.protocol)?
            );
        }
    }
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&json(&scored))?);
    } else {
        print_scored(&scored);
    }
    Ok(ExitCode::SUCCESS)
}

fn json(s: &Scored) -> serde_json::Value {
    serde_json::json!({
        "entry": s.header.entry,
        "aggregation": s.header.protocol.aggregation,
        "accuracy": s.accuracy,
        "video_topk": s.video_topk,
        "clip_topk": s.clip_topk,
        "not_reached": s.not_reached,
        "torn_tail": s.torn_tail,
    })
}

fn print_scored(s: &Scored) {
    println!(
        "{} ({} videos in the list, weights {} sha256 {})",
        s.header.entry,
        s.header.dataset.videos,
        s.header.weights.file,
        short(&s.header.weights.sha256)
    );
    for line in accuracy_lines(&s.accuracy, &s.accuracy.details.clone().unwrap_or_default()) {
        println!("  {line}");
    }
    if s.not_reached > 0 {
        println!(
            "  incomplete: {} videos have no record yet (resume the run to finish)",
            s.not_reached
        );
    }
    if s.torn_tail {
        println!("  a torn last line (an interrupted write) was ignored");
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

fn ci(v: Option<(f64, f64)>) -> String {
    v.map_or(String::new(), |(lo, hi)| format!(" [{lo:.2}, {hi:.2}]"))
}

/// The accuracy summary, one line each: metrics, then why videos were not scored.
pub fn accuracy_lines(a: &AccuracyResult, d: &AccuracyDetails) -> Vec<String> {
    let mut out = vec![format!(
        "{} videos scored, {} failed{}",
        a.videos,
        a.failed_videos,
        if d.unknown_label_videos > 0 {
            format!(", {} without a label", d.unknown_label_videos)
        } else {
            String::new()
        }
    )];
    if a.map.is_some() {
        out.push(format!("mAP {}", pct(a.map)));
    }
    // AVA: the per-class APs behind the frame-mAP (classes without ground truth show "-").
    for c in &d.per_class_ap {
        out.push(format!(
            "  AP {:>5}  {:>3} {} ({} ground-truth boxes)",
            pct(c.ap),
            c.id,
            c.name,
            c.gt
        ));
    }
    if a.top1.is_some() {
        out.push(format!(
            "video top-1 {}{}  top-5 {}{}",
            pct(a.top1),
            ci(a.top1_ci95),
            pct(a.top5),
            ci(a.top5_ci95)
        ));
        out.push(format!(
            "clip  top-1 {}  top-5 {}  ({} views)",
            pct(a.clip_top1),
            pct(a.clip_top5),
            d.clip_views
        ));
    }
    for g in &d.failures {
        out.push(format!("{} {}:", g.count, g.kind));
        for e in &g.examples {
            out.push(format!("  {e}"));
        }
        if g.count as usize > g.examples.len() {
            out.push(format!(
                "  … and {} more",
                g.count as usize - g.examples.len()
            ));
        }
    }
    if let Some(t) = &d.timing {
        out.push(format!(
            "{} views in {:.1} s ({:.2} views/s, batch {}, {} decoder threads): decode busy {:.1} s, \
             inference busy {:.1} s, inference waited {:.1} s",
            t.views,
            t.wall_s,
            t.views_per_s,
            t.batch,
            t.decode_threads,
            t.decode_busy_s,
            t.inference_busy_s,
            t.inference_wait_s
        ));
    }
    out
}

/// Prints an entry's accuracy outcome under `prefix`.
pub fn print_accuracy(prefix: &str, m: &Measure<AccuracyResult>) {
    match m {
        Measure::Measured { value } => {
            let d = value.details.clone().unwrap_or_default();
            for line in accuracy_lines(value, &d) {
                eprintln!("{prefix}: {line}");
            }
        }
        Measure::Skipped { reason } => eprintln!("{prefix}: accuracy skipped: {reason}"),
        Measure::NotImplemented { reason } => {
            eprintln!("{prefix}: accuracy not implemented: {reason}")
        }
        Measure::Failed { error } => eprintln!("{prefix}: accuracy failed: {error}"),
    }
}

/// A progress handler for `measure_accuracy`: a bar with ETA over the entry's videos (hidden when
/// stderr is not a terminal), notes printed above it.
pub fn progress_bar(prefix: &str) -> impl FnMut(Progress) + '_ {
    let mut bar: Option<ProgressBar> = None;
    move |p| match p {
        Progress::Start { total, done } => {
            let b = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix} {bar:30} {pos}/{len} videos {per_sec} elapsed {elapsed} ETA {eta}",
            ) {
                b.set_style(style);
            }
            b.set_prefix(prefix.to_string());
            b.set_position(done as u64);
            // The rate must count this session's videos only.
            b.reset_eta();
            bar = Some(b);
        }
        Progress::Video { failure } => {
            if let Some(f) = failure {
                let line = format!("{prefix}: {} {}: {}", f.kind.as_str(), f.id, f.message);
                match &bar {
                    Some(b) => b.suspend(|| eprintln!("{line}")),
                    None => eprintln!("{line}"),
                }
            }
            if let Some(b) = &bar {
                b.inc(1);
                if b.position() >= b.length().unwrap_or(0) {
                    b.finish_and_clear();
                }
            }
        }
        Progress::Note(line) => match &bar {
            Some(b) => b.suspend(|| eprintln!("{prefix}: {line}")),
            None => eprintln!("{prefix}: {line}"),
        },
    }
}
