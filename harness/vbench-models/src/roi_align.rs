//! torchvision's `roi_align` (the semantics of its CPU/CUDA kernels, which PyTorchVideo's AVA heads
//! call through `torchvision.ops.RoIAlign`), written with tch ops: libtorch has no RoIAlign.
//!
//! Per box, torchvision averages `grid_h × grid_w` bilinear samples in each of the `PH × PW` bins.
//! A bilinear sample is separable (`w_y(row) · w_x(col)`), and so is the sampling grid, so each
//! box's output is `A_y · V · A_xᵀ / count`, where `A_y[ph, row]` sums the row weights of every
//! sample in bin row `ph` (likewise `A_x`). The sample positions and weights follow the kernel's
//! float arithmetic step by step (`bilinear_interpolate`: samples beyond `[-1, size]` count as
//! zero, positions in `[-1, 0]` clamp to 0, the last row/column clamps); the contraction runs as
//! two batched matmuls per clip of the batch, over every channel at once.

use tch::{Device, Kind, Tensor};

use crate::error::{ModelError, Result};

/// `torchvision.ops.roi_align` arguments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoiAlignOpts {
    /// (PH, PW) bins.
    pub output_size: [i64; 2],
    /// Box coordinates × this = feature-map coordinates.
    pub spatial_scale: f64,
    /// Samples per bin along each axis; ≤ 0: `ceil(box size / bins)`, per box.
    pub sampling_ratio: i64,
    /// Shift boxes by -0.5 pixel (Detectron2); `false` also clamps box sizes to ≥ 1.
    pub aligned: bool,
}

/// Refuse sampling grids beyond this many samples along one axis of one box (torchvision would
/// loop over them; a box this size is a unit error, not a person).
const MAX_SAMPLES_PER_AXIS: i64 = 1 << 20;

fn bad(reason: String) -> ModelError {
    ModelError::BadBoxes { reason }
}

/// The float type torchvision computes positions in: the input's.
trait Real:
    Copy
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
{
    fn of_f64(v: f64) -> Self;
    fn of_i64(v: i64) -> Self;
    fn to_f64(self) -> f64;
    fn ceil(self) -> Self;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            fn of_f64(v: f64) -> Self {
                v as $t
            }
            fn of_i64(v: i64) -> Self {
                v as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
        }
    };
}
real!(f32);
real!(f64);

/// One box's bin weights along one axis: `[bins, size]`, row-major, plus the grid count.
struct AxisWeights<T> {
    weights: Vec<T>,
    grid: i64,
}

/// The kernel's per-axis sample positions and bilinear weights for one box (`start`, `end` already
/// scaled and shifted), accumulated per bin.
fn axis_weights<T: Real>(
    start: T,
    end: T,
    bins: i64,
    size: i64,
    opts: &RoiAlignOpts,
    what: &str,
) -> Result<AxisWeights<T>> {
    let mut extent = end - start;
    if !opts.aligned && extent < T::of_f64(1.0) {
        extent = T::of_f64(1.0);
    }
    let bin = extent / T::of_i64(bins);
    let grid = match opts.sampling_ratio > 0 {
        true => opts.sampling_ratio,
        // torchvision sizes its sample buffer from the signed grid and aborts on an inverted
        // aligned box ("cannot create std::vector larger than max_size()"): refuse it instead.
        false if extent < T::of_f64(0.0) => {
            return Err(bad(format!(
                "{what}: inverted ({:.3} feature pixels) with aligned=True and an adaptive grid",
                extent.to_f64()
            )))
        }
        false => {
            let g = (extent / T::of_i64(bins)).ceil().to_f64();
            if g > (MAX_SAMPLES_PER_AXIS / bins.max(1)) as f64 {
                return Err(bad(format!(
                    "{what}: a box {:.0} feature pixels long needs {g} samples per bin",
                    extent.to_f64()
                )));
            }
            g as i64
        }
    };
    let mut weights = vec![T::of_f64(0.0); (bins * size) as usize];
    let (zero, one) = (T::of_f64(0.0), T::of_f64(1.0));
    let limit = T::of_i64(size);
    for b in 0..bins {
        for i in 0..grid.max(0) {
            // roi_start + b·bin + (i + .5)·bin / grid, left to right as the kernel does.
            let mut p =
                start + T::of_i64(b) * bin + T::of_f64(i as f64 + 0.5) * bin / T::of_i64(grid);
            if p < T::of_f64(-1.0) || p > limit {
                continue; // an empty sample: it still counts in the average
            }
            if p <= zero {
                p = zero;
            }
            let mut low = p.to_f64() as i64;
            let high = if low >= size - 1 {
                low = size - 1;
                p = T::of_i64(low);
                low
            } else {
                low + 1
            };
            let l = p - T::of_i64(low);
            let h = one - l;
            let row = &mut weights[(b * size) as usize..((b + 1) * size) as usize];
            row[low as usize] = row[low as usize] + h;
            row[high as usize] = row[high as usize] + l;
        }
    }
    Ok(AxisWeights { weights, grid })
}

