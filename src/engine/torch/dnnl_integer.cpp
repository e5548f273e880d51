// Note [Integer kernels]: a model that arrives quantized in the operator form (ConvInteger,
// QLinearConv, MatMulInteger, QLinearMatMul, what ONNX Runtime's QOperator quantizer and
// dynamic quantization write) needs Σ (x − x₀)·(w − w₀) over each window or row, exactly, in
// int32. ops_quant.cpp computes it in double through ATen, which is exact but slow (ATen has no
// integer convolution; in double, ResNet-50's convolutions would run at a few GFLOP/s). Where the
// weights are constant, and what they are with their zero point taken off fits int8 (true of
// every symmetric int8 quantizer's output), the sum runs on oneDNN's int8 kernels instead:
// - the activations stay u8 or s8 as given; the input's zero point x₀ is taken off after the sum,
//   Σ (x − x₀)·w = Σ x·w − x₀·Σ w, where Σ w is each column's weight sum for a product, and for a
//   convolution the sum of the weights each output position's window covers inside the input
//   (oneDNN pads with 0, and a padded position must add nothing): near the border that is less
//   than the whole kernel. It is computed once per input shape;
// - the products accumulate in int32 (VNNI's u8·s8 dot products, or AMX; the engine offers this
//   path only where they exist, Int8Hardware), which is the reference's arithmetic as long as no
//   sum leaves int32, as the ONNX reference assumes too;
// - the int32 sum comes back; QLinear*'s bias and requantization run as before (exactly, in
//   ATen), a pass over the output that costs little beside the sum.

#include "engine/torch/dnnl_integer.h"

#include <fmt/format.h>

#include <map>
#include <utility>
#include <optional>
#include <oneapi/dnnl/dnnl.hpp>

#include "engine/torch/dnnl_util.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

memory::dims Dims(at::IntArrayRef v) { return memory::dims(v.begin(), v.end()); }

Dt IntegerType(at::ScalarType t) { return t == at::kByte ? Dt::u8 : Dt::s8; }

// One compiled kernel for one input shape, with the weights in its layout.
struct Compiled {
  dnnl::primitive primitive;
  memory src, weights, dst;
  std::vector<int64_t> output;
  std::string implementation;
  at::Tensor window_sums;  // a convolution's: int32 [1, M, OH, OW], channels-last
};

at::Tensor Execute(Compiled& c, dnnl::stream& stream, const at::Tensor& src, at::Tensor dst) {
  c.src.set_data_handle(src.data_ptr());
  c.dst.set_data_handle(dst.data_ptr());
  c.primitive.execute(stream, {{DNNL_ARG_SRC, c.src},
                               {DNNL_ARG_WEIGHTS, c.weights},
                               {DNNL_ARG_DST, c.dst}});
  stream.wait();
  return dst;
}

}  // namespace

struct DnnlIntegerConv::State {
  at::Tensor weight;  // int8, contiguous OIHW
  std::vector<int64_t> stride, dilation;
  int64_t group;
  std::map<std::vector<int64_t>, std::optional<Compiled>> kernels;  // by input shape and type
  dnnl::stream stream{DnnlCpuEngine()};
};

DnnlIntegerConv::DnnlIntegerConv(const at::Tensor& weight, std::vector<int64_t> stride,
                                 std::vector<int64_t> dilation, int64_t group)
    : state_(std::make_unique<State>()) {
  state_->weight = weight.to(at::kChar).contiguous();
  state_->stride = std::move(stride);
  state_->dilation = std::move(dilation);
  state_->group = group;
}
DnnlIntegerConv::~DnnlIntegerConv() = default;

