// Note [Direct oneDNN pooling]: ATen pools a channels-last tensor with a scalar loop per output
// cell (SqueezeNet 1.1's three MaxPools took 9% of its time at batch 1, ResNet-50's
// GlobalAveragePool 0.11 ms for 2048×7×7 values), and its MaxPool computes indices nobody
// reads. oneDNN's pooling reads channels-last (NHWC) directly, vectorised across the channels.
// Like the convolutions (Note [Direct oneDNN convolutions]), a pooling is compiled once for the
// bound shape: the caller resolves ONNX's window (auto_pad, ceil_mode) into explicit padding,
// and only cases whose semantics agree exactly are taken here (see MatchPool in fusion.cpp).

#include "engine/torch/dnnl_pool.h"

#include <fmt/format.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "engine/torch/dnnl_util.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

struct DnnlPool::State {
  PoolGeometry geometry;
  at::ScalarType compute = at::kFloat;
  dnnl::pooling_v2_forward primitive;
  memory src, dst;
  std::unordered_map<int, memory> args;
  dnnl::stream stream;
  std::string implementation;
};

DnnlPool::DnnlPool(std::unique_ptr<State> state) : state_(std::move(state)) {}
DnnlPool::~DnnlPool() = default;

std::unique_ptr<DnnlPool> DnnlPool::Make(const PoolGeometry& g, at::ScalarType compute) {
  if (g.input.size() != 4 || g.output.size() != 4 || g.kernel.size() != 2) return nullptr;
  // oneDNN checks out = (in + begin + end - dilated kernel) / stride + 1 exactly.
  for (size_t i = 0; i < 2; ++i) {
    const int64_t eff = (g.kernel[i] - 1) * g.dilation[i] + 1;
    const int64_t span = g.input[i + 2] + g.pad_begin[i] + g.pad_end[i] - eff;
    if (g.pad_begin[i] < 0 || g.pad_end[i] < 0 || span < 0 ||
        span / g.stride[i] + 1 != g.output[i + 2]) {
      return nullptr;
    }
  }
  auto state = std::make_unique<State>();
  state->geometry = g;
  state->compute = compute;
  try {
    dnnl::engine& engine = DnnlCpuEngine();
    const Dt act = DnnlType(compute);
    const memory::desc src_md(memory::dims(g.input.begin(), g.input.end()), act, Tag::nhwc);
    const memory::desc dst_md(memory::dims(g.output.begin(), g.output.end()), act, Tag::nhwc);
    const dnnl::algorithm alg = g.kind == PoolGeometry::Kind::kMax ? dnnl::algorithm::pooling_max
                                : g.kind == PoolGeometry::Kind::kAverageCountingPads
                                    ? dnnl::algorithm::pooling_avg_include_padding
                                    : dnnl::algorithm::pooling_avg_exclude_padding;
    // oneDNN counts dilation from 0 (ONNX's 1 is its 0).
    const memory::dims dilation = {g.dilation[0] - 1, g.dilation[1] - 1};
    const dnnl::pooling_v2_forward::desc desc(
        dnnl::prop_kind::forward_inference, alg, src_md, dst_md,
        memory::dims(g.stride.begin(), g.stride.end()),
        memory::dims(g.kernel.begin(), g.kernel.end()), dilation,
        memory::dims(g.pad_begin.begin(), g.pad_begin.end()),
        memory::dims(g.pad_end.begin(), g.pad_end.end()));
    const dnnl::pooling_v2_forward::primitive_desc pd(desc, engine);
    if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) return nullptr;
    state->implementation = pd.impl_info_str();
    state->stream = dnnl::stream(engine);
    state->primitive = dnnl::pooling_v2_forward(pd);
    state->src = memory(src_md, engine, DNNL_MEMORY_NONE);
    state->dst = memory(dst_md, engine, DNNL_MEMORY_NONE);
    state->args = {{DNNL_ARG_SRC, state->src}, {DNNL_ARG_DST, state->dst}};
  } catch (const dnnl::error&) {
    return nullptr;
  }
  return std::unique_ptr<DnnlPool>(new DnnlPool(std::move(state)));
}

const std::string& DnnlPool::implementation() const { return state_->implementation; }

at::Tensor DnnlPool::Run(const at::Tensor& x) const {
  State& s = *state_;
  const auto cl = at::MemoryFormat::ChannelsLast;
  if (x.sizes() != at::IntArrayRef(s.geometry.input) || !at::isFloatingType(x.scalar_type())) {
    RunError(fmt::format("a {} input of shape {} for a pooling compiled for {}",
                         at::toString(x.scalar_type()), Join(SizesOf(x)), Join(s.geometry.input)));
  }
  const at::Tensor src = As(x.contiguous(cl), s.compute);
  at::Tensor dst = at::empty(s.geometry.output, x.options().dtype(s.compute).memory_format(cl));
  s.src.set_data_handle(src.data_ptr());
  s.dst.set_data_handle(dst.data_ptr());
  s.primitive.execute(s.stream, s.args);
  s.stream.wait();
  return dst;
}

}  // namespace plaster::engine::torch_engine
