// C ABI of the vbench-torch-ext shim (see src/lib.rs for why it exists).
// Tensors cross as `at::Tensor*`, the same heap-allocated handle that tch's `Tensor` owns
// (torch-sys `C_tensor`): inputs are borrowed, outputs are `new at::Tensor` that Rust adopts.
// Every fallible call returns a VT_* code; on failure `*err` is a malloc'd message that the caller
// releases with vt_free_string.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  VT_OK = 0,
  VT_ERR_LOAD = 1,     // not a TorchScript file, or no forward method
  VT_ERR_CUDA = 2,     // the module needs CUDA on a CPU run
  VT_ERR_FORWARD = 3,  // forward rejected the input
  VT_ERR_OUTPUT = 4,   // forward returned something other than one tensor
  VT_ERR_OTHER = 5,
  VT_ERR_UNKNOWN_OP = 6,  // the file calls an operator library this process has not loaded
};

typedef struct vt_module vt_module;
typedef void vt_tensor;  // at::Tensor

// device: -1 = CPU, k >= 0 = cuda:k. The module is put in eval mode.
int vt_load(const char* path, int device, vt_module** out, char** err);
void vt_module_free(vt_module* m);

// Runs forward on `n` tensors: as n positional arguments, or (as_list != 0) as one List[Tensor].
int vt_forward(vt_module* m, vt_tensor* const* inputs, size_t n, int as_list, vt_tensor** out,
               char** err);

// Like vt_forward, but runs the inlined forward graph directly in the interpreter (no graph
// executor, so no optimisation or profiling passes) under no_grad, with a thread-local
// RecordFunction callback; *records is a malloc'd JSON array of the top-level aten ops run.
int vt_capture(vt_module* m, vt_tensor* const* inputs, size_t n, int as_list, vt_tensor** out,
               char** records, char** err);

// Sum of numel over parameters (*source = 0); for a module without parameters (a frozen one),
// over the floating-point tensor constants of its inlined forward graph (*source = 1).
int vt_params(vt_module* m, int64_t* count, int* source, char** err);

// CPU autocast: enter saves the thread's state into prev[3] (enabled, dtype, cache) and turns
// autocast on with `dtype` (a c10::ScalarType); exit restores it, as torch.autocast does.
int vt_autocast_cpu_enter(int dtype, int* prev, char** err);
void vt_autocast_cpu_exit(const int* prev);
int vt_autocast_cpu_enabled(void);

int vt_to_channels_last_3d(vt_tensor* t, vt_tensor** out, char** err);
int vt_is_channels_last_3d(vt_tensor* t);

// A loaded module's weights changed in place: every 5-D parameter and buffer laid out
// ChannelsLast3d (changed: how many); conv → BatchNorm pairs folded by torch::jit's
// FoldConvBatchNorm (before/after: aten::batch_norm calls in the inlined forward).
int vt_module_channels_last(vt_module* m, int64_t* changed, char** err);
int vt_module_fold_batch_norms(vt_module* m, int64_t* before, int64_t* after, char** err);

void vt_free_string(char* s);

#ifdef __cplusplus
}
#endif
