#pragma once
/// Helpers shared by the torch engine's ops_*.cpp files; internal to src/engine/torch/.
///
/// Helpers that look alike but behave differently keep apart under names that say how: the
/// three registration helpers (AddPlain, AddHalfViaFloat, AddTypeChecked) and the two 16-bit
/// float treatments (HalfViaFloat: float16 only, around a whole kernel; IsNarrowFloat and
/// Widened: float16 and bfloat16, one tensor at a time).

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/torch/kernel.h"
#include "model/dtype.h"

namespace plaster::engine::torch_engine {

/// Sizes, axes, pads and other int64 lists.
using Ints = std::vector<int64_t>;
/// An elementwise function of one tensor.
using UnaryFn = std::function<at::Tensor(const at::Tensor&)>;

// ---------------------------------------------------------------------------------------------
// Tensors and values

/// The sizes of t, as a list.
inline Ints SizesOf(const at::Tensor& t) { return Ints(t.sizes().begin(), t.sizes().end()); }

/// The values of t (any type, any shape) as int64, in row-major order.
inline Ints IntsOf(const at::Tensor& t) {
  const at::Tensor v = t.to(at::kLong).contiguous();
  return {v.data_ptr<int64_t>(), v.data_ptr<int64_t>() + v.numel()};
}

/// The product of v; 1 when v is empty.
inline int64_t Product(const Ints& v) {
  int64_t p = 1;
  for (int64_t d : v) p *= d;
  return p;
}

/// Whether the run was given input i (an omitted optional input is an undefined tensor).
inline bool Given(const Tensors& in, size_t i) { return i < in.size() && in[i].defined(); }

/// Whether the graph reads output k of the node (an omitted output has id -1).
inline bool OutputWanted(const NodeView& n, size_t k) {
  return k < n.node().outputs.size() && n.node().outputs[k] >= 0;
}

/// t as ATen's optional tensor argument: nullopt when t is undefined.
inline c10::optional<at::Tensor> Optional(const at::Tensor& t) {
  return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt;
}

/// A per-channel parameter p (numel = C) shaped [1, C, 1, ...] to broadcast over a tensor of
/// the given rank laid out (N, C, ...).
inline at::Tensor ChannelView(const at::Tensor& p, int64_t rank) {
  Ints shape(static_cast<size_t>(rank), 1);
  shape[1] = p.numel();
  return p.reshape(shape);
}

/// The spatial axes of an (N, C, ...) tensor: 2 to rank - 1 (none below rank 3).
inline Ints SpatialAxes(const at::Tensor& x) {
  Ints dims;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// ---------------------------------------------------------------------------------------------
// Errors and axes

/// "[1, 2, 3]": sizes or attribute values in messages.
inline std::string Join(at::IntArrayRef v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

/// A problem only the run can see (it depends on the input's shape): std::invalid_argument,
/// which the engine reports under the node's name.
[[noreturn]] inline void RunError(const std::string& what) { throw std::invalid_argument(what); }

/// Normalises a possibly negative axis against rank at run time (the NodeView is gone by then).
/// Out of range, it throws Exception: std::out_of_range unless the caller names another (the
/// conv/pool, norm/activation and resize ops name std::invalid_argument, as RunError throws);
/// the message is the same. ops_tensor.cpp's RunAxisTorchCheck fails with a c10::Error instead.
template <typename Exception = std::out_of_range>
inline int64_t RunAxis(int64_t axis, int64_t rank) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1)) {
    throw Exception(fmt::format("axis {} is out of range for rank {}", axis, rank));
  }
  return a;
}

/// Checks an axis against the rank (plus extra_rank) of input `input` when shape inference
/// knows it, so that a bad model fails at build time; Unsupported when out of range.
inline void CheckAxis(const NodeView& n, size_t input, int64_t axis, int64_t extra_rank = 0) {
  const model::Shape& s = n.InputShape(input);
  if (s.rank_known) Axis(n, axis, static_cast<int64_t>(s.rank()) + extra_rank);
}

// ---------------------------------------------------------------------------------------------
// 16-bit floats: ATen 1.13's CPU kernels lack most of them

/// Whether t is a 16-bit float type (float16 or bfloat16).
inline bool IsNarrowFloat(at::ScalarType t) { return t == at::kHalf || t == at::kBFloat16; }

