//! How a finished run ended: every requested measurement produced a result ([`RunStatus::Complete`]),
//! or some did not ([`RunStatus::Incomplete`], with a one-line summary). The verdict is read from
//! the results alone ([`vbench_results::failures`]), so a shard, a merge and a single run judge
//! the same way.

use vbench_results::{failures, summary_line, Failure, Results};

/// The exit status of a run, a shard or a merge whose requested measurements did not all
/// produce a result. `--jobs` and the Slurm scripts accept it from shards and merge them; the
/// merged run then ends with it too.
pub const EXIT_INCOMPLETE: i32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    Complete,
    Incomplete { failures: Vec<Failure> },
}

impl RunStatus {
    pub fn of(results: &Results) -> RunStatus {
        let failures = failures(results);
        if failures.is_empty() {
            RunStatus::Complete
        } else {
            RunStatus::Incomplete { failures }
        }
    }

    /// One line naming each failed measurement, or `None` when complete.
    pub fn summary(&self) -> Option<String> {
        match self {
            RunStatus::Complete => None,
            RunStatus::Incomplete { failures } => Some(summary_line(failures)),
        }
    }
}

/// A finished run: what results.json holds and how the run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    pub results: Results,
    pub status: RunStatus,
}

impl Finished {
    pub fn new(results: Results) -> Finished {
        Finished {
            status: RunStatus::of(&results),
            results,
        }
    }
}
