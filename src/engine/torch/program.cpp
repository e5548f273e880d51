// The program a torch session runs: the ONNX graph compiled, for the session's bound shapes and
// precision, into a list of steps (ATen kernels, and the fused oneDNN ones of fusion.h).
//
// Note [Compiling for bound shapes]: a session is compiled for the input shapes bound at load
// (batch, --shape), which the Session's specs state. That lets compile fold everything that does
// not depend on input *values*: initializers, Constant nodes, and every Shape/Size node together
// with the integer arithmetic exporters hang off them. At run time only real compute remains.

#include "engine/torch/program.h"

#include <c10/util/Exception.h>
#include <dnnl.h>
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_set>

#include "core/error.h"
#include "engine/torch/dnnl_matmul.h"
#include "engine/torch/dnnl_util.h"
#include "engine/torch/fusion.h"
#include "model/dtype.h"

namespace plaster::engine::torch_engine {
namespace {

// Ops whose outputs differ run to run: never folded at compile time.
const std::unordered_set<std::string> kNondeterministic = {"RandomNormal",  "RandomNormalLike",
                                                           "RandomUniform", "RandomUniformLike",
                                                           "Multinomial",   "Bernoulli"};

}  // namespace

std::string FirstLine(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10 ? c10->what_without_backtrace() : e.what();
  const size_t nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl);
}

namespace {

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

// Note [FP16 on CPU]: LibTorch 1.13 has no CPU float16 kernels for convolutions or matrix
// products, and oneDNN 2.6 computes f16 only with AVX512-FP16, which this engine does not use.
// So an fp16 session on CPU is emulated, and says so in its precision report: the weights
// (initializers, Constant nodes, and what folds from them) and every float32 tensor the steps
// hand each other (graph inputs included) are rounded to the nearest IEEE half, so values
// overflow to ±inf past 65504 and lose precision below 2^-14 as on an fp16 device; the
// arithmetic inside each step is float32, as a GPU's fp16 convolutions and matrix products
// accumulate in float32 and its elementwise kernels compute in float32 and round the result.
// Inside a fused step (Conv+BatchNorm+ReLU+Add) nothing is rounded, as in TensorRT's fused
// kernels. This is what the accuracy of a model deployed in fp16 depends on; the speed is
// float32's plus the rounding, not fp16's, so `plaster optimize` leaves fp16 out unless asked.

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

// Whether the int8 convolution chain ending at node `last` may write its output quantized
// (Note [Int8 chains]): it has a calibrated range, and every reader is a Conv with constant
// weights that takes it as its input (and so quantizes it in that same range). Returns the
// tensor whose range it is: the output itself, or, when the output's only reader is a QDQ pair
// that does not run (Note [Models that arrive quantized]), the pair's output.
std::optional<int> HandsOverQuantized(const model::Graph& g, size_t last, const Int8Plan& int8,
                                      const Constants& constants) {
  const auto& node = g.nodes()[last];
  if (node.outputs.empty() || node.outputs[0] < 0) return std::nullopt;
  const int written = node.outputs[0];
  if (g.tensor(written).is_graph_output || int8.unchained.count(written)) return std::nullopt;
  int t = written;
  if (auto through = int8.qdq_through.find(written);
      through != int8.qdq_through.end() && g.tensor(written).consumers.size() == 1) {
    t = through->second;
  }
  const auto& info = g.tensor(t);
  if (info.is_graph_output || info.consumers.empty() || !int8.ranges.count(t)) return std::nullopt;
  for (int c : info.consumers) {
    const auto& reader = g.nodes()[static_cast<size_t>(c)];
    if (reader.op_type != "Conv" || !reader.domain.empty() || reader.inputs.size() < 2 ||
        reader.inputs[0] != t || reader.inputs[1] < 0 ||
        !constants[static_cast<size_t>(reader.inputs[1])]) {
      return std::nullopt;
    }
    for (size_t k = 1; k < reader.inputs.size(); ++k) {
      if (reader.inputs[k] == t) return std::nullopt;
    }
  }
  return t;
}

// The ops whose precision a session's PrecisionReport accounts for: where the time goes.
bool IsComputeOp(const std::string& op_type) {
  static const std::unordered_set<std::string> kCompute = {
      "Conv", "ConvTranspose", "MatMul", "Gemm", "LSTM", "GRU", "RNN"};
  return kCompute.count(op_type) > 0;
}

}  // namespace

