//! The predictions behind two runs, paired entry by entry for the gate and compare: each
//! results.json records its predictions file per entry; both files must exist and cover the same
//! dataset list (same sha256), or the entry is judged unpaired, with the reason.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vbench_results::metrics::registry::Metric;
use vbench_results::paired::runs::{load, pair_loaded};
use vbench_results::paired::{BootstrapSpec, PairOptions, PairedRuns};
use vbench_results::predictions::Header;
use vbench_results::Results;

/// One entry's pairing: its paired comparison, or why there is none.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Pairing {
    Paired(Box<PairedRuns>),
    Unpaired { reason: String },
}

/// Every common entry with accuracy on both sides, by entry id.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunPairing {
    pub entries: BTreeMap<String, Pairing>,
}

impl RunPairing {
    pub fn get(&self, entry: &str) -> Option<&Pairing> {
        self.entries.get(entry)
    }
}

/// A run and where its results.json lies (predictions paths are resolved from there).
#[derive(Clone, Copy)]
pub struct RunAt<'a> {
    pub results: &'a Results,
    pub path: &'a Path,
}

pub struct PairingSpec<'a> {
    pub metrics: Vec<&'static Metric>,
    pub bootstrap: BootstrapSpec,
    /// Class names of a predictions file's dataset, in label order, where known.
    pub class_names: &'a dyn Fn(&Header) -> Option<Vec<String>>,
}

/// Where the predictions file `recorded` in the results at `results_path` is: as recorded
/// (absolute, or relative to the working directory), relative to the results' folder, or in its
/// `predictions/` folder (a run directory that was moved).
pub fn resolve_predictions(results_path: &Path, recorded: &str) -> Result<PathBuf, String> {
    let rec = Path::new(recorded);
    let dir = results_path.parent().unwrap_or(Path::new(""));
    let mut tried = vec![rec.to_path_buf(), dir.join(rec)];
    if let Some(name) = rec.file_name() {
        tried.push(dir.join("predictions").join(name));
    }
    tried.dedup();
    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let looked: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
        format!(
            "its predictions file {recorded} is not there (looked at {})",
            looked.join(", ")
        )
    })
}

fn predictions_of(run: RunAt, entry: &str, side: &str) -> Result<PathBuf, String> {
    let acc = run
        .results
        .entries
        .iter()
        .find(|e| e.id == entry)
        .and_then(|e| e.accuracy.value());
    let recorded = acc
        .and_then(|a| a.predictions.as_deref())
        .ok_or_else(|| format!("the {side} recorded no predictions file"))?;
    resolve_predictions(run.path, recorded).map_err(|e| format!("the {side}: {e}"))
}

/// Pairs every entry measured for accuracy in both runs.
pub fn pair_runs(baseline: RunAt, candidate: RunAt, spec: &PairingSpec) -> RunPairing {
    let mut out = RunPairing::default();
    for ea in &baseline.results.entries {
        let Some(eb) = candidate.results.entries.iter().find(|e| e.id == ea.id) else {
            continue;
        };
        if ea.accuracy.value().is_none() || eb.accuracy.value().is_none() {
            continue;
        }
        let pairing = predictions_of(baseline, &ea.id, "baseline")
            .and_then(|pa| Ok((pa, predictions_of(candidate, &ea.id, "candidate")?)))
            .and_then(|(pa, pb)| {
                let la = load(&pa).map_err(|e| e.to_string())?;
                let lb = load(&pb).map_err(|e| e.to_string())?;
                let names = (spec.class_names)(&la.header);
                let opts = PairOptions {
                    metrics: spec.metrics.clone(),
                    bootstrap: spec.bootstrap,
                    class_names: names.as_deref(),
                };
                pair_loaded(&la, &lb, &opts).map_err(|e| e.to_string())
            });
        let pairing = match pairing {
            Ok(p) => Pairing::Paired(Box::new(p)),
            Err(reason) => Pairing::Unpaired { reason },
        };
        out.entries.insert(ea.id.clone(), pairing);
    }
    out
}
