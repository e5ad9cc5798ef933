//! The explained gap of a scored run: its predictions file matched against a reference list.
//! A reference video counts as scored (n) when the copy has it and it was scored `ok` with a
//! label; it counts as missing (m) when the copy lacks it, or has it but failed to decode or score
//! it. a is top-1 over the n.

use super::{coverage, explained_gap, CopyVideo, Coverage, GapBound, ReferenceList};
use crate::metrics::topk::Rank;
use crate::predictions::{Record, RecordStatus};
use serde::{Deserialize, Serialize};

/// What `results.json` stores under `accuracy.details.reference_gap`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExplainedGap {
    pub coverage: Coverage,
    /// `None` when no reference video was scored.
    pub bound: Option<GapBound>,
}

/// Matches the run's `records` (latest per list position) against `list` and bounds the top-1
/// over the full list; `published` is the published top-1 (percent).
pub fn explain_run(
    list: &ReferenceList,
    records: &[&Record],
    num_classes: usize,
    published: Option<f64>,
) -> ExplainedGap {
    let usable = |r: &Record| {
        r.status == RecordStatus::Ok
            && r.label
                .is_some_and(|l| l >= 0 && (l as usize) < num_classes)
    };
    let copy: Vec<CopyVideo> = records
        .iter()
        .map(|r| CopyVideo {
            id: &r.id,
            usable: usable(r),
            why: match r.status {
                RecordStatus::Failed => Some(r.kind.as_deref().unwrap_or("failed")),
                RecordStatus::Ok if !usable(r) => Some("no label"),
                RecordStatus::Ok => None,
            },
        })
        .collect();
    let cov = coverage(list, &copy);
    let correct = cov
        .matched
        .iter()
        .filter_map(|(_, hit)| *hit)
        .map(|i| records[i])
        .filter(|r| usable(r))
        .filter(|r| {
            let label = r.label.unwrap_or(-1) as usize;
            r.scores
                .as_deref()
                .filter(|s| s.len() == num_classes)
                .is_some_and(|s| Rank::of(s, label).in_top(1))
        })
        .count() as u64;
    let bound = explained_gap(correct, cov.present as u64, cov.missing as u64, published);
    ExplainedGap {
        coverage: cov,
        bound,
    }
}

/// [`explain_run`] on the predictions file at `predictions` (scored against `list`), with the
/// published top-1 `published`.
pub fn explain_file(
    list: &ReferenceList,
    predictions: &std::path::Path,
    published: Option<f64>,
) -> Result<ExplainedGap, crate::paired::PairingError> {
    let loaded = crate::paired::runs::load(predictions)?;
    let records: Vec<&Record> = loaded.records.values().collect();
    Ok(explain_run(
        list,
        &records,
        loaded.header.num_classes,
        published,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gap::{parse_reference_list, GapVerdict};
    use crate::paired::runs::load;
    use crate::paired::synthetic::{video_id, write_synthetic, SyntheticRun};
    use std::path::Path;

    /// 100 reference videos (0..90 and 100..110); the copy has 0..95: 90 of them (two fail to
    /// decode) and 5 extra; 72 of the 88 scored reference videos are right. The bound is
    /// [72/100, (72 + 12)/100].
    fn run(published: f64) -> ExplainedGap {
        let dir = tempfile::tempdir().unwrap();
        let labels: Vec<i64> = (0..95).map(|i| (i % 4) as i64).collect();
        // Videos 0..90 are reference videos, 90..95 extra; 2 and 3 fail to decode.
        let correct: Vec<bool> = (0..95).map(|i| !(4..20).contains(&i)).collect();
        let path = dir.path().join("p.jsonl");
        write_synthetic(
            &path,
            &SyntheticRun {
                num_classes: 4,
                labels: &labels,
                correct: &correct,
                failed: &[2, 3],
                dataset_sha256: "s",
                entry: "k400/x3d_xs",
                task: "classification",
            },
        )
        .unwrap();
        let mut list = String::from("label,youtube_id,time_start,time_end,split\n");
        for i in (0..90).chain(100..110) {
            let key = video_id(i, (i % 4) as i64);
            // `c<l>/v<index:010>_000010_000020.mp4` → the id is `v<index:010>`.
            let id = &key[key.find('/').unwrap() + 1..key.find('_').unwrap()];
            list += &format!("c{},{id},10,20,val\n", i % 4);
        }
        let list = parse_reference_list(Path::new("val.csv"), list.as_bytes()).unwrap();
        let loaded = load(&path).unwrap();
        let records: Vec<&Record> = loaded.records.values().collect();
        explain_run(&list, &records, 4, Some(published))
    }

    #[test]
    fn bound_of_a_constructed_run_by_hand() {
        let g = run(75.0);
        let c = &g.coverage;
        assert_eq!(
            (c.reference_videos, c.present, c.unusable, c.absent),
            (100, 88, 2, 10)
        );
        assert_eq!((c.missing, c.extra), (12, 5));
        let b = g.bound.unwrap();
        // Right: videos 0, 1 (2 and 3 failed) and 20..90: 72 of the 88 scored reference videos.
        assert_eq!((b.correct, b.scored, b.missing), (72, 88, 12));
        assert!((b.bound.0 - 72.0).abs() < 1e-9 && (b.bound.1 - 84.0).abs() < 1e-9);
        assert_eq!(b.verdict, Some(GapVerdict::WithinBound));
    }

    #[test]
    fn a_published_value_outside_the_widened_bound_is_said_plainly() {
        let b = run(95.0).bound.unwrap();
        assert_eq!(b.verdict, Some(GapVerdict::Unexplained));
        assert!(b.message.contains("OUTSIDE"), "{}", b.message);
        let b = run(60.0).bound.unwrap();
        assert_eq!(b.verdict, Some(GapVerdict::Unexplained));
    }
}
