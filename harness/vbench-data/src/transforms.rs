//! PySlowFast's `Ptvkinetics` test transform on `[C, T, H, W]` float tensors, op for op:
//! UniformTemporalSubsample(T) → /255 → Normalize(mean, std) → ShortSideScale(short_side) →
//! UniformCropVideo(crop, aug_index) → (rgb2bgr) → PackPathway.
//!
//! Every step calls the same libtorch kernel PyTorchVideo calls (tch links the venv's libtorch), in
//! the same order and on the same memory layout, so the outputs agree to the last bit.

use crate::error::{DataError, Result};
use crate::sampler::{self, ClipLayout};
use std::path::Path;
use tch::{Kind, Tensor};
use vbench_suite::{ChannelOrder, Protocol};

/// The version of the views this module makes, recorded in every predictions file so that a
/// resume never mixes views of two versions:
/// - 1: `ShortSideScale` on the frames' permuted layout at the caller's libtorch thread count;
/// - 2: PyTorchVideo's layout for each dataset, resized at one thread ([`short_side_scale`]),
///   which changes views where libtorch's kernel choice depended on them (3-frame clips at
///   several threads here; other CPUs may differ elsewhere).
pub const TRANSFORM_VERSION: u32 = 2;

fn torch(e: tch::TchError) -> DataError {
    DataError::torch(Path::new("<transform>"), e)
}

fn invalid(message: String) -> DataError {
    DataError::Invalid {
        what: "transform".into(),
        message,
    }
}

/// `thwc_to_cthw(torch.stack(frames)).to(torch.float32)`: a permuted view converted with its
/// strides preserved, exactly the tensor `EncodedVideoPyAV.get_clip` returns.
pub fn thwc_u8_to_cthw_f32(x: &Tensor) -> Result<Tensor> {
    x.f_permute([3, 0, 1, 2])
        .and_then(|v| v.f_to_kind(Kind::Float))
        .map_err(torch)
}

/// `UniformTemporalSubsample(n)` along dim 1 of a `[C, T, H, W]` clip.
pub fn uniform_temporal_subsample(x: &Tensor, n: usize) -> Result<Tensor> {
    let t = x.size().get(1).copied().unwrap_or(0) as usize;
    let idx = sampler::uniform_temporal_subsample(t, n)?;
    x.f_index_select(1, &Tensor::from_slice(&idx))
        .map_err(torch)
}

/// PySlowFast's `div255`: `x / 255.0`.
pub fn div255(x: &Tensor) -> Result<Tensor> {
    x.f_div_scalar(255.0).map_err(torch)
}

/// `NormalizeVideo(mean, std)`: `clip.clone().sub_(mean).div_(std)` per channel, in float32
/// (the clone keeps the input's strides, as torchvision's does).
pub fn normalize(x: &Tensor, mean: [f32; 3], std: [f32; 3]) -> Result<Tensor> {
    let m = Tensor::from_slice(&mean)
        .f_view([3, 1, 1, 1])
        .map_err(torch)?;
    let s = Tensor::from_slice(&std)
        .f_view([3, 1, 1, 1])
        .map_err(torch)?;
    let mut y = x.f_empty_like().map_err(torch)?;
    y.f_copy_(x).map_err(torch)?;
    y.f_sub_(&m).and_then(|mut v| v.f_div_(&s)).map_err(torch)
}

/// The output size of `short_side_scale`: the short side becomes `size`, the long side
/// `floor(long / short * size)` computed in double precision as Python does.
pub fn short_side_scale_size(h: i64, w: i64, size: i64) -> (i64, i64) {
    if w < h {
        (((h as f64 / w as f64) * size as f64).floor() as i64, size)
    } else {
        (size, ((w as f64 / h as f64) * size as f64).floor() as i64)
    }
}

/// Runs `f` with one libtorch intra-op thread on the calling OS thread (OpenMP's count is a
/// per-thread setting), then restores the caller's count.
fn on_one_thread<T>(f: impl FnOnce() -> T) -> T {
    let before = tch::get_num_threads();
    if before == 1 {
        return f();
    }
    tch::set_num_threads(1);
    let out = f();
    tch::set_num_threads(before);
    out
}

