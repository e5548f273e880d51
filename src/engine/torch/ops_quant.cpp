// Quantization ops of the torch engine: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv.
//
// Note [Exact quantized arithmetic]: these kernels reproduce ONNX's reference
// (onnx/reference/ops/op_*.py) bit for bit. Where the weights are constant, the integer sums run
// on oneDNN's int8 kernels (Note [Integer kernels] in dnnl_integer.cpp); elsewhere, in double.
// The rules that make them exact:
//  - Quantizing divides in the input's own float type, rounds half to even (at::round, like
//    np.rint) and saturates to the target type's range.
//  - Integer products and sums are computed in double: operands with their zero points taken
//    off lie within ±255, so every product is below 2^16 and every partial sum of fewer than
//    2^37 of them is an exact integer in double, in any summation order. That equals the
//    reference's int32 accumulation (ATen has no integer convolution on the CPU, and its integer
//    matmul has no BLAS) and lets BLAS and ATen's convolutions do the work.
//  - Requantizing multiplies the int32 accumulator by x_scale·w_scale/y_scale, computed in the
//    scales' type as the reference does, and in double from there on (numpy promotes int32 times
//    float32 to float64), adds the output zero point, rounds half to even and saturates.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/torch/dnnl_integer.h"
#include "engine/torch/kernel.h"
#include "engine/torch/ops_window.h"
#include "engine/torch/program.h"

