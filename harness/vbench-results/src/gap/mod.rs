//! The gap to a published number, explained by the copy of the dataset. A reference list names
//! the videos the number was measured on; [`coverage`] matches a copy against it (what the copy
//! lacks, including videos it has but cannot decode, and what it adds), and [`explained_gap`]
//! bounds the top-1 the full list could give: with accuracy a on the n reference videos scored
//! and m missing (N = n + m), top-1 over the full list lies in [a·n/N, (a·n + m)/N] (every
//! missing video wrong, or every one right); widened by a's Wilson 95 % interval, it is the range
//! the copy can explain.

pub mod explain;
pub mod reference_list;

use crate::metrics::topk::wilson_ci95;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GapError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A reference list that cannot be read as one; names the file and line.
    #[error("{path}:{line}: {message}")]
    ReferenceList {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

pub type Result<T, E = GapError> = std::result::Result<T, E>;

pub use explain::{explain_file, explain_run, ExplainedGap};
pub use reference_list::{
    key_from_path, parse_reference_list, read_reference_list, ListFormat, ReferenceList,
    ReferenceVideo, VideoKey,
};

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Examples kept per kind in a [`Coverage`].
pub const COVERAGE_EXAMPLES: usize = 10;

/// One video of the local copy: its id (a path whose file name carries the YouTube id), and
/// whether it is usable (decodes, or was scored); `why` says what is wrong otherwise.
#[derive(Debug, Clone, Copy)]
pub struct CopyVideo<'a> {
    pub id: &'a str,
    pub usable: bool,
    pub why: Option<&'a str>,
}

/// How a copy covers a reference list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Coverage {
    pub reference_list: String,
    pub reference_sha256: String,
    pub reference_videos: usize,
    /// Reference lines naming a video already listed (counted once).
    pub duplicates: usize,
    /// In the list and usable in the copy (n).
    pub present: usize,
    /// In the list, and absent from the copy or unusable there (m = absent + unusable).
    pub missing: usize,
    pub absent: usize,
    /// In both, but the copy's video fails to decode (or was not scored).
    pub unusable: usize,
    /// Usable in the copy, not in the list.
    pub extra: usize,
    /// Copy videos whose names carry no YouTube id: they cannot be matched.
    pub unidentified: usize,
    pub absent_examples: Vec<String>,
    pub unusable_examples: Vec<String>,
    pub extra_examples: Vec<String>,
    /// For each reference video (distinct, list order), the copy video it matched.
    #[serde(skip)]
    pub matched: Vec<(VideoKey, Option<usize>)>,
}

fn push_example(v: &mut Vec<String>, s: String) {
    if v.len() < COVERAGE_EXAMPLES {
        v.push(s);
    }
}

/// Matches `copy` against `list`: by YouTube id, and by time range where both carry one (an exact
/// range is preferred; each copy video matches at most one reference video).
pub fn coverage(list: &ReferenceList, copy: &[CopyVideo]) -> Coverage {
    // YouTube id → (time range, position in `copy`) of the copy's videos.
    type ById<'a> = HashMap<&'a str, Vec<(Option<(u32, u32)>, usize)>>;
    let mut by_id: ById = HashMap::new();
    let mut cov = Coverage {
        reference_list: list.path.display().to_string(),
        reference_sha256: list.sha256.clone(),
        ..Coverage::default()
    };
    let keys: Vec<Option<VideoKey>> = copy.iter().map(|c| key_from_path(c.id)).collect();
    for (i, k) in keys.iter().enumerate() {
        match k {
            Some(k) => by_id.entry(&k.youtube_id).or_default().push((k.range, i)),
            None => cov.unidentified += 1,
        }
    }
    let mut used = vec![false; copy.len()];
    let mut seen = std::collections::HashSet::new();
    for v in &list.videos {
        if !seen.insert(&v.key) {
            cov.duplicates += 1;
            continue;
        }
        let candidates = by_id.get(v.key.youtube_id.as_str());
        let free = |want_exact: bool| {
            candidates.into_iter().flatten().find(|(r, i)| {
                !used[*i]
                    && match (v.key.range, r) {
                        (Some(a), Some(b)) => a == *b,
                        _ => !want_exact,
                    }
            })
        };
        let hit = free(true).or_else(|| free(false)).map(|&(_, i)| i);
        match hit {
            Some(i) => {
                used[i] = true;
                if copy[i].usable {
                    cov.present += 1;
                } else {
                    cov.unusable += 1;
                    let why = copy[i].why.unwrap_or("not usable");
                    push_example(&mut cov.unusable_examples, format!("{}: {why}", copy[i].id));
                }
            }
            None => {
                cov.absent += 1;
                push_example(
                    &mut cov.absent_examples,
                    format!("{} (line {})", v.key, v.line),
                );
            }
        }
        cov.matched.push((v.key.clone(), hit));
    }
    cov.reference_videos = cov.matched.len();
    cov.missing = cov.absent + cov.unusable;
    // What the copy adds: usable videos the list does not name.
    for (i, c) in copy.iter().enumerate() {
        if !used[i] && keys[i].is_some() && c.usable {
            cov.extra += 1;
            push_example(&mut cov.extra_examples, c.id.to_string());
        }
    }
    cov
}

/// Whether the published number is explained by what the copy lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapVerdict {
    /// Inside [a·n/N, (a·n + m)/N].
    WithinBound,
    /// Outside the bound, inside it widened by a's 95 % CI.
    WithinSamplingError,
    /// Outside both: the missing videos do not explain the gap.
    Unexplained,
}

