#pragma once
/// The torch engine's fusions (Note [Fusion] in fusion.cpp): graph patterns that run as one step
/// in an inference session. Each matcher looks at the graph and the compile-time constants only;
/// program.cpp turns a match into a step.

#include <ATen/ATen.h>

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/torch/dnnl_conv.h"
#include "engine/torch/dnnl_matmul.h"
#include "engine/torch/dnnl_pool.h"
#include "engine/torch/kernel.h"
#include "model/graph.h"

namespace plaster::engine::torch_engine {

/// Compile-time constants by tensor id (initializers, Constant nodes, folded values).
using Constants = std::vector<std::optional<at::Tensor>>;

/// Div(x, √2) → Erf → Add(·, 1) → Mul(x, ·) → Mul(·, 0.5) starting at node `div`: the five nodes
/// (indices into g.nodes()), or empty.
std::vector<size_t> GeluChain(const model::Graph& g, size_t div, const Constants& constants);

/// The exporters' LayerNormalization over the last axis (before opset 17 gave it an op):
/// ReduceMean → Sub → Pow(2) → ReduceMean → Add(ε) → Sqrt → Div [→ Mul(γ) → Add(β)].
struct LayerNormChain {
  std::vector<size_t> nodes;  ///< in graph order of the chain
  int64_t axis_size = 0;      ///< the normalized (last) axis' length
  double epsilon = 0;
  std::optional<at::Tensor> gamma, beta;  ///< float32 [axis_size], when the chain scales/shifts
};
/// The chain starting at node `mean`, or nullopt.
std::optional<LayerNormChain> MatchLayerNorm(const model::Graph& g, size_t mean,
                                             const Constants& constants);

/// A 2-D float Conv with constant weights and its fusable followers.
struct ConvChain {
  std::vector<size_t> nodes;  ///< the Conv, then the fused nodes, in order
  ConvEpilogue epilogue;
  int addend = -1;  ///< the residual's tensor id when epilogue.add
};

/// Conv [→ BatchNormalization] [→ Add(·, residual)] [→ Relu | Clip] starting at node `conv`,
/// each intermediate read by the next node only and none of them in `taken`; nullopt when
/// `conv` is not such a Conv.
std::optional<ConvChain> MatchConvChain(const model::Graph& g, size_t conv, int opset,
                                        const Constants& constants,
                                        const std::unordered_set<size_t>& taken);

/// The step for a matched chain: oneDNN's convolution with the chain fused in, or nullopt when
/// oneDNN has no kernel better than its reference one for it. The step's inputs are the Conv's
/// input and, with a residual, the addend; its output is channels-last.
/// `kernel_name` gets the oneDNN kernel's name; `compute` is the type it computes and returns in
/// (at::kFloat, or at::kBFloat16 in a bf16 session); with `int8` the convolution runs in int8
/// with its input quantized in that range (Note [Int8 convolutions] in dnnl_conv.cpp).
std::optional<Kernel> BuildFusedConv(const model::Graph& g, const ConvChain& chain, int opset,
                                     const Constants& constants, at::ScalarType compute,
                                     std::string* kernel_name, const Int8Range* int8 = nullptr,
                                     const Int8Range* int8_output = nullptr);

/// A float MatMul or Gemm with a constant right-hand side and its fusable followers.
struct MatMulChain {
  std::vector<size_t> nodes;  ///< the MatMul or Gemm, then the fused nodes, in order
  at::Tensor weight;          ///< float32 [K, N] (Gemm's transB and alpha applied)
  MatMulEpilogue epilogue;
  int addend = -1;   ///< the residual's tensor id when epilogue.add
  int64_t rows = 0;  ///< the product of x's leading axes; 0 when not known before the run
};

/// MatMul(x, W) [→ Add(·, bias)] | Gemm(x, W, bias) [→ Add(·, residual)] [→ Relu | GELU chain]
/// starting at node `index`, with x's rank known, each intermediate read by the chain only and
/// none of its nodes in `taken`; nullopt when `index` is not such a product.
std::optional<MatMulChain> MatchMatMulChain(const model::Graph& g, size_t index, int opset,
                                            const Constants& constants,
                                            const std::unordered_set<size_t>& taken);

/// The step for a matched chain: oneDNN's matmul with the chain fused in, or nullopt when
/// oneDNN has only its reference kernel for it. Its inputs are x and, with a residual, the
/// addend. With `int8`, an int8 product (Note [Int8 matrix products] in dnnl_matmul.cpp).
std::optional<Kernel> BuildFusedMatMul(const MatMulChain& chain, at::ScalarType compute,
                                       std::string* kernel_name,
                                       std::optional<MatMulInt8> int8 = std::nullopt);

/// A 2-D float MaxPool (without Indices), AveragePool, GlobalAveragePool or GlobalMaxPool of a
/// known input shape as one oneDNN pooling on channels-last tensors (Note [Direct oneDNN
/// pooling] in dnnl_pool.cpp); nullopt when node `index` is none of these or oneDNN's semantics
/// would differ from ONNX's for it.
std::optional<Kernel> BuildDirectPool(const model::Graph& g, size_t index, int opset,
                                      const Constants& constants, at::ScalarType compute,
                                      std::string* kernel_name);

/// Whether op_type's kernel takes channels-last (or otherwise strided) 4-D inputs as they come;
/// other kernels get their inputs made contiguous first (Note [Layouts] in fusion.cpp).
bool AcceptsStridedInputs(const std::string& op_type);

}  // namespace plaster::engine::torch_engine
