//! The one reader of predictions files, shared by scoring, resume and `vbench merge`.
//!
//! Lines are appended whole and fsynced one at a time, so a kill leaves whole lines and at most
//! one torn last line. A last line without its newline, or one that does not parse, is that torn
//! tail and is left out; an unparseable line anywhere else is corruption, an error naming the file
//! and line.

use super::{io, Header, PredictionsError, Result};
use serde::de::DeserializeOwned;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Where a complete line sits in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAt {
    /// 1-based line number.
    pub number: usize,
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// Bytes, newline included.
    pub len: usize,
}

/// Reads `path` line by line: line 1 as the [`Header`], every later line as an `R` handed to
/// `each` (`R` may be a [`super::Record`] or any part of one serde can pick out). Returns the
/// header and the byte length of the valid prefix (the torn tail, if any, starts there).
/// `Ok(None)`: no complete header (a file created by a run killed at once).
pub fn read<R: DeserializeOwned>(
    path: &Path,
    each: &mut dyn FnMut(&Header, LineAt, R) -> Result<()>,
) -> Result<Option<(Header, u64)>> {
    let file = File::open(path).map_err(io(path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    let mut header: Option<Header> = None;
    let (mut offset, mut number) = (0u64, 0usize);
    let mut valid = 0u64;
    // A line that failed to parse: fine only if it is the last one.
    let mut bad: Option<(usize, String)> = None;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        number += 1;
        if let Some((line, message)) = bad.take() {
            return Err(PredictionsError::Corrupt {
                path: path.to_path_buf(),
                line,
                message,
            });
        }
        let at = LineAt {
            number,
            offset,
            len: n,
        };
        offset += n as u64;
        // Without its newline the write was cut short, even if what is there parses.
        if buf.last() != Some(&b'\n') {
            bad = Some((number, "unterminated last line".into()));
            continue;
        }
        let text = &buf[..n - 1];
        match &header {
            None => match serde_json::from_slice::<Header>(text) {
                Ok(h) => header = Some(h),
                Err(e) => bad = Some((number, format!("bad header: {e}"))),
            },
            Some(h) => match serde_json::from_slice::<R>(text) {
                Ok(r) => each(h, at, r)?,
                Err(e) => bad = Some((number, e.to_string())),
            },
        }
        if bad.is_none() {
            valid += n as u64;
        }
    }
    Ok(header.map(|h| (h, valid)))
}
