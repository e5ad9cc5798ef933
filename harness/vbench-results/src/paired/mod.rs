//! Paired comparison of two runs on the same videos ([`runs`]): McNemar's exact test and Newcombe's
//! interval for top-k, a seeded paired bootstrap over videos for mAP-type metrics, and the videos
//! and classes that changed ([`flips`])
//! (`vbench_report::gate::simulate` measures how often each gate rule fires).

pub mod accuracy;
pub mod bootstrap;
pub mod flips;
pub mod mcnemar;
pub mod newcombe;
pub mod runs;
pub mod synthetic;

#[cfg(test)]
mod tests;

pub use accuracy::paired_top1;
pub use bootstrap::{paired_bootstrap, BootstrapResult, BootstrapSpec, GENERATOR};
pub use mcnemar::{binom_test_half, mcnemar_exact, McNemar};
pub use newcombe::{newcombe_ci95, PairedTable};
pub use runs::{pair_predictions, PairOptions, PairedMetric, PairedRuns, PairingError, Unpaired};
