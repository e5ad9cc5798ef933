// vbench-torch-ext: the few libtorch entry points that tch 0.26 does not expose (see shim.h for
// the ABI and src/lib.rs for why). Everything here catches its exceptions: nothing unwinds into
// Rust.
#include "shim.h"

#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/interpreter.h>
#include <torch/csrc/jit/runtime/operator.h>
#include <torch/library.h>
#include <torch/script.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

struct vt_module {
  torch::jit::Module module;
  c10::Device device;
};

namespace {

char* dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

int fail(char** err, int code, const std::string& msg) {
  *err = dup(msg);
  return code;
}

// Only the exception's own line counts: a TorchScript traceback quotes source code, and that code
// can mention cuda (torch._assert's does) on an error that has nothing to do with CUDA.
bool mentions_cuda(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (auto nl = s.rfind('\n'); nl != std::string::npos) s = s.substr(nl + 1);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s.find("cuda") != std::string::npos || s.find("nvidia driver") != std::string::npos;
}

// Runs f; a libtorch exception becomes `code` (VT_ERR_CUDA where a CPU run hit CUDA).
template <class F>
int guarded(char** err, int code, bool cpu, F&& f) {
  std::string msg;
  try {
    return f();
  } catch (const c10::Error& e) {
    msg = e.what_without_backtrace();
  } catch (const std::exception& e) {
    msg = e.what();
  }
  if (cpu && mentions_cuda(msg)) code = VT_ERR_CUDA;
  if (code == VT_ERR_LOAD && msg.find("Unknown builtin op") != std::string::npos) {
    code = VT_ERR_UNKNOWN_OP;
  }
  return fail(err, code, msg);
}

at::Tensor& tensor(vt_tensor* t) { return *static_cast<at::Tensor*>(t); }

// forward's graph with every method and function call inlined: the graph fvcore's trace gives.
std::shared_ptr<torch::jit::Graph> inlined_forward(const torch::jit::Module& m) {
  auto g = m.get_method("forward").graph()->copy();
  torch::jit::Inline(*g);
  return g;
}

template <class F>
void each_node(torch::jit::Block* b, F&& f) {
  for (auto* n : b->nodes()) {
    f(n);
    for (auto* sub : n->blocks()) each_node(sub, f);
  }
}

std::vector<c10::IValue> arguments(vt_tensor* const* in, size_t n, int as_list) {
  std::vector<c10::IValue> args;
  if (as_list) {
    c10::List<at::Tensor> list;
    for (size_t i = 0; i < n; ++i) list.push_back(tensor(in[i]));
    args.emplace_back(std::move(list));
  } else {
    for (size_t i = 0; i < n; ++i) args.emplace_back(tensor(in[i]));
  }
  return args;
}

int take_tensor(const c10::IValue& v, vt_tensor** out, char** err) {
  if (!v.isTensor()) {
    return fail(err, VT_ERR_OUTPUT,
                std::string("forward returned a ") + v.tagKind() + ", expected one Tensor");
  }
  *out = new at::Tensor(v.toTensor());
  return VT_OK;
}

// ---- interpreter-only ops --------------------------------------------------------------------
// Some graph nodes are operators of the TorchScript interpreter, not of the dispatcher
// (aten::Int, aten::size, aten::__getitem__, ...). RecordFunction never sees them, but sees the
// dispatcher ops they call inside (aten::Int -> aten::item) as if the graph had run those. The
// capture brackets each such node with two no-op marker ops: the begin marker names the node,
// and everything dispatched before the end marker nests inside it.

constexpr const char* kBegin = "vbench_torch_ext::interpreter_op_begin";
constexpr const char* kEnd = "vbench_torch_ext::interpreter_op_end";

TORCH_LIBRARY(vbench_torch_ext, m) {
  m.def("interpreter_op_begin(str kind) -> ()", [](std::string) {});
  m.def("interpreter_op_end() -> ()", []() {});
}

void bracket_interpreter_ops(torch::jit::Graph& g) {
  std::vector<torch::jit::Node*> nodes;
  each_node(g.block(), [&](torch::jit::Node* n) {
    const auto* op = n->maybeOperator();
    if (n->blocks().empty() && n->kind() != c10::prim::Constant && op && !op->isC10Op()) {
      nodes.push_back(n);
    }
  });
  auto begin = c10::Symbol::fromQualString(kBegin);
  auto end = c10::Symbol::fromQualString(kEnd);
  for (auto* n : nodes) {
    torch::jit::WithInsertPoint at(n);
    auto* kind = g.insertConstant(std::string(n->kind().toQualString()));
    g.create(begin, {kind}, 0)->insertBefore(n);
    g.create(end, {}, 0)->insertAfter(n);
  }
}

// ---- op capture -------------------------------------------------------------------------------
// JSON of one IValue: {"t":[dims]} tensor, null (None or undefined tensor), {"b"}, {"i"}, {"f"},
// {"s"}, {"il":[..]}, {"tl":[[dims]|null,..]}, else {"o":"<kind>"}.

void put_string(std::ostream& o, const std::string& s) {
  o << '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o << '\\' << c;
    } else if (c < 0x20) {
      o << "\\u" << std::hex << std::setw(4) << std::setfill('0') << int(c) << std::dec;
    } else {
      o << c;
    }
  }
  o << '"';
}

