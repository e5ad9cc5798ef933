//! ChannelsLast3d (NDHWC) memory layout. tch 0.26 has no memory-format argument (its
//! `contiguous()` takes none and it has no `is_contiguous(memory_format)`), so these go through
//! the shim to `Tensor::contiguous(at::MemoryFormat::ChannelsLast3d)`.

use std::os::raw::c_char;

use tch::Tensor;
use torch_sys::C_tensor;

use crate::error::TorchExtError;
use crate::ffi;

/// A copy of the 5-D tensor `t` (`[N, C, T, H, W]`, a conv3d input or weight) laid out
/// channels-last: same sizes and values, strides `[THWC, 1, HWC, WC, C]`. Returns `t` itself
/// (shared) where it is already so. Convolutions on such inputs and weights run libtorch's
/// channels-last kernels and return channels-last outputs.
pub fn to_channels_last_3d(t: &Tensor) -> Result<Tensor, TorchExtError> {
    if t.dim() != 5 {
        return Err(TorchExtError::Tensor {
            shape: t.size(),
            message: "ChannelsLast3d needs a 5-D tensor".into(),
        });
    }
    let mut out: *mut C_tensor = std::ptr::null_mut();
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: t outlives the call and is only read; out is a fresh `new at::Tensor`.
    let rc = unsafe { ffi::vt_to_channels_last_3d(t.as_ptr() as *mut _, &mut out, &mut err) };
    let message = unsafe { ffi::take_string(err) };
    if rc != ffi::VT_OK || out.is_null() {
        return Err(TorchExtError::Tensor {
            shape: t.size(),
            message,
        });
    }
    Ok(unsafe { Tensor::from_ptr(out) })
}

/// Whether `t` is a 5-D tensor laid out ChannelsLast3d
/// (`t.is_contiguous(memory_format=torch.channels_last_3d)`).
pub fn is_channels_last_3d(t: &Tensor) -> bool {
    // SAFETY: reads t's metadata only.
    unsafe { ffi::vt_is_channels_last_3d(t.as_ptr() as *mut _) != 0 }
}
