//! Pairing two runs' predictions for `gate` and `compare`: class names by dataset, the policy's
//! metrics and bootstrap.

use std::path::Path;
use vbench_report::pairing::{pair_runs, PairingSpec, RunAt, RunPairing};
use vbench_report::Policy;
use vbench_results::predictions::Header;
use vbench_results::Results;

/// Class names of a predictions file's dataset, in label order: the label map of an AVA file,
/// Kinetics-400's names for a 400-class Kinetics list.
pub fn class_names(h: &Header) -> Option<Vec<String>> {
    if let Some(map) = &h.label_map {
        return Some(map.iter().map(|(_, n)| n.clone()).collect());
    }
    let names = vbench_eval::evaluate::kinetics400_classes();
    (h.dataset.name == "kinetics" && h.num_classes == names.len()).then_some(names)
}

/// Pairs every entry with accuracy on both sides, as `policy` says (metrics, bootstrap).
pub fn pair(
    baseline: (&Results, &Path),
    candidate: (&Results, &Path),
    policy: &Policy,
) -> RunPairing {
    let spec = PairingSpec {
        metrics: policy.accuracy.judged(),
        bootstrap: policy.accuracy.bootstrap(),
        class_names: &class_names,
    };
    pair_runs(
        RunAt {
            results: baseline.0,
            path: baseline.1,
        },
        RunAt {
            results: candidate.0,
            path: candidate.1,
        },
        &spec,
    )
}
