//! Measurement: everything vbench times, counts or scores, split by responsibility.
//!
//! - [`run`]: a run as a library object ([`run::session::Session`]): entries → per-entry measurement →
//!   resume → shards → results.json; `merge`, local `--jobs` and Slurm scripts beside it;
//! - [`accuracy`]: one entry on its dataset (decode → inference loop → predictions file);
//! - [`timing`]: latency, its statistics, telemetry and machine load;
//! - [`variants`]: speed variants beside fp32: interleaved speed, throughput, fidelity;
//! - [`check`]: a checked copy's coverage of a reference list (`check-data --reference-list`);
//! - [`flops`] and [`params`]: counting; [`model`]: the entry's model, random or from a
//!   checkpoint; [`weights`]: the checkpoint cache; [`provenance`]: host and library facts.
//!
//! Produces `vbench_results` values; never formats them.

pub mod accuracy;
pub mod check;
pub mod flops;
pub mod model;
pub mod params;
pub mod provenance;
pub mod run;
pub mod timing;
pub mod variants;
pub mod weights;