void put_shape(std::ostream& o, const at::Tensor& t) {
  o << '[';
  for (int64_t i = 0; i < t.dim(); ++i) o << (i ? "," : "") << t.size(i);
  o << ']';
}

void put_ivalue(std::ostream& o, const c10::IValue& v) {
  if (v.isNone() || (v.isTensor() && !v.toTensor().defined())) {
    o << "null";
  } else if (v.isTensor()) {
    const auto& t = v.toTensor();
    o << "{\"t\":";
    put_shape(o, t);
    o << ",\"dt\":\"" << c10::toString(t.scalar_type()) << "\"}";
  } else if (v.isBool()) {
    o << "{\"b\":" << (v.toBool() ? "true" : "false") << '}';
  } else if (v.isInt()) {
    o << "{\"i\":" << v.toInt() << '}';
  } else if (v.isDouble() && std::isfinite(v.toDouble())) {
    o << "{\"f\":" << std::setprecision(17) << v.toDouble() << '}';
  } else if (v.isString()) {
    o << "{\"s\":";
    put_string(o, v.toStringRef());
    o << '}';
  } else if (v.isIntList()) {
    o << "{\"il\":[";
    auto l = v.toIntVector();
    for (size_t i = 0; i < l.size(); ++i) o << (i ? "," : "") << l[i];
    o << "]}";
  } else if (v.isList()) {
    // Tensor lists, and List[Optional[Tensor]] (aten::index): shapes, null for None.
    auto l = v.toListRef();
    bool ints = !l.empty();
    for (const auto& e : l) ints = ints && e.isInt();
    if (ints) {
      o << "{\"il\":[";
      for (size_t i = 0; i < l.size(); ++i) o << (i ? "," : "") << l[i].toInt();
      o << "]}";
      return;
    }
    bool tensors = true;
    for (const auto& e : l) tensors = tensors && (e.isTensor() || e.isNone());
    if (!tensors) {
      o << "{\"o\":\"List\"}";
      return;
    }
    o << "{\"tl\":[";
    for (size_t i = 0; i < l.size(); ++i) {
      o << (i ? "," : "");
      if (l[i].isTensor() && l[i].toTensor().defined()) {
        put_shape(o, l[i].toTensor());
      } else {
        o << "null";
      }
    }
    o << "]}";
  } else {
    o << "{\"o\":\"" << v.tagKind() << "\"}";
  }
}

// The last `n` values (the op's own, where RecordFunction hands the whole stack), `n` from the
// schema where there is one.
void put_values(std::ostream& o, c10::ArrayRef<const c10::IValue> vs, std::optional<size_t> n) {
  size_t k = n ? std::min(*n, vs.size()) : vs.size();
  o << '[';
  for (size_t i = vs.size() - k; i < vs.size(); ++i) {
    if (i != vs.size() - k) o << ',';
    put_ivalue(o, vs[i]);
  }
  o << ']';
}

struct Capture {
  std::ostringstream json;
  size_t depth = 0;  // ops entered and not yet left on this thread
  size_t records = 0;
  std::string error;  // the first failure inside a callback
};

thread_local Capture* tl_capture = nullptr;

struct OpContext : at::ObserverContext {
  bool counted = false;  // an op (not a marker): entered depth, leaves it at the end
  bool top = false;
  std::optional<size_t> returns;
};

