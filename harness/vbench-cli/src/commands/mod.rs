//! One file per subcommand: clap `Args` + `exec()`, which parses, calls one library function and
//! prints. What several commands share is in `common` (and a run's terminal progress in `progress`); no
//! command imports another.

pub mod check_data;
pub mod clips;
pub mod common;
pub mod compare;
pub mod fetch;
pub mod forward;
pub mod gate;
pub mod infer;
pub mod latency;
pub mod list;
pub mod merge;
pub mod progress;
pub mod report;
pub mod run;
pub mod score;
pub mod simulate_gate;
pub mod slurm;
pub mod stats;
