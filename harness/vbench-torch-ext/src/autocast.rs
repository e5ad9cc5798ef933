//! CPU autocast, as `torch.autocast("cpu", dtype)` gives it in PyTorch. tch's `autocast` only
//! toggles the CUDA state, so on the CPU it does nothing; this guard sets libtorch's CPU state.

use std::marker::PhantomData;
use std::os::raw::{c_char, c_int};

use tch::Kind;

use crate::error::TorchExtError;
use crate::ffi;

/// While alive, ops run *on this thread* (tch-built models and [`crate::TsModule`] forwards
/// alike) follow libtorch's CPU autocast policy with `dtype`: convolutions, linear and matmul in
/// `dtype`, the ops PyTorch keeps in fp32 (`avg_pool3d`, ...) in fp32. Dropping it restores the
/// previous state, as leaving a `with torch.autocast(...)` block does; guards nest.
///
/// Autocast state is thread-local in libtorch: the guard must live on the thread that runs
/// forward. It is neither `Send` nor `Sync`, so it cannot be moved to another thread, and a
/// thread spawned while it is alive runs without autocast.
pub struct CpuAutocast {
    prev: [c_int; 3],
    _thread_bound: PhantomData<*const ()>,
}

impl CpuAutocast {
    /// `torch.autocast("cpu", dtype=torch.bfloat16)`.
    pub fn bf16() -> Result<CpuAutocast, TorchExtError> {
        CpuAutocast::new(Kind::BFloat16)
    }

    /// `dtype` is `Kind::BFloat16` or `Kind::Half`, the two CPU autocast takes.
    pub fn new(dtype: Kind) -> Result<CpuAutocast, TorchExtError> {
        // c10::ScalarType's values (tch keeps its own mapping private).
        let scalar_type: c_int = match dtype {
            Kind::Half => 5,
            Kind::BFloat16 => 15,
            _ => {
                return Err(TorchExtError::Autocast {
                    message: format!("CPU autocast takes BFloat16 or Half, not {dtype:?}"),
                })
            }
        };
        let mut prev = [0; 3];
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: prev has the 3 slots the shim writes; err is taken once.
        let rc = unsafe { ffi::vt_autocast_cpu_enter(scalar_type, prev.as_mut_ptr(), &mut err) };
        let message = unsafe { ffi::take_string(err) };
        if rc != ffi::VT_OK {
            return Err(TorchExtError::Autocast { message });
        }
        Ok(CpuAutocast {
            prev,
            _thread_bound: PhantomData,
        })
    }

    /// Whether CPU autocast is on for the calling thread.
    pub fn is_enabled() -> bool {
        // SAFETY: reads thread-local state.
        unsafe { ffi::vt_autocast_cpu_enabled() != 0 }
    }
}

impl Drop for CpuAutocast {
    fn drop(&mut self) {
        // SAFETY: prev is what enter saved on this same thread (the guard is !Send).
        unsafe { ffi::vt_autocast_cpu_exit(self.prev.as_ptr()) }
    }
}

/// Runs `f` under [`CpuAutocast`] with `dtype`, on the calling thread.
pub fn with_cpu_autocast<T>(dtype: Kind, f: impl FnOnce() -> T) -> Result<T, TorchExtError> {
    let _guard = CpuAutocast::new(dtype)?;
    Ok(f())
}