// The ops PyTorch's tracer never records (DONT_RECORD_TRACE in gen_trace_type.py): a traced
// graph holds what they call instead (conv3d -> convolution -> aten::_convolution, the op fvcore
// counts). A scripted graph calls them directly; recording through them gives the trace's view.
bool untraced(const char* name) {
  static const std::set<std::string> ops = {
      "aten::convolution",       "aten::conv1d",           "aten::conv2d",
      "aten::conv3d",            "aten::conv_tbc",         "aten::conv_transpose1d",
      "aten::conv_transpose2d",  "aten::conv_transpose3d", "aten::lstm_cell",
      "aten::gru_cell",          "aten::rnn_tanh_cell",    "aten::rnn_relu_cell",
      "aten::_coalesced"};
  return ops.count(name) > 0;
}

// An aten op starts. Only depth-0 ops are the interpreter's own (one per graph node); the ops
// they call internally nest inside and are not separate records. Callbacks must not throw
// (RecordFunction would log and go on): a failure is kept and reported after the run.
std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  Capture* c = tl_capture;
  if (c == nullptr) return nullptr;
  auto ctx = std::make_unique<OpContext>();
  if (std::strcmp(fn.name(), kEnd) == 0) {
    c->depth--;  // the bracketed interpreter op is over; the marker itself is no record
    return ctx;
  }
  if (std::strcmp(fn.name(), kBegin) == 0) {
    // The bracketed node is a record (no shapes: the dispatcher never sees its arguments).
    if (c->depth++ == 0 && c->error.empty()) {
      auto in = fn.inputs();
      c->json << (c->records++ ? "," : "") << "{\"op\":";
      put_string(c->json, in.empty() ? std::string("?") : in.back().toStringRef());
      c->json << ",\"interpreter\":true,\"in\":[],\"out\":[]}";
    }
    return ctx;
  }
  if (c->depth == 0 && untraced(fn.name())) return ctx;  // what it calls is the record
  ctx->counted = true;
  ctx->top = c->depth++ == 0;
  if (!ctx->top || !c->error.empty()) return ctx;
  try {
    std::optional<size_t> args;
    if (auto schema = fn.operator_schema()) {
      args = schema->arguments().size();
      ctx->returns = schema->returns().size();
    }
    std::ostringstream rec;
    rec << (c->records++ ? "," : "") << "{\"op\":";
    put_string(rec, fn.name());
    rec << ",\"in\":";
    put_values(rec, fn.inputs(), args);
    c->json << rec.str();
  } catch (const std::exception& e) {
    c->error = std::string("recording the inputs of ") + fn.name() + ": " + e.what();
  }
  return ctx;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* raw) {
  Capture* c = tl_capture;
  auto* ctx = static_cast<OpContext*>(raw);
  if (c == nullptr || ctx == nullptr || !ctx->counted) return;
  c->depth--;
  if (!ctx->top || !c->error.empty()) return;
  try {
    std::ostringstream rec;
    rec << ",\"out\":";
    const auto& outs = fn.outputs();
    put_values(rec, c10::ArrayRef<const c10::IValue>(outs.data(), outs.size()), ctx->returns);
    rec << '}';
    c->json << rec.str();
  } catch (const std::exception& e) {
    c->error = std::string("recording the outputs of ") + fn.name() + ": " + e.what();
  }
}

// Installs the callback for this thread only, for the lifetime of the scope.
struct CaptureScope {
  at::CallbackHandle handle;
  at::RecordFunctionGuard enabled{true};
  explicit CaptureScope(Capture* c) {
    tl_capture = c;
    handle = at::addThreadLocalCallback(at::RecordFunctionCallback(on_start, on_end)
                                            .needsInputs(true)
                                            .needsOutputs(true)
                                            .scopes({at::RecordScope::FUNCTION}));
  }
  ~CaptureScope() {
    at::removeCallback(handle);
    tl_capture = nullptr;
  }
};

