//! OpenCV's `cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)` on interleaved uint8
//! images, bit for bit, and the output size of PySlowFast's `cv2_transform.scale` (the AVA test
//! loader scales every BGR frame's short side to 256 this way).
//!
//! `tests/ava_cv_resize.rs` holds this identical to the venv's OpenCV 5.0 (real frames, noise,
//! gradients; up, down, odd, identity and exact-half sizes; 1 to 4 channels). What OpenCV does:
//! - per axis, `scale = 1 / (new / old)` in f64 (not `old / new`: the last ulp can differ), the
//!   source coordinate `((d + 0.5) * scale - 0.5)` is rounded to **f32**, floored, and both weights
//!   are rounded half-to-even to 11-bit fixed point from f32;
//! - horizontally, a coordinate left of pixel 0 or right of the last pixel takes that pixel with
//!   weights (2048, 0); vertically the weights stay as computed and only the row indices clamp;
//! - the vertical pass uses the SIMD rounding `((S0>>4)*b0>>16) + ((S1>>4)*b1>>16) + 2 >> 2` for
//!   every column, tails included, on every ISA tried (SSE3 to AVX-512 via OPENCV_CPU_DISABLE);
//!   the textbook `(S0*b0 + S1*b1 + 2^21) >> 22` is off by 1 on ~13 % of values;
//! - an exact 2x downscale of both axes is INTER_AREA's fast path: `(sum of 4 + 2) >> 2` for 1, 3
//!   and 4 channels, but for 2 channels (its scalar path) `sum * 0.25f` rounded half-to-even;
//! - same size in and out is a copy.

use crate::{DataError, Result};

/// cv2_transform.scale's output size (new_h, new_w): unchanged if the short side already equals
/// `size`; else short side = size and long side = floor(long / short * size) computed in f64 as
/// Python does (`int(math.floor((float(height) / width) * size))`). A zero side (Python raises
/// ZeroDivisionError) gives the input size back; [`resize_linear_u8`] rejects it.
pub fn scale_size(h: usize, w: usize, size: usize) -> (usize, usize) {
    if h == 0 || w == 0 || (w <= h && w == size) || (h <= w && h == size) {
        return (h, w);
    }
    if w < h {
        (((h as f64 / w as f64) * size as f64).floor() as usize, size)
    } else {
        (size, ((w as f64 / h as f64) * size as f64).floor() as usize)
    }
}

/// cv2.resize(INTER_LINEAR) of an interleaved HxWxC uint8 image (C = 1..=4) → new_h x new_w x C
/// uint8.
pub fn resize_linear_u8(
    src: &[u8],
    h: usize,
    w: usize,
    c: usize,
    new_h: usize,
    new_w: usize,
) -> Result<Vec<u8>> {
    let invalid = |message: String| DataError::Invalid {
        what: "cv_resize::resize_linear_u8".into(),
        message,
    };
    if !(1..=4).contains(&c) {
        return Err(invalid(format!(
            "{c} channels (OpenCV's linear resize takes 1 to 4)"
        )));
    }
    // OpenCV's sizes are `int`; past that the f32 coordinates are meaningless anyway.
    let sides = [h, w, new_h, new_w];
    if sides.iter().any(|&s| s == 0 || s > i32::MAX as usize) {
        return Err(invalid(format!(
            "size {h}x{w} -> {new_h}x{new_w}: every side must be in 1..=2^31-1"
        )));
    }
    let len = h.checked_mul(w).and_then(|n| n.checked_mul(c));
    if len != Some(src.len()) {
        return Err(invalid(format!(
            "{} bytes for a {h}x{w}x{c} image",
            src.len()
        )));
    }
    let out_len = new_h
        .checked_mul(new_w)
        .and_then(|n| n.checked_mul(c))
        .ok_or_else(|| invalid(format!("output {new_h}x{new_w}x{c} overflows usize")))?;
    if (new_h, new_w) == (h, w) {
        return Ok(src.to_vec());
    }
    if is_exact_half(w, new_w) && is_exact_half(h, new_h) {
        return Ok(halve(src, w, c, new_h, new_w));
    }
    let mut out = vec![0u8; out_len];
    match c {
        1 => linear::<1>(src, h, w, new_h, new_w, &mut out),
        2 => linear::<2>(src, h, w, new_h, new_w, &mut out),
        3 => linear::<3>(src, h, w, new_h, new_w, &mut out),
        _ => linear::<4>(src, h, w, new_h, new_w, &mut out),
    }
    Ok(out)
}

