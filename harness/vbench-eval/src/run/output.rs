//! The run folder and its `results.json`: how a run's [`Results`] is put together (here and only
//! here: the suite summary, an entry before its measurements, what a resume keeps, the finish),
//! saved atomically after every entry, and the `report.html` rendered from it.

use crate::provenance;
use crate::run::lock::{LockError, OutLock, Owner};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vbench_report::{exporter, ReportError};
use vbench_results::{
    load_results, save_results, write_atomic, EntryResult, Measure, ModelFile, Provenance,
    Published, Results, ResultsError, SuiteSummary, SCHEMA_VERSION,
};
use vbench_suite::{Checkpoint, Entry, ModelSource, Plan};

pub const RESULTS: &str = "results.json";
pub const REPORT: &str = "report.html";

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("--out {dir}: cannot create directory")]
    Create {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--out {dir}: not writable")]
    NotWritable {
        dir: PathBuf,
        #[source]
        source: ResultsError,
    },
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error(transparent)]
    Results(#[from] ResultsError),
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// A run's output folder, locked for this process ([`OutLock`]) while any clone of it lives.
#[derive(Debug, Clone)]
pub struct RunFolder {
    dir: PathBuf,
    lock: Arc<OutLock>,
}

impl RunFolder {
    /// Creates `dir`, locks it (a second run or merge into it is refused, naming the host and
    /// pid that hold it) and proves it writable before any work starts.
    pub fn prepare(dir: &Path) -> Result<RunFolder, OutputError> {
        std::fs::create_dir_all(dir).map_err(|source| OutputError::Create {
            dir: dir.to_path_buf(),
            source,
        })?;
        let lock = Arc::new(OutLock::acquire(dir)?);
        let probe = dir.join(".vbench-write-probe");
        write_atomic(&probe, b"ok").map_err(|source| OutputError::NotWritable {
            dir: dir.to_path_buf(),
            source,
        })?;
        let _ = std::fs::remove_file(probe);
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lock of a process that died on this host, which this run took over (a resume after
    /// `kill -9`), if any.
    pub fn took_over(&self) -> Option<&Owner> {
        self.lock.took_over.as_ref()
    }

    pub fn results_path(&self) -> PathBuf {
        self.dir.join(RESULTS)
    }

    pub fn report_path(&self) -> PathBuf {
        self.dir.join(REPORT)
    }

    /// Entries of a previous run into this folder that can be kept: same suite and protocol, and
    /// neither params nor latency failed.
    pub fn resumable(&self, plan: &Plan) -> Vec<EntryResult> {
        let Ok(old) = load_results(&self.results_path()) else {
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

    /// results.json, atomically.
    pub fn save(&self, results: &Results) -> Result<(), OutputError> {
        Ok(save_results(&self.results_path(), results)?)
    }

    /// report.html, atomically.
    pub fn write_report(&self, results: &Results) -> Result<(), OutputError> {
        let html = render_report(results)?;
        Ok(write_atomic(&self.report_path(), html.as_bytes())?)
    }
}

/// The HTML report of `results`.
pub fn render_report(results: &Results) -> Result<String, ReportError> {
    exporter("html")
        .ok_or_else(|| ReportError::Other("no html exporter".into()))?
        .render(results)
}

/// A run of `plan` with no entry yet.
pub fn new_results(plan: &Plan, provenance: Provenance) -> Results {
    Results {
        schema_version: SCHEMA_VERSION,
        suite: SuiteSummary {
            name: plan.suite.name.clone(),
            title: plan.suite.title.clone(),
            dataset: format!("{:?}", plan.suite.dataset).to_lowercase(),
            task: format!("{:?}", plan.suite.task).to_lowercase(),
            source: plan.source.display().to_string(),
            description: plan.suite.description.clone(),
        },
        provenance,
        entries: Vec::new(),
    }
}

/// The run's provenance: this host and libraries, the command, and the thread count asked for
/// next to the one in effect.
pub fn run_provenance(command: Vec<String>, threads: Option<usize>) -> Provenance {
    let mut p = provenance::collect(command);
    p.threads_requested = threads;
    p
}

/// Marks the run finished.
pub fn finish(results: &mut Results) {
    results.provenance.finished_at = Some(provenance::now_utc());
}

/// The user's file behind `e`'s numbers: its TorchScript file or its own checkpoint.
fn model_file(e: &Entry) -> Option<ModelFile> {
    let path = match (&e.model, &e.checkpoint) {
        (ModelSource::TorchScript { path, .. }, _) => path,
        (_, Some(Checkpoint::Path(path))) => path,
        _ => return None,
    };
    Some(ModelFile {
        path: path.display().to_string(),
        sha256: crate::weights::sha256_file(path).unwrap_or_default(),
    })
}

/// `e` before any measurement: identity, protocol and published numbers; params and FLOPs not yet
/// counted, no latency, and accuracy skipped with how to get it (the accuracy step replaces it).
pub fn new_entry(e: &Entry) -> EntryResult {
    EntryResult {
        id: e.id.clone(),
        name: e.name.clone(),
        arch: e.model.label(),
        protocol: e.protocol.clone(),
        checkpoint_url: e
            .checkpoint
            .as_ref()
            .and_then(|c| c.url())
            .unwrap_or_default()
            .to_string(),
        protocol_from: e.protocol_from.clone(),
        model_file: model_file(e),
        published: Published::from_suite(&e.published),
        notes: e.notes.clone(),
        params: Measure::NotImplemented {
            reason: String::new(),
        },
        flops: Measure::NotImplemented {
            reason: String::new(),
        },
        accuracy: Measure::Skipped {
            reason: match e.checkpoint {
                Some(Checkpoint::Official { .. }) => {
                    "accuracy needs the dataset and the official weights: \
                     `vbench fetch --suite <suite>` then `vbench run --suite <suite> --data-root <dir>`"
                }
                _ => "accuracy needs the dataset: `vbench run --suite <suite> --data-root <dir>`",
            }
            .into(),
        },
        latency: Vec::new(),
        variants: Vec::new(),
    }
}
