//! Speed variants held to the policy's floors (`[variants]`), within the candidate run: each
//! variant's top-1 agreement with fp32 on the same real views, and its speed-up over fp32 timed
//! interleaved in the same run. Both are ratios against a reference measured beside them, so no
//! baseline run is needed; the checks are the same against a baseline or the published tables.

use super::{Checks, Policy, Verdict};
use crate::fmt::num;
use vbench_results::{EntryResult, Measure, VariantResult};
use vbench_suite::Variant;

/// Every check of `e`'s variants. Nothing when the entry ran no variant.
pub(crate) fn variant_checks(e: &EntryResult, policy: &Policy, c: &mut Checks) {
    let p = &policy.variants;
    for v in e
        .variants
        .iter()
        .filter(|v| v.variant != Variant::Fp32)
        .filter(|v| p.only.is_empty() || p.only.contains(&v.variant))
    {
        let name = format!("variant[{}]", v.variant);
        match &v.applied {
            Measure::Measured { .. } => {}
            Measure::Failed { error } => {
                c.push(name, p.failed.into(), format!("failed: {error}"));
                continue;
            }
            Measure::Skipped { reason } | Measure::NotImplemented { reason } => {
                c.push(name, Verdict::Skip, reason.clone());
                continue;
            }
        }
        agreement_checks(v, policy, c);
        speed_checks(v, policy, c);
    }
}

fn agreement_checks(v: &VariantResult, policy: &Policy, c: &mut Checks) {
    let p = &policy.variants;
    let name = format!("variant[{}].agreement", v.variant);
    if p.min_view_agreement <= 0.0 && p.min_video_agreement <= 0.0 {
        return;
    }
    let f = match &v.fidelity {
        Measure::Measured { value } => value,
        other => {
            c.push(
                name,
                p.not_measured.into(),
                format!("a floor is set; fidelity {}", super::why_not(other)),
            );
            return;
        }
    };
    let margins = format!(
        "fp32 top-1 margin median {:.1e}, min {:.1e}",
        f.fp32_margin_median, f.fp32_margin_min
    );
    for (what, floor, got, agree, of) in [
        (
            "views",
            p.min_view_agreement,
            f.view_agreement,
            f.views_agreeing,
            f.views,
        ),
        (
            "videos",
            p.min_video_agreement,
            f.video_agreement,
            f.videos_agreeing,
            f.videos,
        ),
    ] {
        if floor <= 0.0 {
            continue;
        }
        let verdict = if got >= floor {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        c.push(
            format!("{name}[{what}]"),
            verdict,
            format!(
                "{}% of {what} ({agree}/{of}) keep fp32's top-1; floor {}% ({margins})",
                num(got, 2),
                num(floor, 2)
            ),
        );
    }
}

fn speed_checks(v: &VariantResult, policy: &Policy, c: &mut Checks) {
    let p = &policy.variants;
    let name = format!("variant[{}].speedup", v.variant);
    if p.min_speedup <= 0.0 {
        return;
    }
    if v.speed.is_empty() {
        c.push(
            name,
            p.not_measured.into(),
            "a floor is set; speed not measured",
        );
        return;
    }
    for m in &v.speed {
        let s = match m {
            Measure::Measured { value } => value,
            other => {
                let verdict = match other {
                    Measure::Failed { .. } => p.failed.into(),
                    _ => p.not_measured.into(),
                };
                c.push(
                    name.clone(),
                    verdict,
                    format!("speed {}", super::why_not(other)),
                );
                continue;
            }
        };
        let (lo, hi) = s.pair_speedup_ci95;
        let verdict = if s.speedup >= p.min_speedup {
            Verdict::Pass
        } else if hi >= p.min_speedup {
            Verdict::Warn
        } else {
            Verdict::Fail
        };
        let load = if s.under_foreign_load {
            "; too few quiet pairs, ratio includes pairs under foreign load"
        } else {
            ""
        };
        c.push(
            format!("{name}[{} threads]", s.threads),
            verdict,
            format!(
                "×{} over fp32 (per-pair geometric mean ×{}, 95% CI {}–{}, {} pairs); floor ×{}{load}",
                num(s.speedup, 2),
                num(s.pair_speedup, 2),
                num(lo, 2),
                num(hi, 2),
                s.pairs,
                num(p.min_speedup, 2)
            ),
        );
    }
}
