//! Accuracy as lines of text: an entry's summary (`vbench run`, `vbench score`) and a scored
//! predictions file (`vbench score`, also as JSON).

use serde_json::{json, Value};
use vbench_results::metrics::registry::{Kind, Metric, Shown, METRICS};
use vbench_results::predictions::Scored;
use vbench_results::{AccuracyDetails, AccuracyResult};

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

fn ci(v: Option<(f64, f64)>) -> String {
    v.map_or(String::new(), |(lo, hi)| format!(" [{lo:.2}, {hi:.2}]"))
}

/// The accuracy summary, one line each: metrics, then why videos were not scored.
pub fn accuracy_lines(a: &AccuracyResult, d: &AccuracyDetails) -> Vec<String> {
    let mut out = vec![format!(
        "{} videos scored, {} failed{}",
        a.videos,
        a.failed_videos,
        if d.unknown_label_videos > 0 {
            format!(", {} without a label", d.unknown_label_videos)
        } else {
            String::new()
        }
    )];
    // The metric registry's metrics: mAP-type first, then video- and clip-level top-k. A
    // metric not always shown appears where it has a value.
    let listed = |m: &&Metric| matches!(m.shown, Shown::Always { .. }) || (m.value)(a).is_some();
    for m in METRICS.iter().filter(|m| m.kind == Kind::Map) {
        if (m.value)(a).is_some() {
            out.push(format!("{} {}", m.label, pct((m.value)(a))));
        }
    }
    // AVA: the per-class APs behind the frame-mAP (classes without ground truth show "-").
    for c in &d.per_class_ap {
        out.push(format!(
            "  AP {:>5}  {:>3} {} ({} ground-truth boxes)",
            pct(c.ap),
            c.id,
            c.name,
            c.gt
        ));
    }
    let of = |f: fn(Kind) -> bool| METRICS.iter().filter(move |m| f(m.kind)).filter(listed);
    let video: Vec<String> = of(|k| matches!(k, Kind::TopK(_)))
        .map(|m| format!("{} {}{}", m.label, pct((m.value)(a)), ci((m.ci95)(a))))
        .collect();
    if of(|k| matches!(k, Kind::TopK(_))).any(|m| (m.value)(a).is_some()) {
        out.push(format!("video {}", video.join("  ")));
        let clip: Vec<String> = of(|k| matches!(k, Kind::ClipTopK(_)))
            .map(|m| {
                format!(
                    "{} {}",
                    m.label.trim_start_matches("clip "),
                    pct((m.value)(a))
                )
            })
            .collect();
        out.push(format!(
            "clip  {}  ({} views)",
            clip.join("  "),
            d.clip_views
        ));
    }
    if let Some(g) = &d.reference_gap {
        let c = &g.coverage;
        out.push(format!(
            "reference list {}: {} videos; {} scored, {} missing ({} not in this copy, {} not \
             scored), {} extra",
            c.reference_list,
            c.reference_videos,
            c.present,
            c.missing,
            c.absent,
            c.unusable,
            c.extra
        ));
        if let Some(b) = &g.bound {
            out.push(b.message.clone());
        }
    }
    for g in &d.failures {
        out.push(format!("{} {}:", g.count, g.kind));
        for e in &g.examples {
            out.push(format!("  {e}"));
        }
        if g.count as usize > g.examples.len() {
            out.push(format!(
                "  … and {} more",
                g.count as usize - g.examples.len()
            ));
        }
    }
    if let Some(t) = &d.timing {
        out.push(format!(
            "{} views in {:.1} s ({:.2} views/s, batch {}, {} decoder threads): decode busy {:.1} s, \
             inference busy {:.1} s, inference waited {:.1} s",
            t.views,
            t.wall_s,
            t.views_per_s,
            t.batch,
            t.decode_threads,
            t.decode_busy_s,
            t.inference_busy_s,
            t.inference_wait_s
        ));
    }
    out
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// `vbench score`'s table: what the file was written for, the summary, and whether it is complete.
pub fn scored_text(s: &Scored) -> String {
    let mut out = format!(
        "{} ({} videos in the list, weights {} sha256 {})\n",
        s.header.entry,
        s.header.dataset.videos,
        s.header.weights.file,
        short(&s.header.weights.sha256)
    );
    for line in accuracy_lines(&s.accuracy, &s.accuracy.details.clone().unwrap_or_default()) {
        out.push_str(&format!("  {line}\n"));
    }
    if s.not_reached > 0 {
        out.push_str(&format!(
            "  incomplete: {} videos have no record yet (resume the run to finish)\n",
            s.not_reached
        ));
    }
    if s.torn_tail {
        out.push_str("  a torn last line (an interrupted write) was ignored\n");
    }
    out
}

/// `vbench score --format json`.
pub fn scored_json(s: &Scored) -> Value {
    json!({
        "entry": s.header.entry,
        "aggregation": s.header.protocol.aggregation,
        "accuracy": s.accuracy,
        "video_topk": s.video_topk,
        "clip_topk": s.clip_topk,
        "not_reached": s.not_reached,
        "torn_tail": s.torn_tail,
    })
}
