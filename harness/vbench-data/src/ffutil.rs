//! FFmpeg helpers behind `decoder.rs`: the RGB converter (swscale with the frame's colourspace),
//! AVI pts filling, and stream side data.

use crate::error::{DataError, Result};
use crate::rgb::RgbFrame;
use ff::ffi;
use ffmpeg_next as ff;
use std::collections::VecDeque;
use std::path::Path;

#[derive(PartialEq, Eq, Clone, Copy)]
struct ScalerKey {
    format: ff::format::Pixel,
    width: u32,
    height: u32,
    colorspace: i32,
    full_range: bool,
}

/// A swscale context to RGB24 at native size, rebuilt only when the frame format changes.
#[derive(Default)]
pub(crate) struct RgbConverter {
    scaler: Option<(ScalerKey, ff::software::scaling::Context)>,
}

impl RgbConverter {
    /// RGB24 at native size, packed rows. Uses the frame's colourspace and range, as PyAV's
    /// `reformat` hands them to swscale; the default (BT.601, limited) needs no override.
    pub(crate) fn convert(
        &mut self,
        frame: &ff::frame::Video,
        pts: i64,
        path: &Path,
    ) -> Result<RgbFrame> {
        let (w, h) = (frame.width(), frame.height());
        // SAFETY: reading two plain fields of a valid decoded frame.
        let (cs, range) = unsafe {
            (
                (*frame.as_ptr()).colorspace as i32,
                (*frame.as_ptr()).color_range as i32,
            )
        };
        let key = ScalerKey {
            format: frame.format(),
            width: w,
            height: h,
            colorspace: cs,
            full_range: range == ffi::AVColorRange::AVCOL_RANGE_JPEG as i32,
        };
        let err = |what: String, e: ff::Error| DataError::Decode {
            path: path.to_path_buf(),
            message: format!("{what}: {e}"),
        };
        let mut scaler = match self.scaler.take() {
            Some((k, ctx)) if k == key => ctx,
            _ => {
                let mut ctx = ff::software::scaling::Context::get(
                    key.format,
                    w,
                    h,
                    ff::format::Pixel::RGB24,
                    w,
                    h,
                    ff::software::scaling::Flags::BILINEAR,
                )
                .map_err(|e| err(format!("converting {:?} to rgb24", key.format), e))?;
                set_colorspace(&mut ctx, key);
                ctx
            }
        };
        let mut out = ff::frame::Video::empty();
        let ran = scaler.run(frame, &mut out);
        self.scaler = Some((key, scaler));
        ran.map_err(|e| err(format!("rgb24 conversion at pts {pts}"), e))?;
        let data = packed_rows(&out, w as usize * 3, h as usize);
        Ok(RgbFrame {
            pts,
            width: w,
            height: h,
            data,
        })
    }
}

/// Copies plane 0 of `frame` without its row padding.
pub(crate) fn packed_rows(frame: &ff::frame::Video, row: usize, rows: usize) -> Vec<u8> {
    let (stride, src) = (frame.stride(0), frame.data(0));
    let mut data = Vec::with_capacity(row * rows);
    for y in 0..rows {
        data.extend_from_slice(&src[y * stride..y * stride + row]);
    }
    data
}

/// Gives reference packets the pts FFmpeg 5.1's AVI demuxer leaves unset (with B-frames it sets
/// pts only on B-frames). PyAV 18's FFmpeg 8 fills them with the classic "a reference frame is
/// shown when the next one arrives" rule: pts = dts of the next packet without pts, dts +
/// duration for the last. It treats MPEG-4 N-VOPs as references, which swaps each P-frame's pts
/// with the N-VOP before it; PyTorchVideo then sorts by those labels. We apply the same rule so
/// the same frames are chosen (the decoded pixels agree bit for bit). Packets that carry pts
/// (mp4, mkv, webm) pass through untouched.
#[derive(Default)]
pub(crate) struct PtsFiller {
    queue: VecDeque<ff::Packet>,
    /// `queue[0]` is a packet without pts, waiting for the next one's dts.
    pending: bool,
}

impl PtsFiller {
    pub(crate) fn push(&mut self, p: ff::Packet, ready: &mut VecDeque<ff::Packet>) {
        if p.pts().is_none() && p.dts().is_some() {
            if self.pending {
                self.queue[0].set_pts(p.dts());
            }
            ready.extend(self.queue.drain(..));
            self.queue.push_back(p);
            self.pending = true;
        } else if self.pending {
            self.queue.push_back(p);
        } else {
            ready.push_back(p);
        }
    }

    pub(crate) fn finish(&mut self, ready: &mut VecDeque<ff::Packet>) {
        if self.pending {
            let last = &mut self.queue[0];
            let pts = last.dts().map(|d| d + last.duration().max(1));
            last.set_pts(pts);
            self.pending = false;
        }
        ready.extend(self.queue.drain(..));
    }
}

/// Points swscale at the frame's YUV matrix and range when they differ from its defaults
/// (BT.601, and the range the pixel format implies), as FFmpeg's scale filter and PyAV do.
fn set_colorspace(ctx: &mut ff::software::scaling::Context, key: ScalerKey) {
    use std::os::raw::c_int;
    // SAFETY: the context is valid; the getters write into our locals and the coefficient
    // table returned by sws_getCoefficients is static.
    unsafe {
        let c = ctx.as_mut_ptr();
        let (mut inv, mut table): (*mut c_int, *mut c_int) =
            (std::ptr::null_mut(), std::ptr::null_mut());
        let (mut src_range, mut dst_range, mut bri, mut con, mut sat) = (0, 0, 0, 0, 0);
        if ffi::sws_getColorspaceDetails(
            c,
            &mut inv,
            &mut src_range,
            &mut table,
            &mut dst_range,
            &mut bri,
            &mut con,
            &mut sat,
        ) < 0
        {
            return; // not a YUV source: nothing to set
        }
        let want = ffi::sws_getCoefficients(key.colorspace);
        let want_range = (src_range != 0 || key.full_range) as c_int;
        let same = !inv.is_null() && (0..4).all(|i| *inv.add(i) == *want.add(i));
        if !same || want_range != src_range {
            ffi::sws_setColorspaceDetails(c, want, want_range, table, dst_range, bri, con, sat);
        }
    }
}

pub(crate) fn rotation(stream: &ff::format::stream::Stream) -> f64 {
    for sd in stream.side_data() {
        if sd.kind() == ff::codec::packet::side_data::Type::DisplayMatrix && sd.data().len() >= 36 {
            let m: Vec<i32> = sd
                .data()
                .chunks_exact(4)
                .take(9)
                .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            // SAFETY: `m` holds the 9 int32 entries av_display_rotation_get reads.
            let r = unsafe { ffi::av_display_rotation_get(m.as_ptr()) };
            return if r.is_nan() { 0.0 } else { r + 0.0 };
        }
    }
    0.0
}
