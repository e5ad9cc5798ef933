//! The shim's C ABI (`cpp/shim.h`). `vt_tensor` is `at::Tensor`, the same handle as torch-sys's
//! `C_tensor`, so tch tensors cross by pointer.

use std::os::raw::{c_char, c_int};

use torch_sys::C_tensor;

pub const VT_OK: c_int = 0;
pub const VT_ERR_LOAD: c_int = 1;
pub const VT_ERR_CUDA: c_int = 2;
pub const VT_ERR_FORWARD: c_int = 3;
pub const VT_ERR_OUTPUT: c_int = 4;
pub const VT_ERR_UNKNOWN_OP: c_int = 6;

#[repr(C)]
pub struct VtModule {
    _opaque: [u8; 0],
}

extern "C" {
    pub fn vt_load(
        path: *const c_char,
        device: c_int,
        out: *mut *mut VtModule,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn vt_module_free(m: *mut VtModule);
    pub fn vt_forward(
        m: *mut VtModule,
        inputs: *const *mut C_tensor,
        n: usize,
        as_list: c_int,
        out: *mut *mut C_tensor,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn vt_capture(
        m: *mut VtModule,
        inputs: *const *mut C_tensor,
        n: usize,
        as_list: c_int,
        out: *mut *mut C_tensor,
        records: *mut *mut c_char,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn vt_params(
        m: *mut VtModule,
        count: *mut i64,
        source: *mut c_int,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn vt_autocast_cpu_enter(dtype: c_int, prev: *mut c_int, err: *mut *mut c_char) -> c_int;
    pub fn vt_autocast_cpu_exit(prev: *const c_int);
    pub fn vt_autocast_cpu_enabled() -> c_int;
    pub fn vt_to_channels_last_3d(
        t: *mut C_tensor,
        out: *mut *mut C_tensor,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn vt_is_channels_last_3d(t: *mut C_tensor) -> c_int;
    pub fn vt_module_channels_last(
        m: *mut VtModule,
        changed: *mut i64,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn vt_module_fold_batch_norms(
        m: *mut VtModule,
        before: *mut i64,
        after: *mut i64,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn vt_free_string(s: *mut c_char);
}

/// Takes ownership of a malloc'd C string from the shim.
///
/// # Safety
/// `s` is null or a string the shim allocated and nobody else frees.
pub unsafe fn take_string(s: *mut c_char) -> String {
    if s.is_null() {
        return String::new();
    }
    let out = std::ffi::CStr::from_ptr(s).to_string_lossy().into_owned();
    vt_free_string(s);
    out
}