// A device or tensor constant on CUDA in forward's graph: the module cannot run on CPU.
std::optional<std::string> cuda_constant(const torch::jit::Module& m) {
  auto g = inlined_forward(m);
  std::optional<std::string> found;
  each_node(g->block(), [&](torch::jit::Node* n) {
    if (found || n->kind() != c10::prim::Constant || n->outputs().size() != 1) return;
    auto v = torch::jit::toIValue(n->output());
    if (!v) return;
    if (v->isDevice() && v->toDevice().is_cuda()) {
      found = "its forward graph holds the device constant " + v->toDevice().str();
    } else if (v->isTensor() && v->toTensor().defined() && v->toTensor().is_cuda()) {
      found = "its forward graph holds a tensor constant on " + v->toTensor().device().str();
    }
  });
  return found;
}

// aten::batch_norm calls left in the inlined forward graph.
int64_t batch_norms(const torch::jit::Module& m) {
  int64_t n = 0;
  each_node(inlined_forward(m)->block(), [&](torch::jit::Node* node) {
    if (node->kind() == c10::aten::batch_norm) ++n;
  });
  return n;
}

// t with libtorch's ChannelsLast3d strides ([DHWC, 1, HWC, WC, C], a size-1 dim counting as 1),
// as torch's `.to(memory_format=torch.channels_last_3d)` lays out even a depthwise weight.
at::Tensor channels_last_3d(const at::Tensor& t) {
  auto s = t.sizes();
  int64_t sw = std::max<int64_t>(s[1], 1);
  int64_t sh = sw * std::max<int64_t>(s[4], 1);
  int64_t sd = sh * std::max<int64_t>(s[3], 1);
  int64_t sn = sd * std::max<int64_t>(s[2], 1);
  auto out = at::empty_strided(s, {sn, 1, sd, sh, sw}, t.options());
  out.copy_(t);
  return out;
}

}  // namespace

