#pragma once
/// A 2-D float pooling (MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool) compiled once
/// for a fixed input shape and run through oneDNN on channels-last tensors (Note [Direct oneDNN
/// pooling] in dnnl_pool.cpp).
///
/// Threading: Run is not reentrant (one stream per pooling), like the Session that owns it.

#include <ATen/ATen.h>

#include <memory>
#include <vector>

namespace plaster::engine::torch_engine {

struct PoolGeometry {
  std::vector<int64_t> input;                                         ///< N, C, H, W
  std::vector<int64_t> output;                                        ///< N, C, OH, OW
  std::vector<int64_t> kernel, stride, dilation, pad_begin, pad_end;  ///< 2 values each
  enum class Kind { kMax, kAverageCountingPads, kAverageOverInput } kind = Kind::kMax;
};

class DnnlPool {
 public:
  /// nullptr when the geometry is inconsistent or oneDNN has only its reference kernel.
  /// `compute`: the type it pools in and returns, at::kFloat or at::kBFloat16.
  static std::unique_ptr<DnnlPool> Make(const PoolGeometry& geometry,
                                        at::ScalarType compute = at::kFloat);
  ~DnnlPool();

  /// y = pool(x); y is channels-last, of the compute type; x may come in either layout and
  /// either float type.
  at::Tensor Run(const at::Tensor& x) const;

  /// The oneDNN kernel it runs ("jit:avx512_core").
  const std::string& implementation() const;

 private:
  struct State;
  explicit DnnlPool(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace plaster::engine::torch_engine
