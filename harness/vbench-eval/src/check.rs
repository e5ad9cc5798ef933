//! `check-data --reference-list`: the copy's coverage of the list the published number was
//! measured on, with the copy as `check-data` found it (a listed sample with a failing problem is
//! in the copy but unusable, so it counts as missing).

use std::collections::HashMap;

use vbench_data::check::DatasetCheck;
use vbench_data::datasets::Manifest;
use vbench_results::gap::{coverage, CopyVideo, Coverage, ReferenceList};

/// What `manifest`, checked into `report`, covers of `list`.
pub fn reference_coverage(
    list: &ReferenceList,
    manifest: &Manifest,
    report: &DatasetCheck,
) -> Coverage {
    let why: HashMap<usize, &str> = report
        .problems
        .iter()
        .filter(|p| p.kind.fails())
        .map(|p| (p.position, p.kind.as_str()))
        .collect();
    let copy: Vec<CopyVideo> = manifest
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| CopyVideo {
            id: &s.id,
            usable: !why.contains_key(&i),
            why: why.get(&i).copied(),
        })
        .collect();
    coverage(list, &copy)
}