/// `short_side_scale(x, size)`: bilinear, `align_corners=False`, no antialiasing.
///
/// libtorch has two float bilinear kernels that round differently (by an ulp here, more on
/// other CPUs): a channels-last one, taken when the input is channels-last with more than 3
/// channels, when `out_h + out_w <= 128`, or when the calling thread has **one** intra-op
/// thread and the input has exactly 3 channels (here: T = 3 frames); the generic one otherwise.
/// PySlowFast's loaders transform in DataLoader workers, which PyTorch runs at one thread (and
/// the parity oracles run at one thread), so the resize runs at one thread here too, whatever
/// thread count the caller uses: the same kernel on the same values gives the same bits.
pub fn short_side_scale(x: &Tensor, size: i64) -> Result<Tensor> {
    let s = x.size();
    if s.len() != 4 || s[2] == 0 || s[3] == 0 {
        return Err(invalid(format!(
            "short_side_scale needs [C, T, H, W], got {s:?}"
        )));
    }
    let (nh, nw) = short_side_scale_size(s[2], s[3], size);
    on_one_thread(|| x.f_upsample_bilinear2d([nh, nw], false, None, None)).map_err(torch)
}

/// `uniform_crop`'s offsets `(y, x)`: centre `ceil((side - size) / 2)`; spatial index 0/2 move
/// to the start/end of the *long* side (left/right when width >= height, top/bottom otherwise).
pub fn uniform_crop_offsets(h: i64, w: i64, size: i64, spatial_idx: u32) -> Result<(i64, i64)> {
    if spatial_idx > 2 || size > h || size > w {
        return Err(invalid(format!(
            "uniform_crop of {size} (index {spatial_idx}) from {h}x{w}"
        )));
    }
    // Python: int(math.ceil((side - size) / 2)); (side - size) >= 0 here.
    let centre = |side: i64| (side - size + 1) / 2;
    let (mut y, mut x) = (centre(h), centre(w));
    if h > w {
        match spatial_idx {
            0 => y = 0,
            2 => y = h - size,
            _ => {}
        }
    } else {
        match spatial_idx {
            0 => x = 0,
            2 => x = w - size,
            _ => {}
        }
    }
    Ok((y, x))
}

/// `uniform_crop(x, size, spatial_idx)` on `[C, T, H, W]` (a view, like the slicing it mirrors).
pub fn uniform_crop(x: &Tensor, size: i64, spatial_idx: u32) -> Result<Tensor> {
    let s = x.size();
    if s.len() != 4 {
        return Err(invalid(format!(
            "uniform_crop needs [C, T, H, W], got {s:?}"
        )));
    }
    let (y, xo) = uniform_crop_offsets(s[2], s[3], size, spatial_idx)?;
    x.f_narrow(2, y, size)
        .and_then(|v| v.f_narrow(3, xo, size))
        .map_err(torch)
}

/// PySlowFast's `rgb2bgr`: `x[[2, 1, 0], ...]`.
pub fn rgb_to_bgr(x: &Tensor) -> Result<Tensor> {
    x.f_index_select(0, &Tensor::from_slice(&[2i64, 1, 0]))
        .map_err(torch)
}

/// PySlowFast's `PackPathway`: slow = `index_select(x, 1, linspace(0, T-1, T // alpha).long())`
/// (the positions of [`sampler::slow_pathway_indices`]), fast = the clip itself. Returns
/// `[slow, fast]`, the order the models take.
pub fn pack_pathway(x: &Tensor, alpha: u32) -> Result<Vec<Tensor>> {
    let t = x.size().get(1).copied().unwrap_or(0);
    let idx = sampler::slow_pathway_indices(t, alpha)?;
    let slow = x
        .f_index_select(1, &Tensor::from_slice(&idx))
        .map_err(torch)?;
    Ok(vec![slow, x.shallow_clone()])
}

/// `normalize(div255(v))` for every byte value `v` and channel, computed by the same libtorch
/// kernels on a `[3, 1, 1, 256]` tensor (elementwise IEEE operations give the same bits at any
/// size), cached per (mean, std).
pub fn normalize_table(mean: [f32; 3], std: [f32; 3]) -> Result<[[f32; 256]; 3]> {
    type Key = ([u32; 3], [u32; 3]);
    static CACHE: std::sync::Mutex<Vec<(Key, [[f32; 256]; 3])>> = std::sync::Mutex::new(Vec::new());
    let key = (mean.map(f32::to_bits), std.map(f32::to_bits));
    if let Some(t) = CACHE
        .lock()
        .ok()
        .and_then(|c| c.iter().find(|(k, _)| *k == key).map(|(_, t)| *t))
    {
        return Ok(t);
    }
    let v = Tensor::arange(256, (Kind::Float, tch::Device::Cpu))
        .f_view([1, 1, 1, 256])
        .and_then(|v| v.f_expand([3, 1, 1, 256], false))
        .and_then(|v| v.f_contiguous())
        .map_err(torch)?;
    let y = normalize(&div255(&v)?, mean, std)?;
    let flat = Vec::<f32>::try_from(y.flatten(0, -1)).map_err(torch)?;
    let mut t = [[0f32; 256]; 3];
    for (c, row) in t.iter_mut().enumerate() {
        row.copy_from_slice(&flat[c * 256..(c + 1) * 256]);
    }
    if let Ok(mut c) = CACHE.lock() {
        c.push((key, t));
    }
    Ok(t)
}

