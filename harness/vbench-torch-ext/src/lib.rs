//! A small C++ shim over the venv's libtorch for what tch 0.26 cannot do.
//!
//! # Why a shim
//! - tch's `CModule` runs a TorchScript module but exposes neither its graph nor a profiler
//!   hook, so vbench cannot see which ops a user's model runs, with which shapes, to count its
//!   FLOPs as fvcore does; nor a frozen module's weights (graph constants, not parameters).
//! - tch's `autocast` toggles only libtorch's CUDA autocast state; on the CPU it does nothing,
//!   so `torch.autocast("cpu", torch.bfloat16)` has no tch equivalent.
//! - tch has no memory-format argument (`contiguous(memory_format=...)`, `is_contiguous(...)`).
//!
//! # How it builds
//! `build.rs` compiles `cpp/shim.cpp` (C++17, about 500 lines) with the `cc` crate against the
//! libtorch that torch-sys links: torch-sys reports its lib dir (`DEP_TCH_LIBTORCH_LIB`), the
//! headers sit beside it, and the C++ ABI flag follows torch-sys (`LIBTORCH_CXX11_ABI`, default
//! 1). Nothing beyond `ci/setup.sh`'s venv and a C++ compiler is needed. The C ABI is
//! `cpp/shim.h`: tensors cross as `at::Tensor*`, the handle tch's `Tensor` owns
//! (`Tensor::as_ptr` in, `Tensor::from_ptr` out); errors come back as codes plus libtorch's
//! message and become [`TorchExtError`], which names the file.
//!
//! # What is here
//! - [`TsModule`]: a TorchScript file owned by the shim. [`TsModule::load`] (eval mode; refuses
//!   a non-TorchScript file and, on the CPU, a module whose graph pins CUDA),
//!   [`TsModule::forward`] on a [`ModuleInput`] (one tensor, a pathway list, or clip + boxes),
//!   [`TsModule::params`] (parameters, or a frozen module's tensor constants: [`ParamSource`]).
//! - [`TsModule::capture_ops`]: one forward with a thread-local `at::RecordFunction` callback
//!   that records each top-level aten op (one per graph node; ops called inside an op are not
//!   separate records) with its arguments' shapes and scalars and its outputs' shapes. The
//!   forward graph is inlined and run by a fresh interpreter, so no JIT pass (optimisation,
//!   profiling executor, fusion) rewrites the nodes that run, and the module's own executor and
//!   other threads are untouched. Two details make the records the nodes of fvcore's trace:
//!   - interpreter-only nodes (`aten::Int`, `aten::size`, ...) never reach the dispatcher, but
//!     what they call does (`aten::Int` → `aten::item`). The capture brackets each such node
//!     with two no-op marker ops (`vbench_torch_ext::interpreter_op_{begin,end}`), records the
//!     node by name and nests what it calls;
//!   - the ops PyTorch's tracer never records (`aten::conv3d`, `aten::convolution`, ...; its
//!     `DONT_RECORD_TRACE`) are recorded through: a scripted `conv3d` node counts as the
//!     `aten::_convolution` a trace would hold.
//! - [`OpCapture::flops`] ([`flops`]): fvcore's counting of those ops under vbench's conventions
//!   (`fvcore-2021`, `conv-linear`, `fvcore-eval`): a fixed set of counted ops with fvcore's
//!   formulas, every other op listed by name as uncounted.
//! - [`CpuAutocast`]: a thread-bound guard with `torch.autocast("cpu", dtype)` semantics for
//!   everything run on its thread.
//! - [`to_channels_last_3d`], [`is_channels_last_3d`]: the ChannelsLast3d layout.
//!
//! # Limits
//! - FLOPs are fvcore's for the graph the file holds. A frozen or `optimize_for_inference`
//!   graph has BatchNorm folded away (and MKLDNN ops fvcore has no handle for), so it counts less
//!   than fvcore on the unfrozen Python module; an `einsum` of three or more operands with a
//!   contraction (numpy's optimal-path search) is refused as `Unmirrored`, not guessed.
//! - A scripted module runs ops that a trace of the Python module never holds: the interpreter's
//!   own (`aten::Bool`, `aten::floordiv`, ...; listed as uncounted, as fvcore lists whatever it
//!   has no handle for) and values only Python's control flow consumes (a trace drops them).
//!   fvcore cannot analyse a ScriptModule at all.
//! - The callback is thread-local: ops a scripted module runs on other threads
//!   (`torch.jit.fork`) are not captured.
//! - Custom C++ operators (`torchvision::roi_align`, ...) are not registered in this process: a
//!   file calling them fails to load with `UnknownOperator`.
//! - Quantized modules keep their weights in packed-parameter objects, which are neither
//!   parameters nor tensor constants: [`TsModule::params`] does not see them.
mod autocast;
mod capture;
mod einsum;
mod error;
mod ffi;
mod flop_ctx;
pub mod flops;
mod layout;
mod module;
mod ops;

pub use autocast::{with_cpu_autocast, CpuAutocast};
pub use capture::OpCapture;
pub use error::{gist, TorchExtError};
pub use flops::{Convention, FlopCount};
pub use layout::{is_channels_last_3d, to_channels_last_3d};
pub use module::{ModuleInput, ParamCount, ParamSource, TsModule};
pub use ops::{Arg, OpRecord};
