//! What a run reports as it goes: the session and `--jobs` send [`Event`]s, a display shows them.

use crate::accuracy::evaluate::Progress;
use crate::run::lock::Owner;
use crate::run::shard::Shard;
use std::path::Path;
use vbench_results::EntryResult;
use vbench_suite::Entry;

/// Which entry an [`Event`] is about: `index` (0-based) of `total`, in run order.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    pub index: usize,
    pub total: usize,
    pub entry: &'a Entry,
}

/// What a session is doing, for a display.
#[derive(Debug)]
pub enum Event<'a> {
    /// The entry was finished by a previous run into the same folder and is kept.
    Kept { at: At<'a>, out: &'a Path },
    /// The entry's measurement starts.
    Measuring { at: At<'a> },
    /// Progress of the entry's dataset evaluation.
    Accuracy { at: At<'a>, progress: Progress<'a> },
    /// The entry is measured (`accuracy`: a dataset evaluation was part of it).
    Measured {
        at: At<'a>,
        result: &'a EntryResult,
        accuracy: bool,
    },
    /// `--jobs`: a shard process started, writing into `dir`, its output in `log`.
    ShardStarted {
        shard: Shard,
        dir: &'a Path,
        log: &'a Path,
    },
    /// `--jobs`: a shard process finished (`incomplete`: some requested measurement of the
    /// shard produced no result; the shard is merged all the same).
    ShardDone { shard: Shard, incomplete: bool },
    /// The run folder's lock was left by a process that died on this host; this run took it.
    StaleLock { dir: &'a Path, owner: &'a Owner },
    /// `--jobs`: the entry's latency, measured after the merge on the quiet machine.
    Latency { entry: &'a Entry },
}