/// The test transform of one protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct TestTransform {
    /// Frames sampled per clip: α·T for SlowFast (the fast pathway), else T.
    pub frames: usize,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub short_side: i64,
    pub crop: i64,
    pub bgr: bool,
    pub alpha: Option<u32>,
    /// Whether the chain starts with `UniformTemporalSubsample` (Kinetics) or not (SSv2 and
    /// Charades), which decides the layout `ShortSideScale` sees.
    pub layout: ClipLayout,
}

impl TestTransform {
    /// Kinetics' chain ([`ClipLayout::Contiguous`]); frame datasets set [`Self::layout`].
    pub fn from_protocol(p: &Protocol) -> Self {
        Self {
            frames: p.input_frames() as usize,
            mean: p.normalization.mean(),
            std: p.normalization.std(),
            short_side: p.short_side as i64,
            crop: p.crop as i64,
            bgr: p.channels == ChannelOrder::Bgr,
            alpha: p.alpha,
            layout: ClipLayout::Contiguous,
        }
    }

    /// Steps shared by every crop of a clip: (subsample), /255, normalize, short-side scale.
    pub fn clip_stage(&self, clip: &Tensor) -> Result<Tensor> {
        let x = match self.layout {
            ClipLayout::Contiguous => uniform_temporal_subsample(clip, self.frames)?,
            ClipLayout::FramesLast => clip.shallow_clone(),
        };
        let x = normalize(&div255(&x)?, self.mean, self.std)?;
        short_side_scale(&x, self.short_side)
    }

    /// [`clip_stage`](Self::clip_stage) from the `[T, H, W, 3]` uint8 frames, faster and with
    /// the same bits: when the clip already has `frames` frames the subsample is the identity
    /// and is skipped; /255 → Normalize is a per-(channel, byte) function, applied through a
    /// 768-entry table that libtorch's own kernels computed ([`normalize_table`]), written in
    /// the memory layout PyTorchVideo's tensor has at that point ([`ClipLayout`]).
    pub fn clip_stage_u8(&self, thwc: &Tensor) -> Result<Tensor> {
        let s = thwc.size();
        if s.len() != 4 || s[3] != 3 || s[0] as usize != self.frames || thwc.kind() != Kind::Uint8 {
            return self.clip_stage(&thwc_u8_to_cthw_f32(thwc)?);
        }
        let table = normalize_table(self.mean, self.std)?;
        let src = thwc.f_contiguous().map_err(torch)?;
        let n = s.iter().product::<i64>() as usize;
        let shape = match self.layout {
            ClipLayout::Contiguous => [3, s[0], s[1], s[2]],
            ClipLayout::FramesLast => [s[0], s[1], s[2], 3],
        };
        let out = Tensor::f_empty(shape, (Kind::Float, tch::Device::Cpu)).map_err(torch)?;
        // SAFETY: both tensors are contiguous CPU tensors of `n` elements of the stated kinds;
        // `out` is freshly allocated and not aliased.
        let (inp, dst) = unsafe {
            (
                std::slice::from_raw_parts(src.data_ptr() as *const u8, n),
                std::slice::from_raw_parts_mut(out.data_ptr() as *mut f32, n),
            )
        };
        let out = match self.layout {
            ClipLayout::Contiguous => {
                let plane = n / 3;
                let (d0, rest) = dst.split_at_mut(plane);
                let (d1, d2) = rest.split_at_mut(plane);
                for (i, px) in inp.chunks_exact(3).enumerate() {
                    d0[i] = table[0][px[0] as usize];
                    d1[i] = table[1][px[1] as usize];
                    d2[i] = table[2][px[2] as usize];
                }
                out
            }
            ClipLayout::FramesLast => {
                for (d, px) in dst.chunks_exact_mut(3).zip(inp.chunks_exact(3)) {
                    d[0] = table[0][px[0] as usize];
                    d[1] = table[1][px[1] as usize];
                    d[2] = table[2][px[2] as usize];
                }
                out.f_permute([3, 0, 1, 2]).map_err(torch)?
            }
        };
        // Bilinear resizing to the same size is the identity (every source index is exact, its
        // weights are 1 and 0), so a clip whose short side already has the size is returned as
        // is, contiguous like `interpolate`'s output.
        if short_side_scale_size(s[1], s[2], self.short_side) == (s[1], s[2]) {
            return out.f_contiguous().map_err(torch);
        }
        short_side_scale(&out, self.short_side)
    }

