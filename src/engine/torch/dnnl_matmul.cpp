// Note [Direct oneDNN matrix products]: a float MatMul or Gemm with a constant right-hand side
// (every Linear layer an exporter writes) went to at::matmul, that is to OpenBLAS's sgemm, which
// copies ("packs") both operands into its own blocked layout on every call: for a BERT-like
// encoder at batch 1 that is 85 M weights repacked per inference, and OpenBLAS's own thread pool
// beside OpenMP's forces the passive OpenMP wait policy that slows every other parallel region
// (Note [Threads] in torch_engine.cpp). Here the product runs through oneDNN's matmul:
// - the weights are reordered once, into the layout the chosen kernel wants (format `any`);
// - the bias, a residual Add and a Relu or the exporters' erf GELU become the kernel's
//   epilogue (bias, binary add and eltwise post-ops), so the output is written once;
// - a kernel is made per row count (x's leading axes flattened) on its first use and kept: a
//   session is bound to one shape, so in practice there is one.
// A MatMul of two computed tensors (attention's Q·Kᵀ and P·V) runs through oneDNN too
// (DnnlBatchMatMul), reading a transposed view through its strides instead of copying it: on
// one OpenBLAS thread it ran at 66 GFLOP/s in a BERT-like encoder.
// oneDNN runs on the same OpenMP threads as ATen (libdnnl2 is built with the OpenMP runtime).
//
// Note [Int8 matrix products]: in an int8 session a product with constant weights runs on
// oneDNN's int8 matmul. The weights are int8, symmetric per column (s_w[n] = max |W[:, n]| / 127).
// The input is quantized on entry to u8 with a zero point, q = round(x / s_x) + z, by ATen's
// quantize_per_tensor: in a calibrated range (static; a signed range gets z = 128), or in the
// range of this run's x (dynamic, as ONNX Runtime's dynamic quantization does; the calibration
// data is not needed). oneDNN 2.x adds the bias in the int32 accumulator's units, so it is
// divided by the output scale s_x·s_w[n]. Static products fix their scales when the kernel is
// made, and their input is u8 (a range that stays non-negative) or s8 without a zero point:
// oneDNN then runs its brgemm kernel (`brg:avx512_core_vnni`, 790 GOP/s for 128×768×3072 on 2
// Zen 4 cores). Dynamic products pass the scales and zero point at run time (recomputed per
// run, N floats), which oneDNN 2.6 runs only with its `gemm:jit` kernel (515 GOP/s there).
// The output is float32, the epilogue applied to it in real units.

#include "engine/torch/dnnl_matmul.h"

#include <fmt/format.h>

#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "engine/torch/dnnl_util.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

std::string MatMulEpilogue::Describe() const {
  std::vector<std::string> parts;
  if (bias && bias_from_add) parts.push_back("Add");
  if (add) parts.push_back("Add");
  if (activation == Activation::kRelu) parts.push_back("Relu");
  if (activation == Activation::kGeluErf) parts.push_back("GELU");
  return fmt::format("{}", fmt::join(parts, " + "));
}

namespace {

struct RowKernel {
  int64_t rows = 0;
  dnnl::matmul primitive;
  memory src, dst, addend;
  std::unordered_map<int, memory> args;
  std::string implementation;
};

}  // namespace

struct DnnlMatMul::State {
  at::Tensor weight;  // float32 [K, N], contiguous: the source of every packing
  at::Tensor bias;    // float32 [1, N], contiguous, or undefined
  MatMulEpilogue epilogue;
  at::ScalarType compute = at::kFloat;
  std::optional<MatMulInt8> int8;
  at::Tensor int8_weight;     // int8 [K, N]
  at::Tensor weight_scales;   // float32 [N]
  at::Tensor output_scales;   // float32 [N], per run: s_x · s_w
  at::Tensor scaled_bias;     // float32 [1, N], per run: bias / output_scales (or zeros)
  int32_t zero_point = 0;     // per run
  bool fixed = false;         // static: scales fixed in the kernel, no zero point
  memory scales_memory, zero_point_memory;
  int64_t k = 0, n = 0;
  std::vector<RowKernel> kernels;
  std::vector<memory> packed;  // the weights in each layout a kernel asked for
  dnnl::stream stream;

