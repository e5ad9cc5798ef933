//! AVA keyframe clips, as PySlowFast's AVA test loader makes them (`ava_dataset.py`, split
//! `test`, `AVA.IMG_PROC_BACKEND = "cv2"`), so the published frame-mAP protocol is replayed:
//!
//! - frames: [`crate::sampler::keyframe`] (`get_sequence` around the keyframe);
//! - each JPEG as OpenCV decodes it, its short side scaled to `crop` by `cv2.resize`
//!   (INTER_LINEAR, [`crate::cv_resize`]) unless it already is that size, then `/ 255` (in float64
//!   for unscaled frames, which stay uint8 until then; in float32 for scaled ones), `(x − mean) /
//!   std` in float32, RGB (`AVA.BGR = False`), no crop;
//! - boxes: normalised → pixels (float64), clipped to the frame, scaled by the resize factor,
//!   clipped to the scaled frame, then float32 for the model.

use crate::cv_resize::{resize_linear_u8, scale_size};
use crate::datasets::sample::{PersonBox, Sample, Source};
use crate::error::{DataError, Result};
use crate::frames::read_jpeg;
use crate::sampler::keyframe::{keyframe_sequence, AVA_START_SECOND};
use crate::sampler::slow_pathway_indices;
use crate::transforms::{pack_pathway, rgb_to_bgr};
use crate::views::{View, ViewTensor};
use std::path::{Path, PathBuf};
use tch::Tensor;
use vbench_suite::{ChannelOrder, Protocol};

/// `ori_boxes` → the boxes the model gets, in scaled-frame pixels (see the module docs).
pub fn scale_person_boxes(boxes: &[PersonBox], h: usize, w: usize, size: usize) -> Vec<[f64; 4]> {
    let (new_h, new_w) = scale_size(h, w, size);
    // cv2_transform.scale_boxes: one factor, from the side that was computed by floor.
    let factor = if (new_h, new_w) == (h, w) {
        1.0
    } else if w < h {
        new_h as f64 / h as f64
    } else {
        new_w as f64 / w as f64
    };
    let clip = |b: [f64; 4], h: usize, w: usize| {
        let (xm, ym) = (w as f64 - 1.0, h as f64 - 1.0);
        [
            b[0].max(0.0).min(xm),
            b[1].max(0.0).min(ym),
            b[2].max(0.0).min(xm),
            b[3].max(0.0).min(ym),
        ]
    };
    boxes
        .iter()
        .map(|b| {
            let [x1, y1, x2, y2] = b.bbox;
            let px = clip(
                [x1 * w as f64, y1 * h as f64, x2 * w as f64, y2 * h as f64],
                h,
                w,
            );
            let scaled = if factor == 1.0 {
                px
            } else {
                px.map(|v| v * factor)
            };
            clip(scaled, new_h, new_w)
        })
        .collect()
}

/// One decoded frame as the model's float32 channel planes: (original size, scaled size, planes).
type Planes = ((usize, usize), (usize, usize), Vec<f32>);

