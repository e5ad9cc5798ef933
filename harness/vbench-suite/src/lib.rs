//! Suite files and published tables: `suites/*.toml` → validated [`Plan`], `reference-results/*.csv`
//! → [`ReferenceRow`]s. An entry's model is a zoo architecture or a TorchScript file; its protocol
//! may be a zoo entry's (`protocol_from`). Reads its files, and checks that the model and
//! checkpoint files it names exist, nothing else.

pub mod arch;
pub mod builtin;
mod embedded;
mod entry;
pub mod error;
pub mod model;
pub mod own;
pub mod plan;
pub mod presets;
pub mod published;
pub mod raw;
pub mod reference;
mod types;
pub mod variant;

pub use arch::Arch;
pub use builtin::{all_suites, builtin_names, builtin_reference, find_entry, load_suite};
pub use error::{Result, SuiteError};
pub use model::{InputLayout, ModelSource};
pub use own::{own_model_plan, OWN_SUITE};
pub use plan::{parse_plan, Checkpoint, Entry, Plan, Protocol, SuiteInfo};
pub use presets::*;
pub use published::{Published, PublishedSource};
pub use reference::{load_reference, parse_reference, Precision, Printed, ReferenceRow};
pub use variant::{UnknownVariant, Variant};