namespace plaster::engine::torch_engine {
namespace {

// The saturation range of a quantized type.
struct QRange {
  double lo, hi;
};

QRange RangeOf(at::ScalarType type) {
  switch (type) {
    case at::kByte:
      return {0, 255};
    case at::kChar:
      return {-128, 127};
    case at::kShort:
      return {-32768, 32767};
    default:
      RunError(fmt::format("quantized values of type {} (uint8, int8 and int16 are supported)",
                           c10::toString(type)));
  }
}

// The declared type of input i when the model states it, else nullopt.
std::optional<at::ScalarType> DeclaredType(const NodeView& n, size_t i) {
  if (!n.HasInput(i) || n.InputDtype(i) == 0) return std::nullopt;
  return ScalarTypeOf(n.InputDtype(i));  // Unsupported for types ATen lacks (uint16, float8)
}

// Fails unless input i (when present and typed) is one of `allowed`.
void CheckType(const NodeView& n, size_t i, const char* what,
               std::initializer_list<at::ScalarType> allowed) {
  const auto type = DeclaredType(n, i);
  if (!type || std::find(allowed.begin(), allowed.end(), *type) != allowed.end()) return;
  std::string names;
  for (at::ScalarType t : allowed)
    names += std::string(names.empty() ? "" : ", ") + c10::toString(t);
  n.Fail("{} of type {} (supported: {})", what, c10::toString(*type), names);
}

// Rounds half to even and saturates to `type`; NaN becomes the lowest value, as the reference's
// float-to-int32 conversion (INT_MIN on x86) and clip make it.
at::Tensor Saturate(const at::Tensor& v, at::ScalarType type) {
  const QRange r = RangeOf(type);
  return at::clamp(at::nan_to_num(at::round(v), r.lo, r.hi, r.lo), r.lo, r.hi).to(type);
}

// A per-tensor (one value) or per-axis (1-D, along `axis`) scale or zero point, shaped to
// broadcast against a tensor of `sizes`.
at::Tensor AlongAxis(const at::Tensor& p, int64_t axis, at::IntArrayRef sizes, const char* what) {
  if (p.numel() == 1) return p.reshape({});
  const auto rank = static_cast<int64_t>(sizes.size());
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (p.dim() != 1 || a < 0 || a >= rank || p.size(0) != sizes[static_cast<size_t>(a)]) {
    RunError(fmt::format("{} of shape {} for an input of shape {} on axis {}", what,
                         Join(p.sizes()), Join(sizes), axis));
  }
  Ints shape(static_cast<size_t>(rank), 1);
  shape[static_cast<size_t>(a)] = p.size(0);
  return p.reshape(shape);
}

// A matmul operand's zero point or scale: one value; a vector, one per row of A ([M] → [M, 1])
// or per column of B ([N]); or any tensor broadcasting against the operand ([D1, D2, M, 1]).
at::Tensor MatMulParam(const at::Tensor& p, const at::Tensor& operand, bool per_row,
                       const char* what) {
  if (p.numel() == 1) return p.reshape({});
  if (p.dim() != 1) return p;
  const int64_t axis = per_row ? operand.dim() - 2 : operand.dim() - 1;
  if (axis < 0 || p.size(0) != operand.size(axis)) {
    RunError(fmt::format("{} of shape {} for an operand of shape {}", what, Join(p.sizes()),
                         Join(operand.sizes())));
  }
  return per_row ? p.reshape({-1, 1}) : p;
}

// a·b/c as the reference computes it: in the scales' own type. float16 and bfloat16 run in
// float32 rounded back after each step, which is exact: float32 holds their products exactly
// and has the 2p + 2 bits that make a quotient rounded twice equal one rounded once.
at::Tensor ScaleRatio(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
  const at::ScalarType type = a.scalar_type();
  if (type != at::kHalf && type != at::kBFloat16) return a * b / c;
  const at::Tensor ab = (a.to(at::kFloat) * b.to(at::kFloat)).to(type);
  return (ab.to(at::kFloat) / c.to(at::kFloat)).to(type);
}

// Note [Exact quantized arithmetic]: the accumulator times the ratio in double, plus the output
// zero point, rounded and saturated to the output type.
at::Tensor Requantize(const at::Tensor& acc, const at::Tensor& ratio, const at::Tensor& zero_point,
                      at::ScalarType out) {
  at::Tensor r = acc * ratio.to(at::kDouble);
  if (zero_point.defined()) r = r + zero_point.to(at::kDouble);
  return Saturate(r, out);
}

// An operand with its zero point taken off, in double (Note [Exact quantized arithmetic]).
at::Tensor Centered(const at::Tensor& q, const at::Tensor& zero_point) {
  at::Tensor v = q.to(at::kDouble);
  return zero_point.defined() ? v - zero_point.to(at::kDouble) : v;
}

// The reference's int32 result from an exact double one: wraps as int32 arithmetic would.
at::Tensor ToInt32(const at::Tensor& exact) { return exact.to(at::kLong).to(at::kInt); }

void CheckEightBit(const at::Tensor& t, const char* what) {
  if (t.scalar_type() != at::kByte && t.scalar_type() != at::kChar) {
    RunError(fmt::format("{} of type {} (uint8 and int8 are supported)", what,
                         c10::toString(t.scalar_type())));
  }
}

// Note [Integer kernels]: constant 8-bit weights with their zero point taken off, as int8, when
// they fit it and oneDNN's int8 kernels are exact on this CPU; undefined otherwise. `zero_point`
// (when the node has one) must be constant too: per tensor, or one per slice along `axis`.
at::Tensor CenteredWeights(const NodeView& n, size_t weight, size_t zero_point, int64_t axis) {
  static const bool exact = !Int8Hardware().empty();
  const at::Tensor* w = n.Constant(weight);
  if (!exact || !w || (w->scalar_type() != at::kByte && w->scalar_type() != at::kChar) ||
      w->dim() <= axis) {
    return {};
  }
  at::Tensor v = w->to(at::kInt);
  if (n.HasInput(zero_point)) {
    const at::Tensor* z = n.Constant(zero_point);
    if (!z) return {};
    if (z->numel() != 1) {
      if (z->dim() != 1 || z->size(0) != w->size(axis)) return {};  // the exact path says why
      std::vector<int64_t> view(static_cast<size_t>(w->dim()), 1);
      view[static_cast<size_t>(axis)] = z->size(0);
      v = v - z->to(at::kInt).reshape(view);
    } else {
      v = v - z->to(at::kInt).reshape({});
    }
  }
  if (v.min().item<int>() < -128 || v.max().item<int>() > 127) return {};
  return v.to(at::kChar).contiguous();
}

// ---------------------------------------------------------------------------------------------
// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear

Kernel BuildQuantizeLinear(const NodeView& n) {
  if (n.Int("block_size", 0) != 0)
    n.Fail("blocked quantization (block_size {})", n.Int("block_size", 0));
  if (n.Has("precision")) n.Fail("attribute precision (opset 23)");
  CheckType(n, 0, "input", {at::kFloat, at::kInt, at::kHalf, at::kBFloat16});
  CheckType(n, 2, "zero point", {at::kByte, at::kChar, at::kShort});
  at::ScalarType fallback = at::kByte;  // without a zero point, uint8 unless output_dtype says
  if (n.Has("output_dtype")) {
    fallback = ScalarTypeOf(static_cast<int32_t>(n.Int("output_dtype", 0)));
    if (fallback != at::kByte && fallback != at::kChar && fallback != at::kShort) {
      n.Fail("output_dtype {} (uint8, int8 and int16 are supported)", c10::toString(fallback));
    }
    const auto zp = DeclaredType(n, 2);
    if (zp && *zp != fallback) n.Fail("output_dtype differs from the zero point's type");
  }
  const int64_t axis = n.Int("axis", 1);
  return [axis, fallback](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const at::Tensor scale = AlongAxis(in.at(1), axis, x.sizes(), "a scale");
    const at::ScalarType out = Given(in, 2) ? in[2].scalar_type() : fallback;
    at::Tensor q;
    switch (x.scalar_type()) {
      case at::kFloat:
        q = x / scale.to(at::kFloat);
        break;
      // numpy divides int32 by float32 in float64.
      case at::kInt:
        q = x.to(at::kDouble) / scale.to(at::kDouble);
        break;
      // A quotient in float32 rounded to the narrow type is the narrow type's own quotient
      // (ScaleRatio says why).
      case at::kHalf:
      case at::kBFloat16:
        q = (x.to(at::kFloat) / scale.to(at::kFloat)).to(x.scalar_type()).to(at::kFloat);
        break;
      default:
        RunError(
            fmt::format("an input of type {} (float, float16, bfloat16 and int32 are "
                        "supported)",
                        c10::toString(x.scalar_type())));
    }
    // Rounded before the zero point is added, as the reference does; the sum of two integers
    // below 2^24 is exact in float32, and larger ones saturate either way.
    q = at::round(q);
    if (Given(in, 2)) q = q + AlongAxis(in[2], axis, x.sizes(), "a zero point").to(q.scalar_type());
    return Tensors{Saturate(q, out)};
  };
}

Kernel BuildDequantizeLinear(const NodeView& n) {
  if (n.Int("block_size", 0) != 0)
    n.Fail("blocked quantization (block_size {})", n.Int("block_size", 0));
  if (n.Has("output_dtype")) n.Fail("attribute output_dtype (opset 23)");
  CheckType(n, 0, "input", {at::kByte, at::kChar, at::kShort, at::kInt});
  CheckType(n, 1, "scale", {at::kFloat, at::kHalf, at::kBFloat16});
  const int64_t axis = n.Int("axis", 1);
  return [axis](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const at::Tensor scale = AlongAxis(in.at(1), axis, x.sizes(), "a scale");
    // The reference subtracts and multiplies in float32 and rounds to the scale's type.
    at::Tensor y = x.to(at::kFloat);
    if (Given(in, 2)) y = y - AlongAxis(in[2], axis, x.sizes(), "a zero point").to(at::kFloat);
    y = y * scale.to(at::kFloat);
    return Tensors{y.to(scale.scalar_type())};
  };
}

Kernel BuildDynamicQuantizeLinear(const NodeView& n) {
  CheckType(n, 0, "input", {at::kFloat});
  return [](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    if (x.scalar_type() != at::kFloat) {
      RunError(
          fmt::format("an input of type {} (float is supported)", c10::toString(x.scalar_type())));
    }
    if (x.numel() == 0) RunError("an empty input has no range to quantize");
    // The range always holds 0, so that 0 is exact; all in float32 as the reference.
    const at::Tensor lo = at::clamp_max(x.min(), 0.0);
    const at::Tensor hi = at::clamp_min(x.max(), 0.0);
    // An all-zero input would divide by a zero scale; ONNX Runtime takes scale 1 then, which
    // quantizes it to zeros with zero point 0.
    const at::Tensor scale = at::where(hi == lo, at::ones({}, x.options()), (hi - lo) / 255.0);
    const at::Tensor zero_point = Saturate((0.0 - lo) / scale, at::kByte);
    const at::Tensor y = Saturate(at::round(x / scale) + zero_point.to(at::kFloat), at::kByte);
    return Tensors{y, scale, zero_point};
  };
}

// ---------------------------------------------------------------------------------------------
// MatMulInteger, QLinearMatMul

// The exact product of two quantized operands (Note [Exact quantized arithmetic]).
at::Tensor ExactMatMul(const at::Tensor& a, const at::Tensor& a_zero_point, const at::Tensor& b,
                       const at::Tensor& b_zero_point) {
  CheckEightBit(a, "A");
  CheckEightBit(b, "B");
  const at::Tensor za = a_zero_point.defined()
                            ? MatMulParam(a_zero_point, a, true, "a zero point of A")
                            : a_zero_point;
  const at::Tensor zb = b_zero_point.defined()
                            ? MatMulParam(b_zero_point, b, false, "a zero point of B")
                            : b_zero_point;
  return at::matmul(Centered(a, za), Centered(b, zb));
}

// Note [Integer kernels]: the requantizing of an integer sum in one pass, as Requantize computes
// it (the sum exact in int64, times the ratio in double, plus the output zero point, rounded half
// to even, saturated; NaN to the lowest value). `acc` holds rows of `m` values (an NHWC
// convolution's channels, a product's columns); row r takes off x₀ times row (r mod
// corr_rows) of `corr`, then adds the bias.
template <typename Out>
void RequantizeRows(const int32_t* acc, const int32_t* corr, int64_t corr_rows, int64_t x0,
                    const std::vector<int64_t>& bias, const std::vector<double>& ratio, double y0,
                    int64_t rows, int64_t m, Out* out) {
  const double lo = std::numeric_limits<Out>::min();
  const double hi = std::numeric_limits<Out>::max();
  at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int32_t* a = acc + r * m;
      const int32_t* z = corr + (r % corr_rows) * m;
      Out* y = out + r * m;
      for (int64_t c = 0; c < m; ++c) {
        const int64_t v = int64_t{a[c]} - x0 * z[c] + bias[static_cast<size_t>(c)];
        const double q = static_cast<double>(v) * ratio[static_cast<size_t>(c)] + y0;
        // Clamped first (lo and hi are integers, so it commutes with rounding) without branches:
        // saturation is common and unpredictable, and a mispredicted branch per element cost
        // more than the integer sum. maxsd gives its second operand for NaN, so NaN → lo.
        // Then rounded half to even by adding and taking off 1.5·2^52, where a double's unit is
        // 1 (std::rint is a library call without SSE4.1).
#if defined(__SSE2__)
        const double clamped = _mm_cvtsd_f64(
            _mm_min_sd(_mm_max_sd(_mm_set_sd(q), _mm_set_sd(lo)), _mm_set_sd(hi)));
#else
        const double clamped = std::isnan(q) ? lo : std::clamp(q, lo, hi);
#endif
        constexpr double kRound = 6755399441055744.0;
        y[c] = static_cast<Out>((clamped + kRound) - kRound);
      }
    }
  });
}

