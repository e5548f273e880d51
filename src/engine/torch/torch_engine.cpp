// The torch engine: compiles a loaded ONNX model into a program of ATen kernels and runs it.
//
// Note [Compiling for bound shapes]: a session is compiled for the input shapes bound at load
// (batch, --shape), which the Session's specs state. That lets compile fold everything that does
// not depend on input *values*: initializers, Constant nodes, and every Shape/Size node together
// with the integer arithmetic exporters hang off them. At run time only real compute remains.

#include "engine/torch/torch_engine.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <dlfcn.h>
#include <dnnl.h>
#include <onnx/onnx_pb.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cmath>
#include <map>
#include <thread>
#include <unordered_set>

#include "core/error.h"
#include "engine/torch/calibration.h"
#include "engine/torch/dnnl_matmul.h"
#include "engine/torch/dnnl_util.h"
#include "engine/torch/fusion.h"
#include "engine/torch/host_allocator.h"
#include "engine/torch/kernel.h"
#include "model/dtype.h"

namespace plaster::engine {
namespace {

using torch_engine::Kernel;
using torch_engine::NodeView;
using torch_engine::Tensors;
using torch_engine::Unsupported;

// Ops whose outputs differ run to run: never folded at compile time.
const std::unordered_set<std::string> kNondeterministic = {"RandomNormal",  "RandomNormalLike",
                                                           "RandomUniform", "RandomUniformLike",
                                                           "Multinomial",   "Bernoulli"};

std::string FirstLine(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10 ? c10->what_without_backtrace() : e.what();
  const size_t nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl);
}

// Note [Threads]: `threads` is the OpenMP team size, the threads that run every oneDNN kernel
// (convolutions, matrix products) and ATen's parallel loops. Debian's LibTorch also calls
// OpenBLAS, which has a pthread pool of its own; on 2 cores the two pools fought: OpenBLAS's idle
// workers spin on sched_yield after each call, OpenMP's spin between parallel regions, and a
// oneDNN matmul ran at 3 ms or 6 ms by turns depending on who held the second core. With
// OpenMP's wait policy forced passive the fight stopped, but every parallel region then began
// by waking a sleeping thread: MobileNetV2 at batch 1 took 10.1 ms against 7.3 with OpenMP's
// default policy.
// Since every hot matrix product now runs through oneDNN (Note [Direct oneDNN matrix products]),
// OpenBLAS is kept to one thread (OPENBLAS_NUM_THREADS=1, set before it loads: Note [Engine
// plugins] in ../registry.cpp) and OpenMP keeps its default policy (spin a while, then sleep).
// Measured on a 2-core AVX-512 guest, BERT-like encoder at batch 1: 177 ms before, 129 after.
// Returns the count.
int SetThreads(int threads) {
  const int n =
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return n;
}

int OpsetOf(const model::Model& m, const std::string& domain) {
  for (const auto& o : m.proto().opset_import()) {
    const std::string d = o.domain() == "ai.onnx" ? "" : o.domain();
    if (d == domain) return static_cast<int>(o.version());
  }
  return 0;
}

// Note [BF16 sessions]: a bf16 session computes its convolutions, matrix products and poolings
// in bfloat16 through the direct oneDNN kernels (weights converted once at compile, float32
// accumulation and bias inside the kernel), and keeps their outputs in bfloat16, so the tensors
// between them (the bulk of a CNN's memory traffic) are half the bytes. Other ops see those
// bfloat16 tensors only where ATen's kernel for them is exact in bfloat16 or accumulates in
// float (elementwise, layout, pooling, Softmax, GELU; kBf16Safe); every other op gets its
// bfloat16 inputs converted to float32 first and runs in float32, as do LayerNorm (whose
// statistics bfloat16 would round) and every op whose other operand is a float32 tensor (ATen's
// type promotion). The graph's outputs are converted back to the types the model declares. This
// is what PyTorch's `.to(torch.bfloat16)` does, except that normalisation stays float32.
// A Conv/MatMul/Gemm that no fused kernel takes (no constant weights, a rank oneDNN has no
// kernel for, or graph optimizations off) runs in float32: the session's PrecisionReport names
// each such node and why.
//
// bf16 is offered only where oneDNN has real bf16 kernels: native with AVX512-BF16 (or AMX),
// emulated with plain AVX-512 (oneDNN converts in registers: correct, not faster); with less,
// oneDNN has only reference kernels and the engine does not offer bf16.
const std::unordered_set<std::string> kBf16Safe = {"Add",
                                                   "Sub",
                                                   "Mul",
                                                   "Div",
                                                   "Relu",
                                                   "Clip",
                                                   "Sigmoid",
                                                   "Tanh",
                                                   "Concat",
                                                   "Flatten",
                                                   "Reshape",
                                                   "Squeeze",
                                                   "Unsqueeze",
                                                   "Transpose",
                                                   "Identity",
                                                   "Dropout",
                                                   "Slice",
                                                   "Split",
                                                   "Gather",
                                                   "Expand",
                                                   "MaxPool",
                                                   "AveragePool",
                                                   "GlobalAveragePool",
                                                   "GlobalMaxPool",
                                                   "Softmax",
                                                   "HardSigmoid",
                                                   "HardSwish",
                                                   "LeakyRelu",
                                                   "Pad",
                                                   "Shape",
                                                   "Max",
                                                   "Min"};

// Note [Int8 sessions]: an int8 session computes its convolutions and matrix products with
// constant weights on oneDNN's int8 kernels (Note [Int8 convolutions] in dnnl_conv.cpp, Note
// [Int8 matrix products] in dnnl_matmul.cpp): weights int8 per output channel, inputs quantized
// on entry, int32 accumulation, float32 outputs, so every other op runs as in float32.
// - Static (SessionOptions::quantization has calibration data): the session first builds the
//   float32 program and runs the calibration batches through it, recording the range of every
//   tensor a convolution or matrix product reads (RangeStats: the extremes, then for the
//   percentile and entropy methods a histogram of |x|); each range is then chosen by the method
//   (calibration.h) and the int8 program is built with it.
// - Without calibration data only the matrix products are quantized, dynamically (each run's
//   input range); oneDNN 2.x fixes a convolution's scales when it is made, so a convolution
//   without a calibrated range stays float32, and the PrecisionReport says so and why.
// Products of two computed tensors (attention's Q·Kᵀ and P·V) stay float32, as in ONNX
// Runtime's quantizer. int8 is offered where oneDNN has int8 dot-product instructions to run it
// on (VNNI or AMX); without them its kernels multiply in 16 bits and can saturate.
struct Int8Plan {
  bool on = false;
  std::unordered_map<int, torch_engine::Int8Range> ranges;  // by tensor id (static)
  // Note [Int8 chains] in dnnl_conv.cpp: tensors not to hand over quantized, because a step
  // that reads them turned out not to be an int8 convolution.
  std::unordered_set<int> unchained;
};

// Whether the int8 convolution chain ending at node `last` may write its output quantized
// (Note [Int8 chains]): it has a calibrated range, and every reader is a Conv with constant
// weights that takes it as its input (and so quantizes it in that same range).
bool HandsOverQuantized(const model::Graph& g, size_t last, const Int8Plan& int8,
                        const torch_engine::Constants& constants) {
  const auto& node = g.nodes()[last];
  if (node.outputs.empty() || node.outputs[0] < 0) return false;
  const int t = node.outputs[0];
  const auto& info = g.tensor(t);
  if (info.is_graph_output || info.consumers.empty() || !int8.ranges.count(t) ||
      int8.unchained.count(t)) {
    return false;
  }
  for (int c : info.consumers) {
    const auto& reader = g.nodes()[static_cast<size_t>(c)];
    if (reader.op_type != "Conv" || !reader.domain.empty() || reader.inputs.size() < 2 ||
        reader.inputs[0] != t || reader.inputs[1] < 0 ||
        !constants[static_cast<size_t>(reader.inputs[1])]) {
      return false;
    }
    for (size_t k = 1; k < reader.inputs.size(); ++k) {
      if (reader.inputs[k] == t) return false;
    }
  }
  return true;
}

// The ops whose precision a session's PrecisionReport accounts for: where the time goes.
bool IsComputeOp(const std::string& op_type) {
  static const std::unordered_set<std::string> kCompute = {
      "Conv", "ConvTranspose", "MatMul", "Gemm", "LSTM", "GRU", "RNN"};
  return kCompute.count(op_type) > 0;
}

// How this CPU computes bf16 in oneDNN; empty when only reference kernels exist.
std::string Bf16Hardware() {
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  auto has = [isa](dnnl_cpu_isa_t want) {
    const unsigned bits = static_cast<unsigned>(want);
    return (isa & bits) == bits;
  };
  if (has(dnnl_cpu_isa_avx512_core_amx)) return "native (AMX)";
  if (has(dnnl_cpu_isa_avx512_core_bf16)) return "native (AVX512-BF16)";
  if (has(dnnl_cpu_isa_avx512_core)) {
    return "emulated (AVX-512 without BF16 instructions: correct, not faster)";
  }
  return "";
}

// The int8 instructions oneDNN runs on this CPU; empty when it has none (Note [Int8 sessions]).
std::string Int8Hardware() {
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  auto has = [isa](dnnl_cpu_isa_t want) {
    const unsigned bits = static_cast<unsigned>(want);
    return (isa & bits) == bits;
  };
  if (has(dnnl_cpu_isa_avx512_core_amx)) return "native (AMX-INT8)";
  if (has(dnnl_cpu_isa_avx512_core_vnni)) return "native (AVX512-VNNI)";
  if (has(dnnl_cpu_isa_avx2_vnni)) return "native (AVX-VNNI)";
  return "";
}

struct Step {
  Kernel kernel;
  torch_engine::ValueKernel value_kernel;  // instead of kernel, for an op on sequences/strings
  std::vector<int> inputs;                 // tensor ids, -1 omitted
  std::vector<int> outputs;                // tensor ids, -1 omitted
  std::vector<int> release;                // slots to free after this step
  std::string label;
  std::vector<std::string> nodes;    // the nodes this step runs (more than one when fused)
  std::string fused;                 // what a fused step computes ("GELU")
  bool strided_inputs = false;       // the kernel takes channels-last inputs (Note [Layouts])
  std::string kernel_name = "ATen";  // the library kernel that runs it (plaster profile shows it)
  bool float_inputs = false;  // bf16 session: convert bf16 inputs to float32 (Note [BF16 sessions])
  bool quantizable = false;   // a fused Conv or MatMul chain: calibration observes inputs[0]
  bool takes_quantized = false;  // an int8 convolution: inputs[0] may come quantized
  int quantized_output = -1;     // the output it writes quantized (Note [Int8 chains])
};

struct Program {
  std::vector<std::optional<at::Tensor>> constants;  // by tensor id
  std::vector<Step> steps;
  PrecisionReport precision;
  bool has_values = false;  // some step takes or makes sequences or strings (Note [Sequences])
};

struct FusedStep {
  Step step;
  std::vector<size_t> nodes;  // the nodes it runs
  size_t at = 0;              // the node whose place in the order it takes
  std::string kept;  // why its compute nodes run in float32 instead of the session's precision
};

// The fused step starting at node `index`, if a fusion applies there (Note [Fusion]). A chain
// runs in the place of its last node: a residual Add's other input may be computed after the
// Conv that starts the chain.
std::optional<FusedStep> Fuse(const model::Graph& g, size_t index, int opset,
                              const torch_engine::Constants& constants,
                              const std::unordered_set<size_t>& taken, at::ScalarType compute,
                              const Int8Plan& int8) {
  const auto& node = g.nodes()[index];
  FusedStep f;
  f.nodes = torch_engine::GeluChain(g, index, constants);
  if (!f.nodes.empty()) {
    f.step.kernel = [](const Tensors& in) -> Tensors { return {at::gelu(in[0])}; };
    f.step.inputs = {node.inputs[0]};
    f.step.fused = "GELU";
    f.step.kernel_name = "ATen gelu";
  } else if (auto norm = torch_engine::MatchLayerNorm(g, index, constants)) {
    f.nodes = norm->nodes;
    f.step.kernel = [n = *norm](const Tensors& in) -> Tensors {
      return {at::layer_norm(torch_engine::As(in[0], at::kFloat), {n.axis_size},
                             n.gamma ? c10::optional<at::Tensor>(*n.gamma) : c10::nullopt,
                             n.beta ? c10::optional<at::Tensor>(*n.beta) : c10::nullopt,
                             n.epsilon)};
    };
    f.step.inputs = {node.inputs[0]};
    f.step.fused = "LayerNormalization";
    f.step.kernel_name = "ATen layer_norm";
  } else if (auto chain = torch_engine::MatchConvChain(g, index, opset, constants, taken)) {
    const torch_engine::Int8Range* range = nullptr;
    if (int8.on) {
      auto it = int8.ranges.find(node.inputs[0]);
      if (it != int8.ranges.end()) {
        range = &it->second;
      } else {
        f.kept =
            "no calibrated range for its input: int8 convolutions are static and need "
            "calibration data (--calibration); float32 through oneDNN";
      }
    }
    const torch_engine::Int8Range* output = nullptr;
    if (range && HandsOverQuantized(g, chain->nodes.back(), int8, constants)) {
      output = &int8.ranges.at(g.nodes()[chain->nodes.back()].outputs[0]);
    }
    std::optional<Kernel> kernel = torch_engine::BuildFusedConv(
        g, *chain, opset, constants, compute, &f.step.kernel_name, range, output);
    if (!kernel) return std::nullopt;
    f.step.quantizable = true;
    f.step.takes_quantized = range != nullptr;
    if (output) {
      f.step.quantized_output = g.nodes()[chain->nodes.back()].outputs[0];
      f.step.kernel_name += " → int8";
    }
    f.nodes = chain->nodes;
    f.step.kernel = std::move(*kernel);
    f.step.inputs = {node.inputs[0]};
    if (chain->addend >= 0) f.step.inputs.push_back(chain->addend);
    f.step.strided_inputs = true;
    if (f.nodes.size() > 1) f.step.fused = "Conv + " + chain->epilogue.Describe();
  } else if (auto product = torch_engine::MatchMatMulChain(g, index, opset, constants, taken)) {
    std::optional<torch_engine::MatMulInt8> quantized;
    if (int8.on) {
      quantized.emplace();
      auto it = int8.ranges.find(node.inputs[0]);
      if (it != int8.ranges.end()) quantized->input = it->second;
    }
    std::optional<Kernel> kernel =
        torch_engine::BuildFusedMatMul(*product, compute, &f.step.kernel_name, quantized);
    if (!kernel) return std::nullopt;
    f.step.quantizable = true;
    f.nodes = product->nodes;
    f.step.kernel = std::move(*kernel);
    f.step.inputs = {node.inputs[0]};
    if (product->addend >= 0) f.step.inputs.push_back(product->addend);
    f.step.strided_inputs = true;  // the kernel makes x contiguous itself
    if (f.nodes.size() > 1) f.step.fused = node.op_type + " + " + product->epilogue.Describe();
  } else if (node.op_type == "MatMul" && node.domain.empty() && node.inputs.size() == 2 &&
             node.outputs.size() == 1 && node.inputs[0] >= 0 && node.inputs[1] >= 0 &&
             g.tensor(node.inputs[0]).dtype == onnx::TensorProto::FLOAT &&
             g.tensor(node.inputs[1]).dtype == onnx::TensorProto::FLOAT) {
    // Every other float MatMul, above all attention's two computed operands: oneDNN on the
    // operands' own strides, at::matmul where oneDNN has no kernel (Note [Direct oneDNN matrix
    // products]).
    auto batched = std::make_shared<torch_engine::DnnlBatchMatMul>(compute);
    if (int8.on) {
      f.kept =
          "both operands are computed at run time: int8 quantizes products with constant weights "
          "only; float32 through oneDNN";
    }
    f.nodes = {index};
    f.step.kernel = [batched](const Tensors& in) -> Tensors {
      return {batched->Run(in.at(0), in.at(1))};
    };
    f.step.inputs = node.inputs;
    f.step.strided_inputs = true;
    f.step.kernel_name = "oneDNN matmul per shape (else ATen)";
  } else if (std::optional<Kernel> pool = torch_engine::BuildDirectPool(
                 g, index, opset, constants, compute, &f.step.kernel_name)) {
    f.nodes = {index};
    f.step.kernel = std::move(*pool);
    f.step.inputs = {node.inputs[0]};
    f.step.strided_inputs = true;
  } else {
    return std::nullopt;
  }
  f.step.outputs = {g.nodes()[f.nodes.back()].outputs[0]};
  f.step.label = node.Label();
  if (f.nodes.size() > 1) {
    f.step.label += fmt::format(" + {} fused: {}", f.nodes.size() - 1, f.step.fused);
  }
  for (size_t k : f.nodes) f.step.nodes.push_back(g.nodes()[k].name);
  f.at = f.nodes.back();
  return f;
}

// Builds the program. With `support`, records per node whether it is supported instead of
// throwing, and keeps going. `optimize` allows fusion (Note [Fusion]); `compute` is the fused
// kernels' type (Note [BF16 sessions]); `int8` quantizes them (Note [Int8 sessions]).
Program BuildProgram(const model::Model& m, SupportReport* support, bool optimize,
                     at::ScalarType compute = at::kFloat, const Int8Plan& int8 = {}) {
  const model::Graph& g = m.graph();
  const bool bf16 = compute == at::kBFloat16;
  Program p;
  p.precision.requested = int8.on ? Precision::kInt8 : bf16 ? Precision::kBf16 : Precision::kFp32;
  p.constants.resize(g.tensors().size());
  for (int id : g.initializers()) {
    const auto& t = g.tensor(id);
    if (model::DtypeSize(t.dtype) == 0) continue;
    try {
      p.constants[static_cast<size_t>(id)] =
          torch_engine::TensorFromBytes(t.dtype, t.shape.dims, m.ReadTensorData(*t.initializer));
    } catch (const Unsupported& u) {
      if (!support) Fail("initializer '{}': {}", t.name, u.reason);
    }
  }
  // Constant nodes first: fusion looks ahead at the constants a chain uses (Note [Fusion]).
  for (const auto& node : g.nodes()) {
    if (node.op_type != "Constant" || !node.domain.empty() || node.outputs.size() != 1 ||
        node.outputs[0] < 0) {
      continue;
    }
    try {
      const auto* entry = torch_engine::FindOp(node.op_type, OpsetOf(m, node.domain));
      if (!entry) continue;
      Tensors value = entry->build(NodeView(g, node, OpsetOf(m, node.domain), p.constants))({});
      p.constants[static_cast<size_t>(node.outputs[0])] = value.at(0);
    } catch (const std::exception&) {
      // Left for the main loop, which reports it against the node.
    } catch (const Unsupported&) {
    }
  }
  std::unordered_set<size_t> fused;  // nodes run by a fused step
  std::map<size_t, Step> deferred;   // fused steps, by the node they run at
  for (size_t index = 0; index < g.nodes().size(); ++index) {
    const auto& node = g.nodes()[index];
    if (auto it = deferred.find(index); it != deferred.end()) {
      p.steps.push_back(std::move(it->second));
      deferred.erase(it);
    }
    NodeSupport verdict{node.name, node.op_type, true, ""};
    const bool folded_constant = node.op_type == "Constant" && node.outputs.size() == 1 &&
                                 node.outputs[0] >= 0 &&
                                 p.constants[static_cast<size_t>(node.outputs[0])].has_value();
    if (fused.count(index) || folded_constant) {
      if (support) support->nodes.push_back(verdict);
      continue;
    }
    if (optimize) {
      if (std::optional<FusedStep> f =
              Fuse(g, index, OpsetOf(m, node.domain), p.constants, fused, compute, int8)) {
        fused.insert(f->nodes.begin(), f->nodes.end());
        for (size_t k : f->nodes) {
          const auto& n = g.nodes()[k];
          if (!IsComputeOp(n.op_type)) continue;
          ++p.precision.compute_nodes;
          if (!f->kept.empty()) p.precision.kept.push_back({n.name, n.op_type, true, f->kept});
        }
        if (f->at == index) {
          p.steps.push_back(std::move(f->step));
        } else {
          deferred.emplace(f->at, std::move(f->step));
        }
        continue;
      }
    }
    try {
      const int opset = OpsetOf(m, node.domain);
      const auto* entry = torch_engine::FindOp(node.op_type, opset);
      if (!entry) {
        throw Unsupported{
            node.domain.empty()
                ? fmt::format("no kernel for {} at opset {}", node.op_type, opset)
                : fmt::format("no kernel for {} of domain '{}'", node.op_type, node.domain)};
      }
      NodeView view(g, node, opset, p.constants);
      if (entry->build_values) {  // an op on sequences or strings: never folded
        Step step;
        step.value_kernel = entry->build_values(view);
        step.inputs = node.inputs;
        step.outputs = node.outputs;
        step.label = node.Label();
        step.nodes = {node.name};
        p.steps.push_back(std::move(step));
        p.has_values = true;
        if (support) support->nodes.push_back(verdict);
        continue;
      }
      for (int id : node.inputs) {  // a tensor kernel cannot take a string tensor
        if (id >= 0 && g.tensor(id).dtype == onnx::TensorProto::STRING) {
          throw Unsupported{fmt::format("{} on string tensors is not supported", node.op_type)};
        }
      }
      Kernel kernel = entry->build(view);
      // Fold: all inputs constant, or a Shape/Size whose input shape is known.
      bool foldable = !kNondeterministic.count(node.op_type) && node.implicit_inputs.empty();
      Tensors args;
      for (size_t i = 0; i < node.inputs.size() && foldable; ++i) {
        const int id = node.inputs[i];
        if (id < 0) {
          args.emplace_back();
        } else if (p.constants[static_cast<size_t>(id)]) {
          args.push_back(*p.constants[static_cast<size_t>(id)]);
        } else if ((node.op_type == "Shape" || node.op_type == "Size") &&
                   g.tensor(id).shape.IsFullyKnown()) {
          args.push_back(at::empty(g.tensor(id).shape.dims, at::TensorOptions().device(at::kMeta)));
        } else {
          foldable = false;
        }
      }
      if (foldable) {
        Tensors outs = kernel(args);
        for (size_t k = 0; k < node.outputs.size() && k < outs.size(); ++k) {
          if (node.outputs[k] >= 0) p.constants[static_cast<size_t>(node.outputs[k])] = outs[k];
        }
      } else {
        p.steps.push_back({std::move(kernel),
                           {},
                           node.inputs,
                           node.outputs,
                           {},
                           node.Label(),
                           {node.name},
                           "",
                           torch_engine::AcceptsStridedInputs(node.op_type)});
        auto& step = p.steps.back();
        step.inputs.insert(step.inputs.end(), node.implicit_inputs.begin(),
                           node.implicit_inputs.end());
        step.float_inputs = bf16 && !kBf16Safe.count(node.op_type);
        if (IsComputeOp(node.op_type)) {
          ++p.precision.compute_nodes;
          if (bf16 || int8.on) {
            const char* name = int8.on ? "int8" : "bf16";
            p.precision.kept.push_back(
                {node.name, node.op_type, true,
                 optimize ? fmt::format("no {} kernel for it (only 2-D convolutions and matrix "
                                        "products with constant weights run in {}): float32 "
                                        "through ATen",
                                        name, name)
                          : fmt::format("graph optimizations are off (--no-optimize): {} runs "
                                        "only in the fused oneDNN kernels",
                                        name)});
          }
        }
      }
    } catch (const Unsupported& u) {
      if (!support) Fail("node {}: unsupported: {}", node.Label(), u.reason);
      verdict = {node.name, node.op_type, false, u.reason};
    } catch (const Error& e) {
      if (!support) throw e.WithContext("node " + node.Label());
      verdict = {node.name, node.op_type, false, e.what()};
    } catch (const std::exception& e) {
      if (!support) Fail("node {}: {}", node.Label(), FirstLine(e));
      verdict = {node.name, node.op_type, false, FirstLine(e)};
    }
    if (support) support->nodes.push_back(verdict);
  }
  // Free each computed tensor after the last step that reads it.
  std::vector<int> last_use(g.tensors().size(), -1);
  for (size_t s = 0; s < p.steps.size(); ++s) {
    for (int id : p.steps[s].inputs) {
      if (id >= 0) last_use[static_cast<size_t>(id)] = static_cast<int>(s);
    }
    for (int id : p.steps[s].outputs) {
      if (id >= 0 && last_use[static_cast<size_t>(id)] < static_cast<int>(s)) {
        last_use[static_cast<size_t>(id)] = static_cast<int>(s);
      }
    }
  }
  for (size_t id = 0; id < last_use.size(); ++id) {
    const auto& t = g.tensor(static_cast<int>(id));
    if (last_use[id] < 0 || t.is_graph_output || p.constants[id]) continue;
    p.steps[static_cast<size_t>(last_use[id])].release.push_back(static_cast<int>(id));
  }
  return p;
}

class TorchSession final : public Session {
 public:
  TorchSession(const model::Model& m, const SessionOptions& options)
      : inputs_(InputSpecs(m)), outputs_(OutputSpecs(m)) {
    threads_ = SetThreads(options.threads);
    torch_engine::InstallCachingHostAllocator();  // Note [Reused activation memory]
    for (int id : m.graph().inputs()) input_ids_.push_back(id);
    for (int id : m.graph().outputs()) output_ids_.push_back(id);
    Int8Plan int8;
    std::string quantization;
    double calibration_seconds = 0;
    if (options.precision == Precision::kInt8) {
      int8.on = true;
      const auto start = std::chrono::steady_clock::now();
      quantization = Calibrate(m, options, &int8);
      calibration_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    SetProgram(BuildProgram(m, nullptr, options.optimize,
                            options.precision == Precision::kBf16 ? at::kBFloat16 : at::kFloat,
                            int8));
    // Note [Int8 chains]: a tensor handed over quantized must reach int8 convolutions only;
    // where a reader fell back to another kernel, build again without that hand-over.
    for (bool again = int8.on; again;) {
      again = false;
      for (const Step& step : program_.steps) {
        if (step.quantized_output < 0) continue;
        for (const Step& reader : program_.steps) {
          const auto& in = reader.inputs;
          if (std::find(in.begin(), in.end(), step.quantized_output) == in.end()) continue;
          if (!reader.takes_quantized || in[0] != step.quantized_output ||
              std::count(in.begin(), in.end(), step.quantized_output) != 1) {
            again = int8.unchained.insert(step.quantized_output).second || again;
          }
        }
      }
      if (again) SetProgram(BuildProgram(m, nullptr, options.optimize, at::kFloat, int8));
    }
    if (options.precision == Precision::kBf16) program_.precision.hardware = Bf16Hardware();
    if (int8.on) {
      program_.precision.hardware = Int8Hardware();
      program_.precision.quantization = quantization;
      program_.precision.calibration_seconds = calibration_seconds;
    }
  }

  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  PrecisionReport precision_report() const override { return program_.precision; }

  std::vector<HostTensor> Run(const std::vector<HostTensor>& inputs) override {
    return Execute(inputs, nullptr);
  }

 private:
  void SetProgram(Program p) {
    program_ = std::move(p);
    for (const auto* specs : {&inputs_, &outputs_}) {
      for (const auto& spec : *specs) {
        if (spec.dtype == onnx::TensorProto::STRING) program_.has_values = true;
      }
    }
  }

  // Static int8 calibration (Note [Int8 sessions]): runs the calibration data through the
  // float32 program and fills int8->ranges with the range chosen for every tensor a fused
  // convolution or matrix product reads. Returns how the session is quantized, for the report.
  std::string Calibrate(const model::Model& m, const SessionOptions& options, Int8Plan* int8) {
    const QuantizationOptions& q = options.quantization;
    if (!q.calibration) {
      return "dynamic: each MatMul/Gemm input quantized to u8 in its own range at every run; "
             "weights symmetric per output column; convolutions stay float32 without "
             "calibration data";
    }
    const model::Graph& g = m.graph();
    QuantizationOptions::Calibrated& done = *q.calibrated;
    const std::string model =
        fmt::format("{}: {} nodes, {} tensors", m.display_name(), g.nodes().size(), g.tensors().size());
    if (done.done && done.model == model) {  // an earlier session of this command calibrated
      for (size_t id = 0; id < g.tensors().size(); ++id) {
        auto it = done.ranges.find(g.tensor(static_cast<int>(id)).name);
        if (it == done.ranges.end()) continue;
        int8->ranges[static_cast<int>(id)] =
            torch_engine::MakeInt8Range(it->second.threshold, it->second.is_unsigned);
      }
      return done.description;
    }
    CalibrationData& data = *q.calibration;
    PLASTER_CHECK(data.batches() > 0, "calibration data {}: no batches", data.Describe());
    SetProgram(BuildProgram(m, nullptr, true, at::kFloat));
    std::unordered_map<int, torch_engine::RangeStats> stats;
    for (const Step& step : program_.steps) {
      if (step.quantizable && !step.inputs.empty()) stats[step.inputs[0]];
    }
    // A tensor read by several products is observed once per batch.
    std::unordered_set<int> seen;
    const bool histograms = q.method != CalibrationMethod::kMinMax;
    for (int pass = 0; pass < (histograms ? 2 : 1); ++pass) {
      observer_ = [&](const Step& step, const Tensors& args) {
        if (!step.quantizable || args.empty() || !args[0].defined()) return;
        const int id = step.inputs[0];
        if (!seen.insert(id).second) return;
        at::Tensor x = args[0].to(at::kFloat);
        if (pass == 0) {
          const auto [lo, hi] = at::aminmax(x);
          stats[id].ObserveRange(lo.item<float>(), hi.item<float>());
        } else {
          if (!x.is_non_overlapping_and_dense()) x = x.contiguous();
          stats[id].ObserveValues(x.data_ptr<float>(), x.numel());
        }
      };
      for (int64_t b = 0; b < data.batches(); ++b) {
        seen.clear();
        std::vector<HostTensor> batch = data.Batch(b);
        try {
          Execute(batch, nullptr);
        } catch (const Error& e) {
          observer_ = nullptr;
          throw e.WithContext(fmt::format("calibration batch {} of {}", b + 1, data.Describe()));
        }
      }
    }
    observer_ = nullptr;
    done.ranges.clear();
    for (const auto& [id, st] : stats) {
      if (!st.seen()) continue;
      const torch_engine::Int8Range r = torch_engine::ChooseRange(st, q.method, q.percentile);
      int8->ranges[id] = r;
      done.ranges[g.tensor(id).name] = {r.threshold, r.is_unsigned};
    }
    std::string method = CalibrationMethodName(q.method);
    if (q.method == CalibrationMethod::kPercentile) method += fmt::format(" {:g}%", q.percentile);
    if (q.method == CalibrationMethod::kEntropy) method += " (KL divergence)";
    done.description = fmt::format(
        "static: activation ranges by {} on {}; weights symmetric per output channel", method,
        data.Describe());
    done.done = true;
    done.model = model;
    return done.description;
  }

 public:

  std::vector<StepTime> Profile(const std::vector<HostTensor>& inputs) override {
    std::vector<StepTime> times;
    Execute(inputs, &times);
    return times;
  }

 private:
  // Runs the program; with `times`, records each step's wall time (the clock is read only then).
  std::vector<HostTensor> Execute(const std::vector<HostTensor>& inputs,
                                  std::vector<StepTime>* times) {
    CheckInputs(inputs_, inputs);
    // OpenMP's thread count is per calling thread: a session run from another thread than the
    // one that compiled it (a load generator's worker) sets it again.
    if (at::get_num_threads() != threads_) at::set_num_threads(threads_);
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> env(program_.constants.size());
    for (size_t id = 0; id < env.size(); ++id) {
      if (program_.constants[id]) env[id] = *program_.constants[id];
    }
    // Sequences and strings (Note [Sequences]) beside the tensors, by tensor id; only when the
    // program has any.
    std::vector<torch_engine::Value> side(program_.has_values ? env.size() : 0);
    for (size_t k = 0; k < inputs.size(); ++k) {
      const auto id = static_cast<size_t>(input_ids_[k]);
      if (inputs[k].is_string()) {
        side[id].strings = std::make_shared<const torch_engine::StringTensor>(
            torch_engine::StringTensor{inputs[k].shape(), inputs[k].strings()});
        continue;
      }
      // Borrowed, not copied: kernels never write to their inputs.
      env[id] =
          at::from_blob(const_cast<char*>(inputs[k].data()), inputs[k].shape(),
                        at::TensorOptions().dtype(torch_engine::ScalarTypeOf(inputs[k].dtype())));
    }
    Tensors args;
    torch_engine::Values values;
    for (const Step& step : program_.steps) {
      args.clear();
      values.clear();
      if (observer_) {
        // Calibration reads the step's inputs before it runs (Note [Int8 sessions]).
        for (int id : step.inputs) {
          args.push_back(id < 0 || step.value_kernel ? at::Tensor() : env[static_cast<size_t>(id)]);
        }
        observer_(step, args);
        args.clear();
      }
      for (int id : step.inputs) {
        if (step.value_kernel) {
          if (id < 0) {
            values.emplace_back();
          } else {
            const auto& v = side[static_cast<size_t>(id)];
            values.push_back({env[static_cast<size_t>(id)], v.sequence, v.strings});
          }
        } else if (id < 0) {
          args.emplace_back();
        } else if (step.strided_inputs) {
          args.push_back(env[static_cast<size_t>(id)]);
        } else {
          args.push_back(env[static_cast<size_t>(id)].contiguous());  // Note [Layouts]
        }
        if (step.float_inputs && args.back().defined() &&
            args.back().scalar_type() == at::kBFloat16) {
          args.back() = args.back().to(at::kFloat);  // Note [BF16 sessions]
        }
      }
      Tensors outs;
      torch_engine::Values value_outs;
      const auto start =
          times ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
      try {
        if (step.value_kernel) {
          value_outs = step.value_kernel(values);
        } else {
          outs = step.kernel(args);
        }
      } catch (const Unsupported& u) {
        Fail("node {}: unsupported: {}", step.label, u.reason);
      } catch (const Error& e) {
        throw e.WithContext("node " + step.label);
      } catch (const std::exception& e) {
        Fail("node {}: {}", step.label, FirstLine(e));
      }
      for (size_t k = 0; k < step.outputs.size() && k < outs.size(); ++k) {
        if (step.outputs[k] >= 0) env[static_cast<size_t>(step.outputs[k])] = std::move(outs[k]);
      }
      for (size_t k = 0; k < step.outputs.size() && k < value_outs.size(); ++k) {
        const int id = step.outputs[k];
        if (id < 0) continue;
        env[static_cast<size_t>(id)] = std::move(value_outs[k].tensor);
        side[static_cast<size_t>(id)] = std::move(value_outs[k]);
      }
      if (times) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now() - start);
        times->push_back({step.label, step.nodes, ns.count(), step.fused, step.kernel_name});
      }
      for (int id : step.release) {
        env[static_cast<size_t>(id)].reset();
        if (!side.empty()) side[static_cast<size_t>(id)] = {};
      }
    }
    std::vector<HostTensor> results;
    for (size_t k = 0; k < output_ids_.size(); ++k) {
      const TensorSpec& spec = outputs_[k];
      const auto id = static_cast<size_t>(output_ids_[k]);
      auto check_shape = [&](const std::vector<int64_t>& shape) {
        bool fits = shape.size() == spec.shape.size();
        for (size_t d = 0; fits && d < shape.size(); ++d) {
          fits = spec.shape[d] < 0 || spec.shape[d] == shape[d];  // -1: set by the data
        }
        PLASTER_CHECK(fits, "output '{}' came out with shape {}; the model says {}", spec.name,
                      model::Shape::Of(shape).ToString(), model::Shape::Of(spec.shape).ToString());
      };
      if (spec.dtype == onnx::TensorProto::STRING) {
        PLASTER_CHECK(!side.empty() && side[id].strings, "output '{}' was not produced", spec.name);
        check_shape(side[id].strings->shape);
        results.push_back(HostTensor::Strings(side[id].strings->shape, side[id].strings->values));
        continue;
      }
      at::Tensor t = env[id];
      PLASTER_CHECK(t.defined(), "output '{}' was not produced", spec.name);
      t = t.to(torch_engine::ScalarTypeOf(spec.dtype)).contiguous();
      const std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
      check_shape(shape);
      results.emplace_back(spec.dtype, shape,
                           std::string(static_cast<const char*>(t.data_ptr()), t.nbytes()));
    }
    return results;
  }

  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
  std::vector<int> input_ids_;
  std::vector<int> output_ids_;
  int threads_ = 1;
  Program program_;
  std::function<void(const Step&, const Tensors&)> observer_;  // while calibrating
};

