// Vision ops: GridSample, NonMaxSuppression, RoiAlign, MaxUnpool.
//
// Each follows ONNX's reference implementation (onnx/reference/ops/op_*.py) rather than the
// nearest ATen op where the two differ: the reference is what the conformance data and other
// runtimes (onnxruntime, whose CPU kernels the reference ports) agree on. Where ATen computes
// the same thing, it runs ATen (faster, and autograd sees through it); the loops here cover the
// rest. Geometry is computed in double, as the reference's Python scalars are.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/torch/kernel.h"

namespace plaster::engine::torch_engine {
namespace {

using IntList = std::vector<int64_t>;

bool Given(const Tensors& in, size_t i) { return i < in.size() && in[i].defined(); }

// The type a hand-written loop computes in: double stays double, anything else goes through
// float (the engine's precision; the reference's float32 arrays).
at::ScalarType LoopType(const at::Tensor& t) {
  return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// ---------------------------------------------------------------------------------------------
// GridSample

enum class Interp { kLinear, kNearest, kCubic };
enum class Padding { kZeros, kBorder, kReflection };

// Grid value in [-1, 1] → pixel coordinate, as the reference's _gs_denormalize.
double Denormalize(double n, int64_t length, bool align_corners) {
  return align_corners ? (n + 1) / 2.0 * static_cast<double>(length - 1)
                       : ((n + 1) * static_cast<double>(length) - 1) / 2.0;
}

// The reference's _gs_reflect: fold x into [lo, hi] by mirroring at the nearer border. A
// zero-width range (one pixel, align_corners) maps everything to lo, where the reference
// divides by zero.
double Reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (!(range > 0)) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const auto folds = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(folds) * range;
    return folds % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const auto folds = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(folds) * range;
    return folds % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

// Keys' cubic convolution weights (a = -0.75) for taps at -1, 0, 1, 2 around fraction t.
void CubicWeights(double t, double w[4]) {
  constexpr double a = -0.75;
  const double x = std::fabs(t);
  w[0] = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
  w[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
  w[2] = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
  w[3] = ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a;
}

struct GridSampleSpec {
  Interp interp = Interp::kLinear;
  Padding padding = Padding::kZeros;
  bool align_corners = false;
};

// ATen's grid_sampler computes the same values as the reference for 2-D and 3-D samples except
// where the order of padding and rounding differs:
//  - cubic with border padding: the reference clamps the coordinate, then fetches taps around
//    it; ATen clamps each tap separately (different values past the border);
//  - nearest with reflection: the reference rounds, then reflects; ATen reflects, then rounds.
//    Half-way coordinates outside the image land on different pixels (2-D without
//    align_corners: mirrors about half-pixels; 3-D rounds half away from zero, which mirroring
//    does not preserve).
// Linear with reflection matches (the reference's extra fold lands both taps on the same pixel);
// cubic with reflection matches (mirroring the coordinate mirrors the taps and their weights).
bool AtenGridSamplerMatches(const GridSampleSpec& s, int64_t spatial) {
  if (spatial == 2) {
    if (s.interp == Interp::kCubic) return s.padding != Padding::kBorder;
    if (s.interp == Interp::kNearest && s.padding == Padding::kReflection) return s.align_corners;
    return true;
  }
  if (spatial == 3) {
    if (s.interp == Interp::kCubic) return false;  // ATen has no 3-D bicubic
    return !(s.interp == Interp::kNearest && s.padding == Padding::kReflection);
  }
  return false;
}

// The reference's N-D loop. x: [N, C, D1..Dk] of any type, grid: [N, O1..Ok, k]; returns
// [N, C, O1..Ok] in double.
at::Tensor GridSampleLoop(const at::Tensor& x, const at::Tensor& grid, const GridSampleSpec& s) {
  const int64_t k = x.dim() - 2;
  const int64_t batch = x.size(0), channels = x.size(1);
  const IntList dims(x.sizes().begin() + 2, x.sizes().end());
  IntList out_shape = {batch, channels};
  int64_t points = 1;
  for (int64_t i = 1; i <= k; ++i) {
    out_shape.push_back(grid.size(i));
    points *= grid.size(i);
  }
  int64_t plane = 1;
  for (int64_t d : dims) plane *= d;
  IntList stride(static_cast<size_t>(k), 1);  // element strides of the spatial axes
  for (int64_t i = k - 2; i >= 0; --i) {
    stride[static_cast<size_t>(i)] =
        stride[static_cast<size_t>(i + 1)] * dims[static_cast<size_t>(i + 1)];
  }
  at::Tensor y = at::empty(out_shape, x.options().dtype(at::kDouble));
  const at::Tensor xd = x.to(at::kDouble).contiguous();
  const at::Tensor gd = grid.to(at::kDouble).contiguous();
  const double* xp = xd.data_ptr<double>();
  const double* gp = gd.data_ptr<double>();
  double* yp = y.data_ptr<double>();
  // Pixel borders per axis: the reference pads a coordinate outside [lo, hi].
  std::vector<double> lo(static_cast<size_t>(k)), hi(static_cast<size_t>(k));
  for (size_t i = 0; i < static_cast<size_t>(k); ++i) {
    lo[i] = s.align_corners ? 0.0 : -0.5;
    hi[i] = s.align_corners ? static_cast<double>(dims[i] - 1) : static_cast<double>(dims[i]) - 0.5;
  }
  const int taps = s.interp == Interp::kCubic ? 4 : s.interp == Interp::kLinear ? 2 : 1;
  at::parallel_for(0, batch * points, 16, [&](int64_t begin, int64_t end) {
    // Per axis: the pixel index of each tap (-1: outside, reads zero) and its weight.
    std::vector<int64_t> index(static_cast<size_t>(k * taps));
    std::vector<double> weight(static_cast<size_t>(k * taps));
    for (int64_t job = begin; job < end; ++job) {
      const int64_t b = job / points, o = job % points;
      const double* g = gp + job * k;
      for (int64_t i = 0; i < k; ++i) {
        const auto a = static_cast<size_t>(i);
        const int64_t d = dims[a];
        // The grid lists coordinates innermost axis first; the reference keeps them in float32.
        double c = static_cast<float>(Denormalize(g[k - 1 - i], d, s.align_corners));
        if (s.interp == Interp::kNearest) {
          // PyTorch (which the reference follows) rounds half to even in 2-D, away from zero in
          // 3-D; other ranks follow 2-D.
          c = k == 3 ? std::round(c) : std::nearbyint(c);
        }
        if (c < lo[a] || c > hi[a]) {
          if (s.padding == Padding::kBorder) {
            c = std::clamp(c, 0.0, static_cast<double>(d - 1));
          } else if (s.padding == Padding::kReflection) {
            c = Reflect(c, lo[a], hi[a]);
          }
          c = static_cast<float>(c);
        }
        int64_t first = 0;
        double w[4] = {1, 0, 0, 0};
        if (s.interp == Interp::kNearest) {
          first = static_cast<int64_t>(c);  // the reference's astype(int32) truncates
        } else {
          first = static_cast<int64_t>(std::floor(c));
          const double t = c - static_cast<double>(first);
          if (s.interp == Interp::kLinear) {
            w[0] = 1 - t;
            w[1] = t;
          } else {
            CubicWeights(t, w);
            first -= 1;
          }
        }
        for (int j = 0; j < taps; ++j) {
          int64_t p = first + j;
          if (s.padding == Padding::kZeros) {
            if (p < 0 || p >= d) p = -1;
          } else if (s.padding == Padding::kBorder) {
            p = std::clamp<int64_t>(p, 0, d - 1);
          } else {
            p = static_cast<int64_t>(Reflect(static_cast<double>(p), lo[a], hi[a]));
          }
          index[a * static_cast<size_t>(taps) + static_cast<size_t>(j)] = p;
          weight[a * static_cast<size_t>(taps) + static_cast<size_t>(j)] = w[j];
        }
      }
      // Sum over the taps' tensor product, one channel at a time.
      int64_t combos = 1;
      for (int64_t i = 0; i < k; ++i) combos *= taps;
      for (int64_t ch = 0; ch < channels; ++ch) {
        const double* src = xp + (b * channels + ch) * plane;
        double sum = 0;
        for (int64_t m = 0; m < combos; ++m) {
          int64_t rest = m, offset = 0;
          double w = 1;
          bool outside = false;
          for (int64_t i = k - 1; i >= 0; --i) {
            const auto slot = static_cast<size_t>(i * taps + rest % taps);
            rest /= taps;
            if (index[slot] < 0) {
              outside = true;
              break;
            }
            offset += index[slot] * stride[static_cast<size_t>(i)];
            w *= weight[slot];
          }
          if (!outside) sum += w * src[offset];
        }
        yp[(b * channels + ch) * points + o] = sum;
      }
    }
  });
  return y;
}

Kernel BuildGridSample(const NodeView& n) {
  // Opset 20 renamed bilinear/bicubic to linear/cubic and allowed any number of spatial axes.
  const bool renamed = n.opset() >= 20;
  const std::string mode = n.String("mode", renamed ? "linear" : "bilinear");
  GridSampleSpec s;
  if (mode == (renamed ? "linear" : "bilinear")) {
    s.interp = Interp::kLinear;
  } else if (mode == "nearest") {
    s.interp = Interp::kNearest;
  } else if (mode == (renamed ? "cubic" : "bicubic")) {
    s.interp = Interp::kCubic;
  } else {
    n.Fail("mode '{}' is not supported at opset {}", mode, n.opset());
  }
  const std::string padding_mode = n.String("padding_mode", "zeros");
  if (padding_mode == "zeros") {
    s.padding = Padding::kZeros;
  } else if (padding_mode == "border") {
    s.padding = Padding::kBorder;
  } else if (padding_mode == "reflection") {
    s.padding = Padding::kReflection;
  } else {
    n.Fail("padding_mode '{}' is not zeros, border or reflection", padding_mode);
  }
  s.align_corners = n.Int("align_corners", 0) != 0;
  return [s](const Tensors& in) -> Tensors {
    const at::Tensor& x = in[0];
    const at::Tensor& grid = in[1];
    const int64_t k = x.dim() - 2;
    TORCH_CHECK(k >= 1 && grid.dim() == x.dim() && grid.size(0) == x.size(0) && grid.size(-1) == k,
                "GridSample: grid of shape ", grid.sizes(), " does not fit X of shape ", x.sizes());
    for (int64_t i = 2; i < x.dim(); ++i) {
      TORCH_CHECK(x.size(i) > 0, "GridSample: X of shape ", x.sizes(), " has no pixels to sample");
    }
    if (at::isFloatingType(x.scalar_type()) && x.scalar_type() != at::kHalf &&
        x.scalar_type() != at::kBFloat16 && AtenGridSamplerMatches(s, k)) {
      const int64_t interp = s.interp == Interp::kLinear ? 0 : s.interp == Interp::kNearest ? 1 : 2;
      const int64_t padding = s.padding == Padding::kZeros    ? 0
                              : s.padding == Padding::kBorder ? 1
                                                              : 2;
      return {at::grid_sampler(x, grid.to(x.scalar_type()), interp, padding, s.align_corners)};
    }
    // Other types (integers, 16-bit floats) go through double; the reference writes its float
    // results into an array of X's type, which truncates integers.
    return {GridSampleLoop(x, grid, s).to(x.scalar_type())};
  };
}

// ---------------------------------------------------------------------------------------------
// NonMaxSuppression

// Whether boxes a and b overlap by more than the IoU threshold. Mirrors the reference's
// suppress_by_iou (onnxruntime's), including its early outs for empty intersections and areas.
template <typename T>
bool Suppresses(const T* a, const T* b, bool center_point_box, T iou_threshold) {
  T ax0, ax1, ay0, ay1, bx0, bx1, by0, by1;
  if (center_point_box) {  // [x_center, y_center, width, height]
    ax0 = a[0] - a[2] / 2;
    ax1 = a[0] + a[2] / 2;
    ay0 = a[1] - a[3] / 2;
    ay1 = a[1] + a[3] / 2;
    bx0 = b[0] - b[2] / 2;
    bx1 = b[0] + b[2] / 2;
    by0 = b[1] - b[3] / 2;
    by1 = b[1] + b[3] / 2;
  } else {  // [y1, x1, y2, x2], either corner first
    std::tie(ax0, ax1) = std::minmax(a[1], a[3]);
    std::tie(ay0, ay1) = std::minmax(a[0], a[2]);
    std::tie(bx0, bx1) = std::minmax(b[1], b[3]);
    std::tie(by0, by1) = std::minmax(b[0], b[2]);
  }
  const T ix0 = std::max(ax0, bx0), ix1 = std::min(ax1, bx1);
  if (ix1 <= ix0) return false;
  const T iy0 = std::max(ay0, by0), iy1 = std::min(ay1, by1);
  if (iy1 <= iy0) return false;
  const T inter = (ix1 - ix0) * (iy1 - iy0);
  if (inter <= 0) return false;
  const T area_a = (ax1 - ax0) * (ay1 - ay0);
  const T area_b = (bx1 - bx0) * (by1 - by0);
  const T uni = area_a + area_b - inter;
  if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > iou_threshold;
}

template <typename T>
std::vector<int64_t> NonMaxSuppression(const at::Tensor& boxes, const at::Tensor& scores,
                                       int64_t max_per_class, T iou_threshold,
                                       const T* score_threshold, bool center_point_box) {
  const int64_t batches = boxes.size(0), count = boxes.size(1), classes = scores.size(1);
  const T* box_data = boxes.data_ptr<T>();
  const T* score_data = scores.data_ptr<T>();
  std::vector<int64_t> selected;  // (batch, class, box) triples
  std::vector<std::pair<T, int64_t>> candidates;
  std::vector<int64_t> kept;
  for (int64_t b = 0; b < batches; ++b) {
    const T* batch_boxes = box_data + b * count * 4;
    for (int64_t c = 0; c < classes; ++c) {
      const T* s = score_data + (b * classes + c) * count;
      candidates.clear();
      for (int64_t i = 0; i < count; ++i) {
        if (!score_threshold || s[i] > *score_threshold) candidates.emplace_back(s[i], i);
      }
      // Highest score first; equal scores in box order. NaN scores sort last (the reference's
      // Python sort leaves them wherever its comparisons happen to put them).
      std::stable_sort(candidates.begin(), candidates.end(), [](const auto& l, const auto& r) {
        if (std::isnan(l.first) || std::isnan(r.first))
          return !std::isnan(l.first) && std::isnan(r.first);
        return l.first > r.first;
      });
      kept.clear();
      for (const auto& candidate : candidates) {
        const int64_t i = candidate.second;
        if (static_cast<int64_t>(kept.size()) >= max_per_class) break;
        bool keep = true;
        for (int64_t j : kept) {
          if (Suppresses(batch_boxes + i * 4, batch_boxes + j * 4, center_point_box,
                         iou_threshold)) {
            keep = false;
            break;
          }
        }
        if (keep) {
          kept.push_back(i);
          selected.insert(selected.end(), {b, c, i});
        }
      }
    }
  }
  return selected;
}

Kernel BuildNonMaxSuppression(const NodeView& n) {
  const int64_t center = n.Int("center_point_box", 0);
  if (center != 0 && center != 1) n.Fail("center_point_box {} is not 0 or 1", center);
  return [center](const Tensors& in) -> Tensors {
    const at::ScalarType type = LoopType(in[0]);
    const at::Tensor boxes = in[0].to(type).contiguous();
    const at::Tensor scores = in[1].to(type).contiguous();
    TORCH_CHECK(boxes.dim() == 3 && boxes.size(2) == 4 && scores.dim() == 3 &&
                    scores.size(0) == boxes.size(0) && scores.size(2) == boxes.size(1),
                "NonMaxSuppression: boxes ", boxes.sizes(), " and scores ", scores.sizes(),
                " do not fit [batch, boxes, 4] and [batch, classes, boxes]");
    // Omitted or empty inputs: no boxes per class, threshold 0, no score filter.
    int64_t max_per_class = 0;
    if (Given(in, 2) && in[2].numel() > 0) {
      max_per_class = std::max<int64_t>(in[2].reshape({-1})[0].item<int64_t>(), 0);
    }
    const double iou =
        Given(in, 3) && in[3].numel() > 0 ? in[3].reshape({-1})[0].item<double>() : 0;
    const bool filter = Given(in, 4) && in[4].numel() > 0;
    const double score = filter ? in[4].reshape({-1})[0].item<double>() : 0;
    std::vector<int64_t> selected;
    AT_DISPATCH_FLOATING_TYPES(type, "NonMaxSuppression", [&] {
      const auto score_t = static_cast<scalar_t>(score);
      selected =
          NonMaxSuppression<scalar_t>(boxes, scores, max_per_class, static_cast<scalar_t>(iou),
                                      filter ? &score_t : nullptr, center == 1);
    });
    const auto rows = static_cast<int64_t>(selected.size() / 3);
    return {at::tensor(selected, at::kLong).reshape({rows, 3})};
  };
}

// ---------------------------------------------------------------------------------------------
// RoiAlign

struct RoiAlignSpec {
  bool max = false;         // mode "max", else "avg"
  bool half_pixel = false;  // coordinate_transformation_mode "half_pixel"
  int64_t out_h = 1, out_w = 1, sampling_ratio = 0;
  double spatial_scale = 1.0;
};

// One bilinear sample: four pixel offsets and their weights (all zero outside the map).
struct Sample {
  int64_t pos[4] = {0, 0, 0, 0};
  double w[4] = {0, 0, 0, 0};
};

// The reference's roi_align_forward (onnxruntime's RoiAlign). x: [N, C, H, W]; rois: [R, 4] as
// (x1, y1, x2, y2); returns [R, C, out_h, out_w] in double.
template <typename T>
at::Tensor RoiAlignLoop(const at::Tensor& x, const at::Tensor& rois, const at::Tensor& batch_index,
                        const RoiAlignSpec& s) {
  const int64_t channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t count = rois.size(0);
  at::Tensor y = at::zeros({count, channels, s.out_h, s.out_w}, x.options().dtype(at::kDouble));
  const T* xp = x.data_ptr<T>();
  const T* rp = rois.data_ptr<T>();
  const int64_t* bp = batch_index.data_ptr<int64_t>();
  double* yp = y.data_ptr<double>();
  for (int64_t r = 0; r < count; ++r) {
    TORCH_CHECK(bp[r] >= 0 && bp[r] < x.size(0), "RoiAlign: batch index ", bp[r],
                " is out of range for ", x.size(0), " images");
  }
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    std::vector<Sample> samples;
    for (int64_t r = begin; r < end; ++r) {
      const T* roi = rp + r * 4;
      // No rounding of the box: this detail is what makes it RoiAlign.
      const double offset = s.half_pixel ? 0.5 : 0.0;
      const double x0 = static_cast<double>(roi[0]) * s.spatial_scale - offset;
      const double y0 = static_cast<double>(roi[1]) * s.spatial_scale - offset;
      const double x1 = static_cast<double>(roi[2]) * s.spatial_scale - offset;
      const double y1 = static_cast<double>(roi[3]) * s.spatial_scale - offset;
      double roi_w = x1 - x0, roi_h = y1 - y0;
      if (!s.half_pixel) {  // malformed boxes become 1x1
        roi_w = std::max(roi_w, 1.0);
        roi_h = std::max(roi_h, 1.0);
      }
      const double bin_h = roi_h / static_cast<double>(s.out_h);
      const double bin_w = roi_w / static_cast<double>(s.out_w);
      const int64_t grid_h =
          s.sampling_ratio > 0
              ? s.sampling_ratio
              : static_cast<int64_t>(std::ceil(roi_h / static_cast<double>(s.out_h)));
      const int64_t grid_w =
          s.sampling_ratio > 0
              ? s.sampling_ratio
              : static_cast<int64_t>(std::ceil(roi_w / static_cast<double>(s.out_w)));
      // A negative box (half_pixel) samples nothing: the bins stay zero.
      if (grid_h <= 0 || grid_w <= 0) continue;
      const double samples_per_bin = static_cast<double>(grid_h * grid_w);
      // The sample points and weights are the same for every channel.
      samples.assign(static_cast<size_t>(s.out_h * s.out_w * grid_h * grid_w), Sample{});
      size_t next = 0;
      for (int64_t ph = 0; ph < s.out_h; ++ph) {
        for (int64_t pw = 0; pw < s.out_w; ++pw) {
          for (int64_t iy = 0; iy < grid_h; ++iy) {
            const double yy = y0 + static_cast<double>(ph) * bin_h +
                              (static_cast<double>(iy) + 0.5) * bin_h / static_cast<double>(grid_h);
            for (int64_t ix = 0; ix < grid_w; ++ix, ++next) {
              double xx = x0 + static_cast<double>(pw) * bin_w +
                          (static_cast<double>(ix) + 0.5) * bin_w / static_cast<double>(grid_w);
              double yv = yy;
              if (yv < -1.0 || yv > static_cast<double>(height) || xx < -1.0 ||
                  xx > static_cast<double>(width)) {
                continue;  // outside the map: weights stay zero
              }
              yv = std::max(yv, 0.0);
              xx = std::max(xx, 0.0);
              auto y_lo = static_cast<int64_t>(yv), x_lo = static_cast<int64_t>(xx);
              int64_t y_hi = y_lo + 1, x_hi = x_lo + 1;
              if (y_lo >= height - 1) {
                y_hi = y_lo = height - 1;
                yv = static_cast<double>(y_lo);
              }
              if (x_lo >= width - 1) {
                x_hi = x_lo = width - 1;
                xx = static_cast<double>(x_lo);
              }
              const double ly = yv - static_cast<double>(y_lo), lx = xx - static_cast<double>(x_lo);
              const double hy = 1.0 - ly, hx = 1.0 - lx;
              Sample& sm = samples[next];
              sm.pos[0] = y_lo * width + x_lo;
              sm.pos[1] = y_lo * width + x_hi;
              sm.pos[2] = y_hi * width + x_lo;
              sm.pos[3] = y_hi * width + x_hi;
              sm.w[0] = hy * hx;
              sm.w[1] = hy * lx;
              sm.w[2] = ly * hx;
              sm.w[3] = ly * lx;
            }
          }
        }
      }
      const size_t per_bin = static_cast<size_t>(grid_h * grid_w);
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = xp + (bp[r] * channels + c) * height * width;
        double* out = yp + (r * channels + c) * s.out_h * s.out_w;
        for (int64_t bin = 0; bin < s.out_h * s.out_w; ++bin) {
          const Sample* sm = samples.data() + static_cast<size_t>(bin) * per_bin;
          double value = 0;
          for (size_t q = 0; q < per_bin; ++q) {
            if (s.max) {
              // onnxruntime's max mode (which the reference copies): the largest of the four
              // weighted corner values, not of the interpolated sample.
              double v = sm[q].w[0] * static_cast<double>(plane[sm[q].pos[0]]);
              for (int corner = 1; corner < 4; ++corner) {
                v = std::max(v, sm[q].w[corner] * static_cast<double>(plane[sm[q].pos[corner]]));
              }
              value = q == 0 ? v : std::max(value, v);
            } else {
              for (int corner = 0; corner < 4; ++corner) {
                value += sm[q].w[corner] * static_cast<double>(plane[sm[q].pos[corner]]);
              }
            }
          }
          out[bin] = s.max ? value : value / samples_per_bin;
        }
      }
    }
  });
  return y;
}

Kernel BuildRoiAlign(const NodeView& n) {
  RoiAlignSpec s;
  const std::string mode = n.String("mode", "avg");
  if (mode != "avg" && mode != "max") n.Fail("mode '{}' is not avg or max", mode);
  s.max = mode == "max";
  // Opset 10 had no choice: its boxes are output_half_pixel, which opset 16 keeps as an option.
  const std::string coords = n.opset() >= 16
                                 ? n.String("coordinate_transformation_mode", "half_pixel")
                                 : "output_half_pixel";
  if (coords != "half_pixel" && coords != "output_half_pixel") {
    n.Fail("coordinate_transformation_mode '{}' is not half_pixel or output_half_pixel", coords);
  }
  s.half_pixel = coords == "half_pixel";
  s.out_h = n.Int("output_height", 1);
  s.out_w = n.Int("output_width", 1);
  if (s.out_h < 1 || s.out_w < 1) n.Fail("output size {}x{} is not positive", s.out_h, s.out_w);
  s.sampling_ratio = n.Int("sampling_ratio", 0);
  if (s.sampling_ratio < 0) n.Fail("sampling_ratio {} is negative", s.sampling_ratio);
  s.spatial_scale = static_cast<double>(n.Float("spatial_scale", 1.0f));
  return [s](const Tensors& in) -> Tensors {
    const at::ScalarType type = LoopType(in[0]);
    const at::Tensor x = in[0].to(type).contiguous();
    const at::Tensor rois = in[1].to(type).contiguous();
    const at::Tensor batch_index = in[2].to(at::kLong).contiguous().reshape({-1});
    TORCH_CHECK(x.dim() == 4 && x.size(2) > 0 && x.size(3) > 0, "RoiAlign: X of shape ", x.sizes(),
                " is not [N, C, H, W] with pixels");
    TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 4 && rois.size(0) == batch_index.numel(),
                "RoiAlign: rois ", rois.sizes(), " and batch_indices ", in[2].sizes(),
                " do not fit [num_rois, 4] and [num_rois]");
    at::Tensor y;
    AT_DISPATCH_FLOATING_TYPES(type, "RoiAlign",
                               [&] { y = RoiAlignLoop<scalar_t>(x, rois, batch_index, s); });
    return {y.to(in[0].scalar_type())};
  };
}