// A per-tensor or per-`m` parameter as m values of T.
template <typename T>
std::vector<T> Expand(const at::Tensor& p, int64_t m, at::ScalarType as) {
  const at::Tensor v = p.to(as).reshape({-1}).expand({m}).contiguous();
  return std::vector<T>(v.data_ptr<T>(), v.data_ptr<T>() + m);
}

// The requantized output of `acc` (int32, `rows` × `m` in memory) into `out` (u8 or s8, the same
// memory order).
void RequantizeSum(const at::Tensor& acc, const at::Tensor& corr, int64_t corr_rows, int64_t x0,
                const at::Tensor& bias, const at::Tensor& ratio, double y0, int64_t rows,
                int64_t m, at::Tensor& out) {
  const std::vector<int64_t> b =
      bias.defined() ? Expand<int64_t>(bias, m, at::kLong) : std::vector<int64_t>(m, 0);
  const std::vector<double> k = Expand<double>(ratio, m, at::kDouble);
  if (out.scalar_type() == at::kByte) {
    RequantizeRows(acc.data_ptr<int32_t>(), corr.data_ptr<int32_t>(), corr_rows, x0, b, k, y0,
                   rows, m, out.data_ptr<uint8_t>());
  } else {
    RequantizeRows(acc.data_ptr<int32_t>(), corr.data_ptr<int32_t>(), corr_rows, x0, b, k, y0,
                   rows, m, out.data_ptr<int8_t>());
  }
}