class TorchEngine final : public Engine {
 public:
  std::string name() const override { return "torch"; }
  std::string description() const override {
    return fmt::format("ONNX on LibTorch ATen {}.{}.{} (CPU)", TORCH_VERSION_MAJOR,
                       TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
  }
  std::vector<std::pair<std::string, std::string>> Libraries() const override {
    std::vector<std::pair<std::string, std::string>> libs;
    libs.emplace_back("LibTorch", fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR,
                                              TORCH_VERSION_PATCH));
    const dnnl_version_t* v = dnnl_version();
    libs.emplace_back("oneDNN", fmt::format("{}.{}.{}", v->major, v->minor, v->patch));
    // OpenBLAS comes in through LibTorch; its build string names the version and the kernel set
    // it picked ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64").
    using ConfigFn = char* (*)();
    if (auto config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
      std::string text = config();
      if (text.rfind("OpenBLAS ", 0) == 0) text = text.substr(9);
      libs.emplace_back("OpenBLAS", text);
    } else {
      libs.emplace_back("OpenBLAS", "not loaded");
    }
    return libs;
  }
  std::vector<Device> devices() const override { return {Device::kCpu}; }
  std::vector<Precision> precisions(Device device) const override {
    if (device != Device::kCpu) return {};
    std::vector<Precision> offered = {Precision::kFp32};
    if (!Bf16Hardware().empty()) offered.push_back(Precision::kBf16);
    if (!Int8Hardware().empty()) offered.push_back(Precision::kInt8);
    return offered;
  }
  SupportReport Support(const model::Model& m) const override {
    SupportReport report;
    BuildProgram(m, &report, false);
    return report;
  }
  std::unique_ptr<Session> Compile(const model::Model& m,
                                   const SessionOptions& options) const override {
    PLASTER_CHECK(options.device == Device::kCpu, "engine 'torch' runs on cpu only in this build");
    const auto offered = precisions(options.device);
    if (std::find(offered.begin(), offered.end(), options.precision) == offered.end()) {
      std::vector<std::string> names;
      for (Precision p : offered) names.emplace_back(PrecisionName(p));
      Fail("engine 'torch' does not offer {} on this CPU (it offers {}){}",
           PrecisionName(options.precision), fmt::join(names, ", "),
           options.precision == Precision::kBf16
               ? ": oneDNN has only reference bf16 kernels without AVX-512"
           : options.precision == Precision::kInt8
               ? ": oneDNN's int8 kernels need VNNI or AMX instructions to compute exactly"
               : "");
    }
    return std::make_unique<TorchSession>(m, options);
  }
};

}  // namespace

std::unique_ptr<Engine> MakeTorchEngine() { return std::make_unique<TorchEngine>(); }

}  // namespace plaster::engine

// The plugin's only exported symbol (registry.cpp loads it; the rest stays private).
extern "C" __attribute__((visibility("default"))) plaster::engine::Engine* plaster_torch_engine() {
  return plaster::engine::MakeTorchEngine().release();
}
