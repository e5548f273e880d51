// Neural-network ops of the torch engine: convolution, pooling, normalization, activations, the
// softmax family and resampling (Resize, Upsample, DepthToSpace, SpaceToDepth).
//
// Note [Windows]: Conv, ConvTranspose and the pools share one description of a sliding window
// (kernel, strides, dilations, pads, auto_pad, ceil_mode). auto_pad depends on the input's
// spatial size, so it is resolved per run from the actual input; the attributes are read once.
// ATen pads symmetrically, insists on pads of at most half the kernel and sizes ceil_mode
// outputs by its own rule (the last window must start inside the input), so a pool lets ATen
// pad only where that provably gives ONNX's windows; otherwise it pads explicitly and pools the
// padded tensor.
//
// Note [Resize]: ATen's upsample kernels compute source coordinates in float with their own
// conventions; ONNX defines them (onnx/backend/test/case/node/resize.py, which produced the
// expected outputs) in double, per axis, with edge-clamped neighbours. Resize therefore builds,
// per resized axis, a table of source indices and weights in double exactly as that reference
// does, and applies it with index_select. Only whole-number nearest upsampling, where the table
// is a plain repeat, takes a faster path (expand + reshape), which is exact by construction.

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/torch/kernel.h"

namespace plaster::engine::torch_engine {
namespace {

using Ints = std::vector<int64_t>;

Ints SizesOf(const at::Tensor& t) { return Ints(t.sizes().begin(), t.sizes().end()); }

std::string Join(const Ints& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// A problem only the run can see (it depends on the input's shape); the engine names the node.
[[noreturn]] void RunError(const std::string& what) { throw std::invalid_argument(what); }

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

int64_t Product(const Ints& v) {
  int64_t p = 1;
  for (int64_t d : v) p *= d;
  return p;
}

int64_t RunAxis(int64_t axis, int64_t rank) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1)) {
    RunError(fmt::format("axis {} is out of range for rank {}", axis, rank));
  }
  return a;
}

bool OutputWanted(const NodeView& n, size_t k) {
  return k < n.node().outputs.size() && n.node().outputs[k] >= 0;
}

bool Given(const Tensors& in, size_t i) { return i < in.size() && in[i].defined(); }

