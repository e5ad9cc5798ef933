//! The official-checkpoint cache: resumable downloads (`<file>.part` + HTTP Range), atomic install
//! (rename), and a manifest recording each file's URL, size and sha256, re-verified on use.
//!
//! Compute nodes rarely reach the internet, so official files copied in by hand count too: on
//! first use a file without a record is *imported* (its sha256 and size recorded, marked
//! imported, since nothing offline can prove it is the official file), into the cache's manifest,
//! or, where the folder is not writable, into a manifest in the run's output folder. Later uses
//! re-verify it like any downloaded file. `vbench fetch --from DIR` imports ahead of time.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error(
        "{url}: transfer ended after {got} of {expected} bytes (kept {part}; run again to resume)"
    )]
    Truncated {
        url: String,
        got: u64,
        expected: u64,
        part: PathBuf,
    },
    #[error(
        "{path}: sha256 {found} does not match the recorded {expected} (delete it and fetch again)"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{path}: corrupt manifest: {message}")]
    Manifest { path: PathBuf, message: String },
}

type Result<T> = std::result::Result<T, WeightsError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WeightsError + '_ {
    move |source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ManifestEntry {
    pub url: String,
    pub bytes: u64,
    pub sha256: String,
    /// Copied in, not downloaded: the record says what the file was at first use, not that it
    /// is the file at `url`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
}

/// A checkpoint that passed [`WeightsCache::verify_or_import`].
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub path: PathBuf,
    pub entry: ManifestEntry,
    /// Imported by this call (first use of a file copied in): the manifest it was recorded
    /// into, or `None` where no manifest could be written (then nothing is recorded).
    pub imported_now: Option<Option<PathBuf>>,
}

