//! The per-entry section of the report: protocol, every FLOPs convention, the per-layer FLOPs
//! breakdown (and its total per op type), accuracy details, and per-setup latency statistics with
//! every sample. Strings only, like the rest of the view.

use crate::fmt;
use crate::fmt::{anchor, latency_setup, printed, unmeasured};
use crate::plot::samples_svg;
use serde::Serialize;
use vbench_results::metrics::registry::{self, Kind, Metric, Shown};
use vbench_results::{EntryResult, LatencyResult, Measure};

/// A block that is either a key/value table or a "not implemented/skipped/failed: why" line.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// `measured`, `not-implemented`, `skipped`, `failed` (also the CSS class).
    pub status: String,
    /// Shown instead of `rows` when not measured, e.g. "not implemented: FLOPs counting is not built yet".
    pub message: String,
    pub rows: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConventionRow {
    pub convention: String,
    pub flops: String,
    pub gflops: String,
    pub published: String,
    /// `match` when it prints as the published GFLOPs, `mismatch`, or `measured` without one.
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerRow {
    pub path: String,
    pub op: String,
    pub input: String,
    pub output: String,
    pub mflops: String,
    pub params: String,
    pub share: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpRow {
    pub op: String,
    pub layers: String,
    pub mflops: String,
    pub share: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlopsDetail {
    pub section: Section,
    pub conventions: Vec<ConventionRow>,
    pub reproduced_by: String,
    pub note: String,
    pub by_op: Vec<OpRow>,
    pub layers: Vec<LayerRow>,
    pub total: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencyDetail {
    pub setup: String,
    pub section: Section,
    /// Every kept sample, ms, in measurement order.
    pub samples: String,
    /// Samples against their index (inline SVG), empty when not measured.
    pub svg: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntryDetail {
    pub id: String,
    pub anchor: String,
    pub arch: String,
    pub checkpoint_url: String,
    pub notes: String,
    pub protocol: Vec<(String, String)>,
    pub published: Vec<(String, String)>,
    pub params: Section,
    pub flops: FlopsDetail,
    pub accuracy: Section,
    pub latency: Vec<LatencyDetail>,
}

/// A serde enum's snake_case name.
fn word<T: Serialize>(t: &T) -> String {
    match serde_json::to_value(t) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(v) => v.to_string(),
        Err(_) => "?".into(),
    }
}

fn section<T>(m: &Measure<T>, rows: impl FnOnce(&T) -> Vec<(String, String)>) -> Section {
    if let Measure::Measured { value } = m {
        return Section {
            status: "measured".into(),
            message: String::new(),
            rows: rows(value),
        };
    }
    let (w, status, reason) = unmeasured(m).unwrap_or(("not measured", "none", String::new()));
    Section {
        status: status.into(),
        message: if reason.is_empty() {
            w.to_string()
        } else {
            format!("{w}: {reason}")
        },
        rows: Vec::new(),
    }
}

fn kv(k: &str, v: String) -> (String, String) {
    (k.to_string(), v)
}

fn shape(s: &[i64]) -> String {
    let dims: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

fn share(part: u64, total: u64) -> String {
    if total == 0 {
        "—".into()
    } else {
        format!("{}%", fmt::num(part as f64 * 100.0 / total as f64, 2))
    }
}

fn flops_detail(e: &EntryResult) -> FlopsDetail {
    let section = section(&e.flops, |_| Vec::new());
    let Some(f) = e.flops.value() else {
        return FlopsDetail {
            section,
            conventions: Vec::new(),
            reproduced_by: String::new(),
            note: String::new(),
            by_op: Vec::new(),
            layers: Vec::new(),
            total: String::new(),
        };
    };
    let p = e.published.gflops;
    let conventions = f
        .conventions
        .iter()
        .map(|c| {
            let g = c.flops as f64 / 1e9;
            ConventionRow {
                convention: c.convention.clone(),
                flops: fmt::count(c.flops as i128),
                gflops: fmt::num(g, 4),
                published: printed(p),
                status: match p {
                    Some(p) if p.matches(g) => "match",
                    Some(_) => "mismatch",
                    None => "measured",
                }
                .into(),
            }
        })
        .collect();
    let total: u64 = f.breakdown.iter().map(|l| l.flops).sum();
    let mut by_op: Vec<(String, usize, u64)> = Vec::new();
    for l in &f.breakdown {
        match by_op.iter_mut().find(|o| o.0 == l.op) {
            Some(o) => {
                o.1 += 1;
                o.2 += l.flops;
            }
            None => by_op.push((l.op.clone(), 1, l.flops)),
        }
    }
    by_op.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    FlopsDetail {
        section,
        conventions,
        reproduced_by: f
            .reproduced_by
            .clone()
            .unwrap_or_else(|| "none of the conventions".into()),
        note: f.note.clone().unwrap_or_default(),
        by_op: by_op
            .into_iter()
            .map(|(op, n, fl)| OpRow {
                op,
                layers: n.to_string(),
                mflops: fmt::num(fl as f64 / 1e6, 3),
                share: share(fl, total),
            })
            .collect(),
        layers: f
            .breakdown
            .iter()
            .map(|l| LayerRow {
                path: l.path.clone(),
                op: l.op.clone(),
                input: shape(&l.input_shape),
                output: shape(&l.output_shape),
                mflops: fmt::num(l.flops as f64 / 1e6, 3),
                params: fmt::count(l.params as i128),
                share: share(l.flops, total),
            })
            .collect(),
        total: format!(
            "{} FLOPs in {} recorded ops",
            fmt::count(total as i128),
            f.breakdown.len()
        ),
    }
}

fn latency_rows(l: &LatencyResult) -> Vec<(String, String)> {
    let ms = |x: f64| format!("{} ms", fmt::num(x, 3));
    let mut rows = vec![
        kv(
            "kept samples",
            format!(
                "{} (+{} discarded for foreign load)",
                l.samples_ms.len(),
                l.discarded_samples
            ),
        ),
        kv("warm-up iterations", l.warmup.to_string()),
        kv("p50", ms(l.p50_ms)),
        kv("p90", ms(l.p90_ms)),
        kv("p99", ms(l.p99_ms)),
        kv(
            "mean (95% bootstrap CI)",
            format!(
                "{} ({}–{})",
                ms(l.mean_ms),
                fmt::num(l.mean_ci95_ms.0, 3),
                fmt::num(l.mean_ci95_ms.1, 3)
            ),
        ),
        kv(
            "coefficient of variation",
            format!("{}%", fmt::num(l.cv * 100.0, 2)),
        ),
        kv(
            "throughput",
            format!("{} clips/s", fmt::num(l.clips_per_s, 2)),
        ),
    ];
    if l.under_foreign_load {
        rows.push(kv(
            "under foreign load",
            "yes: too few quiet samples, these statistics are an upper bound".into(),
        ));
    }
    if let Some(f) = l.foreign_load {
        rows.push(kv(
            "foreign CPU load while measuring",
            format!("{}%", fmt::num(f * 100.0, 1)),
        ));
    }
    if let Some(a) = l.loadavg_1m {
        rows.push(kv("load average (1 min)", fmt::num(a, 2)));
    }
    if let Some(serde_json::Value::Object(t)) = &l.telemetry {
        for (k, v) in t {
            rows.push((format!("telemetry: {k}"), plain(v)));
        }
    } else if let Some(t) = &l.telemetry {
        rows.push(kv("telemetry", plain(t)));
    }
    // Fields vbench-eval is adding to the schema (`note`, `stopped_by`, `omp_env`) are read by name,
    // so the report shows them where present without depending on their exact types.
    if let Ok(serde_json::Value::Object(all)) = serde_json::to_value(l) {
        for (key, label) in [
            ("stopped_by", "sampling stopped by"),
            ("omp_env", "thread environment"),
            ("note", "note"),
        ] {
            match all.get(key) {
                None | Some(serde_json::Value::Null) => {}
                Some(serde_json::Value::Array(a)) if a.is_empty() => {}
                Some(v) => rows.push(kv(label, plain(v))),
            }
        }
    }
    rows
}

/// A JSON value as a person reads it: strings unquoted, pairs as `K=V`, objects as `k: v; ...`.
fn plain(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a)
            if a.iter().all(|x| x.as_array().is_some_and(|p| p.len() == 2)) && !a.is_empty() =>
        {
            a.iter()
                .filter_map(|p| p.as_array())
                .map(|p| format!("{}={}", plain(&p[0]), plain(&p[1])))
                .collect::<Vec<_>>()
                .join(" ")
        }
        Value::Array(a) => a.iter().map(plain).collect::<Vec<_>>().join(", "),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}: {}", plain(v)))
            .collect::<Vec<_>>()
            .join("; "),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => fmt::num(f, 3),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn latency_detail(m: &Measure<vbench_results::LatencyResult>) -> LatencyDetail {
    let setup = m
        .value()
        .map(latency_setup)
        .unwrap_or_else(|| "not measured".into());
    let samples = m
        .value()
        .map(|l| {
            l.samples_ms
                .iter()
                .map(|s| fmt::num(*s, 3))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let svg = m
        .value()
        .and_then(|l| samples_svg(&l.samples_ms, &setup).ok())
        .unwrap_or_default();
    LatencyDetail {
        section: section(m, latency_rows),
        setup,
        samples,
        svg,
    }
}

pub fn entry_detail(e: &EntryResult) -> EntryDetail {
    let p = &e.protocol;
    let mut protocol = vec![
        kv(
            "frames × sample rate",
            format!("{} × {}", p.frames, p.sample_rate),
        ),
        kv(
            "short side / crop",
            format!("{} / {}", p.short_side, p.crop),
        ),
        kv(
            "views (spatial × temporal)",
            format!("{} × {}", p.spatial_crops, p.temporal_clips),
        ),
        kv("target fps", p.target_fps.to_string()),
        kv("classes", p.num_classes.to_string()),
        kv("channels", word(&p.channels)),
        kv("normalization", word(&p.normalization)),
        kv("head activation", word(&p.head_activation)),
        kv("view aggregation", word(&p.aggregation)),
        kv("clip sampler", word(&p.sampler)),
    ];
    if let Some(a) = p.alpha {
        protocol.insert(
            1,
            kv(
                "SlowFast α (fast frames)",
                format!("{a} ({})", p.frames * a),
            ),
        );
    }
    let pb = &e.published;
    let mut published: Vec<(String, String)> = registry::tabled()
        .map(|m| kv(m.label, printed((m.published)(pb))))
        .collect();
    published.extend([
        kv("GFLOPs / view", printed(pb.gflops)),
        kv("params (M)", printed(pb.params_m)),
        kv(
            "views",
            pb.views.map_or("—".into(), |(s, t)| format!("{s} × {t}")),
        ),
    ]);
    if let Some(l) = pb.latency_ms {
        published.push(kv(
            "latency",
            format!(
                "{l} ms on {}",
                pb.latency_device.clone().unwrap_or_else(|| "?".into())
            ),
        ));
    }
    published.retain(|(_, v)| v != "—");
    let params = section(&e.params, |v| {
        let mut rows = vec![
            kv("count", fmt::count(v.count as i128)),
            kv("millions", fmt::num(v.count as f64 / 1e6, 4)),
            kv("published (M)", printed(pb.params_m)),
        ];
        if let Some(n) = &v.note {
            rows.push(kv("note", n.clone()));
        }
        rows
    });
    let pct = |x: Option<f64>| x.map_or("—".into(), |x| fmt::num(x, 2));
    let ci = |c: Option<(f64, f64)>| {
        c.map_or("—".into(), |(l, h)| {
            format!("{}–{}", fmt::num(l, 2), fmt::num(h, 2))
        })
    };
    let accuracy = section(&e.accuracy, |a| {
        let mut rows = vec![kv(
            "videos scored (failed)",
            format!("{} ({})", a.videos, a.failed_videos),
        )];
        // Every metric of the registry: video-level top-k, clip-level top-k on one row, then
        // mAP; a metric that is not always shown only where it has a value.
        let listed =
            |m: &&Metric| matches!(m.shown, Shown::Always { .. }) || (m.value)(a).is_some();
        let with_ci = |m: &Metric| {
            kv(
                &format!("{} (95% CI)", m.label),
                format!("{} ({})", pct((m.value)(a)), ci((m.ci95)(a))),
            )
        };
        let of = |f: fn(Kind) -> bool| registry::METRICS.iter().filter(move |m| f(m.kind));
        rows.extend(
            of(|k| matches!(k, Kind::TopK(_)))
                .filter(listed)
                .map(with_ci),
        );
        let clip: Vec<&Metric> = of(|k| matches!(k, Kind::ClipTopK(_))).collect();
        if !clip.is_empty() {
            let labels: Vec<&str> = clip
                .iter()
                .map(|m| m.label.trim_start_matches("clip "))
                .collect();
            let values: Vec<String> = clip.iter().map(|m| pct((m.value)(a))).collect();
            rows.push(kv(
                &format!("clip-level {}", labels.join(" / ")),
                values.join(" / "),
            ));
        }
        rows.extend(of(|k| k == Kind::Map).filter(listed).map(with_ci));
        if let Some(p) = &a.predictions {
            rows.push(kv("predictions", p.clone()));
        }
        if let Some(d) = &a.details {
            // Each kind of failure with its count and first examples: what to fix in the data.
            for g in &d.failures {
                rows.push(kv(
                    &format!("failed: {}", g.kind),
                    format!("{} (e.g. {})", g.count, g.examples.join("; ")),
                ));
            }
            if !d.per_class_ap.is_empty() {
                let aps: Vec<String> = d
                    .per_class_ap
                    .iter()
                    .map(|c| format!("{} {} ({} gt): {}", c.id, c.name, c.gt, pct(c.ap)))
                    .collect();
                rows.push(kv("per-class AP", aps.join("; ")));
            }
            if let Some(s) = &d.dataset_sha256 {
                rows.push(kv("dataset list sha256", s.clone()));
            }
            if let Some(g) = &d.reference_gap {
                let c = &g.coverage;
                rows.push(kv(
                    "reference list",
                    format!(
                        "{} (sha256 {}): {} videos; {} scored, {} missing ({} absent, {} not scored), {} extra",
                        c.reference_list,
                        c.reference_sha256,
                        c.reference_videos,
                        c.present,
                        c.missing,
                        c.absent,
                        c.unusable,
                        c.extra
                    ),
                ));
                if let Some(b) = &g.bound {
                    rows.push(kv("explained gap (top-1)", b.message.clone()));
                }
            }
            if let Some(s) = &d.weights_sha256 {
                rows.push(kv("weights sha256", s.clone()));
            }
        }
        rows
    });
    EntryDetail {
        id: e.id.clone(),
        anchor: anchor(&e.id),
        arch: e.arch.clone(),
        checkpoint_url: e.checkpoint_url.clone(),
        notes: e.notes.clone().unwrap_or_default(),
        protocol,
        published,
        params,
        flops: flops_detail(e),
        accuracy,
        latency: e.latency.iter().map(latency_detail).collect(),
    }
}
