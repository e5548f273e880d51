#pragma once
/// Exact integer convolutions and matrix products on oneDNN's int8 kernels, for the quantized
/// operators a model brings (ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul; Note
/// [Integer kernels] in dnnl_integer.cpp): u8 or s8 activations times constant s8 weights,
/// accumulated exactly in int32.
///
/// Threading: Run is not reentrant (one stream, primitives made on first use of a shape), like
/// the Session that owns it.

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

namespace plaster::engine::torch_engine {

/// A convolution's raw integer sum, and what the input's zero point must be taken off with.
struct IntegerSum {
  at::Tensor sum;          ///< Σ x·w, int32 [N, M, OH, OW], channels-last; undefined: no kernel
  at::Tensor window_sums;  ///< Σ w over each window's positions inside the input: [1, M, OH, OW]
};

class DnnlIntegerConv {
 public:
  /// `weight` int8 [M, C/group, kH, kW] (the weights with their zero point taken off, which must
  /// fit int8).
  DnnlIntegerConv(const at::Tensor& weight, std::vector<int64_t> stride,
                  std::vector<int64_t> dilation, int64_t group);
  ~DnnlIntegerConv();
  DnnlIntegerConv(const DnnlIntegerConv&) = delete;
  DnnlIntegerConv& operator=(const DnnlIntegerConv&) = delete;

  /// Σ x·w over each window, padded with zeros, for x [N, C, H, W] u8 or s8 in either layout;
  /// the sum is undefined when oneDNN has only its reference kernel for the shape (the caller
  /// computes it another way). The kernel for a shape and padding is made on its first run.
  IntegerSum Run(const at::Tensor& x, const std::vector<int64_t>& pad_begin,
                 const std::vector<int64_t>& pad_end) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class DnnlIntegerMatMul {
 public:
  /// `weight` int8 [K, N] (its zero point taken off).
  explicit DnnlIntegerMatMul(const at::Tensor& weight);
  ~DnnlIntegerMatMul();
  DnnlIntegerMatMul(const DnnlIntegerMatMul&) = delete;
  DnnlIntegerMatMul& operator=(const DnnlIntegerMatMul&) = delete;

  /// a [M, K], u8 or s8 → a·W, int32 [M, N] (an undefined tensor as for the
  /// convolution).
  at::Tensor Run(const at::Tensor& a) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace plaster::engine::torch_engine
