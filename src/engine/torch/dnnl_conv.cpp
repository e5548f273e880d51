// Note [Direct oneDNN convolutions]: ATen's at::convolution reaches oneDNN too, but through a
// path that on every call reorders the weights into oneDNN's blocked layout, reorders the NCHW
// input into it and the output back out, and creates (or looks up) the primitive: ResNet-50's
// convolutions ran at 130-160 GFLOP/s that way, against ONNX Runtime's 390 with the same oneDNN
// underneath. Here each convolution is compiled once, for the shape the session is bound to:
// - the weights are reordered once, into the layout the chosen kernel wants (format `any`);
// - activations stay channels-last (NHWC, an ordinary strided at::Tensor that the rest of ATen
//   understands), the layout oneDNN's AVX-512/AMX kernels read without a reorder; only a
//   network's first convolution pays one conversion of its NCHW input;
// - a following BatchNormalization is folded into the weights, and a residual Add and a
//   Relu/Clip become post-ops (binary add, eltwise), so the output is written once;
// - the primitive and its memory objects are created once; a run only sets data pointers.
// When oneDNN offers only its reference kernel for a case, Make declines and the caller keeps
// ATen's path.
//
// Note [Int8 convolutions]: in an int8 session a convolution whose input range the calibration
// measured runs on oneDNN's int8 kernels (VNNI's u8·s8 dot products, or AMX):
// - the input is quantized on entry by a oneDNN reorder, q = saturate(round(x / s_x)), into u8
//   when the calibrated tensor never went below zero (after a Relu) and s8 otherwise;
// - the weights (BatchNormalization folded in first) are int8, symmetric per output channel:
//   s_w[o] = max |w[o]| / 127;
// - the products accumulate in int32; oneDNN 2.x adds the bias in that accumulator's units, so
//   the bias is divided by s_x·s_w[o], and the output scale s_x·s_w[o] brings the sum back to
//   real units before the residual Add and the Relu/Clip post-ops;
// - the output is float32, so every op that follows sees what it would in a float32 session.
//
// Note [Int8 chains]: where a convolution's output is read only by int8 convolutions that
// quantize it in the same calibrated range (conv → Relu → conv inside a ResNet block, a
// MobileNet's expand → depthwise → project), writing it in float32 only for the next one to read
// it back and quantize it wastes two passes over memory. Such a convolution ends its epilogue
// with a linear post-op of 1/s_y and writes u8/s8 (oneDNN rounds and saturates), and the next
// convolution takes those bytes as its input. program.cpp decides where (Int8Plan).

#include "engine/torch/dnnl_conv.h"

#include <fmt/format.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "engine/torch/dnnl_util.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

memory::dims Dims(const std::vector<int64_t>& v) { return memory::dims(v.begin(), v.end()); }

}  // namespace

std::string ConvEpilogue::Describe() const {
  std::vector<std::string> parts;
  if (bn_scale) parts.push_back("BatchNormalization");
  if (add) parts.push_back("Add");
  if (activation == Activation::kRelu) parts.push_back("Relu");
  if (activation == Activation::kClip) parts.push_back("Clip");
  return fmt::format("{}", fmt::join(parts, " + "));
}

struct DnnlConv::State {
  ConvGeometry geometry;
  bool add = false;
  at::ScalarType compute = at::kFloat;
  std::optional<Int8Range> int8;
  at::ScalarType output = at::kFloat;  // the output tensor's type
  dnnl::reorder quantize;  // int8: float32 input → u8/s8
  memory float_src;        // int8: the float32 input the reorder reads
  dnnl::convolution_forward primitive;
  memory src, weights, bias, dst, addend;
  at::Tensor bias_values;  // owns the bias memory's data
  std::unordered_map<int, memory> args;
  dnnl::stream stream;
  std::string implementation;
};

DnnlConv::DnnlConv(std::unique_ptr<State> state) : state_(std::move(state)) {}
DnnlConv::~DnnlConv() = default;