/// One destination index: two source indices (already clamped) and their 11-bit weights.
#[derive(Clone, Copy)]
struct Tap {
    i0: usize,
    i1: usize,
    w0: i32,
    w1: i32,
}

/// OpenCV's `saturate_cast<short>(a * INTER_RESIZE_COEF_SCALE)` (cvRound: half to even).
fn fixed(a: f32) -> i32 {
    (a * 2048.0).round_ties_even().clamp(-32768.0, 32767.0) as i32
}

/// OpenCV's f64 scale factor: `1 / inv_scale` with `inv_scale = new / old`.
fn scale_of(old: usize, new: usize) -> f64 {
    1.0 / (new as f64 / old as f64)
}

/// The per-destination taps of one axis. `clamp_weights`: the x axis replaces out-of-range
/// coordinates by the edge pixel with weights (2048, 0); the y axis keeps its weights.
fn taps(old: usize, new: usize, clamp_weights: bool) -> Vec<Tap> {
    let scale = scale_of(old, new);
    let last = old as i64 - 1;
    (0..new)
        .map(|d| {
            let mut f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = f.floor() as i64;
            f -= s as f32;
            if clamp_weights && (s < 0 || s >= last) {
                (s, f) = (s.clamp(0, last), 0.0);
            }
            Tap {
                i0: s.clamp(0, last) as usize,
                i1: (s + 1).clamp(0, last) as usize,
                w0: fixed(1.0 - f),
                w1: fixed(f),
            }
        })
        .collect()
}

/// Whether OpenCV takes its INTER_AREA fast path on this axis (`scale` within DBL_EPSILON of 2).
fn is_exact_half(old: usize, new: usize) -> bool {
    let scale = scale_of(old, new);
    let i = scale.round_ties_even();
    (scale - i).abs() < f64::EPSILON && i == 2.0
}

/// INTER_AREA's 2x2 box average (see the module doc for the two roundings).
fn halve(src: &[u8], w: usize, c: usize, new_h: usize, new_w: usize) -> Vec<u8> {
    let stride = w * c;
    let mut out = Vec::with_capacity(new_h * new_w * c);
    for y in 0..new_h {
        let (r0, r1) = (&src[2 * y * stride..], &src[(2 * y + 1) * stride..]);
        for x in 0..new_w {
            for k in 0..c {
                let (a, b) = (2 * x * c + k, (2 * x + 1) * c + k);
                let sum = r0[a] as u32 + r0[b] as u32 + r1[a] as u32 + r1[b] as u32;
                out.push(if c == 2 {
                    (sum as f32 * 0.25).round_ties_even() as u8
                } else {
                    ((sum + 2) >> 2) as u8
                });
            }
        }
    }
    out
}

