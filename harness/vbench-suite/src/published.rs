//! The published numbers an entry is judged against: its reference-table row, numbers written
//! inline in the suite (`published = { top1 = 77.4, gflops = 6.7, gflops_convention =
//! "fvcore-2021" }`, a paper's own), or both (inline keys override the row's).

use crate::presets::FlopsConvention;
use crate::reference::{Printed, ReferenceRow};
use serde::{Deserialize, Deserializer, Serialize};

/// Where an entry's published numbers come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PublishedSource {
    /// Nothing published: the entry is measured, never judged against a table.
    None,
    /// A row of a reference table (`reference-results/<table>`).
    Table { table: String, row: String },
    /// Numbers written in the suite file.
    Inline,
    /// A table row with some keys overridden inline.
    TableAndInline { table: String, row: String },
}

/// The numbers the report and `gate --against published` compare with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Published {
    pub top1: Option<Printed>,
    pub top5: Option<Printed>,
    pub map: Option<Printed>,
    pub gflops: Option<Printed>,
    /// The convention `gflops` was counted under, when the source says so. `None` (every table
    /// row): vbench finds the convention that reproduces it.
    pub gflops_convention: Option<FlopsConvention>,
    pub params_m: Option<Printed>,
    /// (spatial, temporal) views the accuracy was published with.
    pub views: Option<(u32, u32)>,
    pub latency_ms: Option<Printed>,
    pub latency_device: Option<String>,
    pub source: PublishedSource,
}

impl Published {
    pub fn none() -> Published {
        Published {
            top1: None,
            top5: None,
            map: None,
            gflops: None,
            gflops_convention: None,
            params_m: None,
            views: None,
            latency_ms: None,
            latency_device: None,
            source: PublishedSource::None,
        }
    }

    pub fn from_row(table: &str, row: &ReferenceRow) -> Published {
        Published {
            top1: row.top1,
            top5: row.top5,
            map: row.map,
            gflops: row.gflops,
            gflops_convention: None,
            params_m: row.params_m,
            views: row.spatial_views.zip(row.temporal_views),
            latency_ms: row.latency_ms,
            latency_device: row.latency_device.clone(),
            source: PublishedSource::Table {
                table: table.to_string(),
                row: row.row.clone(),
            },
        }
    }

    /// `self` with every key `inline` sets replaced.
    pub fn overridden(mut self, inline: &RawPublished) -> Published {
        macro_rules! set {
            ($($f:ident),*) => {$(
                if let Some(v) = &inline.$f {
                    self.$f = Some(v.clone());
                }
            )*};
        }
        set!(
            top1,
            top5,
            map,
            gflops,
            params_m,
            latency_ms,
            latency_device
        );
        if inline.gflops_convention.is_some() {
            self.gflops_convention = inline.gflops_convention;
        }
        if let (Some(s), Some(t)) = (inline.spatial_views, inline.temporal_views) {
            self.views = Some((s, t));
        }
        self.source = match self.source {
            PublishedSource::Table { table, row }
            | PublishedSource::TableAndInline { table, row } => {
                PublishedSource::TableAndInline { table, row }
            }
            _ => PublishedSource::Inline,
        };
        self
    }
}

/// `published = { .. }` as written. Numbers may be TOML numbers or strings; a string keeps its
/// printed decimals (`"77.40"`), a number prints as its shortest form (`77.4`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPublished {
    #[serde(default, deserialize_with = "printed")]
    pub top1: Option<Printed>,
    #[serde(default, deserialize_with = "printed")]
    pub top5: Option<Printed>,
    #[serde(default, deserialize_with = "printed")]
    pub map: Option<Printed>,
    #[serde(default, deserialize_with = "printed")]
    pub gflops: Option<Printed>,
    #[serde(default)]
    pub gflops_convention: Option<FlopsConvention>,
    #[serde(default, deserialize_with = "printed")]
    pub params_m: Option<Printed>,
    #[serde(default)]
    pub spatial_views: Option<u32>,
    #[serde(default)]
    pub temporal_views: Option<u32>,
    #[serde(default, deserialize_with = "printed")]
    pub latency_ms: Option<Printed>,
    #[serde(default)]
    pub latency_device: Option<String>,
}

fn printed<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Printed>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        Int(i64),
        Float(f64),
        Text(String),
    }
    let text = match Num::deserialize(d)? {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => format!("{f}"),
        Num::Text(s) => s,
    };
    Printed::parse(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a finite number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_numbers_keep_their_printed_precision_and_override_the_row() {
        let raw: RawPublished = toml::from_str(
            "top1 = \"77.40\"\ngflops = 6.7\ngflops_convention = \"conv-linear\"\nparams_m = 4",
        )
        .unwrap();
        assert_eq!(raw.top1.unwrap().decimals, 2);
        assert_eq!(raw.gflops.unwrap().to_string(), "6.7");
        assert_eq!(raw.params_m.unwrap().decimals, 0);
        let p = Published::none().overridden(&raw);
        assert_eq!(p.source, PublishedSource::Inline);
        assert_eq!(p.gflops_convention, Some(FlopsConvention::ConvLinear));
        assert!(p.top5.is_none());

        let bad = toml::from_str::<RawPublished>("gflops_convention = \"fvcore\"")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("fvcore-2021"), "{bad}");
        let key = toml::from_str::<RawPublished>("top_1 = 3")
            .unwrap_err()
            .to_string();
        assert!(key.contains("top_1"), "{key}");
        let nan = toml::from_str::<RawPublished>("top1 = \"n/a\"")
            .unwrap_err()
            .to_string();
        assert!(nan.contains("n/a"), "{nan}");
    }
}
