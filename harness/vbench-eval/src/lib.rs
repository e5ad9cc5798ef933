//! Evaluation: the runner (views → model → aggregation → metrics), latency and telemetry.
//! Produces `vbench_report` schema values; never formats them.

pub mod evaluate;
pub mod flops;
pub mod latency;
pub mod load;
pub mod merge;
pub mod pipeline;
pub mod provenance;
pub mod runner;
pub mod shard;
pub mod stats;
pub mod telemetry;
pub mod weights;
