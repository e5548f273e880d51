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
/// session (Note [BF16 sessions] in torch_engine.cpp). Anything else is a bug.
inline dnnl::memory::data_type DnnlType(at::ScalarType type) {
  return type == at::kBFloat16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}

/// t as `type`, keeping its memory format (a no-op when it already is).
inline at::Tensor As(const at::Tensor& t, at::ScalarType type) {
  return t.scalar_type() == type ? t : t.to(type);
}

}  // namespace plaster::engine::torch_engine
