//! `vbench infer`'s table: the top classes of one video with their aggregated and per-view scores.

use vbench_results::Inference;
use vbench_suite::Aggregation;

pub fn table(r: &Inference) -> String {
    let n = r.views.len().max(1) as f32;
    let how = match r.aggregation {
        Aggregation::Sum => "sum",
        Aggregation::Max => "max",
    };
    let variant = r.variant.map(|v| format!(" as {v}")).unwrap_or_default();
    let mut out = format!(
        "{}{variant}: {} ({} views, {} of {:?} scores, {:.1} s)\n",
        r.entry,
        r.video.display(),
        r.views.len(),
        how,
        r.protocol.head_activation,
        r.seconds
    );
    out.push_str(&format!(
        "{:>4}  {:>5}  {:>10}  {:>9}  class\n",
        "rank", "index", "score", "per view"
    ));
    for (rank, c) in r.top.iter().enumerate() {
        let per_view = match r.aggregation {
            Aggregation::Sum => c.score / n,
            Aggregation::Max => c.score,
        };
        out.push_str(&format!(
            "{:>4}  {:>5}  {:>10.6}  {per_view:>9.6}  {}\n",
            rank + 1,
            c.class,
            c.score,
            c.name.clone().unwrap_or_default()
        ));
    }
    out
}
