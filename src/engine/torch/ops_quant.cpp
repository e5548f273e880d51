// Quantization ops of the torch engine: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv.
//
// Note [Exact quantized arithmetic]: these kernels reproduce ONNX's reference
// (onnx/reference/ops/op_*.py) bit for bit rather than fast; a later pass may map them onto
// oneDNN's int8 kernels. The rules that make them exact:
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

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_window.h"

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

Kernel BuildMatMulInteger(const NodeView& n) {
  CheckType(n, 0, "A", {at::kByte, at::kChar});
  CheckType(n, 1, "B", {at::kByte, at::kChar});
  return [](const Tensors& in) {
    const at::Tensor none;
    return Tensors{ToInt32(
        ExactMatMul(in.at(0), Given(in, 2) ? in[2] : none, in.at(1), Given(in, 3) ? in[3] : none))};
  };
}

Kernel BuildQLinearMatMul(const NodeView& n) {
  CheckType(n, 0, "a", {at::kByte, at::kChar});
  CheckType(n, 3, "b", {at::kByte, at::kChar});
  CheckType(n, 7, "y's zero point", {at::kByte, at::kChar});
  return [](const Tensors& in) {
    const at::Tensor none;
    const at::Tensor& a = in.at(0);
    const at::Tensor& b = in.at(3);
    const at::Tensor acc =
        ExactMatMul(a, Given(in, 2) ? in[2] : none, b, Given(in, 5) ? in[5] : none);
    // y's parameters are per tensor or per row of the product, like a's.
    const at::Tensor ratio = ScaleRatio(MatMulParam(in.at(1), a, true, "a scale of a"),
                                        MatMulParam(in.at(4), b, false, "a scale of b"),
                                        MatMulParam(in.at(6), acc, true, "a scale of y"));
    const at::Tensor y_zero_point =
        Given(in, 7) ? MatMulParam(in[7], acc, true, "a zero point of y") : none;
    return Tensors{
        Requantize(acc, ratio, y_zero_point, Given(in, 7) ? in[7].scalar_type() : a.scalar_type())};
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

Kernel BuildConvInteger(const NodeView& n) {
  const ConvAttrs a = ReadConvAttrs(n);
  CheckType(n, 0, "x", {at::kByte, at::kChar});
  CheckType(n, 1, "w", {at::kByte, at::kChar});
  return [a](const Tensors& in) {
    const at::Tensor none;
    return Tensors{ToInt32(ExactQuantizedConv(in.at(0), Given(in, 2) ? in[2] : none, in.at(1),
                                              Given(in, 3) ? in[3] : none, a))};
  };
}

Kernel BuildQLinearConv(const NodeView& n) {
  const ConvAttrs a = ReadConvAttrs(n);
  CheckType(n, 0, "x", {at::kByte, at::kChar});
  CheckType(n, 3, "w", {at::kByte, at::kChar});
  CheckType(n, 7, "y's zero point", {at::kByte, at::kChar});
  CheckType(n, 8, "the bias", {at::kInt});
  return [a](const Tensors& in) {
    const at::Tensor none;
    const at::Tensor& x = in.at(0);
    const at::Tensor& w = in.at(3);
    at::Tensor acc =
        ExactQuantizedConv(x, Given(in, 2) ? in[2] : none, w, Given(in, 5) ? in[5] : none, a);
    const int64_t channels = w.size(0);
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