    /// Steps per view: crop at `spatial_idx`, BGR if the model wants it, pack the pathways.
    pub fn view_stage(&self, scaled: &Tensor, spatial_idx: u32) -> Result<Vec<Tensor>> {
        let mut x = uniform_crop(scaled, self.crop, spatial_idx)?;
        if self.bgr {
            x = rgb_to_bgr(&x)?;
        }
        match self.alpha {
            Some(a) => pack_pathway(&x, a),
            None => Ok(vec![x]),
        }
    }

    /// The whole chain on a `[C, T, H, W]` float clip (as `get_clip` returns it).
    pub fn apply(&self, clip: &Tensor, spatial_idx: u32) -> Result<Vec<Tensor>> {
        self.view_stage(&self.clip_stage(clip)?, spatial_idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_sizes_floor_the_long_side() {
        assert_eq!(short_side_scale_size(256, 340, 182), (182, 241));
        assert_eq!(short_side_scale_size(256, 144, 256), (455, 256));
        assert_eq!(short_side_scale_size(240, 320, 256), (256, 341));
        assert_eq!(short_side_scale_size(100, 100, 64), (64, 64));
    }

    #[test]
    fn crop_offsets_follow_the_long_side() {
        // Landscape: x moves; centre uses ceil.
        assert_eq!(uniform_crop_offsets(256, 341, 256, 0).unwrap(), (0, 0));
        assert_eq!(uniform_crop_offsets(256, 341, 256, 1).unwrap(), (0, 43));
        assert_eq!(uniform_crop_offsets(256, 341, 256, 2).unwrap(), (0, 85));
        // Portrait: y moves.
        assert_eq!(uniform_crop_offsets(455, 256, 256, 1).unwrap(), (100, 0));
        assert_eq!(uniform_crop_offsets(455, 256, 256, 2).unwrap(), (199, 0));
        // Square: treated as landscape (x), which is a no-op when size == side.
        assert_eq!(uniform_crop_offsets(64, 64, 64, 2).unwrap(), (0, 0));
        assert!(uniform_crop_offsets(100, 120, 128, 1).is_err());
        assert!(uniform_crop_offsets(256, 300, 128, 3).is_err());
    }

    #[test]
    fn pack_pathway_takes_every_alpha_th_frame() {
        assert_eq!(
            sampler::slow_pathway_indices(32, 4).unwrap(),
            vec![0, 4, 8, 13, 17, 22, 26, 31]
        );
        let x = Tensor::arange(32, (Kind::Float, tch::Device::Cpu)).view([1, 32, 1, 1]);
        let p = pack_pathway(&x, 8).unwrap();
        assert_eq!(p[0].size(), vec![1, 4, 1, 1]);
        assert_eq!(
            Vec::<f32>::try_from(p[0].flatten(0, -1)).unwrap(),
            vec![0.0, 10.0, 20.0, 31.0]
        );
        assert_eq!(p[1].size(), vec![1, 32, 1, 1]);
    }

    #[test]
    fn bgr_swaps_channels() {
        let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0]).view([3, 1, 1, 1]);
        let y = rgb_to_bgr(&x).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(y.flatten(0, -1)).unwrap(),
            vec![3.0, 2.0, 1.0]
        );
    }

    #[test]
    fn u8_clip_stage_has_the_same_bits() {
        let t = TestTransform {
            frames: 6,
            mean: [0.45, 0.4, 0.5],
            std: [0.225, 0.2, 0.3],
            short_side: 40,
            crop: 40,
            bgr: false,
            alpha: None,
            layout: ClipLayout::Contiguous,
        };
        // Every byte value in every channel, in a non-square frame that needs resizing.
        let clip = Tensor::randint(256, [6, 48, 90, 3], (Kind::Uint8, tch::Device::Cpu));
        let slow = t.clip_stage(&thwc_u8_to_cthw_f32(&clip).unwrap()).unwrap();
        let fast = t.clip_stage_u8(&clip).unwrap();
        assert_eq!(slow.size(), fast.size());
        assert_eq!(slow.stride(), fast.stride());
        assert!(slow.equal(&fast));
        let all = Tensor::arange(256, (Kind::Uint8, tch::Device::Cpu))
            .view([1, 16, 16, 1])
            .expand([6, 16, 16, 3], false)
            .contiguous();
        // A short side that already has the size: no resize, the same bits.
        let same = TestTransform {
            short_side: 48,
            crop: 48,
            ..t.clone()
        };
        let a = same
            .clip_stage(&thwc_u8_to_cthw_f32(&clip).unwrap())
            .unwrap();
        assert!(a.equal(&same.clip_stage_u8(&clip).unwrap()));
        let t16 = TestTransform {
            short_side: 16,
            crop: 16,
            ..t
        };
        let a = t16.clip_stage(&thwc_u8_to_cthw_f32(&all).unwrap()).unwrap();
        assert!(a.equal(&t16.clip_stage_u8(&all).unwrap()));
    }

    #[test]
    fn u8_clip_stage_keeps_pytorchvideos_layout() {
        let t = TestTransform {
            frames: 4,
            mean: [0.45; 3],
            std: [0.225; 3],
            short_side: 30,
            crop: 30,
            bgr: false,
            alpha: None,
            layout: ClipLayout::Contiguous,
        };
        let clip = Tensor::randint(256, [4, 30, 52, 3], (Kind::Uint8, tch::Device::Cpu));
        let cthw = thwc_u8_to_cthw_f32(&clip).unwrap();
        // Kinetics: index_select's contiguous [C, T, H, W].
        let sub = uniform_temporal_subsample(&cthw, 4).unwrap();
        assert_eq!(sub.stride(), vec![4 * 30 * 52, 30 * 52, 52, 1]);
        // Frame folders: FrameVideo's permuted view, kept by /255 and Normalize.
        let norm = normalize(&div255(&cthw).unwrap(), t.mean, t.std).unwrap();
        assert_eq!(norm.stride(), vec![1, 30 * 52 * 3, 52 * 3, 3]);
        let frames_last = TestTransform {
            layout: ClipLayout::FramesLast,
            ..t.clone()
        };
        for tr in [&t, &frames_last] {
            for side in [30, 24] {
                let tr = TestTransform {
                    short_side: side,
                    crop: side,
                    ..tr.clone()
                };
                let fast = tr.clip_stage_u8(&clip).unwrap();
                let slow = tr.clip_stage(&cthw).unwrap();
                assert_eq!(fast.stride(), slow.stride(), "{:?} {side}", tr.layout);
                assert!(fast.equal(&slow), "{:?} {side}", tr.layout);
            }
        }
    }

    #[test]
    fn resize_runs_at_one_thread_whatever_the_callers_count() {
        // With 3 frames, libtorch picks its channels-last kernel at one thread only.
        let reference = |x: &Tensor, size| {
            let before = tch::get_num_threads();
            tch::set_num_threads(1);
            let (h, w) = short_side_scale_size(x.size()[2], x.size()[3], size);
            let y = x.upsample_bilinear2d([h, w], false, None, None);
            tch::set_num_threads(before);
            y
        };
        for frames in [3, 4] {
            let x = Tensor::randn([3, frames, 72, 170], (Kind::Float, tch::Device::Cpu));
            tch::set_num_threads(2);
            let ours = short_side_scale(&x, 50).unwrap();
            assert_eq!(tch::get_num_threads(), 2, "the caller's count is restored");
            assert!(ours.equal(&reference(&x, 50)), "{frames} frames");
        }
    }

    #[test]
    fn chain_shapes() {
        let t = TestTransform {
            frames: 8,
            mean: [0.45; 3],
            std: [0.225; 3],
            short_side: 64,
            crop: 64,
            bgr: false,
            alpha: Some(4),
            layout: ClipLayout::Contiguous,
        };
        let clip = Tensor::zeros([20, 48, 80, 3], (Kind::Uint8, tch::Device::Cpu));
        let clip = thwc_u8_to_cthw_f32(&clip).unwrap();
        let out = t.apply(&clip, 2).unwrap();
        assert_eq!(out[0].size(), vec![3, 2, 64, 64]);
        assert_eq!(out[1].size(), vec![3, 8, 64, 64]);
        let v = out[1].double_value(&[0, 0, 0, 0]);
        assert!((v - (-0.45 / 0.225)).abs() < 1e-6);
    }
}
