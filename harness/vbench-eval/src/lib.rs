//! Evaluation: the runner (views → model → aggregation → metrics), latency and telemetry.
//! Produces `vbench_report` schema values; never formats them.

pub mod aggregate;
pub mod flops;
pub mod latency;
pub mod load;
pub mod metrics;
pub mod provenance;
pub mod runner;
pub mod stats;