/// x in float32 when it is a 16-bit float (float16 or bfloat16), else x itself. ATen's CPU
/// kernels lack float16 (and some bfloat16) for most transcendental functions, matmul, prod,
/// cumsum and softmax; computing in float32 and rounding back once is also what a 16-bit kernel
/// accumulating in float32 gives.
inline at::Tensor Widened(const at::Tensor& x) {
  return IsNarrowFloat(x.scalar_type()) ? x.to(at::kFloat) : x;
}

/// Wraps a kernel so that float16 inputs (float16 only; bfloat16 passes through) are widened to
/// float32 and, when the first input was float16, the float32 outputs are rounded back: never
/// less exact than float16 arithmetic (ATen 1.13 has next to no float16 kernels on the CPU, not
/// even relu or clamp). keep_float names outputs whose ONNX type stays float (LayerNormalization's
/// statistics are of its stash type).
inline Kernel HalfViaFloat(Kernel inner, std::vector<size_t> keep_float) {
  return [inner = std::move(inner), keep = std::move(keep_float)](const Tensors& in) {
    bool any_half = false;
    for (const auto& t : in) any_half = any_half || (t.defined() && t.scalar_type() == at::kHalf);
    if (!any_half) return inner(in);
    Tensors wide;
    wide.reserve(in.size());
    for (const auto& t : in) {
      wide.push_back(t.defined() && t.scalar_type() == at::kHalf ? t.to(at::kFloat) : t);
    }
    Tensors out = inner(wide);
    if (in.empty() || !in[0].defined() || in[0].scalar_type() != at::kHalf) return out;
    for (size_t k = 0; k < out.size(); ++k) {
      if (std::find(keep.begin(), keep.end(), k) != keep.end()) continue;
      if (out[k].defined() && out[k].scalar_type() == at::kFloat) out[k] = out[k].to(at::kHalf);
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Registration

/// Refuses, at build time, a node with an input or output whose stated type has no ATen
/// counterpart, naming the type instead of failing on the first run.
inline void RequireAtenTypes(const NodeView& n) {
  auto check = [&](int32_t dtype, const char* what, size_t i) {
    if (dtype == 0) return;
    try {
      ScalarTypeOf(dtype);
    } catch (const Unsupported&) {
      n.Fail("{} {} is {}, a type ATen has no tensors of", what, i, model::DtypeName(dtype));
    }
  };
  for (size_t i = 0; i < n.InputCount(); ++i) check(n.InputDtype(i), "input", i);
  for (size_t i = 0; i < n.OutputCount(); ++i) check(n.OutputDtype(i), "output", i);
}

/// Registers op for opsets [since, until] with its builder as it is: for ops that run any dtype
/// natively (layout ops move elements without arithmetic).
inline void AddPlain(std::vector<OpEntry>* table, const char* op, Builder build, int since = 1,
                     int until = 1000) {
  table->push_back({op, std::move(build), since, until});
}

/// Registers op for opsets [since, until] with its kernels wrapped in HalfViaFloat (keep_float:
/// the outputs that stay float32).
inline void AddHalfViaFloat(std::vector<OpEntry>* table, const char* op, Builder build,
                            int since = 1, int until = 1000, std::vector<size_t> keep_float = {}) {
  table->push_back({op,
                    [b = std::move(build), keep = std::move(keep_float)](const NodeView& n) {
                      return HalfViaFloat(b(n), keep);
                    },
                    since, until});
}

/// Registers op for opsets [since, until] with RequireAtenTypes run before its builder.
inline void AddTypeChecked(std::vector<OpEntry>* table, const char* op, Builder build, int since,
                           int until = 1000) {
  table->push_back({op,
                    [build = std::move(build)](const NodeView& n) {
                      RequireAtenTypes(n);
                      return build(n);
                    },
                    since, until});
}

/// A builder for an elementwise op of one input whose attributes `make` reads once.
inline Builder UnaryOp(std::function<UnaryFn(const NodeView&)> make) {
  return [m = std::move(make)](const NodeView& n) -> Kernel {
    UnaryFn f = m(n);
    return [f](const Tensors& in) { return Tensors{f(in.at(0))}; };
  };
}

}  // namespace plaster::engine::torch_engine
