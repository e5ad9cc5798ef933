//! A run, as a library object: [`session::Session`] takes [`options::RunOptions`] through
//! entry selection → per-entry measurement ([`measure`]) → resume → shard record → results.json
//! after every entry ([`output`]) → finish, reporting [`event::Event`]s as it goes. Beside it:
//! shards ([`shard`]) and their merge ([`merge`]), local `--jobs` ([`jobs`]) and Slurm scripts
//! ([`slurm`]).

pub mod event;
pub mod jobs;
pub mod lock;
pub mod measure;
pub mod merge;
pub mod options;
pub mod output;
pub mod session;
pub mod shard;
pub mod slurm;
pub mod status;