extern "C" {

int vt_load(const char* path, int device, vt_module** out, char** err) {
  bool cpu = device < 0;
  c10::Device dev = cpu ? c10::Device(c10::kCPU) : c10::Device(c10::kCUDA, device);
  return guarded(err, VT_ERR_LOAD, cpu, [&]() -> int {
    // map_location = dev: weights saved from CUDA load onto the CPU.
    auto m = std::make_unique<vt_module>(vt_module{torch::jit::load(path, dev), dev});
    if (!m->module.find_method("forward")) {
      return fail(err, VT_ERR_LOAD, "the module has no forward method");
    }
    m->module.eval();
    if (cpu) {
      if (auto why = cuda_constant(m->module)) return fail(err, VT_ERR_CUDA, *why);
    }
    *out = m.release();
    return VT_OK;
  });
}

void vt_module_free(vt_module* m) { delete m; }

int vt_forward(vt_module* m, vt_tensor* const* inputs, size_t n, int as_list, vt_tensor** out,
               char** err) {
  return guarded(err, VT_ERR_FORWARD, m->device.is_cpu(), [&]() -> int {
    return take_tensor(m->module.forward(arguments(inputs, n, as_list)), out, err);
  });
}

int vt_capture(vt_module* m, vt_tensor* const* inputs, size_t n, int as_list, vt_tensor** out,
               char** records, char** err) {
  return guarded(err, VT_ERR_FORWARD, m->device.is_cpu(), [&]() -> int {
    // A fresh interpreter over the inlined graph: the module's own GraphExecutor (and the global
    // executor settings) are left alone, and no pass rewrites the nodes before they run.
    auto graph = inlined_forward(m->module);
    bracket_interpreter_ops(*graph);
    torch::jit::Code code(graph, "forward");
    torch::jit::InterpreterState state(code);
    torch::jit::Stack stack{m->module._ivalue()};
    for (auto& a : arguments(inputs, n, as_list)) stack.push_back(std::move(a));
    Capture cap;
    cap.json << '[';
    {
      CaptureScope scope(&cap);
      torch::NoGradGuard no_grad;
      state.run(stack);
    }
    cap.json << ']';
    if (!cap.error.empty()) return fail(err, VT_ERR_OTHER, "op capture: " + cap.error);
    if (stack.size() != 1) {
      return fail(err, VT_ERR_OUTPUT,
                  "forward left " + std::to_string(stack.size()) + " values, expected one");
    }
    int rc = take_tensor(stack[0], out, err);
    if (rc == VT_OK) *records = dup(cap.json.str());
    return rc;
  });
}

int vt_params(vt_module* m, int64_t* count, int* source, char** err) {
  return guarded(err, VT_ERR_OTHER, false, [&]() -> int {
    int64_t total = 0;
    size_t params = 0;
    for (const auto& p : m->module.parameters(/*recurse=*/true)) {
      total += p.numel();
      ++params;
    }
    *source = 0;
    if (params == 0) {
      // torch.jit.freeze turns the weights it keeps into graph constants.
      int64_t constants = 0;
      each_node(inlined_forward(m->module)->block(), [&](torch::jit::Node* n) {
        if (n->kind() != c10::prim::Constant || n->outputs().size() != 1) return;
        auto v = torch::jit::toIValue(n->output());
        if (!v || !v->isTensor() || !v->toTensor().defined()) return;
        const auto& t = v->toTensor();
        if (t.is_floating_point() || t.is_quantized()) constants += t.numel();
      });
      if (constants > 0) {
        total = constants;
        *source = 1;
      }
    }
    *count = total;
    return VT_OK;
  });
}

int vt_autocast_cpu_enter(int dtype, int* prev, char** err) {
  auto st = static_cast<at::ScalarType>(dtype);
  if (st != at::kBFloat16 && st != at::kHalf) {
    return fail(err, VT_ERR_OTHER,
                std::string("CPU autocast takes BFloat16 or Half, not ") + c10::toString(st));
  }
  // torch.autocast.__enter__: save, enable, set the dtype, nest one level.
  prev[0] = at::autocast::is_autocast_enabled(at::kCPU);
  prev[1] = static_cast<int>(at::autocast::get_autocast_dtype(at::kCPU));
  prev[2] = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_enabled(at::kCPU, true);
  at::autocast::set_autocast_dtype(at::kCPU, st);
  at::autocast::increment_nesting();
  return VT_OK;
}

void vt_autocast_cpu_exit(const int* prev) {
  // torch.autocast.__exit__: the outermost exit drops the cast-weight cache.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(at::kCPU, prev[0] != 0);
  at::autocast::set_autocast_dtype(at::kCPU, static_cast<at::ScalarType>(prev[1]));
  at::autocast::set_autocast_cache_enabled(prev[2] != 0);
}

int vt_autocast_cpu_enabled(void) { return at::autocast::is_autocast_enabled(at::kCPU); }

int vt_to_channels_last_3d(vt_tensor* t, vt_tensor** out, char** err) {
  return guarded(err, VT_ERR_OTHER, false, [&]() -> int {
    *out = new at::Tensor(tensor(t).contiguous(at::MemoryFormat::ChannelsLast3d));
    return VT_OK;
  });
}

int vt_is_channels_last_3d(vt_tensor* t) {
  const auto& x = tensor(t);
  return x.dim() == 5 && x.is_contiguous(at::MemoryFormat::ChannelsLast3d);
}

int vt_module_channels_last(vt_module* m, int64_t* changed, char** err) {
  return guarded(err, VT_ERR_OTHER, m->device.is_cpu(), [&]() -> int {
    torch::NoGradGuard no_grad;
    // Every copy first (a tensor shared by two submodules once), then the swaps, so that an
    // error leaves the module as it was.
    std::vector<std::pair<at::Tensor, at::Tensor>> swaps;
    std::set<const void*> seen;
    auto add = [&](const at::Tensor& t) {
      if (!t.defined() || t.dim() != 5 || !seen.insert(t.unsafeGetTensorImpl()).second) return;
      swaps.emplace_back(t, channels_last_3d(t));
    };
    for (const auto& p : m->module.parameters(/*recurse=*/true)) add(p);
    for (const auto& b : m->module.buffers(/*recurse=*/true)) add(b);
    for (auto& [t, cl] : swaps) t.set_data(cl);
    *changed = static_cast<int64_t>(swaps.size());
    return VT_OK;
  });
}

int vt_module_fold_batch_norms(vt_module* m, int64_t* before, int64_t* after, char** err) {
  return guarded(err, VT_ERR_OTHER, m->device.is_cpu(), [&]() -> int {
    *before = batch_norms(m->module);
    m->module = torch::jit::FoldConvBatchNorm(m->module);
    m->module.eval();
    *after = batch_norms(m->module);
    return VT_OK;
  });
}

void vt_free_string(char* s) { std::free(s); }

}  // extern "C"
