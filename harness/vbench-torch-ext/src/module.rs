//! TorchScript modules owned by the shim: load, forward, op capture, params.

use std::ffi::CString;
use std::os::raw::{c_char, c_int};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use tch::{Device, Tensor};
use torch_sys::C_tensor;

use crate::capture::{parse_records, OpCapture};
use crate::error::TorchExtError;
use crate::ffi;

/// What forward is called with.
#[derive(Debug, Clone, Copy)]
pub enum ModuleInput<'a> {
    /// `forward(x)`: one pathway `[B, C, T, H, W]`.
    Single(&'a Tensor),
    /// `forward([slow, fast])`: one `List[Tensor]` argument (PyTorchVideo's SlowFast).
    Pathways(&'a [Tensor]),
    /// `forward(clip, boxes)`: a detector's clip and `[K, 5]` boxes.
    ClipBoxes { clip: &'a Tensor, boxes: &'a Tensor },
}

impl ModuleInput<'_> {
    fn tensors(&self) -> (Vec<&Tensor>, bool) {
        match self {
            ModuleInput::Single(x) => (vec![*x], false),
            ModuleInput::Pathways(xs) => (xs.iter().collect(), true),
            ModuleInput::ClipBoxes { clip, boxes } => (vec![*clip, *boxes], false),
        }
    }

    /// The shapes tried, for error messages: `[1, 3, 8, 224, 224]`, `list [[..], [..]]`,
    /// `clip [..], boxes [..]`.
    pub fn describe(&self) -> String {
        match self {
            ModuleInput::Single(x) => format!("{:?}", x.size()),
            ModuleInput::Pathways(xs) => {
                let s: Vec<String> = xs.iter().map(|x| format!("{:?}", x.size())).collect();
                format!("list [{}]", s.join(", "))
            }
            ModuleInput::ClipBoxes { clip, boxes } => {
                format!("clip {:?}, boxes {:?}", clip.size(), boxes.size())
            }
        }
    }
}

/// Where [`TsModule::params`] got its count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamSource {
    /// `sum(p.numel() for p in module.parameters())`.
    Parameters,
    /// The module has no parameters (`torch.jit.freeze` made them graph constants): the numel of
    /// the floating-point (and quantized) tensor constants of its inlined forward graph. This is
    /// what freeze kept: BatchNorm running stats it did not fold are in, BatchNorm it folded into
    /// a convolution is out.
    FrozenConstants,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamCount {
    pub count: i64,
    pub source: ParamSource,
}

/// A TorchScript module (`torch.jit.script` / `torch.jit.trace` file), in eval mode.
///
/// Unlike `tch::CModule` it can capture the ops forward runs ([`TsModule::capture_ops`]) and
/// count a frozen module's weights. Send, not Sync: one thread runs it at a time.
pub struct TsModule {
    raw: NonNull<ffi::VtModule>,
    file: PathBuf,
    device: Device,
}

// SAFETY: the module is only reached through &self/&mut self of this owner; libtorch modules may
// move between threads (tch's CModule is Send too).
unsafe impl Send for TsModule {}

impl Drop for TsModule {
    fn drop(&mut self) {
        // SAFETY: raw came from vt_load and is freed once.
        unsafe { ffi::vt_module_free(self.raw.as_ptr()) }
    }
}

/// libtorch's message in one line: an interpreter error's last line (`RuntimeError: ...`)
/// without the TorchScript traceback above it; a compile error's text before the code excerpt
/// (`File "code/..."`); else the lines joined.
fn condense(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    if message.contains("Traceback of TorchScript") {
        return lines.next_back().unwrap_or_default().to_string();
    }
    let lines: Vec<&str> = lines.take_while(|l| !l.starts_with("File \"")).collect();
    lines.join(" ").trim_end_matches([' ', ':']).to_string()
}

fn device_code(device: Device) -> c_int {
    match device {
        Device::Cuda(i) => i as c_int,
        _ => -1,
    }
}

