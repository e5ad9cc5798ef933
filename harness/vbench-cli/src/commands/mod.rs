//! One file per subcommand: clap `Args` + `exec()`.

pub mod list;
pub mod report;
pub mod run;
