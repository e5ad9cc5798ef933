//! The published tables (`reference-results/*.csv`): one loader, typed rows.

use crate::error::{Result, SuiteError};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;

/// A number as the table prints it: the value and how many decimals were printed, so that
/// "reproduces the published value" can be judged at the table's own precision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Printed {
    pub value: f64,
    pub decimals: u8,
}

impl Printed {
    pub fn parse(text: &str) -> Option<Printed> {
        let t = text.trim();
        let value: f64 = t.parse().ok()?;
        if !value.is_finite() {
            return None;
        }
        let decimals = t.split_once('.').map_or(0, |(_, frac)| frac.len()) as u8;
        Some(Printed { value, decimals })
    }

    /// Whether `measured`, rounded half-away-from-zero to the printed decimals, prints the same.
    pub fn matches(&self, measured: f64) -> bool {
        let scale = 10f64.powi(self.decimals as i32);
        (measured * scale).round() == (self.value * scale).round()
    }
}

impl std::fmt::Display for Printed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.*}", self.decimals as usize, self.value)
    }
}

fn printed<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Printed>, D::Error> {
    let s: String = Deserialize::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(None);
    }
    Printed::parse(&s)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a number")))
}

fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u32>, D::Error> {
    let s: String = Deserialize::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(None);
    }
    s.trim()
        .parse()
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a whole number")))
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let s: String = Deserialize::deserialize(d)?;
    Ok(if s.trim().is_empty() { None } else { Some(s) })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Fp32,
    Int8,
}

/// One row of a published table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceRow {
    pub row: String,
    pub arch: String,
    pub depth: String,
    pub pretrain: String,
    pub frames: u32,
    pub sample_rate: u32,
    pub precision: Precision,
    #[serde(deserialize_with = "printed")]
    pub top1: Option<Printed>,
    #[serde(deserialize_with = "printed")]
    pub top5: Option<Printed>,
    #[serde(deserialize_with = "printed")]
    pub map: Option<Printed>,
    #[serde(deserialize_with = "printed")]
    pub gflops: Option<Printed>,
    #[serde(deserialize_with = "opt_u32")]
    pub spatial_views: Option<u32>,
    #[serde(deserialize_with = "opt_u32")]
    pub temporal_views: Option<u32>,
    #[serde(deserialize_with = "printed")]
    pub params_m: Option<Printed>,
    #[serde(deserialize_with = "printed")]
    pub latency_ms: Option<Printed>,
    #[serde(deserialize_with = "opt_string")]
    pub latency_device: Option<String>,
    pub checkpoint_url: String,
}

impl ReferenceRow {
    /// The checkpoint's file name, the last segment of its URL.
    pub fn checkpoint_file(&self) -> &str {
        self.checkpoint_url
            .rsplit('/')
            .next()
            .unwrap_or(&self.checkpoint_url)
    }
}

/// Reads one reference table from disk. Errors name the file and the CSV line.
pub fn load_reference(path: &Path) -> Result<Vec<ReferenceRow>> {
    let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_reference(path, &text)
}

/// Parses a reference table; `path` only labels errors.
pub fn parse_reference(path: &Path, text: &str) -> Result<Vec<ReferenceRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for record in reader.deserialize::<ReferenceRow>() {
        let row = record.map_err(|e| SuiteError::Csv {
            path: path.to_path_buf(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        if !seen.insert(row.row.clone()) {
            return Err(SuiteError::Csv {
                path: path.to_path_buf(),
                line: rows.len() as u64 + 2,
                message: format!("duplicate row id `{}`", row.row),
            });
        }
        if !row.checkpoint_url.starts_with("https://") {
            return Err(SuiteError::Csv {
                path: path.to_path_buf(),
                line: rows.len() as u64 + 2,
                message: format!("row `{}`: checkpoint_url must be an https URL", row.row),
            });
        }
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_keeps_decimals_and_matches_at_that_precision() {
        let p = Printed::parse("65.71").unwrap();
        assert_eq!(p.decimals, 2);
        assert!(p.matches(65.7149));
        assert!(p.matches(65.705));
        assert!(!p.matches(65.7151));
        let q = Printed::parse("19.5").unwrap();
        assert_eq!(q.to_string(), "19.5");
        assert!(Printed::parse("nan").is_none());
        assert!(Printed::parse("x").is_none());
    }

    #[test]
    fn bad_csv_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(
            &p,
            "row,arch,depth,pretrain,frames,sample_rate,precision,top1,top5,map,gflops,spatial_views,temporal_views,params_m,latency_ms,latency_device,checkpoint_url\n\
             a,X,R50,-,8,8,fp32,1.0,2.0,,3.0,3,10,4.0,,,https://x/a.pyth\n\
             b,X,R50,-,8,eight,fp32,1.0,2.0,,3.0,3,10,4.0,,,https://x/b.pyth\n",
        )
        .unwrap();
        let err = load_reference(&p).unwrap_err().to_string();
        assert!(err.contains("t.csv") && err.contains("line 3"), "{err}");
    }
}
