#pragma once
/// A float matrix product with a constant right-hand side, y = act(x·W + b [+ residual]), run
/// through oneDNN's matmul directly with W packed once into the layout its kernel wants (Note
/// [Direct oneDNN matrix products] in dnnl_matmul.cpp). x has any rank ≥ 2: its leading axes are
/// the rows.
///
/// Threading: Run is not reentrant (one stream, primitives made on first use of a row count),
/// like the Session that owns it.

#include <ATen/ATen.h>

#include <memory>
#include <optional>
#include <string>

#include "engine/torch/calibration.h"

namespace plaster::engine::torch_engine {

/// What a fused matrix product computes after x·W, in this order.
struct MatMulEpilogue {
  std::optional<at::Tensor> bias;  ///< float32 [N], added to every row
  bool bias_from_add = false;      ///< the bias was an Add node of its own (not Gemm's C)
  bool add = false;                ///< + a second tensor of the output's shape (a residual)
  enum class Activation { kNone, kRelu, kGeluErf } activation = Activation::kNone;

  /// The fused nodes after the product: "Add + Add + GELU" (empty when none).
  std::string Describe() const;
};

/// An int8 matrix product's input quantization (Note [Int8 matrix products] in dnnl_matmul.cpp):
/// static in a calibrated range, or dynamic (the range of each run's input).
struct MatMulInt8 {
  std::optional<Int8Range> input;  ///< nullopt: dynamic
};

class DnnlMatMul {
 public:
  /// `weight` is float32 [K, N]; `compute` the type x, W and y are in (at::kFloat, or
  /// at::kBFloat16 with float32 bias and accumulation). With `int8` (compute float32), x is
  /// quantized to u8 on entry, W is int8 per column, and y comes back float32. Never fails: a
  /// shape oneDNN cannot run is an error at Run.
  DnnlMatMul(const at::Tensor& weight, MatMulEpilogue epilogue,
             at::ScalarType compute = at::kFloat, std::optional<MatMulInt8> int8 = std::nullopt);
  ~DnnlMatMul();
  DnnlMatMul(const DnnlMatMul&) = delete;
  DnnlMatMul& operator=(const DnnlMatMul&) = delete;

  /// y = epilogue(x·W [+ addend]), of the compute type and shape x.shape[:-1] + [N], contiguous;
  /// x and addend of another float type are converted first. The kernel
  /// for a row count is made on the first run with it; rows made before are reused.
  at::Tensor Run(const at::Tensor& x, const at::Tensor& addend) const;

  /// The oneDNN kernel run for `rows` rows ("brg:avx512_core"), made if needed.
  std::string Implementation(int64_t rows) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// A float matrix product of two tensors computed at run time (attention's Q·Kᵀ and P·V), y =
/// a·b with a [..., M, K] and b [..., K, N] of the same rank and batch axes that are equal or 1,
/// run through oneDNN's matmul on the operands' own strides (a transposed view is read as it
/// is). A kernel is made per shape and strides on first use. With `compute` bfloat16 (a bf16
/// session), or when either operand is bfloat16, both are taken in bfloat16 and so is the product.
/// Anything else (ranks that differ, 1-D operands, no oneDNN kernel) runs at::matmul.
///
/// Threading: Run is not reentrant, like the Session that owns it.
class DnnlBatchMatMul {
 public:
  explicit DnnlBatchMatMul(at::ScalarType compute = at::kFloat);
  ~DnnlBatchMatMul();
  DnnlBatchMatMul(const DnnlBatchMatMul&) = delete;
  DnnlBatchMatMul& operator=(const DnnlBatchMatMul&) = delete;

  at::Tensor Run(const at::Tensor& a, const at::Tensor& b) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace plaster::engine::torch_engine