/// The separable fixed-point pass: each source row needed is filtered horizontally once into an
/// i32 row (kept for the next output row, which usually shares it), then pairs of rows blend.
fn linear<const C: usize>(
    src: &[u8],
    h: usize,
    w: usize,
    new_h: usize,
    new_w: usize,
    out: &mut [u8],
) {
    let xt = taps(w, new_w, true);
    let yt = taps(h, new_h, false);
    let stride = w * C;
    let width = new_w * C;
    let hrow = |y: usize, buf: &mut [i32]| {
        let row = &src[y * stride..(y + 1) * stride];
        for (t, o) in xt.iter().zip(buf.chunks_exact_mut(C)) {
            let (p0, p1) = (&row[t.i0 * C..][..C], &row[t.i1 * C..][..C]);
            for ((o, &a), &b) in o.iter_mut().zip(p0).zip(p1) {
                *o = a as i32 * t.w0 + b as i32 * t.w1;
            }
        }
    };
    let (mut buf0, mut buf1) = (vec![0i32; width], vec![0i32; width]);
    let (mut id0, mut id1) = (usize::MAX, usize::MAX);
    for (t, dst) in yt.iter().zip(out.chunks_exact_mut(width)) {
        if id0 != t.i0 {
            if id1 == t.i0 {
                std::mem::swap(&mut buf0, &mut buf1);
                std::mem::swap(&mut id0, &mut id1);
            } else {
                hrow(t.i0, &mut buf0);
                id0 = t.i0;
            }
        }
        if id1 != t.i1 {
            hrow(t.i1, &mut buf1);
            id1 = t.i1;
        }
        // OpenCV's SIMD form: each term is an i16 x i16 high half after dropping 4 low bits
        // (horizontal sums are at most 255 * 2049, so the i16 packing never saturates).
        for ((o, &s0), &s1) in dst.iter_mut().zip(&buf0).zip(&buf1) {
            let v = (((s0 >> 4) * t.w0) >> 16) + (((s1 >> 4) * t.w1) >> 16);
            *o = ((v + 2) >> 2).clamp(0, 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_size_matches_pyslowfast() {
        assert_eq!(scale_size(240, 320, 256), (256, 341));
        assert_eq!(scale_size(256, 340, 256), (256, 340)); // identity
        assert_eq!(scale_size(360, 640, 256), (256, 455));
        assert_eq!(scale_size(720, 1280, 256), (256, 455));
        assert_eq!(scale_size(1080, 1920, 256), (256, 455));
        assert_eq!(scale_size(640, 480, 256), (341, 256)); // portrait
        assert_eq!(scale_size(256, 144, 256), (455, 256)); // portrait upscale
        assert_eq!(scale_size(193, 257, 256), (256, 340));
        assert_eq!(scale_size(80, 100, 256), (256, 320));
        assert_eq!(scale_size(300, 300, 256), (256, 256));
        assert_eq!(scale_size(256, 256, 256), (256, 256));
        assert_eq!(scale_size(0, 10, 256), (0, 10));
    }

    #[test]
    fn bad_input_is_an_error() {
        let img = vec![7u8; 4 * 5 * 3];
        assert!(resize_linear_u8(&img, 4, 5, 3, 2, 2).is_ok());
        for (len, h, w, c, nh, nw) in [
            (60, 4, 5, 0, 2, 2),
            (60, 4, 5, 5, 2, 2),
            (60, 4, 5, 3, 0, 2),
            (60, 4, 5, 3, 2, 0),
            (0, 0, 5, 3, 2, 2),
            (59, 4, 5, 3, 2, 2),
            (61, 4, 5, 3, 2, 2),
            (60, usize::MAX, 5, 3, 2, 2),
            (60, 4, 5, 3, usize::MAX, usize::MAX),
        ] {
            let e = resize_linear_u8(&vec![7u8; len], h, w, c, nh, nw).unwrap_err();
            assert_eq!(e.code(), "invalid", "{e}");
        }
        // a short buffer for the stated size
        assert!(resize_linear_u8(&[0; 10], 4, 5, 3, 2, 2).is_err());
    }

    #[test]
    fn identity_is_a_copy_and_constants_stay_constant() {
        let img: Vec<u8> = (0..4 * 6 * 3).map(|i| (i * 7) as u8).collect();
        assert_eq!(resize_linear_u8(&img, 4, 6, 3, 4, 6).unwrap(), img);
        for (nh, nw) in [(2, 3), (9, 13), (3, 5), (1, 1)] {
            let flat = resize_linear_u8(&[200; 4 * 6 * 3], 4, 6, 3, nh, nw).unwrap();
            assert!(flat.iter().all(|&v| v == 200), "{nh}x{nw}");
        }
    }

    #[test]
    fn weights_follow_opencv() {
        // 320 -> 341: the first coordinate is left of pixel 0, the last right of pixel 319.
        let t = taps(320, 341, true);
        assert_eq!((t[0].i0, t[0].w0, t[0].w1), (0, 2048, 0));
        let last = t[340];
        assert_eq!((last.i0, last.w0, last.w1), (319, 2048, 0));
        // the y axis keeps the weights of an out-of-range coordinate
        let y = taps(240, 256, false);
        assert_eq!((y[0].i0, y[0].i1), (0, 0));
        assert_eq!(y[0].w0 + y[0].w1, 2048);
        assert!(y[0].w1 > 0);
        assert!(
            is_exact_half(512, 256) && !is_exact_half(513, 256) && !is_exact_half(256, 128 + 1)
        );
    }
}