// ATen 1.13 has next to no float16 kernels on the CPU (not even relu or clamp), so float16
// inputs are widened to float32 and, when the first input was float16, the floating outputs
// are rounded back: never less exact than float16 arithmetic. keep_float names outputs whose
// ONNX type stays float (LayerNormalization's statistics are of its stash type).
Kernel HalfViaFloat(Kernel inner, std::vector<size_t> keep_float) {
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

void Add(std::vector<OpEntry>* table, const char* op, Builder build, int since = 1,
         int until = 1000, std::vector<size_t> keep_float = {}) {
  table->push_back({op,
                    [b = std::move(build), keep = std::move(keep_float)](const NodeView& n) {
                      return HalfViaFloat(b(n), keep);
                    },
                    since, until});
}

// Layout ops move elements without arithmetic: any dtype runs natively.
void AddPlain(std::vector<OpEntry>* table, const char* op, Builder build, int since = 1,
              int until = 1000) {
  table->push_back({op, std::move(build), since, until});
}

using Unary = std::function<at::Tensor(const at::Tensor&)>;

// An elementwise op of one input whose attributes `make` reads once.
Builder UnaryOp(std::function<Unary(const NodeView&)> make) {
  return [m = std::move(make)](const NodeView& n) -> Kernel {
    Unary f = m(n);
    return [f](const Tensors& in) { return Tensors{f(in.at(0))}; };
  };
}

// ---------------------------------------------------------------------------------------------
// Sliding windows (Note [Windows])

struct Window {
  std::string auto_pad = "NOTSET";
  Ints kernel;                    // empty for Conv/ConvTranspose: the weights' shape rules
  Ints strides, dilations, pads;  // empty: ONNX's defaults (1, 1, 0)
  bool ceil_mode = false;
};

Window ReadWindow(const NodeView& n, bool kernel_required) {
  Window w;
  w.auto_pad = n.String("auto_pad", "NOTSET");
  if (w.auto_pad != "NOTSET" && w.auto_pad != "VALID" && w.auto_pad != "SAME_UPPER" &&
      w.auto_pad != "SAME_LOWER") {
    n.Fail("auto_pad '{}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", w.auto_pad);
  }
  w.kernel = n.Ints("kernel_shape");
  w.strides = n.Ints("strides");
  w.dilations = n.Ints("dilations");
  w.pads = n.Ints("pads");
  w.ceil_mode = n.Int("ceil_mode", 0) != 0;
  if (kernel_required && w.kernel.empty()) n.Fail("attribute kernel_shape is missing");
  const auto& shape = n.InputShape(0);
  int64_t spatial = -1;
  if (!w.kernel.empty()) {
    spatial = static_cast<int64_t>(w.kernel.size());
  } else if (shape.rank_known) {
    spatial = static_cast<int64_t>(shape.rank()) - 2;
  }
  if (spatial == 0 || spatial < -1 || spatial > 3) {
    n.Fail("{} spatial axes are not supported (1 to 3 are)", spatial);
  }
  if (shape.rank_known && spatial > 0 && static_cast<int64_t>(shape.rank()) != spatial + 2) {
    n.Fail("the input has rank {}, kernel_shape {} axes", shape.rank(), spatial);
  }
  auto check = [&](const Ints& v, const char* name, int64_t per, int64_t least) {
    if (!v.empty() && spatial > 0 && static_cast<int64_t>(v.size()) != per * spatial) {
      n.Fail("attribute {} has {} values; {} expected", name, v.size(), per * spatial);
    }
    for (int64_t x : v) {
      if (x < least) n.Fail("attribute {} = {} is not supported", name, Join(v));
    }
  };
  check(w.kernel, "kernel_shape", 1, 1);
  check(w.strides, "strides", 1, 1);
  check(w.dilations, "dilations", 1, 1);
  check(w.pads, "pads", 2, 0);
  return w;
}

struct Geometry {
  Ints kernel, stride, dilation;
  Ints begin, end;  // padding before and after: ONNX's explicit pads or auto_pad's
  Ints out;         // output length
  // How far past the input the windows actually read: (out - 1) * stride + dilated kernel -
  // input - begin. Above `end` under ceil_mode, below it when the last window does not fit.
  Ints reach;
};

Geometry Resolve(const Window& w, const Ints& in, const Ints& kernel) {
  const size_t s = in.size();
  if (kernel.size() != s) {
    RunError(fmt::format("a kernel of {} axes for an input of {} spatial axes", kernel.size(), s));
  }
  auto pick = [&](const Ints& v, size_t i, int64_t fallback, size_t per, const char* name) {
    if (v.empty()) return fallback;
    if (v.size() != per * s) {
      RunError(fmt::format("attribute {} has {} values for {} spatial axes", name, v.size(), s));
    }
    return v[i];
  };
  const bool same = w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER";
  Geometry g;
  for (size_t i = 0; i < s; ++i) {
    const int64_t k = kernel[i];
    const int64_t st = pick(w.strides, i, 1, 1, "strides");
    const int64_t d = pick(w.dilations, i, 1, 1, "dilations");
    const int64_t eff = (k - 1) * d + 1;
    int64_t b = 0, e = 0, o = 0;
    if (same) {
      // As TensorFlow defines SAME: out = ceil(in / stride), the padding split evenly with the
      // odd one at the end (SAME_UPPER) or the beginning (SAME_LOWER), never negative.
      o = CeilDiv(in[i], st);
      const int64_t total = std::max<int64_t>(0, (o - 1) * st + eff - in[i]);
      b = w.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      e = total - b;
    } else {
      if (w.auto_pad == "NOTSET") {
        b = pick(w.pads, i, 0, 2, "pads");
        e = pick(w.pads, i + s, 0, 2, "pads");
      }
      const int64_t span = in[i] + b + e - eff;
      if (span < 0) {
        RunError(fmt::format("the window ({}) is larger than the padded input ({})", eff,
                             in[i] + b + e));
      }
      o = (w.ceil_mode && w.auto_pad == "NOTSET" ? CeilDiv(span, st) : span / st) + 1;
    }
    g.kernel.push_back(k);
    g.stride.push_back(st);
    g.dilation.push_back(d);
    g.begin.push_back(b);
    g.end.push_back(e);
    g.out.push_back(o);
    g.reach.push_back((o - 1) * st + eff - in[i] - b);
  }
  return g;
}

// constant_pad_nd's order: the last axis first, before then after.
Ints PadList(const Ints& before, const Ints& after) {
  Ints p;
  for (size_t i = before.size(); i-- > 0;) {
    p.push_back(before[i]);
    p.push_back(after[i]);
  }
  return p;
}

at::Tensor Pad(const at::Tensor& x, const Ints& before, const Ints& after, double value) {
  const Ints p = PadList(before, after);
  if (std::all_of(p.begin(), p.end(), [](int64_t v) { return v == 0; })) return x;
  return at::constant_pad_nd(x, p, value);
}

Ints Spatial(const at::Tensor& x, const char* op) {
  if (x.dim() < 3 || x.dim() > 5) {
    RunError(
        fmt::format("{} takes inputs of rank 3 to 5 (1 to 3 spatial axes), not {}", op, x.dim()));
  }
  return Ints(x.sizes().begin() + 2, x.sizes().end());
}

c10::optional<at::Tensor> Optional(const at::Tensor& t) {
  return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt;
}

at::Tensor ChannelView(const at::Tensor& p, int64_t rank) {
  Ints shape(static_cast<size_t>(rank), 1);
  shape[1] = p.numel();
  return p.reshape(shape);
}

// ---------------------------------------------------------------------------------------------
// Convolution

Kernel BuildConv(const NodeView& n) {
  const Window w = ReadWindow(n, false);
  const int64_t group = n.Int("group", 1);
  if (group < 1) n.Fail("group {} is not positive", group);
  return [w, group](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const at::Tensor& weight = in.at(1);
    const at::Tensor bias = Given(in, 2) ? in[2] : at::Tensor();
    const Ints size = Spatial(x, "Conv");
    if (weight.dim() != x.dim()) {
      RunError(fmt::format("weights of rank {} for an input of rank {}", weight.dim(), x.dim()));
    }
    const Ints kernel(weight.sizes().begin() + 2, weight.sizes().end());
    if (!w.kernel.empty() && w.kernel != kernel) {
      RunError(fmt::format("kernel_shape {} differs from the weights' {}", Join(w.kernel),
                           Join(kernel)));
    }
    const Geometry g = Resolve(w, size, kernel);
    const Ints zeros(size.size(), 0);
    if (g.begin == g.end) {
      return Tensors{at::convolution(x, weight, Optional(bias), g.stride, g.begin, g.dilation,
                                     false, zeros, group)};
    }
    return Tensors{at::convolution(Pad(x, g.begin, g.end, 0), weight, Optional(bias), g.stride,
                                   zeros, g.dilation, false, zeros, group)};
  };
}

Kernel BuildConvTranspose(const NodeView& n) {
  const Window w = ReadWindow(n, false);
  const int64_t group = n.Int("group", 1);
  if (group < 1) n.Fail("group {} is not positive", group);
  const Ints output_padding = n.Ints("output_padding");
  const Ints output_shape = n.Ints("output_shape");
  for (int64_t v : output_padding) {
    if (v < 0) n.Fail("output_padding {} is negative", Join(output_padding));
  }
  return [w, group, output_padding, output_shape](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const at::Tensor& weight = in.at(1);
    const at::Tensor bias = Given(in, 2) ? in[2] : at::Tensor();
    const Ints size = Spatial(x, "ConvTranspose");
    const size_t s = size.size();
    if (weight.dim() != x.dim()) {
      RunError(fmt::format("weights of rank {} for an input of rank {}", weight.dim(), x.dim()));
    }
    const Ints kernel(weight.sizes().begin() + 2, weight.sizes().end());
    if (!w.kernel.empty() && w.kernel != kernel) {
      RunError(fmt::format("kernel_shape {} differs from the weights' {}", Join(w.kernel),
                           Join(kernel)));
    }
    auto pick = [&](const Ints& v, size_t i, int64_t fallback, const char* name) {
      if (v.empty()) return fallback;
      if (v.size() != s) RunError(fmt::format("attribute {} has {} values", name, v.size()));
      return v[i];
    };
    if (!output_shape.empty() && output_shape.size() != s && output_shape.size() != s + 2) {
      RunError(fmt::format("output_shape {} for {} spatial axes", Join(output_shape), s));
    }
    if (!w.pads.empty() && w.pads.size() != 2 * s) {
      RunError(fmt::format("attribute pads has {} values", w.pads.size()));
    }
    Ints stride, dilation, begin, end, out, sym, adjust;
    bool native = true;
    for (size_t i = 0; i < s; ++i) {
      const int64_t st = pick(w.strides, i, 1, "strides");
      const int64_t d = pick(w.dilations, i, 1, "dilations");
      const int64_t op = pick(output_padding, i, 0, "output_padding");
      const int64_t full = st * (size[i] - 1) + (kernel[i] - 1) * d + 1;
      int64_t b = 0, e = 0;
      const bool same = w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER";
      if (!output_shape.empty() || same) {
        // ONNX derives the pads from the wanted length; SAME_UPPER puts an odd one at the end,
        // everything else at the beginning. A wanted length beyond the full output extends it
        // with zeros at the end, as output_padding does.
        const int64_t target = !output_shape.empty()
                                   ? output_shape[output_shape.size() == s ? i : i + 2]
                                   : size[i] * st;
        const int64_t total = full + op - target;
        if (total < 0) {
          e = total;
        } else {
          b = w.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
          e = total - b;
        }
      } else if (w.auto_pad == "NOTSET" && !w.pads.empty()) {
        b = w.pads[i];
        e = w.pads[i + s];
      }
      const int64_t length = full + op - b - e;
      if (length <= 0) RunError(fmt::format("output length {} along spatial axis {}", length, i));
      stride.push_back(st);
      dilation.push_back(d);
      begin.push_back(b);
      end.push_back(e);
      out.push_back(length);
      // The output is [b, b + length) of the full one (zeros past its ends): output_padding
      // lessens the crop at the end.
      sym.push_back(std::max<int64_t>(0, std::min(b, e - op)));
      adjust.push_back(op);
      // ATen's own output_padding (below the stride or dilation) is exactly ONNX's.
      native = native && b == e && b >= 0 && (op < st || op < d);
    }
    if (native) {
      return Tensors{
          at::convolution(x, weight, Optional(bias), stride, begin, dilation, true, adjust, group)};
    }
    // ATen crops `sym` off both ends of the full output; the rest (asymmetric pads,
    // output_padding, lengths past the full output) is cropping or zero-extension after it.
    Ints left, right;
    bool exact = true;
    for (size_t i = 0; i < s; ++i) {
      const int64_t full = stride[i] * (size[i] - 1) + (kernel[i] - 1) * dilation[i] + 1;
      left.push_back(sym[i] - begin[i]);
      right.push_back(begin[i] + out[i] - (full - sym[i]));
      exact = exact && left.back() == 0 && right.back() == 0;
    }
    const Ints zeros(s, 0);
    if (exact) {
      return Tensors{
          at::convolution(x, weight, Optional(bias), stride, sym, dilation, true, zeros, group)};
    }
    at::Tensor y =
        Pad(at::convolution(x, weight, c10::nullopt, stride, sym, dilation, true, zeros, group),
            left, right, 0);
    if (bias.defined()) y = y + ChannelView(bias, y.dim());
    return Tensors{y};
  };
}

// ---------------------------------------------------------------------------------------------
// Pooling

// ATen's output length for a pool (its ceil_mode drops a last window starting past the input).
int64_t TorchPoolLength(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dilation,
                        bool ceil) {
  const int64_t span = in + 2 * pad - dilation * (k - 1) - 1;
  int64_t out = (ceil ? CeilDiv(span, stride) : FloorDiv(span, stride)) + 1;
  if (ceil && (out - 1) * stride >= in + pad) --out;
  return out;
}

// The ceil_mode with which ATen, padding `begin` itself, yields exactly g's windows; nullopt
// when it cannot. With `symmetric`, ATen's padding must also equal ONNX's on the end side
// (average pools count or skip padded cells, so the end padding matters to them).
std::optional<bool> NativeCeil(const Geometry& g, const Ints& in, bool symmetric) {
  for (bool ceil : {false, true}) {
    bool ok = true;
    for (size_t i = 0; i < in.size() && ok; ++i) {
      ok = g.begin[i] <= g.kernel[i] / 2 && (!symmetric || g.begin[i] == g.end[i]) &&
           TorchPoolLength(in[i], g.kernel[i], g.begin[i], g.stride[i], g.dilation[i], ceil) ==
               g.out[i];
    }
    if (ok) return ceil;
  }
  return std::nullopt;
}

std::pair<at::Tensor, at::Tensor> MaxPoolNd(const at::Tensor& x, const Geometry& g, const Ints& pad,
                                            bool ceil, bool with_indices) {
  at::Tensor y, idx;
  switch (g.kernel.size()) {
    case 1:
      if (with_indices) {
        std::tie(y, idx) =
            at::max_pool1d_with_indices(x, g.kernel, g.stride, pad, g.dilation, ceil);
      } else {
        y = at::max_pool1d(x, g.kernel, g.stride, pad, g.dilation, ceil);
      }
      break;
    case 2:
      if (with_indices) {
        std::tie(y, idx) =
            at::max_pool2d_with_indices(x, g.kernel, g.stride, pad, g.dilation, ceil);
      } else {
        y = at::max_pool2d(x, g.kernel, g.stride, pad, g.dilation, ceil);
      }
      break;
    default:
      if (with_indices) {
        std::tie(y, idx) =
            at::max_pool3d_with_indices(x, g.kernel, g.stride, pad, g.dilation, ceil);
      } else {
        y = at::max_pool3d(x, g.kernel, g.stride, pad, g.dilation, ceil);
      }
      break;
  }
  return {y, idx};
}

// ATen's indices count within each (n, c) plane of the tensor it pooled (padded or not); ONNX's
// count over the whole unpadded input, row- or column-major over the spatial axes
// (storage_order) and row-major over (n, c).
at::Tensor OnnxIndices(const at::Tensor& idx, const Ints& plane, const Ints& offset, const Ints& in,
                       bool column_major) {
  const size_t s = in.size();
  at::Tensor flat;
  if (plane == in && !column_major) {
    flat = idx;
  } else {
    std::vector<at::Tensor> coord(s);
    at::Tensor rest = idx;
    for (size_t i = s; i-- > 0;) {
      coord[i] = rest.remainder(plane[i]) - offset[i];
      rest = rest.div(plane[i], "floor");
    }
    if (!column_major) {
      flat = coord[0];
      for (size_t i = 1; i < s; ++i) flat = flat * in[i] + coord[i];
    } else {
      flat = coord[s - 1];
      for (size_t i = s - 1; i-- > 0;) flat = flat * in[i] + coord[i];
    }
  }
  Ints shape(static_cast<size_t>(idx.dim()), 1);
  shape[0] = idx.size(0);
  shape[1] = idx.size(1);
  return flat + at::arange(idx.size(0) * idx.size(1), idx.options()).reshape(shape) * Product(in);
}

Kernel BuildMaxPool(const NodeView& n) {
  const Window w = ReadWindow(n, true);
  const bool column_major = n.Int("storage_order", 0) != 0;
  const bool with_indices = OutputWanted(n, 1);
  return [w, column_major, with_indices](const Tensors& in) {
    const at::Tensor& x0 = in.at(0);
    const Ints size = Spatial(x0, "MaxPool");
    // ATen pools floating types only; MaxPool's int8/uint8 are exact in float.
    const bool integral = !at::isFloatingType(x0.scalar_type());
    const at::Tensor x = integral ? x0.to(at::kFloat) : x0;
    const Geometry g = Resolve(w, size, w.kernel);
    at::Tensor y, idx;
    Ints plane = size, offset(size.size(), 0);
    if (auto ceil = NativeCeil(g, size, false)) {
      // Max ignores padded cells, so only the windows' starts and count must agree.
      std::tie(y, idx) = MaxPoolNd(x, g, g.begin, *ceil, with_indices);
    } else {
      const at::Tensor padded = Pad(x, g.begin, g.reach, -std::numeric_limits<double>::infinity());
      plane = Spatial(padded, "MaxPool");
      offset = g.begin;
      std::tie(y, idx) = MaxPoolNd(padded, g, Ints(size.size(), 0), false, with_indices);
    }
    if (integral) y = y.to(x0.scalar_type());
    if (!with_indices) return Tensors{y};
    return Tensors{y, OnnxIndices(idx, plane, offset, size, column_major)};
  };
}

// Window sums (zero padding already applied): an average pool with divisor 1.
at::Tensor SumPool(const at::Tensor& x, const Geometry& g) {
  switch (g.kernel.size()) {
    case 1:
      return at::avg_pool2d(x.unsqueeze(-2), {1, g.kernel[0]}, {1, g.stride[0]}, {0, 0}, false,
                            true, 1)
          .squeeze(-2);
    case 2:
      return at::avg_pool2d(x, g.kernel, g.stride, {0, 0}, false, true, 1);
    default:
      return at::avg_pool3d(x, g.kernel, g.stride, {0, 0, 0}, false, true, 1);
  }
}

void RequireUnitDilations(const NodeView& n, const Window& w) {
  for (int64_t d : w.dilations) {
    if (d != 1) {
      n.Fail("dilations {} are not supported for {}", Join(w.dilations), n.node().op_type);
    }
  }
}

Kernel BuildAveragePool(const NodeView& n) {
  const Window w = ReadWindow(n, true);
  RequireUnitDilations(n, w);
  const bool count_pads = n.Int("count_include_pad", 0) != 0;
  return [w, count_pads](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const Ints size = Spatial(x, "AveragePool");
    const Geometry g = Resolve(w, size, w.kernel);
    if (auto ceil = NativeCeil(g, size, true)) {
      switch (size.size()) {
        case 1:
          return Tensors{at::avg_pool1d(x, g.kernel, g.stride, g.begin, *ceil, count_pads)};
        case 2:
          return Tensors{at::avg_pool2d(x, g.kernel, g.stride, g.begin, *ceil, count_pads)};
        default:
          return Tensors{at::avg_pool3d(x, g.kernel, g.stride, g.begin, *ceil, count_pads)};
      }
    }
    const at::Tensor sum = SumPool(Pad(x, g.begin, g.reach, 0), g);
    // What each window averages over: the input cells, or those and the explicit pads; never
    // the cells ceil_mode reads past the pads.
    Ints ones_shape{1, 1};
    Ints before(size.size(), 0), after(size.size(), 0);
    for (size_t i = 0; i < size.size(); ++i) {
      if (count_pads) {
        ones_shape.push_back(size[i] + g.begin[i] + g.end[i]);
        after[i] = g.reach[i] - g.end[i];
      } else {
        ones_shape.push_back(size[i]);
        before[i] = g.begin[i];
        after[i] = g.reach[i];
      }
    }
    const at::Tensor count = SumPool(Pad(at::ones(ones_shape, x.options()), before, after, 0), g);
    return Tensors{sum / count};
  };
}

Kernel BuildLpPool(const NodeView& n) {
  const Window w = ReadWindow(n, true);
  RequireUnitDilations(n, w);
  // LpPool-1 had a float p; from opset 2 it is an int.
  const double p = n.opset() < 2 ? n.Float("p", 2.f) : static_cast<double>(n.Int("p", 2));
  if (!(p > 0)) n.Fail("p = {} is not positive", p);
  return [w, p](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const Ints size = Spatial(x, "LpPool");
    const Geometry g = Resolve(w, size, w.kernel);
    const at::Tensor powered = p == 1 ? x.abs() : p == 2 ? x * x : x.abs().pow(p);
    const at::Tensor sum = SumPool(Pad(powered, g.begin, g.reach, 0), g);
    return Tensors{p == 1 ? sum : p == 2 ? sum.sqrt() : sum.pow(1 / p)};
  };
}

Ints SpatialAxes(const at::Tensor& x) {
  Ints dims;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

void AddPools(std::vector<OpEntry>* t) {
  Add(t, "MaxPool", BuildMaxPool);
  Add(t, "AveragePool", BuildAveragePool);
  Add(t, "LpPool", BuildLpPool);
  // ATen reduces every axis when given none; an input without spatial axes passes through.
  Add(t, "GlobalAveragePool", UnaryOp([](const NodeView&) -> Unary {
        return [](const at::Tensor& x) { return x.dim() > 2 ? x.mean(SpatialAxes(x), true) : x; };
      }));
  Add(t, "GlobalMaxPool", UnaryOp([](const NodeView&) -> Unary {
        return [](const at::Tensor& x) { return x.dim() > 2 ? x.amax(SpatialAxes(x), true) : x; };
      }));
  Add(t, "GlobalLpPool", UnaryOp([](const NodeView& n) -> Unary {
        const double p = n.opset() < 2 ? n.Float("p", 2.f) : static_cast<double>(n.Int("p", 2));
        if (!(p > 0)) n.Fail("p = {} is not positive", p);
        return [p](const at::Tensor& x) {
          return x.dim() > 2 ? at::linalg_vector_norm(x, p, SpatialAxes(x), true) : x.abs();
        };
      }));
}

// ---------------------------------------------------------------------------------------------
// Normalization

Kernel BuildBatchNorm(const NodeView& n) {
  const int opset = n.opset();
  const double eps = n.Float("epsilon", 1e-5f);
  const double momentum = n.Float("momentum", 0.9f);
  // Before opset 9, spatial=0 kept statistics per (channel, position) instead of per channel.
  const bool spatial = opset >= 9 || n.Int("spatial", 1) != 0;
  // The mode: an attribute from opset 14; from 7 the presence of the statistics outputs; before
  // 7 is_test (default 0: training).
  bool training = false;
  if (opset >= 14) {
    training = n.Int("training_mode", 0) != 0;
  } else if (opset >= 7) {
    training = OutputWanted(n, 1) || OutputWanted(n, 2) || OutputWanted(n, 3) || OutputWanted(n, 4);
  } else {
    training = n.Int("is_test", 0) == 0;
  }
  if (opset < 14 && (OutputWanted(n, 3) || OutputWanted(n, 4))) {
    n.Fail("the saved_mean/saved_var outputs of training mode (opset {}) are not supported", opset);
  }
  return [eps, momentum, spatial, training](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    if (x.dim() < 2) RunError(fmt::format("an input of rank {}; at least 2 expected", x.dim()));
    const auto type = x.scalar_type();
    if (!training && spatial) {
      auto param = [&](size_t i) { return in.at(i).reshape({-1}).to(type); };
      return Tensors{
          at::batch_norm(x, param(1), param(2), param(3), param(4), false, 0, eps, false)};
    }
    // Parameters per channel broadcast over (N, C, ...); per-activation ones over N.
    auto param = [&](size_t i) {
      const at::Tensor p = in.at(i).to(type);
      return spatial ? ChannelView(p, x.dim()) : p.unsqueeze(0);
    };
    at::Tensor mean, var;
    if (training) {
      Ints dims{0};
      if (spatial) {
        for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
      }
      std::tie(var, mean) = at::var_mean(x, dims, false, true);
    } else {
      mean = param(3);
      var = param(4);
    }
    const at::Tensor y = param(1) * (x - mean) / at::sqrt(var + eps) + param(2);
    if (!training) return Tensors{y};
    // Running statistics, in the type and shape of the given ones.
    const at::Tensor& running_mean = in.at(3);
    const at::Tensor& running_var = in.at(4);
    const at::Tensor batch_mean = mean.reshape(running_mean.sizes()).to(running_mean.scalar_type());
    const at::Tensor batch_var = var.reshape(running_var.sizes()).to(running_var.scalar_type());
    return Tensors{y, running_mean * momentum + batch_mean * (1 - momentum),
                   running_var * momentum + batch_var * (1 - momentum)};
  };
}

Kernel BuildInstanceNorm(const NodeView& n) {
  const double eps = n.Float("epsilon", 1e-5f);
  return [eps](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    if (x.dim() < 3) RunError(fmt::format("an input of rank {}; at least 3 expected", x.dim()));
    auto [var, mean] = at::var_mean(x, SpatialAxes(x), false, true);
    const at::Tensor scale = ChannelView(in.at(1).to(x.scalar_type()), x.dim());
    const at::Tensor bias = ChannelView(in.at(2).to(x.scalar_type()), x.dim());
    return Tensors{scale * ((x - mean) / at::sqrt(var + eps)) + bias};
  };
}

Kernel BuildLayerNorm(const NodeView& n) {
  const int64_t axis = n.Int("axis", -1);
  const double eps = n.Float("epsilon", 1e-5f);
  const at::ScalarType stash = ScalarTypeOf(static_cast<int32_t>(n.Int("stash_type", 1)));
  if (!at::isFloatingType(stash)) {
    n.Fail("stash_type {} is not a floating type", n.Int("stash_type", 1));
  }
  if (n.InputShape(0).rank_known) Axis(n, axis, static_cast<int64_t>(n.InputShape(0).rank()));
  return [axis, eps, stash](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const int64_t a = RunAxis(axis, x.dim());
    Ints dims;
    for (int64_t d = a; d < x.dim(); ++d) dims.push_back(d);
    const Ints normalized(x.sizes().begin() + a, x.sizes().end());
    const at::Tensor& scale = in.at(1);
    const at::Tensor bias = Given(in, 2) ? in[2] : at::Tensor();
    if (x.scalar_type() == stash && SizesOf(scale) == normalized &&
        (!bias.defined() || SizesOf(bias) == normalized)) {
      // ATen's fused kernel; its statistics come shaped as ONNX's (1 for normalized axes).
      auto [y, mean, inv_std] = at::native_layer_norm(x, normalized, scale, Optional(bias), eps);
      return Tensors{y, mean, inv_std};
    }
    // As ONNX's function body: statistics in the stash type, the normalized values cast back to
    // the input's type before scale and bias.
    const at::Tensor xs = x.to(stash);
    const at::Tensor mean = xs.mean(dims, true);
    const at::Tensor dev = xs - mean;
    const at::Tensor inv_std = at::reciprocal(at::sqrt((dev * dev).mean(dims, true) + eps));
    at::Tensor y = (dev * inv_std).to(x.scalar_type()) * scale;
    if (bias.defined()) y = y + bias;
    return Tensors{y, mean, inv_std};
  };
}

Kernel BuildLrn(const NodeView& n) {
  const int64_t size = n.Int("size", 0);
  if (size < 1) n.Fail("size {} is not positive", size);
  const double alpha = n.Float("alpha", 1e-4f);
  const double beta = n.Float("beta", 0.75f);
  const double bias = n.Float("bias", 1.f);
  return [size, alpha, beta, bias](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    if (x.dim() < 2) RunError(fmt::format("an input of rank {}; at least 2 expected", x.dim()));
    if (x.numel() == 0) return Tensors{x};
    // ONNX sums channels c - floor((size-1)/2) ... c + ceil((size-1)/2); ATen's own
    // local_response_norm leans the other way for an even size, hence the explicit window.
    const int64_t batch = x.size(0), channels = x.size(1);
    const int64_t rest = x.numel() / (batch * channels);
    const int64_t front = (size - 1) / 2;
    const at::Tensor squares = (x * x).reshape({batch, 1, channels, rest});
    const at::Tensor mean = at::avg_pool2d(
        at::constant_pad_nd(squares, {0, 0, front, size - 1 - front}, 0), {size, 1}, {1, 1});
    return Tensors{x / at::pow(mean.reshape(x.sizes()) * alpha + bias, beta)};
  };
}

Kernel BuildMvn(const NodeView& n) {
  Ints axes = n.Ints("axes");
  if (!n.Has("axes")) axes = {0, 2, 3};
  return [axes](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    Ints dims;
    for (int64_t a : axes) dims.push_back(RunAxis(a, x.dim()));
    if (dims.empty()) return Tensors{at::zeros_like(x)};
    // ONNX's function: (X - E[X]) / (sqrt(Var[X]) + 1e-9), population variance.
    auto [var, mean] = at::var_mean(x, dims, false, true);
    return Tensors{(x - mean) / (at::sqrt(var) + 1e-9)};
  };
}

Kernel BuildLpNorm(const NodeView& n) {
  const int64_t axis = n.Int("axis", -1);
  const int64_t p = n.Int("p", 2);
  if (p != 1 && p != 2) n.Fail("p = {} is not 1 or 2", p);
  return [axis, p](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const int64_t a = RunAxis(axis, x.dim());
    return Tensors{x / at::linalg_vector_norm(x, p, Ints{a}, true)};
  };
}

// ---------------------------------------------------------------------------------------------
// Activations

Kernel BuildClip(const NodeView& n) {
  // Before opset 11 the bounds are attributes; from 11 optional inputs, read once when known.
  std::optional<at::Tensor> lo, hi;
  if (n.opset() < 11) {
    if (n.Has("min")) lo = at::scalar_tensor(static_cast<double>(n.Float("min", 0)), at::kDouble);
    if (n.Has("max")) hi = at::scalar_tensor(static_cast<double>(n.Float("max", 0)), at::kDouble);
  } else {
    if (const at::Tensor* c = n.Constant(1)) lo = *c;
    if (const at::Tensor* c = n.Constant(2)) hi = *c;
  }
  for (const auto* b : {&lo, &hi}) {
    if (*b && (*b)->numel() != 1) n.Fail("min and max must hold one value, not {}", (*b)->numel());
  }
  return [lo, hi](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    auto bound = [&](const std::optional<at::Tensor>& c, size_t i) -> c10::optional<at::Tensor> {
      const at::Tensor b = c ? *c : Given(in, i) ? in[i] : at::Tensor();
      if (!b.defined()) return c10::nullopt;
      if (b.numel() != 1) RunError("min and max must hold one value");
      return b.reshape({}).to(x.scalar_type());
    };
    const auto low = bound(lo, 1), high = bound(hi, 2);
    if (!low && !high) return Tensors{x};
    return Tensors{at::clamp(x, low, high)};
  };
}

Kernel BuildDropout(const NodeView& n) {
  const int opset = n.opset();
  const bool want_mask = OutputWanted(n, 1);
  const bool bool_mask = opset >= 10;  // before 10 the mask has the input's type
  std::optional<double> ratio;
  std::optional<bool> training;
  if (opset < 12) {
    ratio = n.Float("ratio", 0.5f);
    training = opset < 7 && n.Int("is_test", 0) == 0;
  } else {
    if (!n.HasInput(1)) {
      ratio = 0.5;
    } else if (const at::Tensor* c = n.Constant(1)) {
      ratio = c->item().toDouble();
    }
    if (!n.HasInput(2)) {
      training = false;
    } else if (const at::Tensor* c = n.Constant(2)) {
      training = c->item().toBool();
    }
  }
  if (training && *training && ratio && *ratio != 0) {
    n.Fail("training mode with ratio {} drops a random mask; only inference is supported", *ratio);
  }
  return [ratio, training, want_mask, bool_mask](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const bool train = training ? *training : Given(in, 2) && in[2].item().toBool();
    if (train) {
      const double r = ratio ? *ratio : Given(in, 1) ? in[1].item().toDouble() : 0.5;
      if (r != 0) {
        throw Unsupported{fmt::format(
            "training mode with ratio {} drops a random mask; only inference is supported", r)};
      }
    }
    if (!want_mask) return Tensors{x};
    return Tensors{
        x, bool_mask ? at::ones(x.sizes(), x.options().dtype(at::kBool)) : at::ones_like(x)};
  };
}

void AddActivations(std::vector<OpEntry>* t) {
  Add(t, "Relu", UnaryOp([](const NodeView&) -> Unary {
        return [](const at::Tensor& x) { return at::relu(x); };
      }));
  Add(t, "LeakyRelu", UnaryOp([](const NodeView& n) -> Unary {
        const double alpha = n.Float("alpha", 0.01f);
        return [alpha](const at::Tensor& x) { return at::leaky_relu(x, alpha); };
      }));
  Add(t, "PRelu", [](const NodeView& n) -> Kernel {
    // PRelu-1/6 applied a 1-D slope per channel; from 7 the slope broadcasts as numpy does.
    const bool per_channel = n.opset() < 7;
    return [per_channel](const Tensors& in) {
      const at::Tensor& x = in.at(0);
      at::Tensor slope = in.at(1);
      if (per_channel && slope.dim() == 1 && slope.numel() > 1 && x.dim() > 2) {
        slope = ChannelView(slope, x.dim()).squeeze(0);
      }
      return Tensors{at::where(x < 0, x * slope, x)};
    };
  });
  Add(t, "Elu", UnaryOp([](const NodeView& n) -> Unary {
        const double alpha = n.Float("alpha", 1.f);
        return [alpha](const at::Tensor& x) { return at::elu(x, alpha); };
      }));
  Add(t, "Selu", UnaryOp([](const NodeView& n) -> Unary {
        const double alpha = n.Float("alpha", 1.67326319217681884765625f);
        const double gamma = n.Float("gamma", 1.05070102214813232421875f);
        return [alpha, gamma](const at::Tensor& x) { return at::elu(x, alpha, gamma, 1); };
      }));
  const auto celu = [](const NodeView& n) -> Unary {
    const double alpha = n.Float("alpha", 1.f);
    return [alpha](const at::Tensor& x) { return at::celu(x, alpha); };
  };
  Add(t, "Celu", UnaryOp(celu), 12);
  Add(t, "Sigmoid", UnaryOp([](const NodeView&) -> Unary {
        return [](const at::Tensor& x) { return at::sigmoid(x); };
      }));
  Add(t, "HardSigmoid", UnaryOp([](const NodeView& n) -> Unary {
        const double alpha = n.Float("alpha", 0.2f);
        const double beta = n.Float("beta", 0.5f);
        return [alpha, beta](const at::Tensor& x) { return at::clamp(x * alpha + beta, 0, 1); };
      }));
  const auto hard_swish = [](const NodeView&) -> Unary {
    // ONNX: x * max(0, min(1, x / 6 + 0.5)), which ATen's hardswish rounds differently.
    return [](const at::Tensor& x) { return x * at::clamp(x * (1.0 / 6) + 0.5, 0, 1); };
  };
  Add(t, "HardSwish", UnaryOp(hard_swish), 14);
  Add(t, "Tanh", UnaryOp([](const NodeView&) -> Unary {
        return [](const at::Tensor& x) { return at::tanh(x); };
      }));
  Add(t, "Softplus", UnaryOp([](const NodeView&) -> Unary {
        return [](const at::Tensor& x) { return at::softplus(x); };
      }));
  Add(t, "Softsign", UnaryOp([](const NodeView&) -> Unary {
        return [](const at::Tensor& x) { return x / (x.abs() + 1); };
      }));
  const auto thresholded_relu = [](const NodeView& n) -> Unary {
    const double alpha = n.Float("alpha", 1.f);
    // Written so that NaN stays NaN, as in ONNX's reference.
    return [alpha](const at::Tensor& x) {
      return at::where(x <= alpha, at::zeros({}, x.options()), x);
    };
  };
  Add(t, "ThresholdedRelu", UnaryOp(thresholded_relu), 10);
  const auto shrink = [](const NodeView& n) -> Unary {
    const double bias = n.Float("bias", 0.f);
    const double lambd = n.Float("lambd", 0.5f);
    return [bias, lambd](const at::Tensor& x) {
      const at::Tensor y = at::where(x < -lambd, x + bias,
                                     at::where(x > lambd, x - bias, at::zeros({}, x.options())));
      return y.to(x.scalar_type());
    };
  };
  Add(t, "Shrink", UnaryOp(shrink), 9);
  Add(t, "Clip", BuildClip);
  Add(t, "Dropout", BuildDropout);
}

// ---------------------------------------------------------------------------------------------
// Softmax, LogSoftmax, Hardmax

enum class SoftKind { kSoftmax, kLogSoftmax, kHardmax };

// Before opset 13 these ops flatten the input to 2-D at `axis` (default 1) and work on the
// second axis; from 13 they work on the one axis (default -1).
Builder SoftmaxOp(SoftKind kind) {
  return [kind](const NodeView& n) -> Kernel {
    const bool coerce = n.opset() < 13;
    const int64_t axis = n.Int("axis", coerce ? 1 : -1);
    if (n.InputShape(0).rank_known) Axis(n, axis, static_cast<int64_t>(n.InputShape(0).rank()));
    return [kind, coerce, axis](const Tensors& in) {
      const at::Tensor& x = in.at(0);
      const int64_t a = RunAxis(axis, x.dim());
      at::Tensor v = x;
      int64_t dim = a;
      if (coerce) {
        const Ints s = SizesOf(x);
        v = x.reshape(
            {Product(Ints(s.begin(), s.begin() + a)), Product(Ints(s.begin() + a, s.end()))});
        dim = 1;
      }
      at::Tensor y;
      switch (kind) {
        case SoftKind::kSoftmax:
          y = at::softmax(v, dim);
          break;
        case SoftKind::kLogSoftmax:
          y = at::log_softmax(v, dim);
          break;
        case SoftKind::kHardmax:
          // argmax returns the first of equal maxima, as ONNX wants.
          y = at::zeros_like(v).scatter(dim, v.argmax(dim, true), 1);
          break;
      }
      return Tensors{coerce ? y.reshape(x.sizes()) : y};
    };
  };
}

// ---------------------------------------------------------------------------------------------
// Resize and Upsample (Note [Resize])

enum class Interp { kNearest, kLinear, kCubic };
enum class Coord {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize
};
// kLegacy: Upsample and Resize-10, which had no nearest_mode: floor when enlarging, ceil when
// shrinking (as onnxruntime, and the example of Resize-10's documentation, do).
enum class Rounding { kPreferFloor, kPreferCeil, kFloor, kCeil, kLegacy };

struct ResizeSpec {
  Interp interp = Interp::kNearest;
  Coord coord = Coord::kAsymmetric;
  Rounding rounding = Rounding::kLegacy;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
  Ints axes;  // Resize-18: the axes scales, sizes and roi speak of; empty: all
  int roi_input = -1, scales_input = -1, sizes_input = -1;
  // Those inputs' values when known at compile time (an empty vector: not given).
  std::optional<std::vector<double>> roi, scales, sizes;
};

std::vector<double> Doubles(const at::Tensor& t) {
  const at::Tensor v = t.to(at::kDouble).contiguous();
  return {v.data_ptr<double>(), v.data_ptr<double>() + v.numel()};
}

std::optional<std::vector<double>> ConstantDoubles(const NodeView& n, int i) {
  if (i < 0 || !n.HasInput(static_cast<size_t>(i))) return std::vector<double>{};
  if (const at::Tensor* c = n.Constant(static_cast<size_t>(i))) return Doubles(*c);
  return std::nullopt;
}

std::vector<double> InputDoubles(const std::optional<std::vector<double>>& known, int i,
                                 const Tensors& in) {
  if (known) return *known;
  return i >= 0 && Given(in, static_cast<size_t>(i)) ? Doubles(in[static_cast<size_t>(i)])
                                                     : std::vector<double>{};
}

// One resized axis: per output position, `taps` source indices (already clamped to the input,
// as ONNX's edge padding does) and weights (none for nearest).
struct AxisTable {
  int64_t axis = 0, out = 0;
  size_t taps = 1;
  std::vector<Ints> index;                  // [tap][position]
  std::vector<std::vector<double>> weight;  // [tap][position]
  std::vector<uint8_t> outside;             // tf_crop_and_resize: extrapolation_value there
  bool any_outside = false;
};

// The source coordinate of output position i, in double as ONNX's reference computes it. Note
// that the reference takes the resized length as scale * input (unrounded), which matters for
// align_corners and the length-1 cases.
double SourceCoord(const ResizeSpec& spec, int64_t i, int64_t in, int64_t out, double scale,
                   double roi_start, double roi_end) {
  const double x = static_cast<double>(i);
  const double length = scale * static_cast<double>(in);
  const double last = static_cast<double>(in - 1);
  switch (spec.coord) {
    case Coord::kHalfPixel:
      return (x + 0.5) / scale - 0.5;
    case Coord::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(out) / length;
      const double offset = static_cast<double>(in) / 2 * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case Coord::kPytorchHalfPixel:
      return length == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    case Coord::kAlignCorners:
      return length == 1 ? 0 : x * last / (length - 1);
    case Coord::kAsymmetric:
      return x / scale;
    case Coord::kTfHalfPixelForNn:
      return (x + 0.5) / scale;
    case Coord::kTfCropAndResize:
      return (length == 1 ? (roi_end - roi_start) * last / 2
                          : x * (roi_end - roi_start) * last / (length - 1)) +
             roi_start * last;
  }
  return x;
}

int64_t NearestIndex(double x, Rounding rounding, double scale) {
  if (rounding == Rounding::kLegacy) {
    return static_cast<int64_t>(scale < 1 ? std::ceil(x) : std::floor(x));
  }
  const double fl = std::floor(x);
  if (x == fl) return static_cast<int64_t>(fl);
  const double ratio = x - fl;
  switch (rounding) {
    case Rounding::kPreferFloor:
      return static_cast<int64_t>(ratio <= 0.5 ? fl : fl + 1);
    case Rounding::kPreferCeil:
      return static_cast<int64_t>(ratio < 0.5 ? fl : fl + 1);
    case Rounding::kFloor:
      return static_cast<int64_t>(fl);
    default:
      return static_cast<int64_t>(fl + 1);
  }
}

AxisTable PlanAxis(const ResizeSpec& spec, int64_t axis, int64_t in, int64_t out, double scale,
                   double roi_start, double roi_end) {
  AxisTable t;
  t.axis = axis;
  t.out = out;
  t.taps = spec.interp == Interp::kNearest ? 1 : spec.interp == Interp::kLinear ? 2 : 4;
  t.index.assign(t.taps, Ints(static_cast<size_t>(out), 0));
  if (spec.interp != Interp::kNearest) {
    t.weight.assign(t.taps, std::vector<double>(static_cast<size_t>(out), 0));
  }
  t.outside.assign(static_cast<size_t>(out), 0);
  const double a = spec.cubic_a;
  for (int64_t i = 0; i < out; ++i) {
    const auto pos = static_cast<size_t>(i);
    const double x = SourceCoord(spec, i, in, out, scale, roi_start, roi_end);
    if (spec.coord == Coord::kTfCropAndResize && (x < 0 || x > static_cast<double>(in - 1))) {
      t.outside[pos] = 1;
      t.any_outside = true;
      continue;
    }
    if (spec.interp == Interp::kNearest) {
      t.index[0][pos] = std::clamp<int64_t>(NearestIndex(x, spec.rounding, scale), 0, in - 1);
      continue;
    }
    // The reference picks the neighbours so that the fraction lies in (0, 1]: a whole x counts
    // as one past its left neighbour.
    const double base = x == std::floor(x) ? x - 1 : std::floor(x);
    const double r = x - base;
    double c[4];
    int64_t first = 0;
    if (spec.interp == Interp::kLinear) {
      c[0] = 1 - r;
      c[1] = r;
      first = static_cast<int64_t>(base);
    } else {
      c[0] = ((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a;
      c[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
      c[2] = ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1;
      c[3] = ((a * ((1 - r) + 1) - 5 * a) * ((1 - r) + 1) + 8 * a) * ((1 - r) + 1) - 4 * a;
      first = static_cast<int64_t>(base) - 1;
    }
    if (spec.exclude_outside) {
      double sum = 0;
      for (size_t k = 0; k < t.taps; ++k) {
        const int64_t j = first + static_cast<int64_t>(k);
        if (j < 0 || j >= in) c[k] = 0;
        sum += c[k];
      }
      for (size_t k = 0; k < t.taps; ++k) c[k] /= sum;
    }
    for (size_t k = 0; k < t.taps; ++k) {
      t.index[k][pos] = std::clamp<int64_t>(first + static_cast<int64_t>(k), 0, in - 1);
      t.weight[k][pos] = c[k];
    }
  }
  return t;
}

bool IsIdentity(const AxisTable& t, int64_t in) {
  if (t.out != in || t.any_outside) return false;
  for (size_t i = 0; i < static_cast<size_t>(t.out); ++i) {
    double own = 0;
    for (size_t k = 0; k < t.taps; ++k) {
      const double w = t.weight.empty() ? 1 : t.weight[k][i];
      if (t.index[k][i] == static_cast<int64_t>(i)) {
        own += w;
      } else if (w != 0) {
        return false;
      }
    }
    if (own != 1) return false;
  }
  return true;
}

// The whole-number factor r when a nearest table just repeats every input r times, else 0.
int64_t RepeatFactor(const AxisTable& t, int64_t in) {
  if (t.taps != 1 || t.any_outside || in == 0 || t.out % in != 0 || t.out / in < 2) return 0;
  const int64_t r = t.out / in;
  for (int64_t i = 0; i < t.out; ++i) {
    if (t.index[0][static_cast<size_t>(i)] != i / r) return 0;
  }
  return r;
}

// Gathers positions `index` of the middle axis of an (outer, n, inner) tensor. ATen's
// index_select is several times slower on a middle axis than on the rows of a 2-D view, so an
// inner axis gathers as rows of (outer * n, inner) with flattened indices.
at::Tensor GatherMiddle(const at::Tensor& v, const Ints& index) {
  const int64_t outer = v.size(0), n = v.size(1), inner = v.size(2);
  const auto out = static_cast<int64_t>(index.size());
  const at::Tensor idx = at::tensor(index, at::kLong);
  if (inner == 1) return v.reshape({outer, n}).index_select(1, idx).reshape({outer, out, 1});
  const at::Tensor rows = (at::arange(outer, at::kLong).unsqueeze(1) * n + idx).reshape({-1});
  return v.reshape({outer * n, inner}).index_select(0, rows).reshape({outer, out, inner});
}

at::Tensor ApplyAxis(const at::Tensor& x, const AxisTable& t, double extrapolation) {
  Ints shape = SizesOf(x);
  const auto a = static_cast<size_t>(t.axis);
  const at::Tensor v = x.reshape({Product(Ints(shape.begin(), shape.begin() + t.axis)), shape[a],
                                  Product(Ints(shape.begin() + t.axis + 1, shape.end()))});
  at::Tensor y;
  for (size_t k = 0; k < t.taps; ++k) {
    const at::Tensor gathered = GatherMiddle(v, t.index[k]);
    if (t.weight.empty()) {
      y = gathered;
      continue;
    }
    const at::Tensor w =
        at::tensor(t.weight[k], at::kDouble).to(x.scalar_type()).reshape({t.out, 1});
    y = k == 0 ? gathered * w : at::addcmul(y, gathered, w);
  }
  if (t.any_outside) {
    const at::Tensor mask =
        at::tensor(Ints(t.outside.begin(), t.outside.end()), at::kLong).ne(0).reshape({t.out, 1});
    y = at::where(mask, at::scalar_tensor(extrapolation, y.options()), y);
  }
  shape[a] = t.out;
  return y.reshape(shape);
}

at::Tensor RepeatAxes(const at::Tensor& x, const Ints& repeat) {
  Ints view, expanded, result;
  for (int64_t a = 0; a < x.dim(); ++a) {
    const int64_t r = repeat[static_cast<size_t>(a)];
    view.push_back(x.size(a));
    expanded.push_back(x.size(a));
    if (r > 1) {
      view.push_back(1);
      expanded.push_back(r);
    }
    result.push_back(x.size(a) * std::max<int64_t>(r, 1));
  }
  return x.reshape(view).expand(expanded).reshape(result);
}

Tensors RunResize(const ResizeSpec& spec, const Tensors& in) {
  const at::Tensor& x = in.at(0);
  const int64_t rank = x.dim();
  const Ints size = SizesOf(x);
  Ints axes = spec.axes;
  if (axes.empty()) {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  for (auto& a : axes) a = RunAxis(a, rank);
  const std::vector<double> scales = InputDoubles(spec.scales, spec.scales_input, in);
  const std::vector<double> sizes = InputDoubles(spec.sizes, spec.sizes_input, in);
  if (!scales.empty() && !sizes.empty()) RunError("both scales and sizes are given");
  if (scales.empty() && sizes.empty()) RunError("neither scales nor sizes is given");
  const auto& given = scales.empty() ? sizes : scales;
  if (given.size() != axes.size()) {
    RunError(fmt::format("{} {} for {} axes", given.size(), scales.empty() ? "sizes" : "scales",
                         axes.size()));
  }
  std::vector<double> scale(static_cast<size_t>(rank), 1.0), roi_start(scale.size(), 0),
      roi_end(scale.size(), 1);
  Ints out = size;
  for (size_t j = 0; j < axes.size(); ++j) {
    const auto a = static_cast<size_t>(axes[j]);
    if (!scales.empty()) {
      if (!(scales[j] > 0)) RunError(fmt::format("scale {} is not positive", scales[j]));
      scale[a] = scales[j];
      // In float, as ONNX's shape inference (and onnxruntime) size the output: the double
      // product can fall just short of a whole number the float one reaches.
      out[a] = static_cast<int64_t>(
          std::floor(static_cast<float>(size[a]) * static_cast<float>(scales[j])));
    } else {
      out[a] = static_cast<int64_t>(sizes[j]);
      if (out[a] < 0) RunError(fmt::format("size {} is negative", out[a]));
      scale[a] = size[a] == 0 ? 1.0 : static_cast<double>(out[a]) / static_cast<double>(size[a]);
    }
  }
  if (spec.coord == Coord::kTfCropAndResize) {
    const std::vector<double> roi = InputDoubles(spec.roi, spec.roi_input, in);
    if (roi.size() != 2 * axes.size()) {
      RunError(fmt::format("roi has {} values; {} expected", roi.size(), 2 * axes.size()));
    }
    for (size_t j = 0; j < axes.size(); ++j) {
      roi_start[static_cast<size_t>(axes[j])] = roi[j];
      roi_end[static_cast<size_t>(axes[j])] = roi[j + axes.size()];
    }
  }
  if (x.numel() == 0 || Product(out) == 0) return Tensors{at::empty(out, x.options())};
  // Integers interpolate in double and truncate back, as the reference's astype does.
  const bool widen = spec.interp != Interp::kNearest && !at::isFloatingType(x.scalar_type());
  at::Tensor y = widen ? x.to(at::kDouble) : x;
  Ints repeat(static_cast<size_t>(rank), 1);
  bool any_repeat = false;
  // Last axis first, the order in which the reference interpolates.
  for (int64_t a = rank - 1; a >= 0; --a) {
    const auto i = static_cast<size_t>(a);
    const AxisTable t = PlanAxis(spec, a, size[i], out[i], scale[i], roi_start[i], roi_end[i]);
    if (IsIdentity(t, size[i])) continue;
    if (const int64_t r = RepeatFactor(t, size[i])) {
      repeat[i] = r;
      any_repeat = true;
      continue;
    }
    y = ApplyAxis(y, t, spec.extrapolation);
  }
  // Nearest gathers commute, so the repeats may all come last, in one copy.
  if (any_repeat) y = RepeatAxes(y, repeat);
  if (widen) y = y.to(x.scalar_type());
  return Tensors{y};
}

Interp ReadInterp(const NodeView& n, bool cubic_allowed) {
  const std::string mode = n.String("mode", "nearest");
  if (mode == "nearest") return Interp::kNearest;
  if (mode == "linear") return Interp::kLinear;
  if (mode == "cubic" && cubic_allowed) return Interp::kCubic;
  n.Fail("mode '{}' is not supported", mode);
}

Kernel BuildResize(const NodeView& n) {
  ResizeSpec spec;
  const int opset = n.opset();
  spec.interp = ReadInterp(n, opset >= 11);
  if (opset < 11) {
    spec.scales_input = 1;  // Resize-10: X, scales; asymmetric coordinates, legacy rounding
  } else {
    spec.roi_input = 1;
    spec.scales_input = 2;
    spec.sizes_input = 3;
    const std::string coord = n.String("coordinate_transformation_mode", "half_pixel");
    if (coord == "half_pixel") {
      spec.coord = Coord::kHalfPixel;
    } else if (coord == "half_pixel_symmetric") {
      spec.coord = Coord::kHalfPixelSymmetric;
    } else if (coord == "pytorch_half_pixel") {
      spec.coord = Coord::kPytorchHalfPixel;
    } else if (coord == "align_corners") {
      spec.coord = Coord::kAlignCorners;
    } else if (coord == "asymmetric") {
      spec.coord = Coord::kAsymmetric;
    } else if (coord == "tf_half_pixel_for_nn") {
      spec.coord = Coord::kTfHalfPixelForNn;
    } else if (coord == "tf_crop_and_resize") {
      spec.coord = Coord::kTfCropAndResize;
    } else {
      n.Fail("coordinate_transformation_mode '{}' is not supported", coord);
    }
    const std::string nearest = n.String("nearest_mode", "round_prefer_floor");
    if (nearest == "round_prefer_floor") {
      spec.rounding = Rounding::kPreferFloor;
    } else if (nearest == "round_prefer_ceil") {
      spec.rounding = Rounding::kPreferCeil;
    } else if (nearest == "floor") {
      spec.rounding = Rounding::kFloor;
    } else if (nearest == "ceil") {
      spec.rounding = Rounding::kCeil;
    } else {
      n.Fail("nearest_mode '{}' is not supported", nearest);
    }
    spec.cubic_a = n.Float("cubic_coeff_a", -0.75f);
    // ONNX's reference renormalises weights of outside neighbours; for nearest that would be a
    // division by zero, so there the chosen (clamped) neighbour stands.
    spec.exclude_outside = n.Int("exclude_outside", 0) != 0 && spec.interp != Interp::kNearest;
    spec.extrapolation = n.Float("extrapolation_value", 0.f);
    if (n.Int("antialias", 0) != 0) n.Fail("antialias=1 is not supported");
    const std::string policy = n.String("keep_aspect_ratio_policy", "stretch");
    if (policy != "stretch") n.Fail("keep_aspect_ratio_policy '{}' is not supported", policy);
    spec.axes = n.Ints("axes");
    if (n.InputShape(0).rank_known) {
      const auto rank = static_cast<int64_t>(n.InputShape(0).rank());
      Ints seen;
      for (int64_t a : spec.axes) {
        const int64_t v = Axis(n, a, rank);
        if (std::find(seen.begin(), seen.end(), v) != seen.end()) n.Fail("axes repeat {}", a);
        seen.push_back(v);
      }
    }
  }
  spec.scales = ConstantDoubles(n, spec.scales_input);
  spec.sizes = ConstantDoubles(n, spec.sizes_input);
  spec.roi = spec.coord == Coord::kTfCropAndResize ? ConstantDoubles(n, spec.roi_input)
                                                   : std::vector<double>{};
  return [spec](const Tensors& in) { return RunResize(spec, in); };
}

Kernel BuildUpsample(const NodeView& n) {
  ResizeSpec spec;
  spec.interp = ReadInterp(n, false);
  if (n.opset() < 9) {
    const std::vector<float> scales = n.Floats("scales");
    if (scales.empty()) n.Fail("attribute scales is missing");
    spec.scales = std::vector<double>(scales.begin(), scales.end());
  } else {
    spec.scales_input = 1;
    spec.scales = ConstantDoubles(n, 1);
  }
  spec.sizes = std::vector<double>{};
  return [spec](const Tensors& in) { return RunResize(spec, in); };
}

// ---------------------------------------------------------------------------------------------
// DepthToSpace, SpaceToDepth

Kernel BuildDepthToSpace(const NodeView& n) {
  const int64_t b = n.Int("blocksize", 0);
  if (b < 1) n.Fail("blocksize {} is not positive", b);
  const std::string mode = n.opset() >= 11 ? n.String("mode", "DCR") : "DCR";
  if (mode != "DCR" && mode != "CRD") n.Fail("mode '{}' is not DCR or CRD", mode);
  const bool crd = mode == "CRD";
  return [b, crd](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    if (x.dim() != 4) RunError(fmt::format("an input of rank {}; 4 expected", x.dim()));
    const int64_t batch = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    if (c % (b * b) != 0) RunError(fmt::format("{} channels for blocksize {}", c, b));
    const int64_t oc = c / (b * b);
    const at::Tensor y = crd ? x.reshape({batch, oc, b, b, h, w}).permute({0, 1, 4, 2, 5, 3})
                             : x.reshape({batch, b, b, oc, h, w}).permute({0, 3, 4, 1, 5, 2});
    return Tensors{y.reshape({batch, oc, h * b, w * b})};
  };
}

Kernel BuildSpaceToDepth(const NodeView& n) {
  const int64_t b = n.Int("blocksize", 0);
  if (b < 1) n.Fail("blocksize {} is not positive", b);
  return [b](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    if (x.dim() != 4) RunError(fmt::format("an input of rank {}; 4 expected", x.dim()));
    const int64_t batch = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    if (h % b != 0 || w % b != 0) {
      RunError(fmt::format("spatial size {}x{} for blocksize {}", h, w, b));
    }
    return Tensors{x.reshape({batch, c, h / b, b, w / b, b})
                       .permute({0, 3, 5, 1, 2, 4})
                       .reshape({batch, c * b * b, h / b, w / b})};
  };
}

}  // namespace

void AddNnOps(std::vector<OpEntry>* table) {
  Add(table, "Conv", BuildConv);
  Add(table, "ConvTranspose", BuildConvTranspose);
  AddPools(table);
  Add(table, "BatchNormalization", BuildBatchNorm);
  Add(table, "InstanceNormalization", BuildInstanceNorm);
  Add(table, "LayerNormalization", BuildLayerNorm, 17, 1000, {1, 2});
  Add(table, "LRN", BuildLrn);
  Add(table, "MeanVarianceNormalization", BuildMvn, 9);
  Add(table, "LpNormalization", BuildLpNorm);
  AddActivations(table);
  Add(table, "Softmax", SoftmaxOp(SoftKind::kSoftmax));
  Add(table, "LogSoftmax", SoftmaxOp(SoftKind::kLogSoftmax));
  Add(table, "Hardmax", SoftmaxOp(SoftKind::kHardmax));
  Add(table, "Resize", BuildResize, 10);
  Add(table, "Upsample", BuildUpsample, 7, 9);
  AddPlain(table, "DepthToSpace", BuildDepthToSpace);
  AddPlain(table, "SpaceToDepth", BuildSpaceToDepth);
}

}  // namespace plaster::engine::torch_engine