IntegerSum DnnlIntegerConv::Run(const at::Tensor& x, const std::vector<int64_t>& pad_begin,
                                const std::vector<int64_t>& pad_end) const {
  State& s = *state_;
  const std::vector<int64_t> shape = x.sizes().vec();
  std::vector<int64_t> key = shape;
  key.push_back(static_cast<int64_t>(x.scalar_type()));
  key.insert(key.end(), pad_begin.begin(), pad_begin.end());
  key.insert(key.end(), pad_end.begin(), pad_end.end());
  auto it = s.kernels.find(key);
  if (it == s.kernels.end()) {
    std::optional<Compiled> made;
    const at::Tensor& w = s.weight;
    const int64_t oc = w.size(0);
    if (x.dim() == 4 && w.dim() == 4 && x.size(1) == w.size(1) * s.group && oc % s.group == 0) {
      std::vector<int64_t> out = {x.size(0), oc};
      bool fits = true;
      for (size_t d = 0; d < 2; ++d) {
        const int64_t span = (w.size(static_cast<int64_t>(d) + 2) - 1) * s.dilation[d] + 1;
        const int64_t in = x.size(static_cast<int64_t>(d) + 2) + pad_begin[d] + pad_end[d];
        fits = fits && in >= span && pad_begin[d] >= 0 && pad_end[d] >= 0;
        out.push_back((in - span) / s.stride[d] + 1);
      }
      try {
        if (!fits) throw dnnl::error(dnnl_invalid_arguments, "window larger than the input");
        dnnl::engine& engine = DnnlCpuEngine();
        const memory::desc src_md(Dims(shape), IntegerType(x.scalar_type()), Tag::nhwc);
        const memory::desc dst_md(Dims(out), Dt::s32, Tag::nhwc);
        memory::dims wdims = Dims(w.sizes());
        Tag wtag = Tag::oihw;
        if (s.group > 1) {
          wdims = {s.group, oc / s.group, w.size(1), w.size(2), w.size(3)};
          wtag = Tag::goihw;
        }
        const memory::dims dilation = {s.dilation[0] - 1, s.dilation[1] - 1};
        const dnnl::convolution_forward::desc desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
            memory::desc(wdims, Dt::s8, Tag::any), dst_md, Dims(s.stride), dilation,
            Dims(pad_begin), Dims(pad_end));
        const dnnl::convolution_forward::primitive_desc pd(desc, engine);
        if (std::string(pd.impl_info_str()).rfind("ref", 0) != 0) {
          Compiled c;
          c.implementation = pd.impl_info_str();
          memory given({wdims, Dt::s8, wtag}, engine, w.data_ptr());
          c.weights = memory(pd.weights_desc(), engine);
          dnnl::reorder(given, c.weights).execute(s.stream, given, c.weights);
          s.stream.wait();
          c.src = memory(src_md, engine, DNNL_MEMORY_NONE);
          c.dst = memory(dst_md, engine, DNNL_MEMORY_NONE);
          c.output = out;
          c.primitive = dnnl::convolution_forward(pd);
          made = std::move(c);
          // The window sums: the convolution of one image of ones, in float32, where every
          // partial sum is an integer below 2^24 (|w| ≤ 128, K < 65,000) and so exact.
          std::vector<int64_t> one = shape;
          one[0] = 1;
          const at::Tensor ones = at::constant_pad_nd(
              at::ones(one, x.options().dtype(at::kFloat)),
              {pad_begin[1], pad_end[1], pad_begin[0], pad_end[0]}, 0);
          made->window_sums =
              at::convolution(ones, w.to(at::kFloat), c10::nullopt, s.stride, {0, 0}, s.dilation,
                              false, {0, 0}, s.group)
                  .to(at::kInt)
                  .contiguous(at::MemoryFormat::ChannelsLast);
        }
      } catch (const dnnl::error&) {
        // no oneDNN kernel for this shape: the caller's exact path
      }
    }
    it = s.kernels.emplace(key, std::move(made)).first;
  }
  if (!it->second) return {};
  Compiled& c = *it->second;
  const auto cl = at::MemoryFormat::ChannelsLast;
  return {Execute(c, s.stream, x.contiguous(cl),
                  at::empty(c.output, x.options().dtype(at::kInt).memory_format(cl))),
          c.window_sums};
}

struct DnnlIntegerMatMul::State {
  at::Tensor weight;  // int8 [K, N], contiguous
  std::map<std::pair<int64_t, int>, std::optional<Compiled>> kernels;  // by rows and type
  dnnl::stream stream{DnnlCpuEngine()};
};

DnnlIntegerMatMul::DnnlIntegerMatMul(const at::Tensor& weight)
    : state_(std::make_unique<State>()) {
  state_->weight = weight.to(at::kChar).contiguous();
}
DnnlIntegerMatMul::~DnnlIntegerMatMul() = default;

at::Tensor DnnlIntegerMatMul::Run(const at::Tensor& a) const {
  State& s = *state_;
  const at::Tensor& w = s.weight;
  if (a.dim() != 2 || a.size(1) != w.size(0)) {
    RunError(fmt::format("an operand of shape {} for an integer product with weights {}",
                         Join(SizesOf(a)), Join(SizesOf(w))));
  }
  const int64_t rows = a.size(0);
  const std::pair<int64_t, int> key(rows, static_cast<int>(a.scalar_type()));
  auto it = s.kernels.find(key);
  if (it == s.kernels.end()) {
    std::optional<Compiled> made;
    try {
      dnnl::engine& engine = DnnlCpuEngine();
      const memory::desc src_md({rows, w.size(0)}, IntegerType(a.scalar_type()), Tag::ab);
      const memory::desc dst_md({rows, w.size(1)}, Dt::s32, Tag::ab);
      const memory::desc any_weights(Dims(w.sizes()), Dt::s8, Tag::any);
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, any_weights, dst_md),
                                            engine);
      if (std::string(pd.impl_info_str()).rfind("ref", 0) != 0) {
        Compiled c;
        c.implementation = pd.impl_info_str();
        memory given({Dims(w.sizes()), Dt::s8, Tag::ab}, engine, w.data_ptr());
        c.weights = memory(pd.weights_desc(), engine);
        dnnl::reorder(given, c.weights).execute(s.stream, given, c.weights);
        s.stream.wait();
        c.src = memory(src_md, engine, DNNL_MEMORY_NONE);
        c.dst = memory(dst_md, engine, DNNL_MEMORY_NONE);
        c.output = {rows, w.size(1)};
        c.primitive = dnnl::matmul(pd);
        made = std::move(c);
      }
    } catch (const dnnl::error&) {
    }
    it = s.kernels.emplace(key, std::move(made)).first;
  }
  if (!it->second) return {};
  return Execute(*it->second, s.stream, a.contiguous(),
                 at::empty(it->second->output, a.options().dtype(at::kInt)));
}

}  // namespace plaster::engine::torch_engine
