//! The report prints, beside the published top-1, what the dataset copy explains: a constructed
//! run matched against a reference list, with the published value inside and outside the bound.

use vbench_testkit::fixtures as common;

use std::path::Path;
use vbench_report::exporter;
use vbench_results::gap::{explain_run, parse_reference_list};
use vbench_results::paired::runs::load;
use vbench_results::paired::synthetic::{video_id, write_synthetic, SyntheticRun};
use vbench_results::predictions::{score_file, Record};
use vbench_results::Measure;

/// 1,000 reference videos, 900 in the copy (2 % of them failing to decode), 70 % right: the
/// top-1 over the full list lies in [a·n/N, (a·n + m)/N] = [612/1000, 730/1000] (by hand: 612 of
/// the 882 scored are right, 118 missing).
fn markdown(published: f64) -> String {
    let dir = tempfile::tempdir().unwrap();
    let n = 900;
    let labels: Vec<i64> = (0..n).map(|i| (i % 10) as i64).collect();
    let correct: Vec<bool> = (0..n).map(|i| i % 10 < 7).collect();
    let failed: Vec<usize> = (0..n).filter(|i| i % 50 == 1).collect();
    let pred = dir.path().join("p.jsonl");
    write_synthetic(
        &pred,
        &SyntheticRun {
            num_classes: 10,
            labels: &labels,
            correct: &correct,
            failed: &failed,
            dataset_sha256: "s",
            entry: "k400/x3d_xs",
            task: "classification",
        },
    )
    .unwrap();
    let mut csv = String::from("label,youtube_id,time_start,time_end,split\n");
    for i in 0..1000 {
        let id = video_id(i, 0);
        let yt = &id[id.find('/').unwrap() + 1..id.find('_').unwrap()];
        csv += &format!("c,{yt},10,20,val\n");
    }
    let list = parse_reference_list(Path::new("val.csv"), csv.as_bytes()).unwrap();
    let loaded = load(&pred).unwrap();
    let records: Vec<&Record> = loaded.records.values().collect();
    let gap = explain_run(&list, &records, 10, Some(published));
    let mut r = common::fixture();
    let mut acc = score_file(&pred, None).unwrap().accuracy;
    acc.details.as_mut().unwrap().reference_gap = Some(gap);
    r.entries[0].accuracy = Measure::Measured { value: acc };
    exporter("markdown").unwrap().render(&r).unwrap()
}

#[test]
fn a_published_value_inside_the_bound_is_explained() {
    let md = markdown(72.0);
    assert!(md.contains("### The gap to the published top-1"), "{md}");
    assert!(
        md.contains(
            "1000 reference videos; 882 scored, 118 missing (100 not in this copy, 18 in it"
        ),
        "{md}"
    );
    assert!(md.contains("The published 72 lies inside"), "{md}");
}

#[test]
fn a_published_value_outside_is_said_plainly() {
    let md = markdown(80.0);
    assert!(md.contains("The published 80 lies OUTSIDE"), "{md}");
    assert!(md.contains("do not explain the gap"), "{md}");
}