  const RowKernel& For(int64_t rows) {
    for (const RowKernel& r : kernels) {
      if (r.rows == rows) return r;
    }
    dnnl::engine& engine = DnnlCpuEngine();
    const Dt act = !int8  ? DnnlType(compute)
                   : fixed ? (int8->input->is_unsigned ? Dt::u8 : Dt::s8)
                           : Dt::u8;
    const Dt out = int8 ? Dt::f32 : DnnlType(compute);
    const memory::desc src_md({rows, k}, act, Tag::ab);
    const memory::desc dst_md({rows, n}, out, Tag::ab);
    const memory::desc any_weights({k, n}, int8 ? Dt::s8 : act, Tag::any);
    dnnl::post_ops ops;
    if (epilogue.add) ops.append_binary(dnnl::algorithm::binary_add, dst_md);
    if (epilogue.activation == MatMulEpilogue::Activation::kRelu) {
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    } else if (epilogue.activation == MatMulEpilogue::Activation::kGeluErf) {
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    if (fixed) {  // Note [Int8 matrix products]
      const float* scales = output_scales.data_ptr<float>();
      attr.set_output_scales(1 << 1, std::vector<float>(scales, scales + n));
    } else if (int8) {
      attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
      attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    }
    const memory::desc bias_md =
        bias.defined() || int8 ? memory::desc({1, n}, Dt::f32, Tag::ab) : memory::desc();
    const dnnl::matmul::desc desc(src_md, any_weights, bias_md, dst_md);
    const dnnl::matmul::primitive_desc pd(desc, attr, engine);
    RowKernel r;
    r.rows = rows;
    r.implementation = pd.impl_info_str();
    r.primitive = dnnl::matmul(pd);
    memory* weights = nullptr;
    for (memory& p : packed) {
      if (p.get_desc() == pd.weights_desc()) weights = &p;
    }
    if (weights == nullptr) {
      memory source({{k, n}, int8 ? Dt::s8 : Dt::f32, Tag::ab}, engine,
                    int8 ? int8_weight.data_ptr() : weight.data_ptr());
      packed.emplace_back(pd.weights_desc(), engine);
      dnnl::reorder(source, packed.back()).execute(stream, source, packed.back());
      stream.wait();
      weights = &packed.back();
    }
    r.src = memory(src_md, engine, DNNL_MEMORY_NONE);
    r.dst = memory(dst_md, engine, DNNL_MEMORY_NONE);
    r.args = {{DNNL_ARG_SRC, r.src}, {DNNL_ARG_WEIGHTS, *weights}, {DNNL_ARG_DST, r.dst}};
    if (int8) {
      r.args[DNNL_ARG_BIAS] = memory(bias_md, engine, scaled_bias.data_ptr());
      if (!fixed) {
        r.args[DNNL_ARG_ATTR_OUTPUT_SCALES] = scales_memory;
        r.args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zero_point_memory;
      }
    } else if (bias.defined()) {
      r.args[DNNL_ARG_BIAS] = memory(bias_md, engine, bias.data_ptr());
    }
    if (epilogue.add) {
      r.addend = memory(dst_md, engine, DNNL_MEMORY_NONE);
      r.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = r.addend;
    }
    kernels.push_back(std::move(r));
    return kernels.back();
  }
};

DnnlMatMul::DnnlMatMul(const at::Tensor& weight, MatMulEpilogue epilogue, at::ScalarType compute,
                       std::optional<MatMulInt8> int8)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.compute = int8 ? at::kFloat : compute;
  s.weight = weight.to(at::kFloat).contiguous();
  s.k = s.weight.size(0);
  s.n = s.weight.size(1);
  if (epilogue.bias) s.bias = epilogue.bias->to(at::kFloat).reshape({1, s.n}).contiguous();
  s.epilogue = std::move(epilogue);
  s.stream = dnnl::stream(DnnlCpuEngine());
  if (int8) {
    s.int8 = int8;
    Int8Weights q = QuantizeWeights(s.weight, 1);
    s.int8_weight = q.values;
    s.weight_scales = q.scales;
    s.output_scales = at::ones({s.n});
    s.scaled_bias = at::zeros({1, s.n});
    dnnl::engine& engine = DnnlCpuEngine();
    s.scales_memory = memory({{s.n}, Dt::f32, Tag::x}, engine, s.output_scales.data_ptr());
    s.zero_point_memory = memory({{1}, Dt::s32, Tag::x}, engine, &s.zero_point);
    if (s.int8->input) {  // static: the scales and the bias's units are known now
      s.fixed = true;
      at::mul_out(s.output_scales, s.weight_scales, s.int8->input->scale);
      if (s.bias.defined()) at::div_out(s.scaled_bias, s.bias, s.output_scales);
    }
  }
}