std::unique_ptr<DnnlConv> DnnlConv::Make(const ConvGeometry& g, const at::Tensor& weight0,
                                         const std::optional<at::Tensor>& bias0,
                                         const ConvEpilogue& epilogue, at::ScalarType compute,
                                         const Int8Range* int8, const Int8Range* int8_output) {
  if (int8_output && !int8) return nullptr;
  const int64_t oc = g.output.at(1);
  if (g.input.size() != 4 || weight0.dim() != 4 || weight0.size(0) != oc ||
      weight0.scalar_type() != at::kFloat || g.groups < 1 || oc % g.groups != 0 ||
      g.input[1] != weight0.size(1) * g.groups) {
    return nullptr;
  }
  at::Tensor weight = weight0.contiguous();
  at::Tensor bias = bias0 ? bias0->to(at::kFloat).reshape({oc}) : at::zeros({oc});
  if (epilogue.bn_scale) {
    weight = (weight * epilogue.bn_scale->reshape({oc, 1, 1, 1})).contiguous();
    bias = bias * *epilogue.bn_scale + *epilogue.bn_shift;
  }
  auto state = std::make_unique<State>();
  state->geometry = g;
  state->add = epilogue.add;
  state->compute = compute;
  Int8Weights quantized;
  if (int8) {
    state->int8 = *int8;
    quantized = QuantizeWeights(weight, 0);
    bias = bias / (quantized.scales * int8->scale);  // the accumulator's units (Note [Int8 ...])
  }
  state->bias_values = bias.contiguous();
  try {
    dnnl::engine& engine = DnnlCpuEngine();
    const Dt act = int8 ? (int8->is_unsigned ? Dt::u8 : Dt::s8) : DnnlType(compute);
    Dt out = int8 ? Dt::f32 : DnnlType(compute);
    state->output = compute;
    if (int8_output) {  // Note [Int8 chains]
      out = int8_output->is_unsigned ? Dt::u8 : Dt::s8;
      state->output = int8_output->is_unsigned ? at::kByte : at::kChar;
    }
    const memory::desc src_md(Dims(g.input), act, Tag::nhwc);
    const memory::desc dst_md(Dims(g.output), out, Tag::nhwc);
    const memory::desc bias_md({oc}, Dt::f32, Tag::x);
    memory::dims wdims = Dims(weight.sizes().vec());
    Tag wtag = Tag::oihw;
    if (g.groups > 1) {
      wdims = {g.groups, oc / g.groups, weight.size(1), weight.size(2), weight.size(3)};
      wtag = Tag::goihw;
    }
    const memory::desc any_weights(wdims, int8 ? Dt::s8 : act, Tag::any);
    // oneDNN counts dilation from 0 (ONNX's 1 is its 0).
    const memory::dims dilation = {g.dilation.at(0) - 1, g.dilation.at(1) - 1};
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
        any_weights, bias_md, dst_md, Dims(g.stride), dilation, Dims(g.pad_begin), Dims(g.pad_end));
    dnnl::post_ops ops;
    if (epilogue.add) ops.append_binary(dnnl::algorithm::binary_add, dst_md);
    if (epilogue.activation == ConvEpilogue::Activation::kRelu) {
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    } else if (epilogue.activation == ConvEpilogue::Activation::kClip) {
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, epilogue.clip_min, epilogue.clip_max);
    }
    if (int8_output) {
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.0f / int8_output->scale, 0.f);
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    if (int8) {
      const at::Tensor scales = quantized.scales * int8->scale;
      attr.set_output_scales(1 << 1, std::vector<float>(scales.data_ptr<float>(),
                                                        scales.data_ptr<float>() + oc));
    }
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
    // oneDNN names the kernel it chose ("jit:avx2", "brg:avx512_core", "ref:any").
    if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) return nullptr;
    state->implementation = pd.impl_info_str();

    state->stream = dnnl::stream(engine);
    // The weights, once, into the layout (and type) the kernel chose.
    memory user_weights({wdims, int8 ? Dt::s8 : Dt::f32, wtag}, engine,
                        int8 ? quantized.values.data_ptr() : weight.data_ptr());
    state->weights = memory(pd.weights_desc(), engine);
    dnnl::reorder(user_weights, state->weights)
        .execute(state->stream, user_weights, state->weights);
    state->stream.wait();
    state->bias = memory(bias_md, engine, state->bias_values.data_ptr());
    if (int8) {
      state->float_src = memory({Dims(g.input), Dt::f32, Tag::nhwc}, engine, DNNL_MEMORY_NONE);
      dnnl::primitive_attr scale;
      scale.set_output_scales(0, {1.0f / int8->scale});
      state->quantize = dnnl::reorder(
          dnnl::reorder::primitive_desc(engine, state->float_src.get_desc(), engine, src_md, scale));
    }
    state->src = memory(src_md, engine, DNNL_MEMORY_NONE);
    state->dst = memory(dst_md, engine, DNNL_MEMORY_NONE);
    state->primitive = dnnl::convolution_forward(pd);

    state->args = {{DNNL_ARG_SRC, state->src},
                   {DNNL_ARG_WEIGHTS, state->weights},
                   {DNNL_ARG_BIAS, state->bias},
                   {DNNL_ARG_DST, state->dst}};
    if (epilogue.add) {
      state->addend = memory(dst_md, engine, DNNL_MEMORY_NONE);
      state->args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = state->addend;
    }
  } catch (const dnnl::error&) {
    return nullptr;  // no oneDNN kernel for this case
  }
  return std::unique_ptr<DnnlConv>(new DnnlConv(std::move(state)));
}

