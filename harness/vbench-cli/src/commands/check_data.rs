//! `vbench check-data --suite S --data-root D`: is the suite's dataset complete, decodable and
//! labelled within range, and which list is it (its manifest sha256)? Exit 0 when every listed
//! sample is readable, 1 when any is missing, unreadable, corrupt or mislabelled (each one named),
//! 2 when the data root has no list in the expected layout. With `--reference-list LIST` it also
//! counts what this copy lacks (videos that fail to decode count as missing) or adds against the
//! videos a published number was measured on (`vbench_results::gap`).

use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_data::check::{check_manifest, CheckOptions, DatasetCheck};
use vbench_data::datasets::{check_class_list, load_manifest, ManifestOptions};
use vbench_eval::check::reference_coverage;
use vbench_results::gap::Coverage;
use vbench_suite::load_suite;

#[derive(clap::Args)]
pub struct Args {
    /// A built-in suite (k400, ssv2, charades, ava, mobile) or a path to a suite .toml.
    #[arg(long)]
    suite: String,
    /// The dataset root, laid out as the README's "Datasets" section says.
    #[arg(long)]
    data_root: PathBuf,
    /// table or json.
    #[arg(long, default_value = "table")]
    format: String,
    /// Decode every frame (default: open, probe and decode the first --probe-frames).
    #[arg(long)]
    deep: bool,
    /// Frames (or JPEGs) decoded per video without --deep.
    #[arg(long, default_value_t = 8)]
    probe_frames: usize,
    /// Videos checked at once.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// The videos the published number was measured on: the Kinetics annotation CSV or a path
    /// list (file names `<youtube_id>_<start>_<end>.<ext>`).
    #[arg(long)]
    reference_list: Option<PathBuf>,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    if !matches!(args.format.as_str(), "table" | "json") {
        bail!("--format {}: expected table or json", args.format);
    }
    let plan = load_suite(&args.suite)?;
    let dataset = plan.suite.dataset;
    let read = ManifestOptions {
        split: plan.suite.split,
        ..ManifestOptions::default()
    };
    // A class list must fit every entry's output size (exit 2, naming the list).
    for e in &plan.entries {
        let opts = ManifestOptions {
            num_classes: Some(e.protocol.num_classes),
            ..read.clone()
        };
        check_class_list(dataset, &args.data_root, &opts)
            .with_context(|| format!("entry {}", e.id))?;
    }
    let manifest = load_manifest(dataset, &args.data_root, &read)
        .with_context(|| format!("suite {}: reading the dataset list", plan.suite.name))?;
    let opts = CheckOptions {
        deep: args.deep,
        probe_frames: args.probe_frames,
        workers: args.workers,
        ..CheckOptions::for_plan(&plan)
    };
    let tty = std::io::stderr().is_terminal();
    let progress = |done: usize, total: usize| {
        if tty && (done == total || done.is_multiple_of(25)) {
            eprint!("\rchecked {done}/{total}");
            if done == total {
                eprintln!();
            }
        }
    };
    // A bad list is bad input: refused before the (long) check.
    let list = args
        .reference_list
        .as_deref()
        .map(vbench_results::gap::read_reference_list)
        .transpose()?;
    let report = check_manifest(&manifest, &opts, &progress);
    let coverage = list
        .as_ref()
        .map(|l| reference_coverage(l, &manifest, &report));
    let mut out = std::io::stdout().lock();
    if args.format == "json" {
        let doc = serde_json::json!({
            "suite": plan.suite.name,
            "passed": report.passed(),
            "datasets": [&report],
            "reference": coverage,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        print_table(&mut out, &plan.suite.name, &report)?;
        if let Some(c) = &coverage {
            print_coverage(&mut out, c)?;
        }
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_coverage(out: &mut impl Write, c: &Coverage) -> Result<()> {
    writeln!(
        out,
        "\nreference list {} (sha256 {}): {} videos",
        c.reference_list, c.reference_sha256, c.reference_videos
    )?;
    for (name, n) in [
        ("in this copy", c.present),
        ("missing", c.missing),
        ("  not in this copy", c.absent),
        ("  failing to decode", c.unusable),
        ("extra (not listed)", c.extra),
        ("without YouTube id", c.unidentified),
    ] {
        writeln!(out, "  {name:<20} {n:>8}")?;
    }
    for (what, ex) in [
        ("not in this copy", &c.absent_examples),
        ("failing to decode", &c.unusable_examples),
        ("extra", &c.extra_examples),
    ] {
        if !ex.is_empty() {
            writeln!(out, "  e.g. {what}: {}", ex.join(", "))?;
        }
    }
    Ok(())
}

fn print_table(out: &mut impl Write, suite: &str, r: &DatasetCheck) -> Result<()> {
    writeln!(
        out,
        "suite {suite}: {} at {} ({}, {} check, JPEG decoder {})",
        r.dataset,
        r.root.display(),
        r.manifest,
        if r.deep { "deep" } else { "shallow" },
        r.jpeg_decoder
    )?;
    writeln!(out, "manifest sha256  {}", r.manifest_sha256)?;
    let counts = [
        ("listed", r.listed),
        ("found", r.found),
        ("readable", r.readable),
        ("missing", r.missing),
        ("unreadable", r.unreadable),
        ("corrupt", r.corrupt),
        ("labels out of range", r.labels_out_of_range),
        ("unlabelled", r.unlabelled),
        ("shorter than a clip", r.shorter_than_clip),
    ];
    for (name, n) in counts {
        writeln!(out, "  {name:<20} {n:>8}")?;
    }
    if !r.problems.is_empty() {
        writeln!(out)?;
        writeln!(out, "{:<19} {:>6}  {:<24} message", "kind", "#", "id")?;
        for p in &r.problems {
            let id = if p.samples > 1 {
                format!("{} (+{} keyframes)", p.id, p.samples - 1)
            } else {
                p.id.clone()
            };
            writeln!(
                out,
                "{:<19} {:>6}  {:<24} {}",
                p.kind.as_str(),
                p.position,
                id,
                p.message
            )?;
        }
    }
    writeln!(
        out,
        "\n{} ({:.1} s)",
        if r.passed() {
            "PASSED: every listed sample is readable"
        } else {
            "FAILED: some samples are missing, unreadable, corrupt or mislabelled"
        },
        r.wall_s
    )?;
    Ok(())
}
