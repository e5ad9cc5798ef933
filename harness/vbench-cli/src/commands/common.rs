//! What the commands share: parsing a device, an entry or a views spec, showing a run's outcome
//! on the terminal, and pairing two runs' predictions (gate, compare).

use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vbench_eval::model::own_model_plan;
use vbench_eval::run::options::OwnModel;
use vbench_eval::run::status::{RunStatus, EXIT_INCOMPLETE};
use vbench_report::exporter;
use vbench_report::pairing::{pair_runs, PairingSpec, RunAt, RunPairing};
use vbench_report::tables::accuracy::accuracy_lines;
use vbench_report::Policy;
use vbench_results::predictions::Header;
use vbench_results::{AccuracyResult, Measure, Results};
use vbench_suite::{find_entry, load_suite, Dataset, Entry, Plan};

/// `--model F --protocol E`: one's own TorchScript file under a zoo entry's whole protocol,
/// without a suite file.
#[derive(clap::Args, Debug, Clone)]
pub struct OwnModelArgs {
    /// A TorchScript file (torch.jit.script or torch.jit.trace) returning raw logits; needs
    /// --protocol, replaces --suite.
    #[arg(long, requires = "protocol")]
    pub model: Option<PathBuf>,
    /// The zoo entry whose whole protocol --model runs under, e.g. k400/x3d_m.
    #[arg(long, requires = "model")]
    pub protocol: Option<String>,
}

impl OwnModelArgs {
    pub fn model(&self) -> Option<OwnModel> {
        Some(OwnModel {
            file: self.model.clone()?,
            protocol: self.protocol.clone()?,
        })
    }

    /// The one-entry plan of `--model F --protocol E`, if given, with the class count the
    /// file's forward returns on `device`.
    pub fn plan(&self, device: tch::Device) -> Result<Option<Plan>> {
        match self.model() {
            Some(m) => Ok(Some(own_model_plan(&m.file, &m.protocol, device)?)),
            None => Ok(None),
        }
    }

    /// The entry of `--model F --protocol E` and its dataset, if given.
    pub fn entry(&self, device: tch::Device) -> Result<Option<(Entry, Dataset)>> {
        Ok(self
            .plan(device)?
            .map(|p| (p.entries[0].clone(), p.suite.dataset)))
    }
}

/// `cpu`, `cuda` or `cuda:<i>`, not yet checked against what libtorch sees.
pub fn device_flag(s: &str) -> Result<tch::Device> {
    Ok(match s {
        "cpu" => tch::Device::Cpu,
        "cuda" => tch::Device::Cuda(0),
        _ => match s.strip_prefix("cuda:").and_then(|i| i.parse().ok()) {
            Some(i) => tch::Device::Cuda(i),
            None => bail!("unknown --device `{s}`; use cpu, cuda or cuda:<index>"),
        },
    })
}

/// [`device_flag`], and a CUDA device libtorch cannot see is refused here, before any work.
pub fn parse_device(s: &str) -> Result<tch::Device> {
    let device = device_flag(s)?;
    vbench_eval::timing::latency::check_device(device)?;
    Ok(device)
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

/// The dataset of an entry's suite (`suite`, else the id's prefix), if the suite loads.
pub fn suite_dataset(suite: Option<&str>, entry: &Entry) -> Option<Dataset> {
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

/// Refuses a `--format` outside `allowed`.
pub fn check_format(format: &str, allowed: &[&str]) -> Result<()> {
    if !allowed.contains(&format) {
        let n = allowed.len();
        let list = match allowed {
            [one] => one.to_string(),
            _ => format!("{} or {}", allowed[..n - 1].join(", "), allowed[n - 1]),
        };
        bail!("unknown --format `{format}`; use {list}");
    }
    Ok(())
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

/// The markdown report of a run or merge on stdout, and where its files are.
/// The exit code of a finished run or merge: 0, or 3 with one line on stderr naming every
/// requested measurement that produced no result.
pub fn exit_code(status: &RunStatus) -> ExitCode {
    match status.summary() {
        None => ExitCode::SUCCESS,
        Some(line) => {
            eprintln!("vbench: {line}");
            ExitCode::from(EXIT_INCOMPLETE as u8)
        }
    }
}

pub fn print_summary(results: &Results, out: &Path) -> Result<()> {
    let markdown = exporter("markdown").ok_or_else(|| anyhow!("markdown exporter"))?;
    println!("{}", markdown.render(results)?);
    println!(
        "wrote {} and {}",
        out.join("results.json").display(),
        out.join("report.html").display()
    );
    Ok(())
}

/// Class names of a predictions file's dataset, in label order: the label map of an AVA file,
/// else the names built into its format when the model has that many classes (Kinetics-400's).
pub fn class_names(h: &Header) -> Option<Vec<String>> {
    if let Some(map) = &h.label_map {
        return Some(map.iter().map(|(_, n)| n.clone()).collect());
    }
    let names = vbench_data::datasets::format_named(&h.dataset.name)?.builtin_class_names()?;
    (h.num_classes == names.len()).then_some(names)
}

/// Pairs every entry with accuracy on both sides, as `policy` says (metrics, bootstrap).
pub fn pair(
    baseline: (&Results, &Path),
    candidate: (&Results, &Path),
    policy: &Policy,
) -> RunPairing {
    let spec = PairingSpec {
        metrics: policy.accuracy.judged(),
        bootstrap: policy.accuracy.bootstrap(),
        class_names: &class_names,
    };
    pair_runs(
        RunAt {
            results: baseline.0,
            path: baseline.1,
        },
        RunAt {
            results: candidate.0,
            path: candidate.1,
        },
        &spec,
    )
}
