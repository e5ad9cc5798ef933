//! One file per subcommand: clap `Args` + `exec()`.

pub mod check_data;
pub mod compare;
pub mod fetch;
pub mod gate;
pub mod list;
pub mod report;
pub mod run;
pub mod stats;
