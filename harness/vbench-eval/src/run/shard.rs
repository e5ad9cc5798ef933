//! Sharded evaluation: which videos of a dataset list one shard evaluates, and the manifest a
//! shard leaves in its output folder so that `vbench merge` can check what it is merging.
//!
//! The partition rule: video at list position `p` (0-based, in the dataset list's own order)
//! belongs to shard `p mod N`. It depends on nothing but the position and `N`, so every shard
//! computes the same partition from the same list, whatever machine or data root it runs on, and
//! shards interleave: a list sorted by class or by length spreads evenly over the shards instead
//! of giving one shard all the long videos.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The manifest's file name inside a shard's `--out`.
pub const MANIFEST: &str = "shard.json";

/// Bump on any incompatible change of [`ShardManifest`].
pub const MANIFEST_VERSION: u32 = 1;

/// The rule, as recorded in every manifest (a merge refuses shards cut by another rule).
pub const RULE: &str = "index mod count";

#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("shard `{0}`: expected i/N, e.g. 0/4 (shard index i from 0 to N-1)")]
    Syntax(String),
    #[error("shard `{spec}`: the shard count must be at least 1")]
    ZeroCount { spec: String },
    #[error("shard `{spec}`: index {index} is out of range, shards of {count} are 0 to {}", count - 1)]
    OutOfRange {
        spec: String,
        index: usize,
        count: usize,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a shard manifest: {message}")]
    Manifest { path: PathBuf, message: String },
}

/// Shard `index` of `count`. `0/1` is the whole list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl Shard {
    /// Every video.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: usize, count: usize) -> Result<Shard, ShardError> {
        let spec = format!("{index}/{count}");
        if count == 0 {
            return Err(ShardError::ZeroCount { spec });
        }
        if index >= count {
            return Err(ShardError::OutOfRange { spec, index, count });
        }
        Ok(Shard { index, count })
    }

    /// Whether the video at list position `position` is this shard's.
    pub fn contains(&self, position: usize) -> bool {
        self.count <= 1 || position % self.count == self.index
    }

    /// How many of `total` list positions are this shard's.
    pub fn len_of(&self, total: usize) -> usize {
        if self.count <= 1 {
            return total;
        }
        total / self.count + usize::from(self.index < total % self.count)
    }

    pub fn is_whole(&self) -> bool {
        self.count <= 1
    }

    /// All shards of `count`, in order.
    pub fn all(count: usize) -> impl Iterator<Item = Shard> {
        (0..count).map(move |index| Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(s.to_string());
        let (i, n) = s.trim().split_once('/').ok_or_else(syntax)?;
        let i: usize = i.trim().parse().map_err(|_| syntax())?;
        let n: usize = n.trim().parse().map_err(|_| syntax())?;
        if n == 0 {
            return Err(ShardError::ZeroCount { spec: s.into() });
        }
        if i >= n {
            return Err(ShardError::OutOfRange {
                spec: s.into(),
                index: i,
                count: n,
            });
        }
        Ok(Shard { index: i, count: n })
    }
}

/// What `vbench run --shard` records in its `--out` next to results.json: which shard this is and
/// of what run, so a merge can tell a missing, duplicated or foreign shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardManifest {
    pub vbench_shard: u32,
    pub index: usize,
    pub count: usize,
    pub rule: String,
    /// The suite's name (`k400`), as in results.json.
    pub suite: String,
    pub vbench_version: String,
    /// The entry ids this shard ran, in suite order.
    pub entries: Vec<String>,
}

impl ShardManifest {
    pub fn new(shard: Shard, suite: &str, entries: Vec<String>) -> Self {
        ShardManifest {
            vbench_shard: MANIFEST_VERSION,
            index: shard.index,
            count: shard.count,
            rule: RULE.into(),
            suite: suite.into(),
            vbench_version: env!("CARGO_PKG_VERSION").into(),
            entries,
        }
    }

    pub fn shard(&self) -> Shard {
        Shard {
            index: self.index,
            count: self.count,
        }
    }

