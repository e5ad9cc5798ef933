//! A run as a library object. [`Session::open`] loads the suite and selects its entries, prepares
//! the run folder, records the shard and applies the thread count; [`Session::run`] measures every
//! entry a previous run into the same folder did not leave finished ([`measure`]), saving
//! results.json after each ([`output`]), then finishes it and the report. With `jobs` it runs the
//! shards as local processes and merges them instead ([`jobs`]).
//!
//! The session reports what it does as [`Event`]s; it prints nothing.
//!
//! [`measure`]: crate::run::measure
//! [`output`]: crate::run::output
//! [`jobs`]: crate::run::jobs

use crate::accuracy::evaluate::{AccuracyOptions, WeightsSource, WriteFailed};
use crate::accuracy::pipeline::EvalOptions;
use crate::model::{load_model, LoadError};
use crate::run::event::{At, Event};
use crate::run::jobs::{self, JobsError};
use crate::run::measure::{measure_entry, MeasureOptions, VariantStep};
use crate::run::merge::MergeError;
use crate::run::options::RunOptions;
use crate::run::output::{self, OutputError, RunFolder};
use crate::run::shard::{Shard, ShardError, ShardManifest};
use crate::run::status::Finished;
use crate::timing::latency::{check_device, LatencyError, LatencyOptions};
use crate::timing::{set_threads, BadThreads};
use crate::variants::speed::PairOptions;
use crate::variants::throughput::ThroughputOptions;
use crate::variants::{FidelityPlan, Int8Source, SpeedPlan, VariantOptions};
use crate::weights;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vbench_data::datasets::{check_class_list, ManifestOptions};
use vbench_data::DataError;
use vbench_models::VideoModel;
use vbench_results::gap::{explain_file, read_reference_list, GapError, ReferenceList};
use vbench_results::{EntryResult, Measure, Results};
use vbench_suite::{Entry, ModelSource, Plan, SuiteError};

