//! ChannelsLast3d: tch 0.26 has no memory-format API (no `contiguous(memory_format)`, no
//! `MemoryFormat` anywhere in it), so the layout comes from the shim. A conv3d on channels-last
//! input and weight gives the contiguous result within float tolerance, and a channels-last
//! output: the layout is really NDHWC, checked on the strides.

use tch::{Device, Kind, Tensor};
use vbench_torch_ext::{is_channels_last_3d, to_channels_last_3d, TorchExtError};

fn ndhwc_strides(size: &[i64]) -> Vec<i64> {
    let (c, t, h, w) = (size[1], size[2], size[3], size[4]);
    vec![c * t * h * w, 1, h * w * c, w * c, c]
}

#[test]
fn conv3d_on_channels_last_3d_matches_contiguous() {
    tch::manual_seed(7);
    let opts = (Kind::Float, Device::Cpu);
    let x = Tensor::randn([2, 8, 4, 10, 12], opts);
    let w = Tensor::randn([16, 8, 3, 3, 3], opts);
    let b = Tensor::randn([16], opts);
    let (xc, wc) = (
        to_channels_last_3d(&x).unwrap(),
        to_channels_last_3d(&w).unwrap(),
    );
    assert!(!is_channels_last_3d(&x) && x.is_contiguous());
    assert!(is_channels_last_3d(&xc) && is_channels_last_3d(&wc));
    assert_eq!(xc.stride(), ndhwc_strides(&x.size()));
    assert_eq!(wc.stride(), ndhwc_strides(&w.size()));
    assert!(xc.equal(&x) && wc.equal(&w), "same values, new layout");
    // Already channels-last: the same tensor comes back.
    assert_eq!(to_channels_last_3d(&xc).unwrap().data_ptr(), xc.data_ptr());

    let _g = tch::no_grad_guard();
    let y = x.conv3d(&w, Some(&b), [1; 3], [1, 0, 1], [1; 3], 1);
    let yc = xc.conv3d(&wc, Some(&b), [1; 3], [1, 0, 1], [1; 3], 1);
    assert!(!is_channels_last_3d(&y));
    assert!(is_channels_last_3d(&yc), "strides {:?}", yc.stride());
    assert_eq!(yc.stride(), ndhwc_strides(&yc.size()));
    let diff = (&yc - &y).abs().max().double_value(&[]);
    let scale = y.abs().max().double_value(&[]);
    assert!(
        diff <= 1e-5 * scale,
        "channels-last conv3d differs by {diff}"
    );
}

#[test]
fn channels_last_3d_refuses_a_tensor_that_is_not_5d() {
    let x = Tensor::zeros([2, 3, 4, 5], (Kind::Float, Device::Cpu));
    assert!(!is_channels_last_3d(&x));
    let err = to_channels_last_3d(&x).err().unwrap();
    assert!(matches!(err, TorchExtError::Tensor { .. }));
    assert!(err.to_string().contains("[2, 3, 4, 5]"), "{err}");
}
