//! The official-checkpoint cache: resumable downloads (`<file>.part` + HTTP Range), atomic install
//! (rename), and a manifest recording each file's URL, size and sha256, re-verified on use.

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
}

#[derive(Debug, Clone, PartialEq)]
pub enum FetchOutcome {
    /// Already in the cache and its sha256 still matches the manifest.
    Cached(ManifestEntry),
    Downloaded(ManifestEntry),
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
        let path = self.manifest_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| WeightsError::Manifest {
                path: path.clone(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    fn record(&self, file: &str, entry: &ManifestEntry) -> Result<()> {
        let mut m = self.manifest()?;
        m.insert(file.to_string(), entry.clone());
        let path = self.manifest_path();
        let tmp = self.dir.join(".manifest.json.tmp");
        let text = serde_json::to_string_pretty(&m).map_err(|e| WeightsError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
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
        let found = sha256_file(&path)?;
        if found != entry.sha256 {
            return Err(WeightsError::Checksum {
                path,
                expected: entry.sha256,
                found,
            });
        }
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
        if let Some(entry) = self.verify(file)? {
            if entry.url == url {
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

fn is_transient(e: &WeightsError) -> bool {
    matches!(e, WeightsError::Http { message, .. } if message.starts_with("transient"))
}