/// `torchvision.ops.roi_align(input, boxes, ...)`: `input` `[N, C, H, W]`, `boxes` `[K, 5]` rows
/// of (batch index, x1, y1, x2, y2) in the coordinates `spatial_scale` maps onto `input`. Returns
/// `[K, C, PH, PW]`. Boxes must be finite with integral batch indices naming a clip of `input`;
/// boxes outside the map, inverted or empty are computed as torchvision computes them, except an
/// inverted box with `aligned` and an adaptive grid, on which torchvision aborts: refused.
pub fn roi_align(input: &Tensor, boxes: &Tensor, opts: &RoiAlignOpts) -> Result<Tensor> {
    let size = input.size();
    let &[n, c, h, w] = size.as_slice() else {
        return Err(bad(format!(
            "the feature map must be [N, C, H, W], got {size:?}"
        )));
    };
    let bs = boxes.size();
    if bs.len() != 2 || bs[1] != 5 {
        return Err(bad(format!(
            "boxes must be [K, 5] (index, x1, y1, x2, y2), got {bs:?}"
        )));
    }
    let [ph, pw] = opts.output_size;
    if ph < 1 || pw < 1 || !opts.spatial_scale.is_finite() {
        return Err(bad(format!(
            "output size {:?} and spatial scale {} must be positive and finite",
            opts.output_size, opts.spatial_scale
        )));
    }
    if !input.is_floating_point() {
        return Err(bad(format!(
            "the feature map is {:?}, not floating point",
            input.kind()
        )));
    }
    // Positions are computed in the input's float type (f32 for half inputs too).
    match input.kind() {
        Kind::Double => roi_align_in::<f64>(input, boxes, opts, [n, c, h, w]),
        _ => roi_align_in::<f32>(input, boxes, opts, [n, c, h, w]),
    }
}