namespace {

// Whether oneDNN's effective ISA on this CPU includes `want`.
bool CpuHas(dnnl_cpu_isa_t want) {
  const auto isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  const auto bits = static_cast<unsigned>(want);
  return (isa & bits) == bits;
}

}  // namespace

// How this CPU computes bf16 in oneDNN; empty when only reference kernels exist.
std::string Bf16Hardware() {
  if (CpuHas(dnnl_cpu_isa_avx512_core_amx)) return "native (AMX)";
  if (CpuHas(dnnl_cpu_isa_avx512_core_bf16)) return "native (AVX512-BF16)";
  if (CpuHas(dnnl_cpu_isa_avx512_core)) {
    return "emulated (AVX-512 without BF16 instructions: correct, not faster)";
  }
  return "";
}

at::Tensor RoundToHalf(const at::Tensor& t) {
  if (!t.defined() || t.scalar_type() != at::kFloat) return t;
  return t.to(at::kHalf).to(at::kFloat);
}

std::string Fp16Hardware() {
  return "emulated on CPU: weights and every tensor between steps rounded to IEEE half, float32 "
         "arithmetic inside each step; the accuracy is fp16's, the speed is not";
}

// The int8 instructions oneDNN runs on this CPU; empty when it has none (Note [Int8 sessions]).
std::string Int8Hardware() {
  if (CpuHas(dnnl_cpu_isa_avx512_core_amx)) return "native (AMX-INT8)";
  if (CpuHas(dnnl_cpu_isa_avx512_core_vnni)) return "native (AVX512-VNNI)";
  if (CpuHas(dnnl_cpu_isa_avx2_vnni)) return "native (AVX-VNNI)";
  return "";
}

