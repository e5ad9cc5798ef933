//! Reports and gates: the `results.json` schema, exporters, compare and gate. Reads results; never
//! measures.

pub mod error;
pub mod export;
pub mod io;
pub mod schema;
pub mod view;

pub use error::{ReportError, Result};
pub use export::{exporter, Exporter};
pub use io::{load_results, save_results, write_atomic};
pub use schema::*;
pub use view::ReportView;
