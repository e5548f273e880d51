// Resampling ops of the torch engine: Resize, Upsample, DepthToSpace, SpaceToDepth.
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
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {
namespace {

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
  for (auto& a : axes) a = RunAxis<std::invalid_argument>(a, rank);
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

void AddResizeOps(std::vector<OpEntry>* table) {
  AddHalfViaFloat(table, "Resize", BuildResize, 10);
  AddHalfViaFloat(table, "Upsample", BuildUpsample, 7, 9);
  AddPlain(table, "DepthToSpace", BuildDepthToSpace);
  AddPlain(table, "SpaceToDepth", BuildSpaceToDepth);
}

}  // namespace plaster::engine::torch_engine
