#include "engine/torch/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace plaster::engine::torch_engine {

void RangeStats::ObserveRange(float lo, float hi) {
  if (!seen_) {
    min_ = lo;
    max_ = hi;
    seen_ = true;
    return;
  }
  min_ = std::min(min_, lo);
  max_ = std::max(max_, hi);
}

float RangeStats::abs_max() const { return std::max(std::fabs(min_), std::fabs(max_)); }

void RangeStats::ObserveValues(const float* values, int64_t n) {
  if (histogram_.empty()) histogram_.assign(kBins, 0.0);
  const float top = abs_max();
  if (top <= 0) return;  // all zeros
  const float per_bin = static_cast<float>(kBins) / top;
  // Integer counts per bin first: adding 1.0 to doubles this often is the slow part.
  std::vector<int64_t> counts(kBins, 0);
  for (int64_t i = 0; i < n; ++i) {
    // Exact zeros (about half of a Relu's output) are exact at any scale: they say nothing
    // about where to clip, and left in, their spike in the first bin drives the entropy method
    // to clip far too low.
    if (values[i] == 0.0f) continue;
    const float v = std::fabs(values[i]) * per_bin;
    const int bin = v >= static_cast<float>(kBins) ? kBins - 1 : static_cast<int>(v);
    ++counts[static_cast<size_t>(bin)];
  }
  for (int b = 0; b < kBins; ++b) histogram_[b] += static_cast<double>(counts[b]);
}

double PercentileThreshold(const std::vector<double>& histogram, double bin_width,
                           double percentile) {
  double total = 0;
  for (double c : histogram) total += c;
  if (total <= 0) return 0;
  const double want = total * std::clamp(percentile, 0.0, 100.0) / 100.0;
  double sum = 0;
  for (size_t b = 0; b < histogram.size(); ++b) {
    sum += histogram[b];
    if (sum >= want) return static_cast<double>(b + 1) * bin_width;
  }
  return static_cast<double>(histogram.size()) * bin_width;
}

namespace {

// KL(p ‖ q) of two unnormalised distributions over the same bins; q is zero only where p is.
double KlDivergence(const std::vector<double>& p, const std::vector<double>& q) {
  double p_sum = 0, q_sum = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    p_sum += p[i];
    q_sum += q[i];
  }
  if (p_sum <= 0 || q_sum <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    if (q[i] <= 0) return std::numeric_limits<double>::infinity();
    const double pi = p[i] / p_sum, qi = q[i] / q_sum;
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

}  // namespace

double EntropyThreshold(const std::vector<double>& histogram, double bin_width, int levels) {
  const int bins = static_cast<int>(histogram.size());
  if (bins <= levels) return static_cast<double>(bins) * bin_width;
  double best_kl = std::numeric_limits<double>::infinity();
  int best = bins;
  std::vector<double> p, q;
  for (int edge = levels; edge <= bins; ++edge) {
    // p: the histogram clipped at `edge`, what lies beyond folded into its last bin.
    p.assign(histogram.begin(), histogram.begin() + edge);
    for (int b = edge; b < bins; ++b) p[static_cast<size_t>(edge - 1)] += histogram[b];
    // q: the clipped histogram (without the fold) merged into `levels` levels, each level's
    // mass spread evenly over the bins it covers that were not empty.
    q.assign(static_cast<size_t>(edge), 0.0);
    const double per_level = static_cast<double>(edge) / levels;
    for (int l = 0; l < levels; ++l) {
      const int from = static_cast<int>(std::floor(l * per_level));
      const int to = l == levels - 1 ? edge : static_cast<int>(std::floor((l + 1) * per_level));
      double mass = 0;
      int nonzero = 0;
      for (int b = from; b < to; ++b) {
        mass += histogram[b];
        nonzero += histogram[b] > 0 ? 1 : 0;
      }
      if (nonzero == 0) continue;
      for (int b = from; b < to; ++b) {
        if (histogram[b] > 0) q[static_cast<size_t>(b)] = mass / nonzero;
      }
    }
    // The folded outliers make p's last bin heavier than q's; where q has nothing there the
    // divergence is infinite and the edge loses, as it should.
    if (p[static_cast<size_t>(edge - 1)] > 0 && q[static_cast<size_t>(edge - 1)] <= 0) continue;
    const double kl = KlDivergence(p, q);
    if (kl < best_kl) {
      best_kl = kl;
      best = edge;
    }
  }
  return static_cast<double>(best) * bin_width;
}

Int8Range ChooseRange(const RangeStats& stats, CalibrationMethod method, double percentile) {
  Int8Range r;
  r.is_unsigned = stats.seen() && stats.min() >= 0;
  const float top = r.is_unsigned ? stats.max() : stats.abs_max();
  const double bin_width = static_cast<double>(stats.abs_max()) / RangeStats::kBins;
  double threshold = top;
  if (method != CalibrationMethod::kMinMax && !stats.histogram().empty() && top > 0) {
    threshold = method == CalibrationMethod::kPercentile
                    ? PercentileThreshold(stats.histogram(), bin_width, percentile)
                    : EntropyThreshold(stats.histogram(), bin_width, r.is_unsigned ? 255 : 127);
    threshold = std::min<double>(threshold, top);
  }
  return MakeInt8Range(static_cast<float>(threshold), r.is_unsigned);
}

Int8Range MakeInt8Range(float threshold, bool is_unsigned) {
  Int8Range r;
  r.threshold = threshold;
  r.is_unsigned = is_unsigned;
  r.scale = threshold > 0 ? threshold / (is_unsigned ? 255.0f : 127.0f) : 1.0f;
  return r;
}

}  // namespace plaster::engine::torch_engine