DnnlMatMul::~DnnlMatMul() = default;

std::string DnnlMatMul::Implementation(int64_t rows) const {
  return state_->For(rows).implementation;
}

at::Tensor DnnlMatMul::Run(const at::Tensor& x, const at::Tensor& addend) const {
  State& s = *state_;
  if (x.dim() < 2 || x.size(-1) != s.k || !at::isFloatingType(x.scalar_type())) {
    RunError(fmt::format("a {} input of shape {} for a matrix product with weights [{}, {}]",
                         at::toString(x.scalar_type()), Join(SizesOf(x)), s.k, s.n));
  }
  at::Tensor src = As(x, s.compute).contiguous();
  if (s.int8) {  // Note [Int8 matrix products]
    at::Tensor q;
    if (s.fixed) {
      const Int8Range& range = *s.int8->input;
      q = at::quantize_per_tensor(src, range.scale, 0,
                                  range.is_unsigned ? at::kQUInt8 : at::kQInt8);
    } else {
      q = at::quantize_per_tensor_dynamic(src, at::kQUInt8, /*reduce_range=*/false);
      s.zero_point = static_cast<int32_t>(q.q_zero_point());
      at::mul_out(s.output_scales, s.weight_scales, static_cast<float>(q.q_scale()));
      if (s.bias.defined()) at::div_out(s.scaled_bias, s.bias, s.output_scales);
    }
    // The quantized tensor's bytes are the u8/s8 values oneDNN reads.
    const bool is_unsigned = q.scalar_type() == at::kQUInt8;
    src = at::from_blob(q.data_ptr(), q.sizes(), [q](void*) {},
                        at::TensorOptions(is_unsigned ? at::kByte : at::kChar));
  }
  const int64_t rows = src.numel() / s.k;
  std::vector<int64_t> shape = SizesOf(x);
  shape.back() = s.n;
  at::Tensor dst = at::empty(shape, x.options().dtype(s.compute));
  const RowKernel& r = s.For(rows);
  r.src.set_data_handle(src.data_ptr());
  r.dst.set_data_handle(dst.data_ptr());
  at::Tensor other;
  if (s.epilogue.add) {
    if (addend.sizes() != dst.sizes() || !at::isFloatingType(addend.scalar_type())) {
      RunError(fmt::format("a residual of shape {} for a matrix product's output of shape {}",
                           Join(SizesOf(addend)), Join(shape)));
    }
    other = As(addend, s.compute).contiguous();
    r.addend.set_data_handle(other.data_ptr());
  }
  r.primitive.execute(s.stream, r.args);
  s.stream.wait();
  return dst;
}

namespace {

struct BatchKernel {
  bool dnnl = false;  // false: at::matmul (no oneDNN kernel for this case)
  dnnl::matmul primitive;
  memory a, b, dst;
  std::vector<int64_t> out;  // the product's shape
};

memory::desc Strided(const at::Tensor& t) {
  return memory::desc(memory::dims(t.sizes().begin(), t.sizes().end()), DnnlType(t.scalar_type()),
                      memory::dims(t.strides().begin(), t.strides().end()));
}

// Whether oneDNN's matmul reads t as it is: one of its two matrix axes dense, and no axis
// broadcast by a zero stride.
bool Readable(const at::Tensor& t) {
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.stride(d) == 0 && t.size(d) > 1) return false;
  }
  return t.stride(-1) == 1 || t.stride(-2) == 1;
}

// Kernels kept per product at most; a model whose shapes change run after run makes new ones.
constexpr size_t kMaxKernels = 64;

}  // namespace

