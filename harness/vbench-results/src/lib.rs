//! The data model of outcomes, shared by the measuring side (`vbench-eval`) and the judging side
//! (`vbench-report`): the `results.json` schema and its atomic io, the metrics (computed exactly as
//! PySlowFast does), the predictions file format with its reader, writer and scoring, the
//! telemetry stored with a latency, and the JSON documents of `vbench latency` and `vbench infer`.
//! No tch, no ffmpeg: anything that reads results can depend on it.

pub mod failures;
pub mod gap;
pub mod io;
pub mod measures;
pub mod metrics;
pub mod paired;
pub mod predictions;
pub mod reports;
pub mod schema;
pub mod telemetry;
pub mod variants;

pub use failures::{failures, summary_line, Failure};
pub use io::{load_results, save_results, write_atomic, ResultsError};
pub use reports::*;
pub use schema::*;
pub use variants::*;