const std::string& DnnlConv::implementation() const { return state_->implementation; }

at::Tensor DnnlConv::Run(const at::Tensor& x, const at::Tensor& addend) const {
  State& s = *state_;
  const auto cl = at::MemoryFormat::ChannelsLast;
  const at::ScalarType quantized =
      s.int8 ? (s.int8->is_unsigned ? at::kByte : at::kChar) : at::ScalarType::Undefined;
  const bool handed_over = s.int8 && x.scalar_type() == quantized;  // Note [Int8 chains]
  if (x.sizes() != at::IntArrayRef(s.geometry.input) ||
      !(at::isFloatingType(x.scalar_type()) || handed_over)) {
    RunError(fmt::format("a {} input of shape {} for a convolution compiled for {}",
                         at::toString(x.scalar_type()), Join(SizesOf(x)), Join(s.geometry.input)));
  }
  at::Tensor src = handed_over ? x.contiguous(cl) : As(x.contiguous(cl), s.compute);
  if (s.int8 && !handed_over) {  // Note [Int8 convolutions]
    const at::Tensor real = src;
    src = at::empty(s.geometry.input,
                    x.options().dtype(s.int8->is_unsigned ? at::kByte : at::kChar).memory_format(cl));
    s.float_src.set_data_handle(real.data_ptr());
    s.src.set_data_handle(src.data_ptr());
    s.quantize.execute(s.stream, s.float_src, s.src);
  }
  at::Tensor dst = at::empty(s.geometry.output, x.options().dtype(s.output).memory_format(cl));
  s.src.set_data_handle(src.data_ptr());
  s.dst.set_data_handle(dst.data_ptr());
  at::Tensor other;
  if (s.add) {
    if (addend.sizes() != dst.sizes() || !at::isFloatingType(addend.scalar_type())) {
      RunError(fmt::format("a residual of shape {} for a convolution output of shape {}",
                           Join(SizesOf(addend)), Join(s.geometry.output)));
    }
    other = As(addend.contiguous(cl), s.compute);
    s.addend.set_data_handle(other.data_ptr());
  }
  s.primitive.execute(s.stream, s.args);
  s.stream.wait();
  return dst;
}

}  // namespace plaster::engine::torch_engine