fn frame_planes(path: &Path, size: usize, mean: [f32; 3], std: [f32; 3]) -> Result<Planes> {
    let f = read_jpeg(path)?;
    let (h, w) = (f.height as usize, f.width as usize);
    let (new_h, new_w) = scale_size(h, w, size);
    let scaled = (new_h, new_w) != (h, w);
    let data = if scaled {
        resize_linear_u8(&f.data, h, w, 3, new_h, new_w).map_err(|e| match e {
            DataError::Invalid { message, .. } => DataError::Frames {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })?
    } else {
        f.data
    };
    let plane = new_h * new_w;
    let mut out = vec![0f32; 3 * plane];
    for (i, px) in data.chunks_exact(3).enumerate() {
        for c in 0..3 {
            let v = if scaled {
                px[c] as f32 / 255.0f32
            } else {
                (px[c] as f64 / 255.0) as f32
            };
            out[c * plane + i] = (v - mean[c]) / std[c];
        }
    }
    Ok(((h, w), (new_h, new_w), out))
}

/// The one view of an AVA keyframe, with its person boxes (`[K, 4]` float32, scaled-frame
/// pixels) in [`ViewTensor::boxes`]. A keyframe without person boxes has no view (`Ok(vec![])`):
/// there is nothing for the detector to score.
pub fn extract_keyframe_views(sample: &Sample, protocol: &Protocol) -> Result<Vec<ViewTensor>> {
    let Source::Keyframe {
        timestamp,
        frames_dir,
        frames,
        person_boxes,
        ..
    } = &sample.source
    else {
        return Err(DataError::Invalid {
            what: sample.id.clone(),
            message: "not an AVA keyframe".into(),
        });
    };
    if person_boxes.is_empty() {
        return Ok(Vec::new());
    }
    if frames.is_empty() && !frames_dir.exists() {
        // A movie that is not there is missing (not corrupt) for the failure counts.
        let e = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no frame folder for this movie",
        );
        return Err(DataError::Io {
            path: frames_dir.clone(),
            source: e,
        });
    }
    if frames.is_empty() {
        return Err(DataError::Frames {
            path: frames_dir.clone(),
            message: "no frames listed for this movie (frame list or folder)".into(),
        });
    }
    let seq = keyframe_sequence(protocol, *timestamp, frames.len())?;
    let size = protocol.crop as usize;
    let (mean, std) = (protocol.normalization.mean(), protocol.normalization.std());
    let mut planes: Vec<Vec<f32>> = Vec::with_capacity(seq.len());
    // PySlowFast takes the frame size from the clip's first frame; all must match it.
    let mut first: Option<((usize, usize), (usize, usize))> = None;
    for &i in &seq {
        let path: &PathBuf = &frames[i];
        let (orig, scaled, p) = frame_planes(path, size, mean, std)?;
        let f = *first.get_or_insert((orig, scaled));
        if f.0 != orig {
            return Err(DataError::Frames {
                path: path.clone(),
                message: format!("frame is {:?} (h, w), the clip's first {:?}", orig, f.0),
            });
        }
        planes.push(p);
    }
    let ((fh, fw), (h, w)) = first.unwrap_or_default();
    let t = planes.len();
    // [T, C, H, W] → [C, T, H, W], as PySlowFast concatenates per-frame CHW images on dim 1.
    let flat: Vec<f32> = planes.concat();
    let torch = |e| DataError::torch(frames_dir, e);
    let mut clip = Tensor::from_slice(&flat)
        .f_reshape([t as i64, 3, h as i64, w as i64])
        .and_then(|x| x.f_permute([1, 0, 2, 3]))
        .and_then(|x| x.f_contiguous())
        .map_err(torch)?;
    if protocol.channels == ChannelOrder::Bgr {
        clip = rgb_to_bgr(&clip)?;
    }
    let indices: Vec<i64> = seq.iter().map(|&i| i as i64).collect();
    let (pathways, names, pathway_frame_indices) = match protocol.alpha {
        Some(a) => {
            let slow: Vec<i64> = slow_pathway_indices(t as i64, a)?
                .iter()
                .map(|&i| indices[i as usize])
                .collect();
            (
                pack_pathway(&clip, a)?,
                vec!["slow".into(), "fast".into()],
                vec![slow, indices.clone()],
            )
        }
        None => (vec![clip], vec!["video".into()], vec![indices.clone()]),
    };
    let boxes: Vec<f32> = scale_person_boxes(person_boxes, fh, fw, size)
        .iter()
        .flatten()
        .map(|&v| v as f32)
        .collect();
    let boxes = Tensor::from_slice(&boxes)
        .f_reshape([person_boxes.len() as i64, 4])
        .map_err(torch)?;
    let fps = protocol.target_fps.max(1) as f64;
    let start = seq.first().copied().unwrap_or(0) as f64 / fps + AVA_START_SECOND as f64;
    let end = seq.last().copied().unwrap_or(0) as f64 / fps + AVA_START_SECOND as f64;
    Ok(vec![ViewTensor {
        view: View {
            clip_index: 0,
            spatial_index: 0,
            frame_indices: indices.clone(),
            pathway_frame_indices,
            pathway_names: names,
            frame_pts: indices,
            clip_frames: t,
            start_sec: start,
            end_sec: end,
            start_exact: format!("{start}"),
            end_exact: format!("{end}"),
        },
        pathways,
        boxes: Some(boxes),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unscaled_and_scaled_div255_agree_for_every_byte() {
        // The two PySlowFast paths divide in float64 and float32; they round the same.
        for u in 0u8..=255 {
            assert_eq!((u as f64 / 255.0) as f32, u as f32 / 255.0f32, "byte {u}");
        }
    }

    #[test]
    fn a_missing_movie_is_missing_and_no_boxes_is_no_view() {
        let (plan, i) = vbench_suite::find_entry("ava/slow_r50_detection").unwrap();
        let p = &plan.entries[i].protocol;
        let mut sample = Sample {
            id: "m,0902".into(),
            labels: crate::datasets::Labels::Boxes(Vec::new()),
            source: Source::Keyframe {
                video_id: "m".into(),
                timestamp: 902,
                frames_dir: "/nonexistent/vbench/m".into(),
                frames: Default::default(),
                person_boxes: vec![PersonBox {
                    bbox: [0.1, 0.1, 0.5, 0.5],
                    score: 0.9,
                }],
            },
        };
        let e = extract_keyframe_views(&sample, p).unwrap_err();
        assert_eq!(
            crate::check::classify(&e),
            crate::check::ProblemKind::Missing,
            "{e}"
        );
        assert!(e.to_string().contains("/nonexistent/vbench/m"), "{e}");
        if let Source::Keyframe { person_boxes, .. } = &mut sample.source {
            person_boxes.clear();
        }
        assert!(extract_keyframe_views(&sample, p).unwrap().is_empty());
    }

    #[test]
    fn boxes_follow_the_resize() {
        let b = [PersonBox {
            bbox: [0.1, 0.2, 1.0, 0.9],
            score: 0.9,
        }];
        // 400x300 → 341x256: factor 341/400 (the floored long side decides).
        let s = scale_person_boxes(&b, 300, 400, 256);
        let f = 341.0 / 400.0;
        // x2: 399 · f = 340.15 is clipped to the scaled width − 1.
        assert_eq!(
            s[0],
            [0.1 * 400.0 * f, 0.2 * 300.0 * f, 340.0, 0.9 * 300.0 * f]
        );
        // Already 256 on the short side: pixels only, x2 clipped to w − 1.
        let s = scale_person_boxes(&b, 256, 340, 256);
        assert_eq!(s[0][2], 339.0);
    }
}
