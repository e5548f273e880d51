// Convolution and pooling ops of the torch engine: Conv, ConvTranspose, MaxPool, AveragePool,
// LpPool and the global pools.
//
// Note [Windows]: Conv, ConvTranspose and the pools share one description of a sliding window
// (kernel, strides, dilations, pads, auto_pad, ceil_mode). auto_pad depends on the input's
// spatial size, so it is resolved per run from the actual input; the attributes are read once.
// ATen pads symmetrically, insists on pads of at most half the kernel and sizes ceil_mode
// outputs by its own rule (the last window must start inside the input), so a pool lets ATen
// pad only where that provably gives ONNX's windows; otherwise it pads explicitly and pools the
// padded tensor.

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_util.h"
#include "engine/torch/ops_window.h"

namespace plaster::engine::torch_engine {

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

// ---------------------------------------------------------------------------------------------
// Sliding windows (Note [Windows])

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

Ints KernelOf(const Window& w, const at::Tensor& x, const at::Tensor& weight) {
  if (weight.dim() != x.dim()) {
    RunError(fmt::format("weights of rank {} for an input of rank {}", weight.dim(), x.dim()));
  }
  const Ints kernel(weight.sizes().begin() + 2, weight.sizes().end());
  if (!w.kernel.empty() && w.kernel != kernel) {
    RunError(
        fmt::format("kernel_shape {} differs from the weights' {}", Join(w.kernel), Join(kernel)));
  }
  return kernel;
}

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

namespace {

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
    const Ints kernel = KernelOf(w, x, weight);
    const Geometry g = Resolve(w, size, kernel);
    const Ints zeros(size.size(), 0);
    // at::conv1d/2d/3d rather than at::convolution: they are what autocast casts (bf16
    // training, Note [Training] in trainer.cpp), and they call at::convolution.
    const bool symmetric = g.begin == g.end;
    const at::Tensor input = symmetric ? x : Pad(x, g.begin, g.end, 0);
    const Ints& padding = symmetric ? g.begin : zeros;
    switch (size.size()) {
      case 1:
        return Tensors{
            at::conv1d(input, weight, Optional(bias), g.stride, padding, g.dilation, group)};
      case 2:
        return Tensors{
            at::conv2d(input, weight, Optional(bias), g.stride, padding, g.dilation, group)};
      default:
        return Tensors{
            at::conv3d(input, weight, Optional(bias), g.stride, padding, g.dilation, group)};
    }
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
    const Ints kernel = KernelOf(w, x, weight);
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
      } else if (x.scalar_type() == at::kFloat && x.dim() == 4 && !x.requires_grad() &&
                 !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast)) {
        // A channels-last input (from a fused convolution, Note [Layouts]): ATen's
        // channels-last kernel vectorises over channels and keeps the layout.
        y = at::max_pool2d(x, g.kernel, g.stride, pad, g.dilation, ceil);
      } else if (x.scalar_type() == at::kFloat && x.dim() == 4 && !x.requires_grad() &&
                 std::all_of(g.dilation.begin(), g.dilation.end(),
                             [](int64_t d) { return d == 1; })) {
        // oneDNN's pooling, with the layout conversions both ways, is 5-7× faster than ATen's
        // NCHW kernel (SqueezeNet's 1×64×111×111 pool: 0.45 against 3.5 ms) and gives the same
        // windows for the same arguments.
        y = at::mkldnn_max_pool2d(x.contiguous().to_mkldnn(), g.kernel, g.stride, pad, g.dilation,
                                  ceil)
                .to_dense();
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

void AddPools(std::vector<OpEntry>* t) {
  AddHalfViaFloat(t, "MaxPool", BuildMaxPool);
  AddHalfViaFloat(t, "AveragePool", BuildAveragePool);
  AddHalfViaFloat(t, "LpPool", BuildLpPool);
  // ATen reduces every axis when given none; an input without spatial axes passes through.
  AddHalfViaFloat(t, "GlobalAveragePool", UnaryOp([](const NodeView&) -> UnaryFn {
                    return [](const at::Tensor& x) {
                      return x.dim() > 2 ? x.mean(SpatialAxes(x), true) : x;
                    };
                  }));
  AddHalfViaFloat(t, "GlobalMaxPool", UnaryOp([](const NodeView&) -> UnaryFn {
                    return [](const at::Tensor& x) {
                      return x.dim() > 2 ? x.amax(SpatialAxes(x), true) : x;
                    };
                  }));
  AddHalfViaFloat(
      t, "GlobalLpPool", UnaryOp([](const NodeView& n) -> UnaryFn {
        const double p = n.opset() < 2 ? n.Float("p", 2.f) : static_cast<double>(n.Int("p", 2));
        if (!(p > 0)) n.Fail("p = {} is not positive", p);
        return [p](const at::Tensor& x) {
          return x.dim() > 2 ? at::linalg_vector_norm(x, p, SpatialAxes(x), true) : x.abs();
        };
      }));
}

}  // namespace

void AddConvPoolOps(std::vector<OpEntry>* table) {
  AddHalfViaFloat(table, "Conv", BuildConv);
  AddHalfViaFloat(table, "ConvTranspose", BuildConvTranspose);
  AddPools(table);
}

}  // namespace plaster::engine::torch_engine
