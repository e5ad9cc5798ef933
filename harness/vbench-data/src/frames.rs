//! JPEG frame folders (SSv2, Charades and AVA ship frames, not videos), decoded with FFmpeg's
//! mjpeg decoder into the same RGB24 `[T, H, W, 3]` layout as video clips.
//!
//! PySlowFast reads these with OpenCV/PIL (libjpeg); FFmpeg's IDCT and chroma upsampling differ
//! from libjpeg's by a few levels, so frame-folder datasets are not bit-identical to PySlowFast.

use crate::decoder::{frames_to_tensor, init_ffmpeg, packed_rows, RgbFrame};
use crate::error::{DataError, Result};
use ffmpeg_next as ff;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::Tensor;

/// The `.jpg`/`.jpeg` files of a folder, in name order (frame lists number them `img_00001.jpg`…).
pub fn list_frame_folder(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        if matches!(ext.as_deref(), Some("jpg" | "jpeg")) && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(DataError::Frames {
            path: dir.to_path_buf(),
            message: "no .jpg frames in the folder".into(),
        });
    }
    Ok(out)
}

/// Decodes one JPEG file to packed RGB24.
pub fn read_jpeg(path: &Path) -> Result<RgbFrame> {
    init_ffmpeg();
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.is_empty() {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let bad = |m: String| DataError::Frames {
        path: path.to_path_buf(),
        message: m,
    };
    let codec = ff::decoder::find(ff::codec::Id::MJPEG)
        .ok_or_else(|| bad("FFmpeg has no mjpeg decoder".into()))?;
    let mut dec = ff::codec::context::Context::new_with_codec(codec)
        .decoder()
        .video()
        .map_err(|e| bad(format!("opening the mjpeg decoder: {e}")))?;
    dec.send_packet(&ff::Packet::copy(&bytes))
        .map_err(|e| bad(format!("not a decodable JPEG: {e}")))?;
    dec.send_eof()
        .map_err(|e| bad(format!("not a decodable JPEG: {e}")))?;
    let mut frame = ff::frame::Video::empty();
    dec.receive_frame(&mut frame)
        .map_err(|e| bad(format!("not a decodable JPEG: {e}")))?;
    let (w, h) = (frame.width(), frame.height());
    if w == 0 || h == 0 {
        return Err(bad("the JPEG has no pixels".into()));
    }
    let mut scaler = ff::software::scaling::Context::get(
        frame.format(),
        w,
        h,
        ff::format::Pixel::RGB24,
        w,
        h,
        ff::software::scaling::Flags::BILINEAR,
    )
    .map_err(|e| bad(format!("converting {:?} to rgb24: {e}", frame.format())))?;
    let mut out = ff::frame::Video::empty();
    scaler
        .run(&frame, &mut out)
        .map_err(|e| bad(format!("rgb24 conversion: {e}")))?;
    let data = packed_rows(&out, w as usize * 3, h as usize);
    Ok(RgbFrame {
        pts: 0,
        width: w,
        height: h,
        data,
    })
}

/// Decodes the given frame files into a `[T, H, W, 3]` uint8 tensor; frame `i` gets pts `i`.
pub fn read_frames(paths: &[PathBuf]) -> Result<Tensor> {
    let frames = paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            read_jpeg(p).map(|mut f| {
                f.pts = i as i64;
                Arc::new(f)
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let label = paths
        .first()
        .map(|p| p.as_path())
        .unwrap_or(Path::new("<no frames>"));
    let refs: Vec<&Arc<RgbFrame>> = frames.iter().collect();
    frames_to_tensor(&refs, label)
}

/// Every frame of a folder, in name order.
pub fn read_frame_folder(dir: &Path) -> Result<Tensor> {
    read_frames(&list_frame_folder(dir)?)
}
