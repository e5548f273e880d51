#pragma once
/// What the direct oneDNN kernels (dnnl_conv.cpp, dnnl_matmul.cpp) share.

#include <ATen/ATen.h>

#include <oneapi/dnnl/dnnl.hpp>

namespace plaster::engine::torch_engine {

/// The one CPU engine every oneDNN primitive of the process is made on.
inline dnnl::engine& DnnlCpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

/// The oneDNN element type of a direct kernel's activations: float32, or bfloat16 in a bf16
/// session (Note [BF16 sessions] in program.cpp). Anything else is a bug.
inline dnnl::memory::data_type DnnlType(at::ScalarType type) {
  return type == at::kBFloat16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}

/// Weights quantized to int8 symmetrically, one scale per slice along `axis` (a convolution's
/// output channels, a matrix product's columns): w ≈ scales · values, values in [−127, 127].
struct Int8Weights {
  at::Tensor values;  ///< int8, w's shape, contiguous
  at::Tensor scales;  ///< float32 [w.size(axis)]; 1 where a slice is all zero
};
inline Int8Weights QuantizeWeights(const at::Tensor& w, int64_t axis) {
  const at::Tensor f = w.to(at::kFloat);
  std::vector<int64_t> others;
  for (int64_t d = 0; d < f.dim(); ++d) {
    if (d != axis) others.push_back(d);
  }
  at::Tensor scales = others.empty() ? f.abs() : f.abs().amax(others);
  scales = at::where(scales > 0, scales / 127.0f, at::ones_like(scales)).contiguous();
  std::vector<int64_t> view(static_cast<size_t>(f.dim()), 1);
  view[static_cast<size_t>(axis)] = f.size(axis);
  const at::Tensor values =
      at::clamp(at::round(f / scales.reshape(view)), -127, 127).to(at::kChar).contiguous();
  return {values, scales};
}

/// t as `type`, keeping its memory format (a no-op when it already is).
inline at::Tensor As(const at::Tensor& t, at::ScalarType type) {
  return t.scalar_type() == type ? t : t.to(type);
}

}  // namespace plaster::engine::torch_engine