// ---------------------------------------------------------------------------------------------
// MaxUnpool

Kernel BuildMaxUnpool(const NodeView& n) {
  const IntList kernel = n.Ints("kernel_shape");
  if (kernel.empty()) n.Fail("attribute kernel_shape is missing");
  const auto spatial = static_cast<int64_t>(kernel.size());
  IntList pads = n.Ints("pads"), strides = n.Ints("strides");
  if (pads.empty()) pads.assign(static_cast<size_t>(2 * spatial), 0);
  if (strides.empty()) strides.assign(static_cast<size_t>(spatial), 1);
  if (static_cast<int64_t>(pads.size()) != 2 * spatial ||
      static_cast<int64_t>(strides.size()) != spatial) {
    n.Fail("pads ({} values) and strides ({}) do not fit kernel_shape ({})", pads.size(),
           strides.size(), spatial);
  }
  return [=](const Tensors& in) -> Tensors {
    const at::Tensor& x = in[0];
    TORCH_CHECK(x.dim() == spatial + 2, "MaxUnpool: X has rank ", x.dim(), "; kernel_shape has ",
                spatial, " axes");
    TORCH_CHECK(in[1].sizes() == x.sizes(), "MaxUnpool: indices of shape ", in[1].sizes(),
                " do not match X's ", x.sizes());
    // The shape MaxPool's input had (the default output shape).
    IntList shape = {x.size(0), x.size(1)};
    for (int64_t i = 0; i < spatial; ++i) {
      const auto a = static_cast<size_t>(i);
      shape.push_back((x.size(i + 2) - 1) * strides[a] -
                      (pads[a] + pads[a + static_cast<size_t>(spatial)]) + kernel[a]);
    }
    int64_t total = 1;
    for (int64_t d : shape) total *= d;
    // Indices count over the whole tensor of that shape, even when output_shape differs: the
    // reference scatters into it, then places it at the origin of a zero output_shape tensor.
    at::Tensor y = at::zeros({total}, x.options());
    y.index_put_({in[1].reshape({-1}).to(at::kLong)}, x.reshape({-1}));
    y = y.reshape(shape);
    if (Given(in, 2)) {
      const at::Tensor o = in[2].to(at::kLong).contiguous();
      const IntList out(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
      TORCH_CHECK(out.size() == shape.size(), "MaxUnpool: output_shape has ", out.size(),
                  " values for rank ", shape.size());
      IntList pad;  // last axis first, (before, after) pairs
      for (size_t a = shape.size(); a-- > 0;) {
        TORCH_CHECK(out[a] >= shape[a], "MaxUnpool: output_shape ", at::IntArrayRef(out),
                    " is smaller than the unpooled shape ", at::IntArrayRef(shape));
        pad.push_back(0);
        pad.push_back(out[a] - shape[a]);
      }
      y = at::constant_pad_nd(y, pad, 0);
    }
    return {y};
  };
}

void Add(std::vector<OpEntry>* t, const char* op, Builder b, int since, int until = 1000) {
  t->push_back({op, std::move(b), since, until});
}

}  // namespace

void AddVisionOps(std::vector<OpEntry>* t) {
  Add(t, "GridSample", BuildGridSample, 16);
  Add(t, "NonMaxSuppression", BuildNonMaxSuppression, 10);
  Add(t, "RoiAlign", BuildRoiAlign, 10);
  Add(t, "MaxUnpool", BuildMaxUnpool, 9);
}

}  // namespace plaster::engine::torch_engine
