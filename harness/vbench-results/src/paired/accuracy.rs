//! A speed variant's top-1 beside fp32's on the same videos (`vbench run --variant --data-root`):
//! the paired difference with Newcombe's interval and McNemar's exact test, as `gate` judges two
//! runs ([`super::runs`]).

use std::path::Path;

use super::bootstrap::BootstrapSpec;
use super::runs::{pair_predictions, PairOptions, PairingError};
use crate::metrics::registry;
use crate::variants::PairedAccuracy;

/// Top-1 of the variant's predictions against fp32's, over the videos both scored; `None` for
/// tasks without a top-1 (multi-label, detection).
pub fn paired_top1(fp32: &Path, variant: &Path) -> Result<Option<PairedAccuracy>, PairingError> {
    let opts = PairOptions {
        metrics: registry::metric("top1").into_iter().collect(),
        bootstrap: BootstrapSpec::default(),
        class_names: None,
    };
    let runs = pair_predictions(fp32, variant, &opts)?;
    Ok(runs.metric("top1").map(|m| PairedAccuracy {
        videos: m.videos as u64,
        fp32_top1: m.baseline,
        variant_top1: m.candidate,
        difference: m.difference,
        ci95: m.ci95,
        ci_method: m.ci_method.clone(),
        p_value: m.p_value,
        fixed: m.fixed.unwrap_or(0),
        broken: m.broken.unwrap_or(0),
    }))
}
