//! Reports and gates over `vbench_results` values: views, plots, exporters, compare and gate.
//! Reads results; never measures.

pub mod compare;
pub mod compare_paired;
pub mod error;
pub mod export;
pub mod fmt;
pub mod gate;
pub mod label_layout;
pub mod pairing;
pub mod plot;
pub mod plot_variants;
pub mod stats;
pub mod tables;
pub mod view;
pub mod view_detail;

pub use compare::{compare, compare_paired, Comparison};
pub use error::{ReportError, Result};
pub use export::{exporter, Exporter};
pub use gate::{gate_against_baseline, gate_against_published, GateReport, Policy, Verdict};
pub use view::ReportView;