/// The explained-gap bound of one top-1 (percent throughout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapBound {
    /// Reference videos scored (n), of them right, and missing (m).
    pub scored: u64,
    pub correct: u64,
    pub missing: u64,
    /// a on the n scored.
    pub accuracy: f64,
    /// [a·n/N, (a·n + m)/N].
    pub bound: (f64, f64),
    /// a's Wilson 95 % interval.
    pub accuracy_ci95: (f64, f64),
    /// The bound with a at the ends of its interval.
    pub widened: (f64, f64),
    pub published: Option<f64>,
    pub verdict: Option<GapVerdict>,
    /// One plain sentence.
    pub message: String,
}

fn wilson(x: u64, n: u64) -> (f64, f64) {
    let [lo, hi] = wilson_ci95(x as usize, n as usize).unwrap_or([0.0, 1.0]);
    (lo, hi)
}

/// The bound for `correct` of `scored` reference videos right and `missing` missing; `published`
/// (percent) is placed against it. `None` when nothing was scored.
pub fn explained_gap(
    correct: u64,
    scored: u64,
    missing: u64,
    published: Option<f64>,
) -> Option<GapBound> {
    if scored == 0 || correct > scored {
        return None;
    }
    let total = (scored + missing) as f64;
    let (n, m) = (scored as f64, missing as f64);
    let a = correct as f64 / n;
    let (alo, ahi) = wilson(correct, scored);
    let pct = |x: f64| x * 100.0;
    let bound = (pct(a * n / total), pct((a * n + m) / total));
    let widened = (pct(alo * n / total), pct((ahi * n + m) / total));
    let verdict = published.map(|p| {
        if p >= bound.0 && p <= bound.1 {
            GapVerdict::WithinBound
        } else if p >= widened.0 && p <= widened.1 {
            GapVerdict::WithinSamplingError
        } else {
            GapVerdict::Unexplained
        }
    });
    let range = format!(
        "top-1 over all {} reference videos lies in [{:.2}, {:.2}] ({:.2} on the {scored} scored, \
         {missing} missing); with the 95 % sampling CI of {:.2}: [{:.2}, {:.2}]",
        scored + missing,
        bound.0,
        bound.1,
        pct(a),
        pct(a),
        widened.0,
        widened.1
    );
    let message = match (published, verdict) {
        (Some(p), Some(GapVerdict::WithinBound)) => {
            format!(
                "{range}. The published {p} lies inside: the missing videos can explain the gap."
            )
        }
        (Some(p), Some(GapVerdict::WithinSamplingError)) => format!(
            "{range}. The published {p} lies outside the bound but inside its sampling CI: the \
             missing videos and sampling error together can explain the gap."
        ),
        (Some(p), _) => format!(
            "{range}. The published {p} lies OUTSIDE: the missing videos and sampling error do not \
             explain the gap; something else differs (decoding, preprocessing, weights, labels)."
        ),
        (None, _) => format!("{range}."),
    };
    Some(GapBound {
        scored,
        correct,
        missing,
        accuracy: pct(a),
        bound,
        accuracy_ci95: (pct(alo), pct(ahi)),
        widened,
        published,
        verdict,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn bound_by_hand() {
        // 700 of 900 right, 100 missing: [700/1000, 800/1000].
        let g = explained_gap(700, 900, 100, Some(76.0)).unwrap();
        assert!((g.bound.0 - 70.0).abs() < 1e-12 && (g.bound.1 - 80.0).abs() < 1e-12);
        assert_eq!(g.verdict, Some(GapVerdict::WithinBound));
        assert!(g.widened.0 < 70.0 && g.widened.1 > 80.0);
        let g = explained_gap(700, 900, 100, Some(85.0)).unwrap();
        assert_eq!(g.verdict, Some(GapVerdict::Unexplained));
        assert!(g.message.contains("OUTSIDE"), "{}", g.message);
        // Just above the bound, inside the widened one.
        let g = explained_gap(700, 900, 100, Some(80.5)).unwrap();
        assert_eq!(g.verdict, Some(GapVerdict::WithinSamplingError));
        assert!(explained_gap(0, 0, 5, None).is_none());
    }

    #[test]
    fn coverage_matches_by_id_and_range() {
        let list = parse_reference_list(
            Path::new("val.csv"),
            b"label,youtube_id,time_start,time_end,split\n\
              a,AAAAAAAAAAA,1,11,val\n\
              a,BBBBBBBBBBB,5,15,val\n\
              b,CCCCCCCCCCC,0,10,val\n\
              b,DDDDDDDDDDD,0,10,val\n\
              b,DDDDDDDDDDD,0,10,val\n",
        )
        .unwrap();
        let copy = [
            // Same id and range: present.
            CopyVideo {
                id: "a/AAAAAAAAAAA_000001_000011.mp4",
                usable: true,
                why: None,
            },
            // Same id, other range: no match, so B is absent and this is extra.
            CopyVideo {
                id: "a/BBBBBBBBBBB_000006_000016.mp4",
                usable: true,
                why: None,
            },
            // No range in the name: matched by id; it does not decode, so it counts as missing.
            CopyVideo {
                id: "b/CCCCCCCCCCC.mp4",
                usable: false,
                why: Some("corrupt"),
            },
            CopyVideo {
                id: "b/my_video.mp4",
                usable: true,
                why: None,
            },
        ];
        let c = coverage(&list, &copy);
        assert_eq!(c.reference_videos, 4);
        assert_eq!(c.duplicates, 1);
        assert_eq!((c.present, c.unusable, c.absent), (1, 1, 2));
        assert_eq!(c.missing, 3);
        assert_eq!((c.extra, c.unidentified), (1, 1));
        assert_eq!(c.extra_examples, ["a/BBBBBBBBBBB_000006_000016.mp4"]);
        assert!(c.unusable_examples[0].contains("corrupt"));
    }
}
