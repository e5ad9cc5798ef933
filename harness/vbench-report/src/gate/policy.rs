//! The gate's policy: a TOML file, every key optional, unknown keys refused. The defaults are the
//! policy when no file is given; `vbench gate --print-policy` prints them (see
//! [`default_policy_toml`]). The judged accuracy metrics default to the registry's gated ones.

use crate::error::{ReportError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use vbench_results::metrics::registry::{self, Metric};
use vbench_results::paired::BootstrapSpec;

/// What a condition that is not a measured regression does to the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Fail,
    Warn,
    Ignore,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub accuracy: AccuracyPolicy,
    pub latency: LatencyPolicy,
    pub missing: MissingPolicy,
    pub published: PublishedPolicy,
    pub variants: VariantsPolicy,
}

/// Speed variants (`--variant`), judged within the candidate run: each against its own fp32.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VariantsPolicy {
    /// Fidelity floors, percent of views / videos whose top-1 is fp32's; 0: not judged.
    pub min_view_agreement: f64,
    pub min_video_agreement: f64,
    /// Speed floor: fp32 p50 / variant p50 at every thread count; 0: not judged.
    pub min_speedup: f64,
    /// The variants held to these floors (names); empty: every variant of the run.
    pub only: Vec<vbench_suite::Variant>,
    /// A floor is set but the variant's fidelity or speed was not measured.
    pub not_measured: Severity,
    /// A variant that failed on an entry (not "not applicable" / "not available").
    pub failed: Severity,
}

