//! Suite files and published tables: `suites/*.toml` → validated [`Plan`], `reference-results/*.csv`
//! → [`ReferenceRow`]s. Reads its files and nothing else.

pub mod arch;
pub mod builtin;
pub mod error;
pub mod plan;
pub mod presets;
pub mod raw;
pub mod reference;
pub mod variant;

pub use arch::Arch;
pub use builtin::{all_suites, builtin_names, builtin_reference, find_entry, load_suite};
pub use error::{Result, SuiteError};
pub use plan::{parse_plan, Checkpoint, Entry, Plan, Protocol, SuiteInfo};
pub use presets::*;
pub use reference::{load_reference, parse_reference, Precision, Printed, ReferenceRow};
pub use variant::{UnknownVariant, Variant};
