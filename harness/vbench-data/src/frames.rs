//! JPEG frame folders (SSv2, Charades and AVA ship frames, not videos), decoded into the same
//! RGB24 `[T, H, W, 3]` layout as video clips.
//!
//! PyTorchVideo's `FrameVideo` reads frames with OpenCV (`cv2.imdecode` then BGR→RGB), which is
//! libjpeg-turbo with its defaults: the ISLOW integer IDCT and fancy chroma upsampling. vbench
//! calls the system libjpeg-turbo the same way (`csrc/jpeg.c`), so frames are bit-identical
//! (`tests/parity_frame_views.rs`). A build without libjpeg's headers falls back to FFmpeg's
//! mjpeg decoder, whose IDCT and upsampling differ by a few levels ([`JPEG_DECODER`] says which).

use crate::error::{DataError, Result};
use crate::rgb::{frames_to_tensor, RgbFrame};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::Tensor;

/// Which JPEG decoder this build uses: `libjpeg-turbo` (bit-exact to PyTorchVideo) or
/// `ffmpeg-mjpeg` (the fallback; a few levels off).
pub const JPEG_DECODER: &str = if cfg!(vbench_libjpeg) {
    "libjpeg-turbo"
} else {
    "ffmpeg-mjpeg"
};

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

/// A decoded JPEG and the damage libjpeg recovered from (e.g. a truncated file, whose missing
/// rows come back grey: OpenCV, and so PyTorchVideo, accept such frames silently).
pub struct DecodedJpeg {
    pub frame: RgbFrame,
    pub warnings: u32,
    pub first_warning: Option<String>,
}

/// Decodes one JPEG file to packed RGB24 (as PyTorchVideo does: recoverable damage is accepted).
pub fn read_jpeg(path: &Path) -> Result<RgbFrame> {
    Ok(decode_jpeg_file(path)?.frame)
}

/// Like [`read_jpeg`], but recoverable damage is an error too (for `vbench check-data`).
pub fn read_jpeg_strict(path: &Path) -> Result<RgbFrame> {
    let d = decode_jpeg_file(path)?;
    if d.warnings > 0 {
        return Err(DataError::Frames {
            path: path.to_path_buf(),
            message: format!(
                "damaged JPEG ({} warning(s), first: {})",
                d.warnings,
                d.first_warning.unwrap_or_default()
            ),
        });
    }
    Ok(d.frame)
}

/// Reads and decodes one JPEG file, reporting recoverable damage.
pub fn decode_jpeg_file(path: &Path) -> Result<DecodedJpeg> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.is_empty() {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    decode_jpeg(&bytes, path)
}

#[cfg(vbench_libjpeg)]
mod libjpeg {
    use std::os::raw::{c_char, c_int, c_long, c_uint, c_ulong};
    extern "C" {
        #[allow(clippy::too_many_arguments)]
        pub fn vbench_jpeg_decode(
            src: *const u8,
            len: c_ulong,
            out: *mut u8,
            cap: usize,
            width: *mut c_uint,
            height: *mut c_uint,
            warnings: *mut c_long,
            err: *mut c_char,
            warn: *mut c_char,
            msg_cap: usize,
        ) -> c_int;
    }
}

/// Decodes JPEG bytes (from `path`, for messages) with libjpeg-turbo.
#[cfg(vbench_libjpeg)]
pub fn decode_jpeg(bytes: &[u8], path: &Path) -> Result<DecodedJpeg> {
    const MSG: usize = 256;
    let bad = |m: String| DataError::Frames {
        path: path.to_path_buf(),
        message: format!("not a decodable JPEG: {m}"),
    };
    let msg = |b: &[u8]| {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    };
    let (mut w, mut h, mut warnings) = (0, 0, 0);
    let (mut err, mut warn) = ([0u8; MSG], [0u8; MSG]);
    let len = bytes.len() as std::os::raw::c_ulong;
    // SAFETY: `bytes` outlives the call; with a null output only the header is read; the
    // message buffers hold MSG bytes and the shim NUL-terminates within them.
    let rc = unsafe {
        libjpeg::vbench_jpeg_decode(
            bytes.as_ptr(),
            len,
            std::ptr::null_mut(),
            0,
            &mut w,
            &mut h,
            &mut warnings,
            err.as_mut_ptr().cast(),
            warn.as_mut_ptr().cast(),
            MSG,
        )
    };
    if rc != 0 {
        return Err(bad(msg(&err)));
    }
    if w == 0 || h == 0 {
        return Err(bad("the JPEG has no pixels".into()));
    }
    let size = (w as usize)
        .checked_mul(h as usize)
        .and_then(|n| n.checked_mul(3))
        .filter(|&n| n <= 1 << 30)
        .ok_or_else(|| bad(format!("{w}x{h} is too large for a video frame")))?;
    let mut data = vec![0u8; size];
    // SAFETY: as above; `data` holds exactly w*h*3 bytes, which the shim checks against.
    let rc = unsafe {
        libjpeg::vbench_jpeg_decode(
            bytes.as_ptr(),
            len,
            data.as_mut_ptr(),
            data.len(),
            &mut w,
            &mut h,
            &mut warnings,
            err.as_mut_ptr().cast(),
            warn.as_mut_ptr().cast(),
            MSG,
        )
    };
    if rc != 0 {
        return Err(bad(msg(&err)));
    }
    Ok(DecodedJpeg {
        frame: RgbFrame {
            pts: 0,
            width: w,
            height: h,
            data,
        },
        warnings: warnings.max(0) as u32,
        first_warning: (warnings > 0).then(|| msg(&warn)),
    })
}

/// Decodes JPEG bytes with FFmpeg's mjpeg decoder (the fallback without libjpeg).
#[cfg(not(vbench_libjpeg))]
pub fn decode_jpeg(bytes: &[u8], path: &Path) -> Result<DecodedJpeg> {
    use crate::decoder::init_ffmpeg;
    use crate::ffutil::packed_rows;
    use ffmpeg_next as ff;
    init_ffmpeg();
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
    dec.send_packet(&ff::Packet::copy(bytes))
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
    Ok(DecodedJpeg {
        frame: RgbFrame {
            pts: 0,
            width: w,
            height: h,
            data: packed_rows(&out, w as usize * 3, h as usize),
        },
        warnings: 0,
        first_warning: None,
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
