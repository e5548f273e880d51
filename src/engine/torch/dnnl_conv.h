#pragma once
/// A 2-D float convolution compiled once for a fixed input shape and run through oneDNN directly,
/// with its weights reordered at compile time into the layout oneDNN's kernel wants and the
/// following BatchNormalization, residual Add and Relu/Clip fused in (Note [Direct oneDNN
/// convolutions] in dnnl_conv.cpp).
///
/// Threading: Run is not reentrant (one stream, one scratchpad per convolution), like the
/// Session that owns it.

#include <ATen/ATen.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/torch/calibration.h"

namespace plaster::engine::torch_engine {

/// What a fused convolution computes after the convolution itself, in this order.
struct ConvEpilogue {
  /// BatchNormalization folded into the weights and bias: y = conv(x)·scale + shift per channel.
  std::optional<at::Tensor> bn_scale, bn_shift;
  bool add = false;  ///< + a second tensor of the output's shape (a residual)
  enum class Activation { kNone, kRelu, kClip } activation = Activation::kNone;
  float clip_min = 0, clip_max = 0;

  /// "BatchNormalization + Add + Relu" (empty when nothing is fused).
  std::string Describe() const;
};

struct ConvGeometry {
  std::vector<int64_t> input;                                 ///< N, C, H, W
  std::vector<int64_t> output;                                ///< N, OC, OH, OW
  std::vector<int64_t> stride, dilation, pad_begin, pad_end;  ///< 2 values each
  int64_t groups = 1;
};

class DnnlConv {
 public:
  /// nullptr when oneDNN has only its reference kernel for this case (the caller keeps ATen's).
  /// `compute` is the activations' and weights' type: at::kFloat, or at::kBFloat16 (bfloat16
  /// inputs, weights and output, float32 bias and accumulation).
  /// With `int8` (an int8 session, compute float32), the input is quantized to int8 in `int8`'s
  /// range on entry, the weights are int8 per output channel, the products accumulate in int32
  /// and the output comes back float32 with the epilogue applied (Note [Int8 convolutions]).
  /// With `int8_output` too, the output is written quantized in that range instead (u8 or s8),
  /// for int8 convolutions that read it as it is (Note [Int8 chains]).
  static std::unique_ptr<DnnlConv> Make(const ConvGeometry& geometry, const at::Tensor& weight,
                                        const std::optional<at::Tensor>& bias,
                                        const ConvEpilogue& epilogue,
                                        at::ScalarType compute = at::kFloat,
                                        const Int8Range* int8 = nullptr,
                                        const Int8Range* int8_output = nullptr);
  ~DnnlConv();

  /// y = epilogue(conv(x) [+ addend]); y is channels-last, of the compute type (or quantized:
  /// `int8_output`). x and addend may come in either layout and either float type (converted
  /// when they differ from what was compiled for); an int8 convolution also takes x already
  /// quantized in its range (uint8 or int8, channels-last), as an int8 chain hands it over.
  at::Tensor Run(const at::Tensor& x, const at::Tensor& addend) const;

  /// The oneDNN kernel it runs ("brgconv_1x1:avx512_core").
  const std::string& implementation() const;

 private:
  struct State;
  explicit DnnlConv(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace plaster::engine::torch_engine