/// A latency measurement inside a run stops after this long, whatever it collected.
const LATENCY_MAX_TIME: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Suite(#[from] SuiteError),
    #[error("no entry of suite `{suite}` matches --entry {entries:?}")]
    NoEntry { suite: String, entries: Vec<String> },
    #[error(transparent)]
    Device(#[from] LatencyError),
    #[error(transparent)]
    Threads(#[from] BadThreads),
    #[error("--weights needs exactly one --entry (other entries have other checkpoints)")]
    WeightsNeedOneEntry,
    /// One's own model that cannot run the entry's protocol: refused before anything is written.
    #[error(transparent)]
    Model(#[from] LoadError),
    #[error(transparent)]
    OwnPlan(#[from] crate::model::OwnPlanError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Shard(#[from] ShardError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(transparent)]
    Jobs(#[from] JobsError),
    #[error(transparent)]
    ReferenceList(#[from] GapError),
    #[error("--reference-list does not combine with --shard or --jobs: a shard holds part of the list (run `vbench score --reference-list` on the merged predictions)")]
    ReferenceListSharded,
    /// The dataset's class list does not fit an entry's output size (or cannot be read).
    #[error("entry {entry}: --data-root {}", root.display())]
    ClassList {
        entry: String,
        root: PathBuf,
        #[source]
        source: DataError,
    },
    #[error(transparent)]
    Write(#[from] WriteFailed),
    #[error(transparent)]
    Variant(#[from] vbench_models::variant::VariantError),
    #[error("{0}")]
    Variants(String),
}

/// An opened run, ready to measure.
pub struct Session {
    plan: Plan,
    opts: RunOptions,
    /// `--reference-list`, read before any work.
    reference: Option<ReferenceList>,
    entries: Vec<Entry>,
    folder: RunFolder,
    /// TorchScript models loaded (and probed) by `open`, by entry id, used by the measurement.
    preloaded: HashMap<String, Box<dyn VideoModel>>,
}

impl Session {
    /// Loads the suite, selects the entries, prepares the run folder (created and proved
    /// writable before any work), records the shard, refuses a device libtorch cannot see and
    /// applies the thread count on this thread, the one that will measure.
    pub fn open(opts: RunOptions) -> Result<Session, RunError> {
        let plan = opts.plan()?;
        let entries: Vec<Entry> = plan
            .entries
            .iter()
            .filter(|e| {
                opts.entries.is_empty() || opts.entries.iter().any(|n| *n == e.name || *n == e.id)
            })
            .cloned()
            .collect();
        if entries.is_empty() {
            return Err(RunError::NoEntry {
                suite: plan.suite.name.clone(),
                entries: opts.entries.clone(),
            });
        }
        check_device(opts.device)?;
        // OpenMP's count is per OS thread: this is the thread that measures.
        set_threads(opts.threads)?;
        if opts.weights.is_some() && entries.len() != 1 {
            return Err(RunError::WeightsNeedOneEntry);
        }
        if opts.int8_model.is_some() && entries.len() != 1 {
            return Err(RunError::Variants(
                "--int8-model needs exactly one --entry (other entries have other networks)".into(),
            ));
        }
        if opts.reference_list.is_some() && (opts.shard.is_some() || opts.jobs.is_some()) {
            return Err(RunError::ReferenceListSharded);
        }
        let reference = opts
            .reference_list
            .as_deref()
            .map(read_reference_list)
            .transpose()?;
        let mut opts = opts;
        if opts.variants.is_empty() {
            opts.variants = plan.suite.variants.clone();
        }
        check_variants(&opts)?;
        // One's own models are loaded and run on one view before anything is written: a file
        // that is not TorchScript, needs CUDA or rejects the protocol is bad input, not a result.
        let preloaded = preflight(&entries, opts.device)?;
        if let Some(root) = &opts.data_root {
            check_classes(&plan, &entries, root)?;
        }
        let out = opts
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("out").join(&plan.suite.name));
        let folder = RunFolder::prepare(&out)?;
        if let Some(shard) = opts.shard {
            record_shard(&out, shard, &plan, &entries, opts.fresh)?;
        }
        Ok(Session {
            plan,
            opts,
            reference,
            entries,
            folder,
            preloaded,
        })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn options(&self) -> &RunOptions {
        &self.opts
    }

    /// The selected entries, in run order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn folder(&self) -> &RunFolder {
        &self.folder
    }

    /// Runs to the end and returns what results.json holds and how the run ended (some
    /// requested measurement without a result: [`RunStatus::Incomplete`]): with `jobs` > 1 as
    /// local shard processes and their merge, else every entry on this thread.
    ///
    /// [`RunStatus::Incomplete`]: crate::run::status::RunStatus::Incomplete
    pub fn run(mut self, on: &mut dyn FnMut(Event)) -> Result<Finished, RunError> {
        if let Some(owner) = self.folder.took_over() {
            on(Event::StaleLock {
                dir: self.folder.dir(),
                owner,
            });
        }
        let results = match self.opts.jobs.filter(|&k| k > 1) {
            Some(k) => jobs::run_jobs(
                &self.opts,
                &self.entries,
                &self.folder,
                self.measure_options(),
                k,
                on,
            )?,
            None => self.measure_all(on)?,
        };
        Ok(Finished::new(results))
    }

    /// The per-entry measurement options: latency on this run's device and threads, and the
    /// dataset evaluation when there is a data root.
    pub fn measure_options(&self) -> MeasureOptions {
        let o = &self.opts;
        MeasureOptions {
            device: o.device,
            latency: o.latency.map(|l| LatencyOptions {
                device: o.device,
                threads: o.threads,
                warmup: l.warmup,
                iters: l.iters,
                max_time: LATENCY_MAX_TIME,
                ..LatencyOptions::default()
            }),
            weights_dir: o.weights_dir.clone(),
            accuracy: o.data_root.as_ref().map(|root| self.accuracy_options(root)),
            variants: (!o.variants.is_empty()).then(|| self.variant_step()),
        }
    }

    /// `--variant`: speed against fp32 when latency is on (`--latency-iters` pairs), fidelity
    /// with `--fidelity-videos`, throughput with `--throughput`.
    fn variant_step(&self) -> VariantStep {
        let o = &self.opts;
        VariantStep {
            opts: VariantOptions {
                variants: o.variants.clone(),
                device: o.device,
                speed: o.latency.map(|l| SpeedPlan {
                    threads: vec![o.threads],
                    pairs: PairOptions {
                        device: o.device,
                        threads: o.threads,
                        batch: 1,
                        warmup: l.warmup,
                        pairs: l.iters,
                        max_time: LATENCY_MAX_TIME,
                        ..PairOptions::default()
                    },
                }),
                throughput: o.throughput_max_batch.map(|max_batch| ThroughputOptions {
                    device: o.device,
                    threads: o.threads,
                    max_batch,
                    ..ThroughputOptions::default()
                }),
                fidelity: o.fidelity_videos.as_ref().map(|dir| FidelityPlan {
                    videos_dir: dir.clone(),
                    out_dir: self.folder.dir().to_path_buf(),
                    eval: EvalOptions {
                        device: o.device,
                        batch: o.batch,
                        decode_threads: o.decode_threads,
                        ..EvalOptions::default()
                    },
                    fresh: o.fresh,
                }),
                weights: None,
                int8: self.int8_source(),
            },
            weights: self.weights_source(),
        }
    }

    fn weights_source(&self) -> WeightsSource {
        let o = &self.opts;
        match &o.weights {
            Some(f) => WeightsSource::File(f.clone()),
            None => {
                WeightsSource::Cache(o.weights_dir.clone().unwrap_or_else(weights::default_dir))
            }
        }
    }

    fn accuracy_options(&self, data_root: &Path) -> AccuracyOptions {
        let o = &self.opts;
        AccuracyOptions {
            dataset: self.plan.suite.dataset,
            split: self.plan.suite.split,
            suite: o.suite.clone(),
            data_root: data_root.to_path_buf(),
            weights: self.weights_source(),
            out_dir: self.folder.dir().to_path_buf(),
            fresh: o.fresh,
            eval: EvalOptions {
                device: o.device,
                batch: o.batch,
                decode_threads: o.decode_threads,
                ..EvalOptions::default()
            },
            shard: o.shard.unwrap_or_default(),
            variant: vbench_suite::Variant::Fp32,
            logits: false,
            int8: self.int8_source(),
        }
    }

    /// The `int8` variant's quantized model: `--int8-model`, else the cache's published file.
    fn int8_source(&self) -> Int8Source {
        Int8Source {
            file: self.opts.int8_model.clone(),
            weights_dir: self.opts.weights_dir.clone(),
        }
    }

    fn measure_all(&mut self, on: &mut dyn FnMut(Event)) -> Result<Results, RunError> {
        let opts = self.measure_options();
        let mut previous = if self.opts.fresh {
            Vec::new()
        } else {
            self.folder.resumable(&self.plan)
        };
        // With data, entries whose accuracy was skipped or failed are measured again (their
        // predictions file resumes).
        if opts.accuracy.is_some() {
            previous.retain(|r| !matches!(r.accuracy.status(), "skipped" | "failed"));
        }
        // Entries without every requested variant are measured again.
        previous.retain(|r| {
            self.opts
                .variants
                .iter()
                .all(|v| r.variants.iter().any(|x| x.variant == *v))
        });
        let provenance = output::run_provenance(self.opts.command.clone(), self.opts.threads);
        let mut results = output::new_results(&self.plan, provenance);
        let total = self.entries.len();
        for (index, entry) in self.entries.iter().enumerate() {
            let at = At {
                index,
                total,
                entry,
            };
            if let Some(done) = previous.iter().find(|r| r.id == entry.id) {
                on(Event::Kept {
                    at,
                    out: self.folder.dir(),
                });
                let mut done = done.clone();
                self.explain_gap(&mut done);
                results.entries.push(done);
                continue;
            }
            on(Event::Measuring { at });
            let model = self.preloaded.remove(&entry.id);
            let mut r = measure_entry(entry, model, &opts, &mut |progress| {
                on(Event::Accuracy { at, progress })
            })?;
            self.explain_gap(&mut r);
            on(Event::Measured {
                at,
                result: &r,
                accuracy: opts.accuracy.is_some(),
            });
            results.entries.push(r);
            self.folder.save(&results)?;
        }
        output::finish(&mut results);
        self.folder.save(&results)?;
        self.folder.write_report(&results)?;
        Ok(results)
    }
}

impl Session {
    /// With `--reference-list`: what the entry's dataset copy explains of the gap to its
    /// published top-1, from its predictions file (`accuracy.details.reference_gap`). A file
    /// that cannot be read leaves the accuracy as it is.
    fn explain_gap(&self, r: &mut EntryResult) {
        let Some(list) = &self.reference else {
            return;
        };
        let published = r.published.top1.map(|p| p.value);
        let Measure::Measured { value: acc } = &mut r.accuracy else {
            return;
        };
        let Some(rel) = acc.predictions.clone() else {
            return;
        };
        if let Ok(gap) = explain_file(list, &self.folder.dir().join(rel), published) {
            acc.details
                .get_or_insert_with(Default::default)
                .reference_gap = Some(gap);
        }
    }
}

/// Loads every TorchScript entry through the model seam (which runs one view of its protocol).
fn preflight(
    entries: &[Entry],
    device: tch::Device,
) -> Result<HashMap<String, Box<dyn VideoModel>>, LoadError> {
    let mut models = HashMap::new();
    for e in entries {
        if matches!(e.model, ModelSource::TorchScript { .. }) {
            models.insert(e.id.clone(), load_model(e, None, device)?);
        }
    }
    Ok(models)
}

/// Every variant must run on the device; variants are measured by one process, so neither
/// `--shard` nor `--jobs` takes them; their extras need variants.
fn check_variants(opts: &RunOptions) -> Result<(), RunError> {
    for &v in &opts.variants {
        vbench_models::variant::check_device(v, opts.device)?;
    }
    let none = opts.variants.is_empty();
    let refuse = |m: &str| Err(RunError::Variants(m.to_string()));
    if none && opts.weights.is_some() && opts.data_root.is_none() {
        return refuse(
            "--weights is for the accuracy run (--data-root) or the variants (--variant)",
        );
    }
    if !none && (opts.shard.is_some() || opts.jobs.is_some_and(|k| k > 1)) {
        return refuse(
            "--variant is measured by one process: it does not combine with --shard or --jobs",
        );
    }
    if none && opts.fidelity_videos.is_some() {
        return refuse("--fidelity-videos compares variants with fp32: give --variant (or a suite with variants)");
    }
    crate::variants::int8::check_int8_model(opts.int8_model.as_deref(), &opts.variants)
        .map_err(|e| RunError::Variants(e.to_string()))?;
    if none && opts.throughput_max_batch.is_some() {
        return refuse("--throughput needs --variant (fp32 is a variant too: --variant fp32)");
    }
    if opts.throughput_max_batch.is_some_and(|b| b < 1) {
        return refuse("--throughput MAX_BATCH must be at least 1");
    }
    Ok(())
}

/// `--shard`: records which shard `out` holds; refuses a folder holding another one.
fn record_shard(
    out: &Path,
    shard: Shard,
    plan: &Plan,
    entries: &[Entry],
    fresh: bool,
) -> Result<(), ShardError> {
    let ids = entries.iter().map(|e| e.id.clone()).collect();
    let manifest = ShardManifest::new(shard, &plan.suite.name, ids);
    if !fresh {
        if let Some(old) = ShardManifest::read(out)? {
            old.check_resume(&manifest, out)?;
        }
    }
    manifest.write(out)
}

/// Refuses, before anything is written, a dataset whose class list does not fit an entry's
/// output size: its labels would index the wrong classes.
fn check_classes(plan: &Plan, entries: &[Entry], root: &Path) -> Result<(), RunError> {
    for e in entries {
        let opts = ManifestOptions::for_entry(&e.protocol, plan.suite.split);
        check_class_list(plan.suite.dataset, root, &opts).map_err(|source| {
            RunError::ClassList {
                entry: e.id.clone(),
                root: root.to_path_buf(),
                source,
            }
        })?;
    }
    Ok(())
}