impl Verified {
    /// What to tell the user about an import made by this call.
    pub fn import_note(&self) -> Option<String> {
        let recorded = self.imported_now.as_ref()?;
        let file = self.path.display();
        let (sha, bytes) = (&self.entry.sha256, self.entry.bytes);
        Some(match recorded {
            Some(m) => format!(
                "{file}: imported, not downloaded (sha256 {sha}, {bytes} bytes, recorded in {}); \
                 nothing offline can prove it is the official file",
                m.display()
            ),
            None => format!(
                "{file}: imported, not downloaded (sha256 {sha}, {bytes} bytes; no manifest could \
                 be written, so nothing is recorded); nothing offline can prove it is the \
                 official file"
            ),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FetchOutcome {
    /// Already in the cache and its sha256 still matches the manifest.
    Cached(ManifestEntry),
    Downloaded(ManifestEntry),
    /// Copied from a local folder (`vbench fetch --from`), recorded as imported.
    Imported(ManifestEntry),
}

pub struct WeightsCache {
    dir: PathBuf,
    agent: ureq::Agent,
    /// Automatic resume attempts after a broken transfer.
    pub attempts: u32,
}

/// `~/.cache/vbench/weights` (XDG), or `./vbench-weights` if there is no home.
pub fn default_dir() -> PathBuf {
    dirs::cache_dir()
        .map(|d| d.join("vbench/weights"))
        .unwrap_or_else(|| PathBuf::from("vbench-weights"))
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

impl WeightsCache {
    pub fn new(dir: impl Into<PathBuf>) -> WeightsCache {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(20)))
            .timeout_recv_body(Some(Duration::from_secs(60)))
            .build()
            .into();
        WeightsCache {
            dir: dir.into(),
            agent,
            attempts: 3,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_for(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    fn manifest_path(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    pub fn manifest(&self) -> Result<BTreeMap<String, ManifestEntry>> {
        read_manifest(&self.manifest_path())
    }

    fn record(&self, file: &str, entry: &ManifestEntry) -> Result<()> {
        record_into(&self.manifest_path(), file, entry)
    }

    /// [`verify`](Self::verify), and a file present without a record is imported: hashed and
    /// recorded (as imported) into this cache's manifest, or, when that cannot be written, into
    /// `fallback` (keyed by the file's absolute path). A file recorded in `fallback` is
    /// re-verified against that record. `Ok(None)`: the file is not there.
    pub fn verify_or_import(
        &self,
        file: &str,
        url: &str,
        fallback: Option<&Path>,
    ) -> Result<Option<Verified>> {
        let path = self.path_for(file);
        let verified = |entry| Verified {
            path: path.clone(),
            entry,
            imported_now: None,
        };
        if let Some(entry) = self.verify(file)? {
            return Ok(Some(verified(entry)));
        }
        if !path.is_file() {
            return Ok(None);
        }
        let key = std::path::absolute(&path)
            .unwrap_or_else(|_| path.clone())
            .to_string_lossy()
            .into_owned();
        if let Some(m) = fallback {
            if let Some(entry) = read_manifest(m)?.remove(&key) {
                check_sha(&path, &entry)?;
                return Ok(Some(verified(entry)));
            }
        }
        let entry = ManifestEntry {
            url: url.into(),
            bytes: std::fs::metadata(&path).map_err(io(&path))?.len(),
            sha256: sha256_file(&path)?,
            imported: true,
        };
        let recorded = match self.record(file, &entry) {
            Ok(()) => Some(self.manifest_path()),
            Err(_) => match fallback {
                Some(m) => {
                    record_into(m, &key, &entry)?;
                    Some(m.to_path_buf())
                }
                None => None,
            },
        };
        Ok(Some(Verified {
            path: path.clone(),
            entry,
            imported_now: Some(recorded),
        }))
    }

    /// `vbench fetch --from DIR`: copies `DIR/file` into the cache (atomically, through
    /// `<file>.part`) and records it as imported, unless a verified copy is already there.
    pub fn import_from(&self, from: &Path, url: &str, file: &str) -> Result<FetchOutcome> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        if let Some(entry) = self.verify(file)? {
            return Ok(FetchOutcome::Cached(entry));
        }
        let src = from.join(file);
        let part = self.dir.join(format!("{file}.part"));
        std::fs::copy(&src, &part).map_err(io(&src))?;
        std::fs::File::open(&part)
            .and_then(|f| f.sync_all())
            .map_err(io(&part))?;
        let entry = ManifestEntry {
            url: url.into(),
            bytes: std::fs::metadata(&part).map_err(io(&part))?.len(),
            sha256: sha256_file(&part)?,
            imported: true,
        };
        let dest = self.path_for(file);
        std::fs::rename(&part, &dest).map_err(io(&dest))?;
        self.record(file, &entry)?;
        Ok(FetchOutcome::Imported(entry))
    }

    /// Re-hashes a cached file against its manifest entry.
    pub fn verify(&self, file: &str) -> Result<Option<ManifestEntry>> {
        let path = self.path_for(file);
        let Some(entry) = self.manifest()?.remove(file) else {
            return Ok(None);
        };
        if !path.exists() {
            return Ok(None);
        }
        check_sha(&path, &entry)?;
        Ok(Some(entry))
    }

    /// Downloads `url` into the cache as `file` unless a verified copy is there. Broken transfers are
    /// resumed (HTTP Range) up to `attempts` times; a failure leaves `<file>.part` for the next run.
    pub fn fetch(
        &self,
        url: &str,
        file: &str,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<FetchOutcome> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        // An imported file is downloaded again: the download proves (or replaces) it.
        if let Some(entry) = self.verify(file)? {
            if entry.url == url && !entry.imported {
                return Ok(FetchOutcome::Cached(entry));
            }
        }
        let part = self.dir.join(format!("{file}.part"));
        let mut last = None;
        for _ in 0..self.attempts.max(1) {
            match self.transfer(url, &part, progress) {
                Ok(total) => {
                    let bytes = std::fs::metadata(&part).map_err(io(&part))?.len();
                    if bytes != total {
                        last = Some(WeightsError::Truncated {
                            url: url.into(),
                            got: bytes,
                            expected: total,
                            part: part.clone(),
                        });
                        continue;
                    }
                    let entry = ManifestEntry {
                        url: url.into(),
                        bytes,
                        sha256: sha256_file(&part)?,
                        imported: false,
                    };
                    let dest = self.path_for(file);
                    std::fs::rename(&part, &dest).map_err(io(&dest))?;
                    self.record(file, &entry)?;
                    return Ok(FetchOutcome::Downloaded(entry));
                }
                Err(e @ WeightsError::Http { .. }) if !is_transient(&e) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| WeightsError::Http {
            url: url.into(),
            message: "no attempt made".into(),
        }))
    }

    /// One request, appending to `part` from its current length. Returns the full size of the file.
    fn transfer(
        &self,
        url: &str,
        part: &Path,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<u64> {
        let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let mut req = self.agent.get(url);
        if have > 0 {
            req = req.header("Range", &format!("bytes={have}-"));
        }
        let http = |message: String| WeightsError::Http {
            url: url.into(),
            message,
        };
        let resp = req.call().map_err(|e| http(format!("transient: {e}")))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let length: Option<u64> = header("content-length").and_then(|v| v.parse().ok());
        let (mut file, start, total) = match status {
            206 => {
                // Content-Range: bytes START-END/TOTAL
                let range = header("content-range").unwrap_or_default();
                let start: u64 = range
                    .strip_prefix("bytes ")
                    .and_then(|r| r.split('-').next())
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| http(format!("bad Content-Range `{range}`")))?;
                let total = range.rsplit('/').next().and_then(|t| t.parse().ok());
                if start != have {
                    return Err(http(format!("server resumed at {start}, expected {have}")));
                }
                let f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(part)
                    .map_err(io(part))?;
                (f, have, total.or(length.map(|l| l + have)))
            }
            200 => (std::fs::File::create(part).map_err(io(part))?, 0, length),
            416 => {
                // Our .part is not a prefix the server can extend: start over next attempt.
                let _ = std::fs::remove_file(part);
                return Err(http("transient: range not satisfiable; restarting".into()));
            }
            s => return Err(http(format!("HTTP {s}"))),
        };
        let mut reader = resp.into_body().into_reader();
        let mut buf = vec![0u8; 1 << 16];
        let mut done = start;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    file.flush().map_err(io(part))?;
                    return Err(WeightsError::Truncated {
                        url: format!("{url} ({e})"),
                        got: done,
                        expected: total.unwrap_or(0),
                        part: part.to_path_buf(),
                    });
                }
            };
            file.write_all(&buf[..n]).map_err(io(part))?;
            done += n as u64;
            progress(done, total);
        }
        file.sync_all().map_err(io(part))?;
        Ok(total.unwrap_or(done))
    }
}

fn read_manifest(path: &Path) -> Result<BTreeMap<String, ManifestEntry>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| WeightsError::Manifest {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(io(path)(e)),
    }
}

/// Adds `key` to the manifest at `path` (written to a temporary file, then renamed).
fn record_into(path: &Path, key: &str, entry: &ManifestEntry) -> Result<()> {
    let mut m = read_manifest(path)?;
    m.insert(key.to_string(), entry.clone());
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{}.tmp", name.unwrap_or_default()));
    let text = serde_json::to_string_pretty(&m).map_err(|e| WeightsError::Manifest {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn check_sha(path: &Path, entry: &ManifestEntry) -> Result<()> {
    let found = sha256_file(path)?;
    if found != entry.sha256 {
        return Err(WeightsError::Checksum {
            path: path.to_path_buf(),
            expected: entry.sha256.clone(),
            found,
        });
    }
    Ok(())
}

fn is_transient(e: &WeightsError) -> bool {
    matches!(e, WeightsError::Http { message, .. } if message.starts_with("transient"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/X3D_XS.pyth";

    #[test]
    fn a_file_copied_in_is_imported_once_then_verified() {
        let dir = tempfile::tempdir().unwrap();
        let cache = WeightsCache::new(dir.path());
        assert_eq!(
            cache.verify_or_import("X3D_XS.pyth", URL, None).unwrap(),
            None
        );
        std::fs::write(dir.path().join("X3D_XS.pyth"), b"weights").unwrap();
        let first = cache
            .verify_or_import("X3D_XS.pyth", URL, None)
            .unwrap()
            .unwrap();
        assert!(first.entry.imported);
        assert_eq!(first.entry.bytes, 7);
        assert_eq!(first.entry.sha256, sha256_file(&first.path).unwrap());
        assert_eq!(
            first.imported_now,
            Some(Some(dir.path().join("manifest.json")))
        );
        let note = first.import_note().unwrap();
        assert!(note.contains("imported, not downloaded") && note.contains("manifest.json"));
        assert_eq!(cache.manifest().unwrap()["X3D_XS.pyth"], first.entry);
        // Later uses re-verify against the record.
        let again = cache
            .verify_or_import("X3D_XS.pyth", URL, None)
            .unwrap()
            .unwrap();
        assert_eq!((again.imported_now, again.entry), (None, first.entry));
        std::fs::write(dir.path().join("X3D_XS.pyth"), b"changed").unwrap();
        let e = cache
            .verify_or_import("X3D_XS.pyth", URL, None)
            .unwrap_err();
        assert!(matches!(e, WeightsError::Checksum { .. }), "{e}");
    }

    #[test]
    fn an_unwritable_cache_records_the_import_in_the_run_folder() {
        let (dir, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let cache = WeightsCache::new(dir.path());
        std::fs::write(dir.path().join("X3D_XS.pyth"), b"weights").unwrap();
        // The manifest's temporary file cannot be created (a folder sits there), as in a
        // read-only folder (which root, running these tests, could still write).
        std::fs::create_dir(dir.path().join(".manifest.json.tmp")).unwrap();
        let fallback = out.path().join("weights-manifest.json");
        let v = cache
            .verify_or_import("X3D_XS.pyth", URL, Some(&fallback))
            .unwrap()
            .unwrap();
        assert_eq!(v.imported_now, Some(Some(fallback.clone())));
        assert!(!dir.path().join("manifest.json").exists());
        let recorded = read_manifest(&fallback).unwrap();
        let key = std::path::absolute(dir.path().join("X3D_XS.pyth")).unwrap();
        assert_eq!(recorded[&key.to_string_lossy().into_owned()], v.entry);
        let again = cache
            .verify_or_import("X3D_XS.pyth", URL, Some(&fallback))
            .unwrap()
            .unwrap();
        assert_eq!(again.imported_now, None);
        std::fs::write(dir.path().join("X3D_XS.pyth"), b"changed").unwrap();
        assert!(matches!(
            cache.verify_or_import("X3D_XS.pyth", URL, Some(&fallback)),
            Err(WeightsError::Checksum { .. })
        ));
    }

    #[test]
    fn fetch_from_a_folder_copies_and_records_an_import() {
        let (src, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(src.path().join("X3D_XS.pyth"), b"weights").unwrap();
        let cache = WeightsCache::new(dir.path().join("cache"));
        let FetchOutcome::Imported(m) = cache.import_from(src.path(), URL, "X3D_XS.pyth").unwrap()
        else {
            panic!("not imported")
        };
        assert!(m.imported && m.url == URL);
        assert_eq!(cache.verify("X3D_XS.pyth").unwrap(), Some(m.clone()));
        assert_eq!(
            cache.import_from(src.path(), URL, "X3D_XS.pyth").unwrap(),
            FetchOutcome::Cached(m)
        );
        let e = cache
            .import_from(src.path(), URL, "X3D_S.pyth")
            .unwrap_err();
        assert!(e.to_string().contains("X3D_S.pyth"), "{e}");
    }
}