struct DnnlBatchMatMul::State {
  std::map<std::vector<int64_t>, BatchKernel> kernels;  // by shapes and strides of a and b
  at::ScalarType compute = at::kFloat;
  dnnl::stream stream{DnnlCpuEngine()};
};

DnnlBatchMatMul::DnnlBatchMatMul(at::ScalarType compute) : state_(std::make_unique<State>()) {
  state_->compute = compute;
}
DnnlBatchMatMul::~DnnlBatchMatMul() = default;

at::Tensor DnnlBatchMatMul::Run(const at::Tensor& a1, const at::Tensor& b1) const {
  auto supported = [](at::ScalarType t) { return t == at::kFloat || t == at::kBFloat16; };
  if (!supported(a1.scalar_type()) || !supported(b1.scalar_type()) || a1.dim() < 2 ||
      a1.dim() != b1.dim() || a1.size(-1) != b1.size(-2) || a1.numel() == 0 || b1.numel() == 0) {
    return at::matmul(a1, b1);
  }
  // A bf16 session, or one bfloat16 operand, makes the product bfloat16 (Note [BF16 sessions] in
  // program.cpp).
  const at::ScalarType type = state_->compute == at::kBFloat16 ||
                                      a1.scalar_type() == at::kBFloat16 ||
                                      b1.scalar_type() == at::kBFloat16
                                  ? at::kBFloat16
                                  : at::kFloat;
  const at::Tensor a0 = As(a1, type), b0 = As(b1, type);
  const at::Tensor a = Readable(a0) ? a0 : a0.contiguous();
  const at::Tensor b = Readable(b0) ? b0 : b0.contiguous();
  std::vector<int64_t> key;
  for (const at::Tensor* t : {&a, &b}) {
    key.insert(key.end(), t->sizes().begin(), t->sizes().end());
    key.insert(key.end(), t->strides().begin(), t->strides().end());
  }
  key.push_back(static_cast<int64_t>(type));
  State& s = *state_;
  auto it = s.kernels.find(key);
  if (it == s.kernels.end()) {
    if (s.kernels.size() >= kMaxKernels) s.kernels.clear();
    BatchKernel k;
    k.out = SizesOf(a);
    k.out.back() = b.size(-1);
    bool batches_agree = true;
    for (int64_t d = 0; d + 2 < a.dim(); ++d) {
      const int64_t x = a.size(d), y = b.size(d);
      batches_agree = batches_agree && (x == y || x == 1 || y == 1);
      k.out[static_cast<size_t>(d)] = std::max(x, y);
    }
    if (batches_agree) {
      try {
        dnnl::engine& engine = DnnlCpuEngine();
        std::vector<int64_t> strides(k.out.size(), 1);
        for (size_t d = k.out.size() - 1; d > 0; --d) strides[d - 1] = strides[d] * k.out[d];
        const memory::desc out_md(memory::dims(k.out.begin(), k.out.end()), DnnlType(type),
                                  memory::dims(strides.begin(), strides.end()));
        const dnnl::matmul::desc desc(Strided(a), Strided(b), out_md);
        const dnnl::matmul::primitive_desc pd(desc, engine);
        if (std::string(pd.impl_info_str()).rfind("ref", 0) != 0) {
          k.dnnl = true;
          k.primitive = dnnl::matmul(pd);
          k.a = memory(Strided(a), engine, DNNL_MEMORY_NONE);
          k.b = memory(Strided(b), engine, DNNL_MEMORY_NONE);
          k.dst = memory(out_md, engine, DNNL_MEMORY_NONE);
        }
      } catch (const dnnl::error&) {
        k.dnnl = false;
      }
    }
    it = s.kernels.emplace(std::move(key), std::move(k)).first;
  }
  const BatchKernel& k = it->second;
  if (!k.dnnl) return at::matmul(a0, b0);
  at::Tensor dst = at::empty(k.out, a.options());
  k.a.set_data_handle(a.data_ptr());
  k.b.set_data_handle(b.data_ptr());
  k.dst.set_data_handle(dst.data_ptr());
  k.primitive.execute(s.stream,
                      {{DNNL_ARG_SRC, k.a}, {DNNL_ARG_WEIGHTS, k.b}, {DNNL_ARG_DST, k.dst}});
  s.stream.wait();
  return dst;
}

}  // namespace plaster::engine::torch_engine
