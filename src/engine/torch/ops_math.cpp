// Elementwise arithmetic, comparison and logic; matrix products; reductions.
//
// ONNX ops of this family take inputs of one type and give that type back (comparisons give bool),
// while ATen promotes (int32 sums to int64, int ** float to float...). Kernels therefore cast their
// result back to the type ONNX states wherever ATen would promote.

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {
namespace {

using BinaryFn = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;

bool IsIntegral(at::ScalarType t) { return at::isIntegralType(t, /*includeBool=*/true); }

// ---------------------------------------------------------------------------------------------
// Elementwise

Builder Unary(UnaryFn f, bool widen) {
  return [f = std::move(f), widen](const NodeView&) -> Kernel {
    return [f, widen](const Tensors& in) -> Tensors {
      const at::Tensor& x = in[0];
      if (widen && IsNarrowFloat(x.scalar_type())) return {f(x.to(at::kFloat)).to(x.scalar_type())};
      return {f(x)};
    };
  };
}

// Before opset 7, binary ops broadcast only with `broadcast` set, and then B's dims line up with
// A's from `axis` on (default: A's trailing dims); later opsets broadcast numpy-style, which is
// what ATen does once B has been reshaped to line up.
struct LegacyBroadcast {
  bool on = false;
  bool has_axis = false;
  int64_t axis = 0;

  at::Tensor Fit(const at::Tensor& a, const at::Tensor& b) const {
    if (!on || b.dim() >= a.dim()) return b;
    const int64_t start = has_axis ? RunAxis(axis, a.dim()) : a.dim() - b.dim();
    if (start + b.dim() > a.dim()) {
      throw std::invalid_argument(fmt::format("B of rank {} does not fit A of rank {} at axis {}",
                                              b.dim(), a.dim(), start));
    }
    std::vector<int64_t> shape(static_cast<size_t>(a.dim()), 1);
    for (int64_t k = 0; k < b.dim(); ++k) shape[static_cast<size_t>(start + k)] = b.size(k);
    return b.reshape(shape);
  }
};

LegacyBroadcast ReadLegacyBroadcast(const NodeView& n) {
  LegacyBroadcast l;
  if (n.opset() < 7 && n.Int("broadcast", 0) != 0) {
    l.on = true;
    l.has_axis = n.Has("axis");
    l.axis = n.Int("axis", 0);
  }
  return l;
}

Builder Binary(BinaryFn f) {
  return [f = std::move(f)](const NodeView& n) -> Kernel {
    if (n.InputCount() != 2) n.Fail("takes 2 inputs, the node has {}", n.InputCount());
    const LegacyBroadcast legacy = ReadLegacyBroadcast(n);
    return
        [f, legacy](const Tensors& in) -> Tensors { return {f(in[0], legacy.Fit(in[0], in[1]))}; };
  };
}

at::Tensor Divide(const at::Tensor& a, const at::Tensor& b) {
  // ONNX's integer Div truncates toward zero like C; ATen's true division would give floats.
  if (IsIntegral(a.scalar_type())) return at::div(a, b, "trunc");
  return at::div(a, b);
}

// Pow's result has the base's type; the exponent may be of another type.
at::Tensor Power(const at::Tensor& base, const at::Tensor& exponent) {
  const at::ScalarType t = base.scalar_type();
  if (IsIntegral(t)) {
    // An integer base with a float exponent goes through double, like numpy, then truncates.
    if (at::isFloatingType(exponent.scalar_type())) {
      return at::pow(base.to(at::kDouble), exponent.to(at::kDouble)).to(t);
    }
    return at::pow(base, exponent.to(t));
  }
  if (IsNarrowFloat(t)) return at::pow(base.to(at::kFloat), exponent.to(at::kFloat)).to(t);
  // A single exponent takes ATen's scalar overload, vectorised with fast paths for 2 and 0.5
  // (LayerNorm's x^2 in exported transformers); the tensor overload is ~10× slower.
  if (exponent.numel() == 1 && exponent.dim() <= base.dim()) {
    return at::pow(base, exponent.to(t).item());
  }
  return at::pow(base, exponent.to(t));
}

Builder ModBuilder() {
  return [](const NodeView& n) -> Kernel {
    const bool fmod = n.Int("fmod", 0) != 0;
    return [fmod](const Tensors& in) -> Tensors {
      // fmod=1 is C's fmod (sign of the dividend); fmod=0 takes the divisor's sign, like Python.
      return {fmod ? at::fmod(in[0], in[1]) : at::remainder(in[0], in[1])};
    };
  };
}

Builder BitShiftBuilder() {
  return [](const NodeView& n) -> Kernel {
    const std::string direction = n.String("direction", "");
    if (direction != "LEFT" && direction != "RIGHT") {
      n.Fail("direction must be LEFT or RIGHT, not '{}'", direction);
    }
    const bool left = direction == "LEFT";
    return [left](const Tensors& in) -> Tensors {
      return {left ? at::bitwise_left_shift(in[0], in[1]) : at::bitwise_right_shift(in[0], in[1])};
    };
  };
}

// Max, Min, Sum, Mean: any number of inputs, broadcast together.
Builder Variadic(BinaryFn f, bool mean) {
  return [f = std::move(f), mean](const NodeView& n) -> Kernel {
    if (n.InputCount() == 0) n.Fail("needs at least one input");
    return [f, mean](const Tensors& in) -> Tensors {
      at::Tensor acc = in[0];
      for (size_t i = 1; i < in.size(); ++i) acc = f(acc, in[i]);
      if (mean && in.size() > 1) acc = acc / static_cast<double>(in.size());
      return {acc};
    };
  };
}

at::Tensor Sign(const at::Tensor& x) {
  // ATen's sign maps NaN to 0; ONNX (numpy) keeps NaN.
  if (at::isFloatingType(x.scalar_type())) return at::where(at::isnan(x), x, at::sign(x));
  return at::sign(x);
}

Builder IsInfBuilder() {
  return [](const NodeView& n) -> Kernel {
    const bool pos = n.Int("detect_positive", 1) != 0;
    const bool neg = n.Int("detect_negative", 1) != 0;
    return [pos, neg](const Tensors& in) -> Tensors {
      const at::Tensor& x = in[0];
      if (pos && neg) return {at::isinf(x)};
      if (pos) return {at::isposinf(x)};
      if (neg) return {at::isneginf(x)};
      return {at::zeros(x.sizes(), x.options().dtype(at::kBool))};
    };
  };
}

Builder WhereBuilder() {
  return [](const NodeView&) -> Kernel {
    return [](const Tensors& in) -> Tensors { return {at::where(in[0], in[1], in[2])}; };
  };
}

// ---------------------------------------------------------------------------------------------
// Matrix products

Builder MatMulBuilder() {
  return [](const NodeView&) -> Kernel {
    return [](const Tensors& in) -> Tensors {
      const at::ScalarType t = in[0].scalar_type();
      if (IsNarrowFloat(t)) return {at::matmul(Widened(in[0]), Widened(in[1])).to(t)};
      return {at::matmul(in[0], in[1])};
    };
  };
}

Builder GemmBuilder() {
  return [](const NodeView& n) -> Kernel {
    const bool trans_a = n.Int("transA", 0) != 0;
    const bool trans_b = n.Int("transB", 0) != 0;
    const double alpha = n.Float("alpha", 1.0f);
    const double beta = n.Float("beta", 1.0f);
    for (size_t i = 0; i < 2; ++i) {
      const model::Shape& s = n.InputShape(i);
      if (s.rank_known && s.rank() != 2)
        n.Fail("input {} has rank {}; Gemm takes matrices", i, s.rank());
    }
    return [=](const Tensors& in) -> Tensors {
      const at::ScalarType t = in[0].scalar_type();
      const at::Tensor a = trans_a ? Widened(in[0]).t() : Widened(in[0]);
      const at::Tensor b = trans_b ? Widened(in[1]).t() : Widened(in[1]);
      const bool has_c = in.size() > 2 && in[2].defined() && beta != 0.0;
      const at::Tensor c = has_c ? Widened(in[2]) : at::Tensor();
      at::Tensor y;
      if (a.size(0) == 1 && a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat) {
        // One row (a classifier at batch 1): OpenBLAS 0.3.21 runs sgemm with M = 1 about 6×
        // slower than the matrix-vector product (ResNet-50's classifier: 1.17 against 0.19 ms).
        const int64_t cols = b.size(1);
        const at::Tensor cv =
            has_c ? c.expand({1, cols}).reshape({cols}) : at::empty({cols}, a.options());
        y = at::addmv(cv, b.t(), a[0], has_c ? beta : 0.0, alpha).unsqueeze(0);
      } else if (has_c && at::isFloatingType(a.scalar_type())) {
        y = at::addmm(c, a, b, beta, alpha);  // broadcasts C to (M, N)
      } else {
        y = at::mm(a, b);
        if (alpha != 1.0) y = y * alpha;
        if (has_c) y = y + (beta == 1.0 ? c : c * beta);
      }
      return {y.to(t)};
    };
  };
}

Builder EinsumBuilder() {
  return [](const NodeView& n) -> Kernel {
    std::string equation;
    for (char ch : n.String("equation", "")) {
      if (ch == ' ') continue;
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '.' ||
                      ch == ',' || ch == '-' || ch == '>';
      if (!ok) n.Fail("equation has the character '{}', which Einsum does not define", ch);
      equation.push_back(ch);
    }
    if (equation.empty()) n.Fail("the equation attribute is missing or empty");
    return [equation](const Tensors& in) -> Tensors {
      const at::ScalarType t = in[0].scalar_type();
      if (!IsNarrowFloat(t)) return {at::einsum(equation, in)};
      Tensors wide;
      for (const auto& x : in) wide.push_back(Widened(x));
      return {at::einsum(equation, wide).to(t)};
    };
  };
}

// ---------------------------------------------------------------------------------------------
// Reductions

enum class Reduction { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// The dims to reduce, normalised, unique and ascending; all of them when axes is empty.
std::vector<int64_t> ReduceDims(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> dims;
  if (axes.empty()) {
    dims.resize(static_cast<size_t>(rank));
    std::iota(dims.begin(), dims.end(), 0);
    return dims;
  }
  for (int64_t a : axes) dims.push_back(RunAxis(a, rank));
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  return dims;
}

at::Tensor Reduce(Reduction r, const at::Tensor& input, const std::vector<int64_t>& dims,
                  bool keep) {
  const at::ScalarType t = input.scalar_type();
  const bool integral = IsIntegral(t);
  // Max and Min are exact in any type; the rest of 16-bit floats accumulate in float32.
  const at::Tensor x = r == Reduction::kMax || r == Reduction::kMin ? input : Widened(input);
  // Reductions that go through a logarithm or root compute integers in double, then truncate.
  const at::Tensor xf = integral ? x.to(at::kDouble) : x;
  const at::IntArrayRef d(dims);
  const at::ScalarType xt = x.scalar_type();
  at::Tensor y;
  switch (r) {
    case Reduction::kSum:
      y = at::sum(x, d, keep, xt);
      break;
    case Reduction::kMean: {
      if (!integral) {
        y = at::mean(x, d, keep);
        break;
      }
      int64_t count = 1;
      for (int64_t k : dims) count *= x.size(k);
      y = at::sum(xf, d, keep) / static_cast<double>(count);
      break;
    }
    case Reduction::kMax:
      y = at::amax(x, d, keep);
      break;
    case Reduction::kMin:
      y = at::amin(x, d, keep);
      break;
    case Reduction::kProd: {
      // at::prod takes one dim at a time; keep them all, then drop the reduced ones.
      y = x;
      for (auto it = dims.rbegin(); it != dims.rend(); ++it) y = at::prod(y, *it, true, xt);
      if (!keep && !dims.empty()) {
        std::vector<int64_t> shape;
        for (int64_t k = 0; k < x.dim(); ++k) {
          if (!std::binary_search(dims.begin(), dims.end(), k)) shape.push_back(x.size(k));
        }
        y = y.reshape(shape);
      }
      break;
    }
    case Reduction::kL1:
      y = at::sum(at::abs(x), d, keep, xt);
      break;
    case Reduction::kL2:
      y = at::sqrt(at::sum(xf * xf, d, keep));
      break;
    case Reduction::kLogSum:
      y = at::log(at::sum(xf, d, keep));
      break;
    case Reduction::kLogSumExp:
      y = at::logsumexp(xf, d, keep);
      break;
    case Reduction::kSumSquare:
      y = at::sum(x * x, d, keep, xt);
      break;
  }
  return y.to(t);
}

// axes_input_since: the opset from which axes come as input 1 (with noop_with_empty_axes)
// instead of the `axes` attribute.
Builder ReduceBuilder(Reduction r, int axes_input_since) {
  return [r, axes_input_since](const NodeView& n) -> Kernel {
    const bool keep = n.Int("keepdims", 1) != 0;
    const model::Shape& shape = n.InputShape(0);
    auto check = [&](const std::vector<int64_t>& axes) {
      if (!shape.rank_known) return;
      for (int64_t a : axes) Axis(n, a, static_cast<int64_t>(shape.rank()));
    };
    if (n.opset() < axes_input_since) {
      const std::vector<int64_t> axes = n.Ints("axes");
      check(axes);
      return [r, keep, axes](const Tensors& in) -> Tensors {
        return {Reduce(r, in[0], ReduceDims(axes, in[0].dim()), keep)};
      };
    }
    if (n.Has("axes"))
      n.Fail("the axes attribute was replaced by input 1 at opset {}", axes_input_since);
    const bool noop = n.Int("noop_with_empty_axes", 0) != 0;
    std::optional<std::vector<int64_t>> axes;
    if (!n.HasInput(1)) {
      axes.emplace();
    } else if (n.Constant(1)) {
      axes = n.ConstantInts(1);
    }
    if (axes) check(*axes);
    return [r, keep, noop, axes](const Tensors& in) -> Tensors {
      const std::vector<int64_t> a = axes ? *axes : IntsOf(in[1]);
      if (a.empty() && noop) return {in[0]};
      return {Reduce(r, in[0], ReduceDims(a, in[0].dim()), keep)};
    };
  };
}

Builder ArgBuilder(bool max) {
  return [max](const NodeView& n) -> Kernel {
    const int64_t axis = n.Int("axis", 0);
    const bool keep = n.Int("keepdims", 1) != 0;
    const bool last = n.opset() >= 12 && n.Int("select_last_index", 0) != 0;
    CheckAxis(n, 0, axis);
    return [max, axis, keep, last](const Tensors& in) -> Tensors {
      const at::Tensor& x = in[0];
      const int64_t a = RunAxis(axis, x.dim());
      // ATen returns the first extreme; the last one is the first of the reversed axis.
      const at::Tensor src = last ? x.flip(a) : x;
      at::Tensor index = max ? at::argmax(src, a, keep) : at::argmin(src, a, keep);
      if (last) index = index.neg().add(x.dim() == 0 ? 0 : x.size(a) - 1);
      return {index};
    };
  };
}

}  // namespace

void AddMathOps(std::vector<OpEntry>* t) {
  // Binary arithmetic; opsets before 7 used the legacy `broadcast`/`axis` attributes.
  AddTypeChecked(t, "Add",
                 Binary([](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); }), 1);
  AddTypeChecked(t, "Sub",
                 Binary([](const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); }), 1);
  AddTypeChecked(t, "Mul",
                 Binary([](const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); }), 1);
  AddTypeChecked(t, "Div", Binary(Divide), 1);
  AddTypeChecked(t, "Pow", Binary(Power), 1);
  AddTypeChecked(t, "Mod", ModBuilder(), 10);
  AddTypeChecked(t, "BitShift", BitShiftBuilder(), 11);

  // Variadic.
  AddTypeChecked(
      t, "Max",
      Variadic([](const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b); }, false),
      1);
  AddTypeChecked(
      t, "Min",
      Variadic([](const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b); }, false),
      1);
  AddTypeChecked(
      t, "Sum",
      Variadic([](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); }, false), 1);
  AddTypeChecked(
      t, "Mean",
      Variadic([](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); }, true), 1);

  // Unary; `true` marks float-only functions that 16-bit floats compute in float32.
  auto unary = [t](const char* op, at::Tensor (*f)(const at::Tensor&), bool widen, int since) {
    AddTypeChecked(t, op, Unary(f, widen), since);
  };
  unary("Abs", at::abs, false, 1);
  unary("Neg", at::neg, false, 1);
  unary("Exp", at::exp, true, 1);
  unary("Log", at::log, true, 1);
  unary("Sqrt", at::sqrt, true, 1);
  unary("Reciprocal", at::reciprocal, true, 1);
  unary("Floor", at::floor, true, 1);
  unary("Ceil", at::ceil, true, 1);
  unary("Round", at::round, true, 11);  // ATen rounds half to even, as ONNX asks
  unary("Sign", Sign, false, 9);
  unary("Erf", at::erf, true, 9);
  unary("Sin", at::sin, true, 7);
  unary("Cos", at::cos, true, 7);
  unary("Tan", at::tan, true, 7);
  unary("Asin", at::asin, true, 7);
  unary("Acos", at::acos, true, 7);
  unary("Atan", at::atan, true, 7);
  unary("Sinh", at::sinh, true, 9);
  unary("Cosh", at::cosh, true, 9);
  unary("Asinh", at::asinh, true, 9);
  unary("Acosh", at::acosh, true, 9);
  unary("Atanh", at::atanh, true, 9);
  unary("IsNaN", at::isnan, false, 9);
  unary("Not", at::logical_not, false, 1);
  AddTypeChecked(t, "IsInf", IsInfBuilder(), 10);

  // Comparison and logic (bool results).
  AddTypeChecked(t, "Equal",
                 Binary([](const at::Tensor& a, const at::Tensor& b) { return at::eq(a, b); }), 1);
  AddTypeChecked(t, "Greater",
                 Binary([](const at::Tensor& a, const at::Tensor& b) { return at::gt(a, b); }), 1);
  AddTypeChecked(t, "GreaterOrEqual",
                 Binary([](const at::Tensor& a, const at::Tensor& b) { return at::ge(a, b); }), 12);
  AddTypeChecked(t, "Less",
                 Binary([](const at::Tensor& a, const at::Tensor& b) { return at::lt(a, b); }), 1);
  AddTypeChecked(t, "LessOrEqual",
                 Binary([](const at::Tensor& a, const at::Tensor& b) { return at::le(a, b); }), 12);
  AddTypeChecked(
      t, "And",
      Binary([](const at::Tensor& a, const at::Tensor& b) { return at::logical_and(a, b); }), 1);
  AddTypeChecked(
      t, "Or",
      Binary([](const at::Tensor& a, const at::Tensor& b) { return at::logical_or(a, b); }), 1);
  AddTypeChecked(
      t, "Xor",
      Binary([](const at::Tensor& a, const at::Tensor& b) { return at::logical_xor(a, b); }), 1);
  AddTypeChecked(t, "Where", WhereBuilder(), 9);

  // Matrix products.
  AddTypeChecked(t, "MatMul", MatMulBuilder(), 1);
  AddTypeChecked(t, "Gemm", GemmBuilder(), 1);
  AddTypeChecked(t, "Einsum", EinsumBuilder(), 12);

  // Reductions: axes became an input at opset 13 for ReduceSum and at 18 for the others.
  AddTypeChecked(t, "ReduceSum", ReduceBuilder(Reduction::kSum, 13), 1);
  AddTypeChecked(t, "ReduceMean", ReduceBuilder(Reduction::kMean, 18), 1);
  AddTypeChecked(t, "ReduceMax", ReduceBuilder(Reduction::kMax, 18), 1);
  AddTypeChecked(t, "ReduceMin", ReduceBuilder(Reduction::kMin, 18), 1);
  AddTypeChecked(t, "ReduceProd", ReduceBuilder(Reduction::kProd, 18), 1);
  AddTypeChecked(t, "ReduceL1", ReduceBuilder(Reduction::kL1, 18), 1);
  AddTypeChecked(t, "ReduceL2", ReduceBuilder(Reduction::kL2, 18), 1);
  AddTypeChecked(t, "ReduceLogSum", ReduceBuilder(Reduction::kLogSum, 18), 1);
  AddTypeChecked(t, "ReduceLogSumExp", ReduceBuilder(Reduction::kLogSumExp, 18), 1);
  AddTypeChecked(t, "ReduceSumSquare", ReduceBuilder(Reduction::kSumSquare, 18), 1);
  AddTypeChecked(t, "ArgMax", ArgBuilder(true), 1);
  AddTypeChecked(t, "ArgMin", ArgBuilder(false), 1);
  // Softmax, LogSoftmax and Hardmax live with the activations (ops_norm_activation.cpp).
}

}  // namespace plaster::engine::torch_engine