// Note [Integer kernels]: A·(B − b₀) − a₀·Σ(B − b₀) on oneDNN, for a constant 2-D B that fits
// int8 with its zero point off; undefined where it does not apply (the caller's exact path).
struct IntegerMatMul {
  std::shared_ptr<DnnlIntegerMatMul> kernel;
  at::Tensor column_sums;  // int32 [1, N]

  static IntegerMatMul For(const NodeView& n, size_t b, size_t b_zero_point) {
    const at::Tensor centered = CenteredWeights(n, b, b_zero_point, 1);
    if (!centered.defined() || centered.dim() != 2) return {};
    // Every sum stays within int32 (Note [Integer kernels]): 255·128·K < 2^31.
    if (centered.size(0) > 65'000) return {};
    n.NameKernel("oneDNN int8 (exact int32 sums)");
    return {std::make_shared<DnnlIntegerMatMul>(centered),
            centered.to(at::kInt).sum(0, true, at::kInt).contiguous()};
  }

  // a·(B − b₀) in int32, [..., M, N], before a's zero point is taken off; undefined when oneDNN
  // has no kernel.
  at::Tensor Sum(const at::Tensor& a) const {
    if (!kernel || a.dim() < 2 || (a.scalar_type() != at::kByte && a.scalar_type() != at::kChar)) {
      return {};
    }
    const at::Tensor acc = kernel->Run(a.reshape({-1, a.size(-1)}));
    if (!acc.defined()) return {};
    std::vector<int64_t> shape = a.sizes().vec();
    shape.back() = acc.size(1);
    return acc.reshape(shape);
  }

  // The sum with a's zero point (per tensor or per row) taken off.
  at::Tensor Centered(const at::Tensor& sum, const at::Tensor& a, const at::Tensor& a_zero_point) const {
    if (!a_zero_point.defined()) return sum;
    const at::Tensor za = MatMulParam(a_zero_point, a, true, "a zero point of A").to(at::kInt);
    return sum - za * column_sums.reshape({-1});
  }
};

Kernel BuildMatMulInteger(const NodeView& n) {
  CheckType(n, 0, "A", {at::kByte, at::kChar});
  CheckType(n, 1, "B", {at::kByte, at::kChar});
  return [fast = IntegerMatMul::For(n, 1, 3)](const Tensors& in) {
    const at::Tensor none;
    const at::Tensor& a = in.at(0);
    const at::Tensor a_zero_point = Given(in, 2) ? in[2] : none;
    if (const at::Tensor sum = fast.Sum(a); sum.defined()) {
      return Tensors{fast.Centered(sum, a, a_zero_point)};
    }
    return Tensors{ToInt32(ExactMatMul(a, a_zero_point, in.at(1), Given(in, 3) ? in[3] : none))};
  };
}

Kernel BuildQLinearMatMul(const NodeView& n) {
  CheckType(n, 0, "a", {at::kByte, at::kChar});
  CheckType(n, 3, "b", {at::kByte, at::kChar});
  CheckType(n, 7, "y's zero point", {at::kByte, at::kChar});
  return [fast = IntegerMatMul::For(n, 3, 5)](const Tensors& in) {
    const at::Tensor none;
    const at::Tensor& a = in.at(0);
    const at::Tensor& b = in.at(3);
    const at::Tensor a_zero_point = Given(in, 2) ? in[2] : none;
    const at::ScalarType out = Given(in, 7) ? in[7].scalar_type() : a.scalar_type();
    const at::Tensor sum = fast.Sum(a);
    const bool per_tensor = in.at(1).numel() == 1 && in.at(6).numel() == 1 &&
                            (!a_zero_point.defined() || a_zero_point.numel() == 1) &&
                            (!Given(in, 7) || in[7].numel() == 1);
    const at::Tensor& b_scale = in.at(4);
    if (sum.defined() && per_tensor &&
        (b_scale.numel() == 1 || (b_scale.dim() == 1 && b_scale.size(0) == sum.size(-1)))) {
      // Note [Integer kernels]: one pass from the int32 sum to the output.
      const int64_t columns = sum.size(-1);
      const at::Tensor ratio = ScaleRatio(in.at(1).reshape({}),
                                          b_scale.numel() == 1 ? b_scale.reshape({}) : b_scale,
                                          in.at(6).reshape({}));
      at::Tensor y = at::empty(sum.sizes(), sum.options().dtype(out));
      RequantizeSum(sum, fast.column_sums, 1,
                    a_zero_point.defined() ? a_zero_point.to(at::kLong).item<int64_t>() : 0,
                    none, ratio, Given(in, 7) ? in[7].to(at::kDouble).item<double>() : 0.0,
                    sum.numel() / columns, columns, y);
      return Tensors{y};
    }
    const at::Tensor acc = sum.defined() ? fast.Centered(sum, a, a_zero_point).to(at::kDouble)
                                         : ExactMatMul(a, a_zero_point, b, Given(in, 5) ? in[5] : none);
    // y's parameters are per tensor or per row of the product, like a's.
    const at::Tensor ratio = ScaleRatio(MatMulParam(in.at(1), a, true, "a scale of a"),
                                        MatMulParam(in.at(4), b, false, "a scale of b"),
                                        MatMulParam(in.at(6), acc, true, "a scale of y"));
    const at::Tensor y_zero_point =
        Given(in, 7) ? MatMulParam(in[7], acc, true, "a zero point of y") : none;
    return Tensors{Requantize(acc, ratio, y_zero_point, out)};
  };
}

// ---------------------------------------------------------------------------------------------
// ConvInteger, QLinearConv

// The quantized convolutions share Conv's window (ops_window.h); `group` is theirs.
struct ConvAttrs {
  Window window;
  int64_t group = 1;
};

ConvAttrs ReadConvAttrs(const NodeView& n) {
  ConvAttrs a{ReadWindow(n, false), n.Int("group", 1)};
  if (a.group < 1) n.Fail("group {} is not positive", a.group);
  return a;
}

// The exact convolution of operands without their zero points, in double (Note [Exact quantized
// arithmetic]); the padding is zero there, which is the zero point before.
at::Tensor ExactConv(const at::Tensor& x, const at::Tensor& w, const ConvAttrs& a) {
  const Ints size = Spatial(x, "a quantized convolution");
  const Ints kernel = KernelOf(a.window, x, w);
  const Geometry g = Resolve(a.window, size, kernel);
  const Ints zeros(size.size(), 0);
  return at::convolution(Pad(x, g.begin, g.end, 0), w, c10::nullopt, g.stride, zeros, g.dilation,
                         false, zeros, a.group);
}

// A weight zero point or scale: one value, or one per output channel ([M] → [M, 1, ...] for
// the weights, [1, M, 1, ...] for the output).
at::Tensor PerChannel(const at::Tensor& p, int64_t channels, int64_t rank, int64_t axis,
                      const char* what) {
  if (p.numel() == 1) return p.reshape({});
  if (p.dim() != 1 || p.size(0) != channels) {
    RunError(fmt::format("{} of shape {} for {} output channels", what, Join(p.sizes()), channels));
  }
  Ints shape(static_cast<size_t>(rank), 1);
  shape[static_cast<size_t>(axis)] = channels;
  return p.reshape(shape);
}

at::Tensor PerTensor(const at::Tensor& p, const char* what) {
  if (p.numel() != 1) {
    RunError(
        fmt::format("{} of shape {} (one value, per tensor, is expected)", what, Join(p.sizes())));
  }
  return p.reshape({});
}

// The exact convolution of quantized x and w with their zero points (either may be undefined).
at::Tensor ExactQuantizedConv(const at::Tensor& x, const at::Tensor& x_zero_point,
                              const at::Tensor& w, const at::Tensor& w_zero_point,
                              const ConvAttrs& a) {
  CheckEightBit(x, "x");
  CheckEightBit(w, "w");
  const at::Tensor zx =
      x_zero_point.defined() ? PerTensor(x_zero_point, "x's zero point") : x_zero_point;
  const at::Tensor zw = w_zero_point.defined()
                            ? PerChannel(w_zero_point, w.size(0), w.dim(), 0, "w's zero point")
                            : w_zero_point;
  return ExactConv(Centered(x, zx), Centered(w, zw), a);
}

// Note [Integer kernels]: conv(x, w − w₀) − x₀·(window sums of w − w₀) on oneDNN, for constant
// 2-D weights that fit int8 with their zero point off; undefined where it does not apply (the
// caller's exact path).
struct IntegerConv {
  std::shared_ptr<DnnlIntegerConv> kernel;