impl TsModule {
    /// Loads `path` onto `device` (weights saved from CUDA map to the CPU) in eval mode. On the
    /// CPU, a forward graph holding a CUDA device or tensor constant is refused as `NeedsCuda`.
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<TsModule, TorchExtError> {
        let file = path.as_ref().to_path_buf();
        std::fs::metadata(&file).map_err(|source| TorchExtError::Io {
            file: file.clone(),
            source,
        })?;
        let c_path =
            CString::new(file.as_os_str().as_encoded_bytes()).map_err(|_| TorchExtError::Io {
                file: file.clone(),
                source: std::io::Error::other("the path holds a NUL byte"),
            })?;
        let mut raw: *mut ffi::VtModule = std::ptr::null_mut();
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid C string and out-pointers; err is taken once.
        let rc = unsafe { ffi::vt_load(c_path.as_ptr(), device_code(device), &mut raw, &mut err) };
        let message = unsafe { ffi::take_string(err) };
        match (rc, NonNull::new(raw)) {
            (ffi::VT_OK, Some(raw)) => Ok(TsModule { raw, file, device }),
            (ffi::VT_ERR_CUDA, _) => Err(TorchExtError::NeedsCuda {
                file,
                message: condense(&message),
                detail: message,
            }),
            (ffi::VT_ERR_UNKNOWN_OP, _) => Err(TorchExtError::UnknownOperator {
                file,
                message: condense(&message),
            }),
            (ffi::VT_ERR_LOAD, _) => Err(TorchExtError::NotTorchScript {
                file,
                message: condense(&message),
            }),
            _ => Err(TorchExtError::Torch { file, message }),
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn device(&self) -> Device {
        self.device
    }

    fn error(&self, rc: c_int, input: &ModuleInput, message: String) -> TorchExtError {
        let file = self.file.clone();
        match rc {
            ffi::VT_ERR_CUDA => TorchExtError::NeedsCuda {
                file,
                message: condense(&message),
                detail: message,
            },
            ffi::VT_ERR_FORWARD => TorchExtError::ForwardRejected {
                file,
                shapes: input.describe(),
                message: condense(&message),
                detail: message,
            },
            ffi::VT_ERR_OUTPUT => TorchExtError::BadOutput { file, message },
            _ => TorchExtError::Torch { file, message },
        }
    }

    /// `module.forward(input)` under the caller's grad and autocast state; the output must be one
    /// tensor (raw logits for vbench).
    pub fn forward(&self, input: &ModuleInput) -> Result<Tensor, TorchExtError> {
        let (tensors, as_list) = input.tensors();
        let ptrs: Vec<*mut C_tensor> = tensors.iter().map(|t| t.as_ptr() as *mut _).collect();
        let mut out: *mut C_tensor = std::ptr::null_mut();
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: the tensors outlive the call (borrowed by `input`); the shim only reads them.
        let rc = unsafe {
            ffi::vt_forward(
                self.raw.as_ptr(),
                ptrs.as_ptr(),
                ptrs.len(),
                as_list as c_int,
                &mut out,
                &mut err,
            )
        };
        let message = unsafe { ffi::take_string(err) };
        if rc != ffi::VT_OK || out.is_null() {
            return Err(self.error(rc, input, message));
        }
        // SAFETY: `out` is a fresh `new at::Tensor` that nobody else owns.
        Ok(unsafe { Tensor::from_ptr(out) })
    }

    /// Runs forward once, under no_grad, recording every top-level aten op it runs (see
    /// [`OpCapture`]). The graph is inlined and run by a fresh interpreter: no JIT pass rewrites
    /// it, and the module's own executor (and other threads) are untouched.
    pub fn capture_ops(&self, input: &ModuleInput) -> Result<(Tensor, OpCapture), TorchExtError> {
        let (tensors, as_list) = input.tensors();
        let ptrs: Vec<*mut C_tensor> = tensors.iter().map(|t| t.as_ptr() as *mut _).collect();
        let mut out: *mut C_tensor = std::ptr::null_mut();
        let mut records: *mut c_char = std::ptr::null_mut();
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: as in forward; `records` is taken once.
        let rc = unsafe {
            ffi::vt_capture(
                self.raw.as_ptr(),
                ptrs.as_ptr(),
                ptrs.len(),
                as_list as c_int,
                &mut out,
                &mut records,
                &mut err,
            )
        };
        let message = unsafe { ffi::take_string(err) };
        let json = unsafe { ffi::take_string(records) };
        if rc != ffi::VT_OK || out.is_null() {
            return Err(self.error(rc, input, message));
        }
        // SAFETY: as in forward.
        let output = unsafe { Tensor::from_ptr(out) };
        let ops = parse_records(&json).map_err(|e| TorchExtError::Capture {
            file: self.file.clone(),
            message: e.to_string(),
        })?;
        Ok((
            output,
            OpCapture {
                file: self.file.clone(),
                ops,
            },
        ))
    }

    /// The parameter count, and whether it came from parameters or a frozen graph's constants.
    pub fn params(&self) -> Result<ParamCount, TorchExtError> {
        let (mut count, mut source): (i64, c_int) = (0, 0);
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid out-pointers.
        let rc = unsafe { ffi::vt_params(self.raw.as_ptr(), &mut count, &mut source, &mut err) };
        let message = unsafe { ffi::take_string(err) };
        if rc != ffi::VT_OK {
            return Err(TorchExtError::Torch {
                file: self.file.clone(),
                message,
            });
        }
        let source = if source == 1 {
            ParamSource::FrozenConstants
        } else {
            ParamSource::Parameters
        };
        Ok(ParamCount { count, source })
    }

    /// Every 5-D parameter and buffer laid out ChannelsLast3d, in place (`module.to(memory_format=
    /// torch.channels_last_3d)`); how many. A frozen module's weights are graph constants: 0.
    pub fn channels_last(&mut self) -> Result<usize, TorchExtError> {
        let mut changed = 0i64;
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid out-pointers; &mut self: nobody else runs the module meanwhile.
        let rc = unsafe { ffi::vt_module_channels_last(self.raw.as_ptr(), &mut changed, &mut err) };
        self.status(rc, err)?;
        Ok(changed as usize)
    }

    /// Conv → BatchNorm pairs folded into the convolutions by TorchScript's own pass
    /// (`torch::jit::FoldConvBatchNorm`); the BatchNorm calls in forward before and after.
    pub fn fold_batch_norms(&mut self) -> Result<(usize, usize), TorchExtError> {
        let (mut before, mut after) = (0i64, 0i64);
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: as in `channels_last`.
        let rc = unsafe {
            ffi::vt_module_fold_batch_norms(self.raw.as_ptr(), &mut before, &mut after, &mut err)
        };
        self.status(rc, err)?;
        Ok((before as usize, after as usize))
    }

    fn status(&self, rc: c_int, err: *mut c_char) -> Result<(), TorchExtError> {
        // SAFETY: `err` is null or the shim's string, freed here once.
        let message = unsafe { ffi::take_string(err) };
        if rc == ffi::VT_OK {
            return Ok(());
        }
        Err(TorchExtError::Torch {
            file: self.file.clone(),
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::condense;

    #[test]
    fn condense_keeps_the_error_text_without_tracebacks_or_code() {
        let tb = "The following operation failed in the TorchScript interpreter.\n\
                  Traceback of TorchScript, serialized code (most recent call last):\n  x\n\
                  RuntimeError: Given groups=1, weight of size [8]\n";
        assert_eq!(
            condense(tb),
            "RuntimeError: Given groups=1, weight of size [8]"
        );
        assert_eq!(
            condense("forward() Expected a\nPosition: 1\n"),
            "forward() Expected a Position: 1"
        );
        let compile =
            "Unknown builtin op: tv::roi.\nMay not exist. :\n  File \"code/a.py\", line 3\n  x\n";
        assert_eq!(
            condense(compile),
            "Unknown builtin op: tv::roi. May not exist."
        );
    }
}
