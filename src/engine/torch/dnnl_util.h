#pragma once
/// What the direct oneDNN kernels (dnnl_conv.cpp, dnnl_matmul.cpp) share.

#include <oneapi/dnnl/dnnl.hpp>

namespace plaster::engine::torch_engine {

/// The one CPU engine every oneDNN primitive of the process is made on.
inline dnnl::engine& DnnlCpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

}  // namespace plaster::engine::torch_engine