  static IntegerConv For(const NodeView& n, size_t w, size_t w_zero_point, const ConvAttrs& a) {
    const at::Tensor centered = CenteredWeights(n, w, w_zero_point, 0);
    if (!centered.defined() || centered.dim() != 4) return {};
    // Every sum stays within int32 (Note [Integer kernels]): 255·128·K < 2^31.
    if (centered[0].numel() > 65'000) return {};
    const Ints stride = a.window.strides.empty() ? Ints{1, 1} : a.window.strides;
    const Ints dilation = a.window.dilations.empty() ? Ints{1, 1} : a.window.dilations;
    n.NameKernel("oneDNN int8 (exact int32 sums)");
    return {std::make_shared<DnnlIntegerConv>(centered, stride, dilation, a.group)};
  }

  // The raw sum and window sums for quantized x (undefined sum when it does not apply).
  IntegerSum Sum(const at::Tensor& x, const at::Tensor& w, const ConvAttrs& a) const {
    if (!kernel || x.dim() != 4 || (x.scalar_type() != at::kByte && x.scalar_type() != at::kChar)) {
      return {};
    }
    const Geometry g =
        Resolve(a.window, Spatial(x, "a quantized convolution"), KernelOf(a.window, x, w));
    // oneDNN's padding at the end is what the last window reads of it (none when it stops
    // short of the input's end), so that its output size is ONNX's.
    Ints end = g.end;
    for (size_t d = 0; d < end.size(); ++d) {
      if (g.reach[d] > g.end[d]) return {};
      end[d] = std::max<int64_t>(g.reach[d], 0);
    }
    IntegerSum sum = kernel->Run(x, g.begin, end);
    if (sum.sum.defined() && (sum.sum.size(2) != g.out[0] || sum.sum.size(3) != g.out[1])) return {};
    return sum;
  }
};

int64_t ZeroPoint(const at::Tensor& zero_point, const char* what) {
  return zero_point.defined() ? PerTensor(zero_point, what).to(at::kLong).item<int64_t>() : 0;
}

Kernel BuildConvInteger(const NodeView& n) {
  const ConvAttrs a = ReadConvAttrs(n);
  CheckType(n, 0, "x", {at::kByte, at::kChar});
  CheckType(n, 1, "w", {at::kByte, at::kChar});
  return [a, fast = IntegerConv::For(n, 1, 3, a)](const Tensors& in) {
    const at::Tensor none;
    const at::Tensor& x = in.at(0);
    const at::Tensor x_zero_point = Given(in, 2) ? in[2] : none;
    if (const IntegerSum sum = fast.Sum(x, in.at(1), a); sum.sum.defined()) {
      const int64_t x0 = ZeroPoint(x_zero_point, "x's zero point");
      return Tensors{x0 == 0 ? sum.sum : sum.sum - sum.window_sums * x0};
    }
    return Tensors{
        ToInt32(ExactQuantizedConv(x, x_zero_point, in.at(1), Given(in, 3) ? in[3] : none, a))};
  };
}

Kernel BuildQLinearConv(const NodeView& n) {
  const ConvAttrs a = ReadConvAttrs(n);
  CheckType(n, 0, "x", {at::kByte, at::kChar});
  CheckType(n, 3, "w", {at::kByte, at::kChar});
  CheckType(n, 7, "y's zero point", {at::kByte, at::kChar});
  CheckType(n, 8, "the bias", {at::kInt});
  return [a, fast = IntegerConv::For(n, 3, 5, a)](const Tensors& in) {
    const at::Tensor none;
    const at::Tensor& x = in.at(0);
    const at::Tensor& w = in.at(3);
    const int64_t channels = w.size(0);
    const at::Tensor x_zero_point = Given(in, 2) ? in[2] : none;
    const at::ScalarType out = Given(in, 7) ? in[7].scalar_type() : x.scalar_type();
    if (const IntegerSum sum = fast.Sum(x, w, a); sum.sum.defined()) {
      // Note [Integer kernels]: one pass from the int32 sum to the output, channels-last.
      const at::Tensor ratio = ScaleRatio(PerTensor(in.at(1), "x's scale"),
                                          PerChannel(in.at(4), channels, 1, 0, "w's scale"),
                                          PerTensor(in.at(6), "y's scale"));
      at::Tensor y = at::empty(sum.sum.sizes(),
                               sum.sum.options().dtype(out).memory_format(at::MemoryFormat::ChannelsLast));
      const int64_t plane = sum.sum.size(2) * sum.sum.size(3);
      RequantizeSum(sum.sum, sum.window_sums, plane, ZeroPoint(x_zero_point, "x's zero point"),
                    Given(in, 8) ? PerChannel(in[8], channels, 1, 0, "the bias") : none, ratio,
                    Given(in, 7) ? static_cast<double>(ZeroPoint(in[7], "y's zero point")) : 0.0,
                    sum.sum.numel() / channels, channels, y);
      return Tensors{y};
    }
    at::Tensor acc =
        ToInt32(ExactQuantizedConv(x, x_zero_point, w, Given(in, 5) ? in[5] : none, a))
            .to(at::kDouble);
    // The int32 bias joins the accumulator, exactly, before requantizing.
    if (Given(in, 8))
      acc = acc + PerChannel(in[8], channels, acc.dim(), 1, "the bias").to(at::kDouble);
    const at::Tensor ratio = ScaleRatio(PerTensor(in.at(1), "x's scale"),
                                        PerChannel(in.at(4), channels, acc.dim(), 1, "w's scale"),
                                        PerTensor(in.at(6), "y's scale"));
    const at::Tensor y_zero_point = Given(in, 7) ? PerTensor(in[7], "y's zero point") : none;
    return Tensors{
        Requantize(acc, ratio, y_zero_point, Given(in, 7) ? in[7].scalar_type() : x.scalar_type())};
  };
}

}  // namespace

void AddQuantOps(std::vector<OpEntry>* table) {
  table->push_back({"QuantizeLinear", BuildQuantizeLinear, 10});
  table->push_back({"DequantizeLinear", BuildDequantizeLinear, 10});
  table->push_back({"DynamicQuantizeLinear", BuildDynamicQuantizeLinear, 11});
  table->push_back({"MatMulInteger", BuildMatMulInteger, 10});
  table->push_back({"ConvInteger", BuildConvInteger, 10});
  table->push_back({"QLinearMatMul", BuildQLinearMatMul, 10});
  table->push_back({"QLinearConv", BuildQLinearConv, 10});
}

}  // namespace plaster::engine::torch_engine
