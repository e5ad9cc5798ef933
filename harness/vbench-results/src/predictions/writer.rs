//! Appending to a predictions file: one whole line per write, then fsync, so a kill leaves whole
//! lines or a torn last one, which [`PredictionsWriter::open`] drops before it appends again.

use super::jsonl;
use super::{io, Header, PredictionsError, Record, RecordStatus, Result};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What a resume needs: which list positions already have a record.
#[derive(Debug, Default)]
pub struct Done {
    /// Latest status per dataset index.
    pub status: BTreeMap<usize, (String, RecordStatus, Option<String>)>,
}

impl Done {
    pub fn is_scored(&self, index: usize, id: &str) -> bool {
        matches!(self.status.get(&index), Some((i, RecordStatus::Ok, _)) if i == id)
    }
    pub fn scored(&self) -> usize {
        self.status
            .values()
            .filter(|(_, s, _)| *s == RecordStatus::Ok)
            .count()
    }
    /// The same failure is already on record (so a resume does not append it again).
    pub fn has_failure(&self, index: usize, id: &str, error: &str) -> bool {
        matches!(self.status.get(&index),
            Some((i, RecordStatus::Failed, Some(e))) if i == id && e == error)
    }
}

/// An open predictions file, appending.
pub struct PredictionsWriter {
    path: PathBuf,
    file: File,
}

impl PredictionsWriter {
    /// Opens `path` for `header`: resumes an existing file written for the same inputs (dropping
    /// a torn last line), or starts a new one (`fresh`, no file, or no complete header).
    pub fn open(path: &Path, header: &Header, fresh: bool) -> Result<(Self, Done)> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_err(dir))?;
        }
        let mut done = Done::default();
        let existing = if !fresh && path.exists() {
            jsonl::read(path, &mut |_, _, r: Record| {
                done.status.insert(r.index, (r.id, r.status, r.error));
                Ok(())
            })?
        } else {
            None
        };
        let Some((old, valid)) = existing else {
            return Ok((Self::create(path, header)?, Done::default()));
        };
        old.check_same_inputs(header, path)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        if file.metadata().map_err(io(path))?.len() != valid {
            file.set_len(valid).map_err(write_err(path))?;
            file.sync_all().map_err(write_err(path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io(path))?;
        Ok((
            PredictionsWriter {
                path: path.to_path_buf(),
                file,
            },
            done,
        ))
    }

    fn create(path: &Path, header: &Header) -> Result<Self> {
        let file = File::create(path).map_err(write_err(path))?;
        let mut w = PredictionsWriter {
            path: path.to_path_buf(),
            file,
        };
        w.write_line(&serde_json::to_vec(header).map_err(|e| corrupt(path, 1, e))?)?;
        // The new directory entry must survive a crash too.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(w)
    }

    fn write_line(&mut self, json: &[u8]) -> Result<()> {
        let mut line = Vec::with_capacity(json.len() + 1);
        line.extend_from_slice(json);
        line.push(b'\n');
        // One write of the whole line, then fsync: a kill leaves whole lines or a torn last one.
        self.file.write_all(&line).map_err(write_err(&self.path))?;
        self.file.sync_data().map_err(write_err(&self.path))
    }

    pub fn append(&mut self, record: &Record) -> Result<()> {
        let json = serde_json::to_vec(record).map_err(|e| corrupt(&self.path, 0, e))?;
        self.write_line(&json)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> PredictionsError + '_ {
    move |source| PredictionsError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, line: usize, e: serde_json::Error) -> PredictionsError {
    PredictionsError::Corrupt {
        path: path.to_path_buf(),
        line,
        message: e.to_string(),
    }
}