impl Default for VariantsPolicy {
    fn default() -> Self {
        VariantsPolicy {
            min_view_agreement: 0.0,
            min_video_agreement: 0.0,
            min_speedup: 0.0,
            only: Vec::new(),
            not_measured: Severity::Warn,
            failed: Severity::Fail,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccuracyPolicy {
    /// A drop (percentage points) up to this much passes.
    pub tolerance_points: f64,
    /// Where a 95 % CI is stored, a drop must also leave it to fail (see the gate module docs).
    pub use_ci: bool,
    /// Paired gate: the candidate fails when worse with p below this...
    pub alpha: f64,
    /// ...and a drop of at least this many points.
    pub min_effect_points: f64,
    /// The judged metrics, keys of `vbench_results::metrics::registry`.
    pub metrics: Vec<String>,
    /// The paired bootstrap (mAP, frame-mAP): resamples and seed.
    pub bootstrap_resamples: usize,
    pub bootstrap_seed: u64,
}

impl AccuracyPolicy {
    /// The judged metrics (validated: every key names one).
    pub fn judged(&self) -> Vec<&'static Metric> {
        self.metrics
            .iter()
            .filter_map(|k| registry::metric(k))
            .collect()
    }

    pub fn bootstrap(&self) -> BootstrapSpec {
        BootstrapSpec {
            seed: self.bootstrap_seed,
            resamples: self.bootstrap_resamples,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyPolicy {
    /// One-sided Mann–Whitney significance level.
    pub alpha: f64,
    /// ...and the candidate's median must be at least this many times the baseline's.
    pub min_ratio: f64,
    /// Fewer kept samples than this on either side: the comparison is inconclusive.
    pub min_samples: usize,
    pub inconclusive: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MissingPolicy {
    /// An entry of the baseline that the candidate lacks.
    pub entry: Severity,
    /// A measurement the baseline has and the candidate does not (not implemented, skipped, absent).
    pub measurement: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishedPolicy {
    /// Params or GFLOPs that neither print as the published value nor carry a note saying why.
    pub unexplained: Severity,
    /// A published number this run did not measure (e.g. accuracy without a dataset).
    pub not_measured: Severity,
}

impl Default for AccuracyPolicy {
    fn default() -> Self {
        let bootstrap = BootstrapSpec::default();
        AccuracyPolicy {
            tolerance_points: 0.5,
            use_ci: true,
            alpha: 0.05,
            min_effect_points: 0.2,
            metrics: registry::gated().map(|m| m.key.to_string()).collect(),
            bootstrap_resamples: bootstrap.resamples,
            bootstrap_seed: bootstrap.seed,
        }
    }
}

impl Default for LatencyPolicy {
    fn default() -> Self {
        LatencyPolicy {
            alpha: 0.01,
            min_ratio: 1.10,
            min_samples: 8,
            inconclusive: Severity::Warn,
        }
    }
}

impl Default for MissingPolicy {
    fn default() -> Self {
        MissingPolicy {
            entry: Severity::Fail,
            measurement: Severity::Fail,
        }
    }
}

impl Default for PublishedPolicy {
    fn default() -> Self {
        PublishedPolicy {
            unexplained: Severity::Fail,
            not_measured: Severity::Ignore,
        }
    }
}

/// The defaults, documented; a test proves this text parses to `Policy::default()`.
const DEFAULT_POLICY: &str = r#"# vbench gate policy. Every key is optional; these are the defaults.

[accuracy]
# The accuracy metrics judged (the metric registry's keys).
metrics = {METRICS}
# When both runs have predictions over the same dataset list (same sha256), each metric is judged
# on the videos scored in both: top-k by McNemar's exact test, mAP by a paired bootstrap over
# videos. The candidate fails when it is worse with a two-sided p below alpha AND the drop is at
# least min_effect_points.
alpha = 0.05
min_effect_points = 0.2
# The paired bootstrap's resamples and seed (its generator: ChaCha20).
bootstrap_resamples = {RESAMPLES}
bootstrap_seed = {SEED}
# Without paired predictions (unpaired fallback): a drop of at most this many points passes...
tolerance_points = 0.5
# ...and where a 95 % CI is stored, a larger drop must also leave it: the candidate's CI must lie
# wholly below the reference value (or, without a candidate CI, the candidate below the baseline's
# CI). The published tables are always judged this way.
use_ci = true

[latency]
# A latency fails only when the candidate is slower by BOTH tests: the one-sided Mann-Whitney U
# test on the stored samples at this level...
alpha = 0.01
# ...and a median ratio candidate/baseline of at least this much, so noise does not fail a build.
min_ratio = 1.10
# With fewer kept samples than this on either side the comparison is inconclusive.
min_samples = 8
# What inconclusive does: "fail", "warn" or "ignore".
inconclusive = "warn"

[missing]
# A baseline entry absent from the candidate.
entry = "fail"
# A measurement the baseline has and the candidate lacks (not implemented, skipped, other device).
measurement = "fail"

[published]
# --against published: params/GFLOPs that do not print as published and carry no explaining note.
unexplained = "fail"
# A published number the run did not measure.
not_measured = "ignore"

[variants]
# Speed variants, each judged against fp32 measured in the same candidate run (no baseline needed).
# Fidelity floors: the percentage of views (videos) whose top-1 equals fp32's on the same real
# views must be at least this; 0 turns the check off. Example: min_view_agreement = 99.5.
# With random weights most views are near ties, so agreement is pessimistic.
min_view_agreement = 0.0
min_video_agreement = 0.0
# Speed floor: fp32 p50 / variant p50, at every thread count measured. Fails when the speed-up and
# the upper end of its 95 % CI (bootstrap over the interleaved pairs) are both below it; a
# speed-up below it whose CI reaches it warns. 0 turns the check off. Example: 1.2.
min_speedup = 0.0
# Only these variants are held to the floors (e.g. ["bf16", "folded-bn"]); empty: all.
only = []
# A floor is set but the run did not measure that variant's fidelity or speed.
not_measured = "warn"
# A variant that failed on an entry (a variant that does not exist for it is skipped).
failed = "fail"
"#;

/// The default policy, documented, as `vbench gate --print-policy` prints it.
pub fn default_policy_toml() -> String {
    let keys: Vec<String> = registry::gated()
        .map(|m| format!("\"{}\"", m.key))
        .collect();
    let b = BootstrapSpec::default();
    DEFAULT_POLICY
        .replace("{METRICS}", &format!("[{}]", keys.join(", ")))
        .replace("{RESAMPLES}", &b.resamples.to_string())
        .replace("{SEED}", &b.seed.to_string())
}

impl Policy {
    /// Parses policy text; `path` labels errors (toml names the key and line).
    pub fn parse(path: &Path, text: &str) -> Result<Policy> {
        let err = |message: String| ReportError::Policy {
            path: path.to_path_buf(),
            message,
        };
        let policy: Policy = toml::from_str(text)
            .map_err(|e| err(e.to_string().trim_end().replace('\n', "\n  ")))?;
        policy
            .validate()
            .map_err(|(key, m)| err(format!("`{key}` {m}")))?;
        Ok(policy)
    }

    pub fn load(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::parse(path, &text)
    }

    fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        let (a, l) = (&self.accuracy, &self.latency);
        if !(a.tolerance_points.is_finite() && a.tolerance_points >= 0.0) {
            return Err((
                "accuracy.tolerance_points",
                format!("must be ≥ 0, got {}", a.tolerance_points),
            ));
        }
        if !(a.alpha > 0.0 && a.alpha < 1.0) {
            return Err((
                "accuracy.alpha",
                format!("must lie in (0, 1), got {}", a.alpha),
            ));
        }
        if !(a.min_effect_points.is_finite() && a.min_effect_points >= 0.0) {
            return Err((
                "accuracy.min_effect_points",
                format!("must be ≥ 0, got {}", a.min_effect_points),
            ));
        }
        if let Some(k) = a.metrics.iter().find(|k| registry::metric(k).is_none()) {
            let known: Vec<&str> = registry::METRICS.iter().map(|m| m.key).collect();
            return Err((
                "accuracy.metrics",
                format!("names `{k}`, not a metric; known: {}", known.join(", ")),
            ));
        }
        if a.bootstrap_resamples < 100 {
            return Err((
                "accuracy.bootstrap_resamples",
                format!("must be ≥ 100, got {}", a.bootstrap_resamples),
            ));
        }
        if !(l.alpha > 0.0 && l.alpha < 1.0) {
            return Err((
                "latency.alpha",
                format!("must lie in (0, 1), got {}", l.alpha),
            ));
        }
        if !(l.min_ratio.is_finite() && l.min_ratio >= 1.0) {
            return Err((
                "latency.min_ratio",
                format!("must be ≥ 1, got {}", l.min_ratio),
            ));
        }
        let v = &self.variants;
        for (key, x, hi) in [
            ("variants.min_view_agreement", v.min_view_agreement, 100.0),
            ("variants.min_video_agreement", v.min_video_agreement, 100.0),
            ("variants.min_speedup", v.min_speedup, f64::INFINITY),
        ] {
            if !(x.is_finite() && (0.0..=hi).contains(&x)) {
                return Err((key, format!("must lie in [0, {hi}], got {x}")));
            }
        }
        if l.min_samples < 2 {
            return Err((
                "latency.min_samples",
                format!("must be ≥ 2, got {}", l.min_samples),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_defaults_are_the_defaults() {
        let p = Policy::parse(Path::new("default.toml"), &default_policy_toml()).unwrap();
        assert_eq!(p, Policy::default());
        assert_eq!(
            Policy::parse(Path::new("empty.toml"), "").unwrap(),
            Policy::default()
        );
    }

    #[test]
    fn partial_policy_keeps_other_defaults() {
        let p = Policy::parse(Path::new("p.toml"), "[latency]\nalpha = 0.05\n").unwrap();
        assert_eq!(p.latency.alpha, 0.05);
        assert_eq!(p.latency.min_ratio, 1.10);
        assert_eq!(p.accuracy, AccuracyPolicy::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_name_file_and_key() {
        let e = Policy::parse(Path::new("ci/policy.toml"), "[latency]\nalfa = 0.05\n").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("ci/policy.toml") && s.contains("alfa"), "{s}");
        let e = Policy::parse(Path::new("p.toml"), "[latency]\nalpha = 2.0\n").unwrap_err();
        assert!(e.to_string().contains("latency.alpha"), "{e}");
        let e = Policy::parse(Path::new("p.toml"), "[latency]\ninconclusive = \"maybe\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("inconclusive"), "{e}");
        let e =
            Policy::parse(Path::new("p.toml"), "[accuracy]\nmetrics = [\"top2\"]\n").unwrap_err();
        assert!(
            e.to_string().contains("accuracy.metrics") && e.to_string().contains("top2"),
            "{e}"
        );
        let e = Policy::parse(Path::new("p.toml"), "[colour]\n").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }
}