    /// Reads `dir/shard.json`; `Ok(None)` when there is none.
    pub fn read(dir: &Path) -> Result<Option<ShardManifest>, ShardError> {
        let path = dir.join(MANIFEST);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ShardError::Io { path, source }),
        };
        let text =
            vbench_results::io::utf8_text(bytes).map_err(|message| ShardError::Manifest {
                path: path.clone(),
                message,
            })?;
        let m: ShardManifest = serde_json::from_str(&text).map_err(|e| ShardError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let bad = |message: String| ShardError::Manifest {
            path: path.clone(),
            message,
        };
        if m.vbench_shard != MANIFEST_VERSION {
            return Err(bad(format!(
                "manifest version {} (this vbench reads {MANIFEST_VERSION})",
                m.vbench_shard
            )));
        }
        if m.count == 0 || m.index >= m.count {
            return Err(bad(format!(
                "shard {}/{} is out of range",
                m.index, m.count
            )));
        }
        Ok(Some(m))
    }

    /// Writes `dir/shard.json` (atomically: temp file + rename).
    pub fn write(&self, dir: &Path) -> Result<(), ShardError> {
        let path = dir.join(MANIFEST);
        let io = |source| ShardError::Io {
            path: path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| ShardError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let tmp = dir.join(format!(".{MANIFEST}.tmp{}", std::process::id()));
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }

    /// Refuses to run shard `new` into a folder that already holds another shard or suite
    /// (a resumed shard must be the same shard).
    pub fn check_resume(&self, new: &ShardManifest, dir: &Path) -> Result<(), ShardError> {
        if self.shard() != new.shard() || self.suite != new.suite || self.rule != new.rule {
            return Err(ShardError::Manifest {
                path: dir.join(MANIFEST),
                message: format!(
                    "this folder holds shard {} of suite `{}`, not shard {} of `{}`: use another \
                     --out or --fresh",
                    self.shard(),
                    self.suite,
                    new.shard(),
                    new.suite
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
        assert_eq!(" 0 / 1 ".parse::<Shard>().unwrap(), Shard::WHOLE);
        for bad in ["", "3", "a/4", "1/b", "-1/4", "1/4/5"] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(matches!(e, ShardError::Syntax(_)), "{bad}: {e}");
        }
        let e = "4/4".parse::<Shard>().unwrap_err().to_string();
        assert!(e.contains("4/4") && e.contains("0 to 3"), "{e}");
        assert!(matches!(
            "0/0".parse::<Shard>(),
            Err(ShardError::ZeroCount { .. })
        ));
        assert!(Shard::new(5, 3).is_err() && Shard::new(2, 3).is_ok());
    }

    #[test]
    fn shards_partition_every_list() {
        for total in 0..40 {
            for count in 1..9 {
                let mut seen = vec![0u32; total];
                for s in Shard::all(count) {
                    let mine: Vec<usize> = (0..total).filter(|&p| s.contains(p)).collect();
                    assert_eq!(mine.len(), s.len_of(total), "{s} of {total}");
                    for p in mine {
                        seen[p] += 1;
                    }
                }
                assert!(seen.iter().all(|&n| n == 1), "{total} over {count}");
            }
        }
        // Interleaved, not blocks.
        let s = Shard::new(1, 3).unwrap();
        assert_eq!(
            (0..9).filter(|&p| s.contains(p)).collect::<Vec<_>>(),
            [1, 4, 7]
        );
    }

    #[test]
    fn manifest_round_trip_and_resume_check() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ShardManifest::read(dir.path()).unwrap().is_none());
        let m = ShardManifest::new(
            Shard::new(1, 4).unwrap(),
            "k400",
            vec!["k400/x3d_xs".into()],
        );
        m.write(dir.path()).unwrap();
        assert_eq!(ShardManifest::read(dir.path()).unwrap(), Some(m.clone()));
        let other = ShardManifest::new(Shard::new(2, 4).unwrap(), "k400", vec![]);
        let e = m.check_resume(&other, dir.path()).unwrap_err().to_string();
        assert!(e.contains("shard 1/4") && e.contains("shard.json"), "{e}");
        std::fs::write(dir.path().join(MANIFEST), "{}").unwrap();
        assert!(ShardManifest::read(dir.path()).is_err());
    }
}
