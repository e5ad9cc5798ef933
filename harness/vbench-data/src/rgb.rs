//! The decoded frame every source produces (FFmpeg, JPEG folders) and the stacking of frames
//! into one uint8 tensor. Its own module so the decoder and its FFmpeg helpers both depend on it
//! and not on each other.

use crate::error::{DataError, Result};
use std::path::Path;
use std::sync::Arc;
use tch::{Kind, Tensor};

/// One decoded RGB24 frame, tightly packed `[H, W, 3]`.
#[derive(Debug)]
pub struct RgbFrame {
    pub pts: i64,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

pub(crate) fn frames_to_tensor(frames: &[&Arc<RgbFrame>], path: &Path) -> Result<Tensor> {
    let Some(first) = frames.first() else {
        return Err(DataError::Frames {
            path: path.to_path_buf(),
            message: "no frames to stack".into(),
        });
    };
    let (w, h) = (first.width, first.height);
    let frame_len = first.data.len();
    for f in frames {
        if (f.width, f.height) != (w, h) || f.data.len() != frame_len {
            return Err(DataError::Frames {
                path: path.to_path_buf(),
                message: format!(
                    "frame size changes within a clip ({w}x{h} then {}x{} at pts {})",
                    f.width, f.height, f.pts
                ),
            });
        }
    }
    let size = [frames.len() as i64, h as i64, w as i64, 3];
    let out = Tensor::f_empty(size, (Kind::Uint8, tch::Device::Cpu))
        .map_err(|e| DataError::torch(path, e))?;
    // Straight into the tensor's storage: one copy per frame, no staging buffer.
    // SAFETY: `out` is a fresh contiguous uint8 CPU tensor of frames.len() * frame_len bytes.
    let dst = unsafe {
        std::slice::from_raw_parts_mut(out.data_ptr() as *mut u8, frames.len() * frame_len)
    };
    for (d, f) in dst.chunks_exact_mut(frame_len.max(1)).zip(frames) {
        d.copy_from_slice(&f.data);
    }
    Ok(out)
}
