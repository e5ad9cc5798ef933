//! Paired comparison of two runs on the same videos: McNemar's exact test and Newcombe's interval
//! for top-k, and a seeded paired bootstrap over videos for mAP-type metrics
//! (`vbench_report::gate::simulate` measures how often each gate rule fires).

pub mod bootstrap;
pub mod mcnemar;
pub mod newcombe;

pub use bootstrap::{paired_bootstrap, BootstrapResult, BootstrapSpec, GENERATOR};
pub use mcnemar::{binom_test_half, mcnemar_exact, McNemar};
pub use newcombe::{newcombe_ci95, PairedTable};
