//! AVA frame-mAP from a predictions file's records: the ground truth and the scored person boxes
//! each keyframe record carries, fed to [`crate::metrics::ava::frame_map`] as PySlowFast's
//! `evaluate_ava` feeds the PASCAL evaluator (ground-truth rows per action id, detections as one
//! row per label-map class, boxes normalised as read). Excluded keyframes never reach the file.

use super::{Header, Record};
use crate::metrics::ava::{push_box_scores, AvaBox, AvaReport, FrameKey, FrameMap, LabelMap};
use crate::metrics::{MetricsError, Result};

/// `"video_id,0902"` → the evaluator's frame key.
fn frame_key(id: &str) -> Result<FrameKey> {
    let bad = || MetricsError::Parse {
        file: "predictions".into(),
        line: 0,
        message: format!("record id `{id}` is not `video_id,timestamp`"),
    };
    let (video, ts) = id.rsplit_once(',').ok_or_else(bad)?;
    Ok(FrameKey {
        video_id: video.to_string(),
        timestamp: ts.trim().parse().map_err(|_| bad())?,
    })
}

/// Frame-mAP over `records` (the scored keyframes; failed ones are left out of both sides), one
/// keyframe at a time: memory holds a (score, TP) pair per box and class, not the rows.
pub fn score_records(header: &Header, records: &[&Record]) -> Result<AvaReport> {
    let classes = header
        .label_map
        .clone()
        .ok_or_else(|| MetricsError::LabelMap {
            file: "predictions header".into(),
            message: "a detection file without `label_map`".into(),
        })?;
    let label_map = LabelMap::new(classes, "predictions header")?;
    let mut acc = FrameMap::new(&label_map);
    let (mut gt, mut det) = (Vec::new(), Vec::new());
    for r in records {
        let key = frame_key(&r.id)?;
        gt.clear();
        det.clear();
        for g in r.gt.iter().flatten() {
            let [x1, y1, x2, y2] = g.bbox;
            for &a in &g.actions {
                gt.push(AvaBox {
                    key: key.clone(),
                    yxyx: [y1, x1, y2, x2],
                    class_id: a as i64,
                    score: 1.0,
                });
            }
        }
        for b in r.boxes.iter().flatten() {
            if b.scores.len() != header.num_classes {
                return Err(MetricsError::ScoreLength {
                    video: r.id.clone(),
                    expected: header.num_classes,
                    got: b.scores.len(),
                });
            }
            push_box_scores(&mut det, &key, b.bbox, &b.scores, &label_map);
        }
        acc.add_frame(&gt, &det)?;
    }
    Ok(acc.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_on_the_last_comma() {
        let k = frame_key("a,b,0902").unwrap();
        assert_eq!((k.video_id.as_str(), k.timestamp), ("a,b", 902));
        assert!(frame_key("no-timestamp").is_err());
    }
}