namespace {



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
                              const Constants& constants,
                              const std::unordered_set<size_t>& taken, at::ScalarType compute,
                              const Int8Plan& int8) {
  const auto& node = g.nodes()[index];
  FusedStep f;
  f.nodes = GeluChain(g, index, constants);
  if (!f.nodes.empty()) {
    f.step.kernel = [](const Tensors& in) -> Tensors { return {at::gelu(in[0])}; };
    f.step.inputs = {node.inputs[0]};
    f.step.fused = "GELU";
    f.step.kernel_name = "ATen gelu";
  } else if (auto norm = MatchLayerNorm(g, index, constants)) {
    f.nodes = norm->nodes;
    f.step.kernel = [n = *norm](const Tensors& in) -> Tensors {
      return {at::layer_norm(As(in[0], at::kFloat), {n.axis_size},
                             n.gamma ? c10::optional<at::Tensor>(*n.gamma) : c10::nullopt,
                             n.beta ? c10::optional<at::Tensor>(*n.beta) : c10::nullopt,
                             n.epsilon)};
    };
    f.step.inputs = {node.inputs[0]};
    f.step.fused = "LayerNormalization";
    f.step.kernel_name = "ATen layer_norm";
  } else if (auto chain = MatchConvChain(g, index, opset, constants, taken)) {
    const Int8Range* range = nullptr;
    const auto kept = int8.keep_float.find(node.name);
    if (int8.on && kept != int8.keep_float.end()) {
      f.kept = kept->second;
    } else if (int8.on) {
      auto it = int8.ranges.find(node.inputs[0]);
      if (it != int8.ranges.end()) {
        range = &it->second;
      } else {
        f.kept =
            "no calibrated range for its input: int8 convolutions are static and need "
            "calibration data (--calibration); float32 through oneDNN";
      }
    }
    const Int8Range* output = nullptr;
    if (range) {
      if (auto by = HandsOverQuantized(g, chain->nodes.back(), int8, constants)) {
        output = &int8.ranges.at(*by);
      }
    }
    std::optional<Kernel> kernel = BuildFusedConv(
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
  } else if (auto product = MatchMatMulChain(g, index, opset, constants, taken)) {
    std::optional<MatMulInt8> quantized;
    const auto kept = int8.keep_float.find(node.name);
    if (int8.on && kept != int8.keep_float.end()) {
      f.kept = kept->second;
    } else if (int8.on) {
      quantized.emplace();
      auto it = int8.ranges.find(node.inputs[0]);
      if (it != int8.ranges.end()) quantized->input = it->second;
    }
    std::optional<Kernel> kernel =
        BuildFusedMatMul(*product, compute, &f.step.kernel_name, quantized);
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
    auto batched = std::make_shared<DnnlBatchMatMul>(compute);
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
  } else if (std::optional<Kernel> pool = BuildDirectPool(
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

}  // namespace

// Builds the program. With `support`, records per node whether it is supported instead of
// throwing, and keeps going. `optimize` allows fusion (Note [Fusion]); `compute` is the fused
// kernels' type (Note [BF16 sessions]); `int8` quantizes them (Note [Int8 sessions]).
Program BuildProgram(const model::Model& m, SupportReport* support, bool optimize,
                     at::ScalarType compute, const Int8Plan& int8,
                     const std::unordered_set<int>* trainable) {
  const model::Graph& g = m.graph();
  const bool bf16 = compute == at::kBFloat16;
  const bool fp16 = compute == at::kHalf;  // Note [FP16 on CPU]: float32 kernels, rounded
  if (fp16) compute = at::kFloat;
  Program p;
  p.precision.requested = int8.on ? Precision::kInt8
                          : bf16  ? Precision::kBf16
                          : fp16  ? Precision::kFp16
                                  : Precision::kFp32;
  p.round_to_half = fp16;
  p.constants.resize(g.tensors().size());
  for (int id : g.initializers()) {
    const auto& t = g.tensor(id);
    if (model::DtypeSize(t.dtype) == 0) continue;
    try {
      at::Tensor value = TensorFromBytes(t.dtype, t.shape.dims, m.ReadTensorData(*t.initializer));
      p.constants[static_cast<size_t>(id)] = fp16 ? RoundToHalf(value) : value;
    } catch (const Unsupported& u) {
      if (!support) Fail("initializer '{}': {}", t.name, u.reason);
    }
  }
  // Constant nodes first: fusion looks ahead at the constants a chain uses (Note [Fusion]). So
  // are a QDQ model's weights, DequantizeLinear of constant int8 values: an int8 chain looks
  // ahead at the next convolution's weights (Note [Models that arrive quantized]).
  auto prefolded = [&](const model::NodeInfo& node) {
    if (!node.domain.empty() || node.outputs.size() != 1 || node.outputs[0] < 0) return false;
    if (node.op_type == "Constant") return true;
    if (node.op_type != "DequantizeLinear") return false;
    for (int id : node.inputs) {
      if (id >= 0 && !p.constants[static_cast<size_t>(id)]) return false;
    }
    return true;
  };
  for (const auto& node : g.nodes()) {
    if (!prefolded(node)) continue;
    try {
      const auto* entry = FindOp(node.op_type, OpsetOf(m, node.domain));
      if (!entry) continue;
      Tensors args;
      for (int id : node.inputs) {
        args.push_back(id < 0 ? at::Tensor() : *p.constants[static_cast<size_t>(id)]);
      }
      Tensors value = entry->build(NodeView(g, node, OpsetOf(m, node.domain), p.constants))(args);
      p.constants[static_cast<size_t>(node.outputs[0])] =
          fp16 ? RoundToHalf(value.at(0)) : value.at(0);
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
    const bool folded_constant =
        (node.op_type == "Constant" || node.op_type == "DequantizeLinear") && node.domain.empty() &&
        node.outputs.size() == 1 && node.outputs[0] >= 0 &&
        p.constants[static_cast<size_t>(node.outputs[0])].has_value();
    if (fused.count(index) || folded_constant || (optimize && int8.qdq_skip.count(index))) {
      if (support) support->nodes.push_back(verdict);
      continue;
    }
    if (auto alias = int8.qdq_alias.find(index); optimize && alias != int8.qdq_alias.end()) {
      Step step;  // Note [Models that arrive quantized]: the pair's output is its input
      step.kernel = [](const Tensors& in) -> Tensors { return {in.at(0)}; };
      step.inputs = {alias->second};
      step.outputs = {node.outputs[0]};
      step.label = node.Label();
      step.nodes = {node.name};
      step.strided_inputs = true;
      step.kernel_name = "none: a QDQ pair the int8 kernel after it stands for";
      step.passes_through = true;
      p.steps.push_back(std::move(step));
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
      const auto* entry = FindOp(node.op_type, opset);
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
        } else if (p.constants[static_cast<size_t>(id)] && !(trainable && trainable->count(id))) {
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
          if (node.outputs[k] >= 0) {
            p.constants[static_cast<size_t>(node.outputs[k])] = fp16 ? RoundToHalf(outs[k]) : outs[k];
          }
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
                           AcceptsStridedInputs(node.op_type)});
        auto& step = p.steps.back();
        step.inputs.insert(step.inputs.end(), node.implicit_inputs.begin(),
                           node.implicit_inputs.end());
        if (!view.kernel_name().empty()) step.kernel_name = view.kernel_name();
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

}  // namespace plaster::engine::torch_engine

namespace plaster::engine::torch_engine {

// Note [Models that arrive quantized]: a QDQ model (ONNX Runtime's quantization tool, TensorRT's
// explicit quantization, `plaster optimize --export`) says each activation's int8 grid itself:
// x → QuantizeLinear(s, zp) → DequantizeLinear(s, zp) → Conv. Its float32 run computes that grid
// in fake quantization, and the weights' DequantizeLinear of constant int8 values folds into
// float32 constants like any other constant subgraph. In an int8 session the pair's output gets
// the range the model gives, so the convolution or product reading it runs on the int8 kernels,
// quantizing values that already lie on that grid: the same integers. The grid is the scale s
// and the integers the zero point leaves: [0, 255]·s for u8 with zero point 0 and for s8 with
// −128 (the same values: ONNX Runtime writes the latter for a Relu's output with asymmetric int8
// activations), [−128, 127]·s for s8 with 0 and for u8 with 128; the kernels quantize to u8 or
// s8 without a zero point, saturating to the type's range, so these are exact. The weights are requantized per
// output channel from the folded values; when each channel's largest |q| is 127 (a symmetric
// quantizer's weights, as `--export` writes them) that gives back the model's own integers.
// Taken only for per-tensor scales and those four zero points (plaster's int8 kernels take no
// zero point); other pairs (u8 with 113: an input with negative values, quantized
// asymmetrically) run as written, in float32, and so does the product that reads them. When the pair's output is read only by convolutions and products (as input 0) and the
// QuantizeLinear's only by the pair, the pair does not run at all: its output is its input, and
// the int8 kernel quantizes that itself with the same scale, rounding to nearest even as
// QuantizeLinear does, so again the same integers (Int8Plan::qdq_alias), and an int8 chain looks
// through the pair (Int8Plan::qdq_through). This is what makes a QDQ model fast: run as written,
// the pairs cost more than the convolutions of a small CNN (9.5 k samples/s against 50 k).
int RangesFromQdq(const model::Model& m, Int8Plan* int8) {
  const model::Graph& g = m.graph();
  // A scalar initializer's value and dtype.
  auto scalar = [&](int id) -> std::optional<std::pair<double, int32_t>> {
    if (id < 0) return std::nullopt;
    const model::TensorInfo& t = g.tensor(id);
    if (t.kind != model::TensorKind::kInitializer || t.initializer == nullptr) return std::nullopt;
    int64_t n = 1;
    for (int64_t d : t.initializer->dims()) n *= d;
    if (n != 1) return std::nullopt;
    const std::string bytes = m.ReadTensorData(*t.initializer);
    switch (t.dtype) {
      case onnx::TensorProto::FLOAT: {
        float v = 0;
        if (bytes.size() != sizeof v) return std::nullopt;
        std::memcpy(&v, bytes.data(), sizeof v);
        return std::make_pair(double{v}, t.dtype);
      }
      case onnx::TensorProto::UINT8:
        return bytes.size() == 1 ? std::optional(std::make_pair(
                                       static_cast<double>(static_cast<uint8_t>(bytes[0])), t.dtype))
                                 : std::nullopt;
      case onnx::TensorProto::INT8:
        return bytes.size() == 1 ? std::optional(std::make_pair(
                                       static_cast<double>(static_cast<int8_t>(bytes[0])), t.dtype))
                                 : std::nullopt;
      default:
        return std::nullopt;
    }
  };
  int found = 0;
  for (const auto& dq : g.nodes()) {
    if (dq.op_type != "DequantizeLinear" || !dq.domain.empty() || dq.inputs.size() < 2 ||
        dq.outputs.size() != 1 || dq.inputs[0] < 0 || dq.outputs[0] < 0) {
      continue;
    }
    const int producer = g.tensor(dq.inputs[0]).producer;
    if (producer < 0) continue;
    const auto& q = g.nodes()[static_cast<size_t>(producer)];
    if (q.op_type != "QuantizeLinear" || !q.domain.empty() || q.inputs.size() < 2) continue;
    const auto s_dq = scalar(dq.inputs[1]);
    const auto s_q = scalar(q.inputs[1]);
    // An omitted zero point is a u8 0.
    const auto zero = [&](const model::NodeInfo& n) -> std::optional<std::pair<double, int32_t>> {
      if (n.inputs.size() < 3 || n.inputs[2] < 0) {
        return std::make_pair(0.0, int32_t{onnx::TensorProto::UINT8});
      }
      return scalar(n.inputs[2]);
    };
    const auto z_dq = zero(dq);
    const auto z_q = zero(q);
    if (!s_dq || !s_q || !z_dq || !z_q || s_dq->first != s_q->first || s_dq->first <= 0 ||
        z_dq->first != z_q->first || z_dq->second != z_q->second) {
      continue;
    }
    // The grid's integers relative to the zero point: [0, 255] (u8 with 0, s8 with −128) or
    // [−128, 127] (s8 with 0, u8 with 128).
    const bool u8 = z_dq->second == onnx::TensorProto::UINT8;
    const double z = z_dq->first;
    const bool is_unsigned = u8 ? z == 0 : z == -128;
    if (!is_unsigned && z != (u8 ? 128 : 0)) continue;
    const auto scale = static_cast<float>(s_dq->first);
    Int8Range range = MakeInt8Range(scale * (is_unsigned ? 255.0f : 127.0f), is_unsigned);
    range.scale = scale;  // exactly the model's (threshold / 127 may round to a neighbour)
    int8->ranges[dq.outputs[0]] = range;
    ++found;
    const model::TensorInfo& out = g.tensor(dq.outputs[0]);
    const model::TensorInfo& mid = g.tensor(dq.inputs[0]);
    bool products_only = !out.is_graph_output && !mid.is_graph_output && mid.consumers.size() == 1 &&
                         q.inputs[0] >= 0 && !out.consumers.empty();
    for (int reader : out.consumers) {
      const auto& r = g.nodes()[static_cast<size_t>(reader)];
      products_only = products_only && r.domain.empty() &&
                      (r.op_type == "Conv" || r.op_type == "MatMul" || r.op_type == "Gemm") &&
                      !r.inputs.empty() && r.inputs[0] == dq.outputs[0] &&
                      std::count(r.inputs.begin(), r.inputs.end(), dq.outputs[0]) == 1;
    }
    if (products_only) {
      int8->qdq_skip.insert(static_cast<size_t>(producer));
      int8->qdq_alias[static_cast<size_t>(&dq - g.nodes().data())] = q.inputs[0];
      int8->qdq_through[q.inputs[0]] = dq.outputs[0];
    }
  }
  return found;
}

}  // namespace plaster::engine::torch_engine