fn roi_align_in<T: Real>(
    input: &Tensor,
    boxes: &Tensor,
    opts: &RoiAlignOpts,
    [n, c, h, w]: [i64; 4],
) -> Result<Tensor> {
    let torch = |what: &'static str| move |e: tch::TchError| bad(format!("{what}: {e}"));
    let wk = if input.kind() == Kind::Double {
        Kind::Double
    } else {
        Kind::Float
    };
    // Boxes are read in the input's precision, as torchvision requires them in its dtype.
    let rows: Vec<f64> = Vec::<f64>::try_from(
        &boxes
            .f_to_kind(wk)
            .and_then(|b| b.f_to_kind(Kind::Double))
            .and_then(|b| b.f_to_device(Device::Cpu))
            .and_then(|b| b.f_contiguous())
            .and_then(|b| b.f_view([-1]))
            .map_err(torch("reading boxes"))?,
    )
    .map_err(torch("reading boxes"))?;
    let k = rows.len() / 5;
    let [ph, pw] = opts.output_size;
    let scale = T::of_f64(opts.spatial_scale);
    let offset = T::of_f64(if opts.aligned { 0.5 } else { 0.0 });
    let mut ay: Vec<T> = Vec::with_capacity(k * (ph * h) as usize);
    let mut ax: Vec<T> = Vec::with_capacity(k * (pw * w) as usize);
    let mut counts = Vec::with_capacity(k);
    let mut by_clip: Vec<Vec<i64>> = vec![Vec::new(); n as usize];
    for (i, r) in rows.chunks_exact(5).enumerate() {
        if let Some(v) = r.iter().find(|v| !v.is_finite()) {
            return Err(bad(format!("box {i} {r:?} has a non-finite value {v}")));
        }
        let b = r[0];
        if b.fract() != 0.0 || b < 0.0 || b >= n as f64 {
            return Err(bad(format!(
                "box {i}: batch index {b} does not name one of the {n} clips"
            )));
        }
        by_clip[b as usize].push(i as i64);
        let at = |j: usize| T::of_f64(r[j]) * scale - offset;
        let what = format!("box {i} {r:?}");
        let y = axis_weights(at(2), at(4), ph, h, opts, &what)?;
        let x = axis_weights(at(1), at(3), pw, w, opts, &what)?;
        counts.push((y.grid * x.grid).max(1) as f64);
        ay.extend(y.weights);
        ax.extend(x.weights);
    }
    let dev = input.device();
    let to_tensor = |v: Vec<T>, dims: [i64; 3]| -> Result<Tensor> {
        let f: Vec<f64> = v.into_iter().map(T::to_f64).collect();
        Tensor::f_from_slice(&f)
            .and_then(|t| t.f_reshape(dims))
            .and_then(|t| t.f_to_device(dev))
            .and_then(|t| t.f_to_kind(input.kind()))
            .map_err(torch("sampling weights"))
    };
    let k = k as i64;
    let ay = to_tensor(ay, [k, ph, h])?;
    let ax = to_tensor(ax, [k, pw, w])?;
    let counts = to_tensor(counts.into_iter().map(T::of_f64).collect(), [k, 1, 1])?
        .f_unsqueeze(-1)
        .map_err(torch("sampling weights"))?;

    let mut out = Tensor::f_zeros([k, c, ph, pw], (input.kind(), dev)).map_err(torch("output"))?;
    for (clip, idx) in by_clip
        .iter()
        .enumerate()
        .filter(|(_, idx)| !idx.is_empty())
    {
        let idx = Tensor::from_slice(idx).to_device(dev);
        let kn = idx.size()[0];
        let clip_out = (|| -> std::result::Result<Tensor, tch::TchError> {
            // [H, C·W]: one clip's rows, each a (channel, column) matrix.
            let v = input
                .f_select(0, clip as i64)?
                .f_permute([1, 0, 2])?
                .f_reshape([h, c * w])?;
            let t = ay
                .f_index_select(0, &idx)?
                .f_reshape([kn * ph, h])?
                .f_matmul(&v)?;
            // [Kn, C, PH, W] @ [Kn, 1, W, PW]
            let t = t.f_reshape([kn, ph, c, w])?.f_permute([0, 2, 1, 3])?;
            let axt = ax
                .f_index_select(0, &idx)?
                .f_transpose(1, 2)?
                .f_unsqueeze(1)?;
            t.f_matmul(&axt)?.f_div(&counts.f_index_select(0, &idx)?)
        })()
        .map_err(torch("roi_align"))?;
        out = out
            .f_index_copy(0, &idx, &clip_out)
            .map_err(torch("roi_align"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(sampling_ratio: i64, aligned: bool) -> RoiAlignOpts {
        RoiAlignOpts {
            output_size: [2, 2],
            spatial_scale: 1.0,
            sampling_ratio,
            aligned,
        }
    }

    #[test]
    fn constant_map_stays_constant_inside_and_bad_boxes_are_errors() {
        let x = Tensor::full([2, 3, 8, 8], 2.5, (Kind::Float, Device::Cpu));
        let boxes = Tensor::from_slice(&[0f32, 1., 1., 6., 5., 1., 0., 0., 7., 7.]).view([2, 5]);
        let y = roi_align(&x, &boxes, &opts(0, false)).expect("runs");
        assert_eq!(y.size(), [2, 3, 2, 2]);
        assert!(y.allclose(&Tensor::full_like(&y, 2.5), 1e-6, 1e-6, false));

        let empty = Tensor::zeros([0, 5], (Kind::Float, Device::Cpu));
        assert_eq!(
            roi_align(&x, &empty, &opts(2, true)).map(|t| t.size()).ok(),
            Some(vec![0, 3, 2, 2])
        );

        for rows in [
            [0f32, f32::NAN, 0., 1., 1.],
            [2., 0., 0., 1., 1.],
            [0.5, 0., 0., 1., 1.],
            [-1., 0., 0., 1., 1.],
            [0., 0., 0., f32::INFINITY, 1.],
            [0., 0., 0., 1e30, 1.],
        ] {
            let b = Tensor::from_slice(&rows).view([1, 5]);
            let err = roi_align(&x, &b, &opts(0, false)).err();
            assert!(
                matches!(err, Some(ModelError::BadBoxes { .. })),
                "{rows:?}: {err:?}"
            );
        }
        let err = roi_align(
            &x,
            &Tensor::zeros([3, 4], (Kind::Float, Device::Cpu)),
            &opts(0, false),
        );
        assert!(err.is_err());
    }
}
