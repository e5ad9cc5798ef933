//! Reports and gates: the `results.json` schema, exporters, compare and gate. Reads results; never
//! measures.

pub mod compare;
pub mod error;
pub mod export;
pub mod fmt;
pub mod gate;
pub mod io;
pub mod plot;
pub mod schema;
pub mod stats;
pub mod view;
pub mod view_detail;

pub use compare::{compare, Comparison};
pub use error::{ReportError, Result};
pub use export::{exporter, Exporter};
pub use gate::{gate_against_baseline, gate_against_published, GateReport, Policy, Verdict};
pub use io::{load_results, save_results, write_atomic};
pub use schema::*;
pub use view::ReportView;
