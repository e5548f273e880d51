#include "core/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"

namespace plaster::stats {
namespace {

// The Binomial(n, p) distribution over the window of ranks that holds all but ~e^-800 of its
// mass: ±(40σ + 50) around the mode. The pmf is walked from the mode with the ratio of
// consecutive terms (starting from 1 and normalising by the sum), so no factorials overflow and
// the cost is O(σ), not O(n): a p99 over ten million samples sums ~25,000 terms.
class BinomialWindow {
 public:
  BinomialWindow(int64_t n, double p) : n_(n) {
    PLASTER_ASSERT(n >= 0 && p >= 0 && p <= 1);
    if (p <= 0 || p >= 1 || n == 0) {  // a point mass at 0 or n
      lo_ = hi_ = p >= 1 ? n : 0;
      cdf_ = {1.0};
      sf_ = {1.0};
      return;
    }
    const double q = 1 - p;
    const double sigma = std::sqrt(static_cast<double>(n) * p * q);
    const auto mode =
        std::clamp<int64_t>(static_cast<int64_t>(std::floor(static_cast<double>(n + 1) * p)), 0, n);
    const auto width = static_cast<int64_t>(std::ceil(40 * sigma)) + 50;
    lo_ = std::max<int64_t>(0, mode - width);
    hi_ = std::min<int64_t>(n, mode + width);
    std::vector<double> pmf(static_cast<size_t>(hi_ - lo_ + 1), 0.0);
    pmf[static_cast<size_t>(mode - lo_)] = 1.0;
    for (int64_t k = mode; k < hi_; ++k) {  // P(k+1) / P(k) = (n − k) / (k + 1) · p / q
      pmf[static_cast<size_t>(k + 1 - lo_)] = pmf[static_cast<size_t>(k - lo_)] *
                                              static_cast<double>(n - k) /
                                              static_cast<double>(k + 1) * (p / q);
    }
    for (int64_t k = mode; k > lo_; --k) {  // P(k−1) / P(k) = k / (n − k + 1) · q / p
      pmf[static_cast<size_t>(k - 1 - lo_)] = pmf[static_cast<size_t>(k - lo_)] *
                                              static_cast<double>(k) /
                                              static_cast<double>(n - k + 1) * (q / p);
    }
    double total = 0;
    for (double v : pmf) total += v;
    cdf_.resize(pmf.size());
    sf_.resize(pmf.size());
    double run = 0;
    for (size_t i = 0; i < pmf.size(); ++i) cdf_[i] = (run += pmf[i] / total);
    run = 0;
    for (size_t i = pmf.size(); i-- > 0;) sf_[i] = (run += pmf[i] / total);
  }

  // P(B ≤ k).
  double Cdf(int64_t k) const {
    if (k < lo_) return 0.0;
    if (k >= hi_) return 1.0;
    return std::min(1.0, cdf_[static_cast<size_t>(k - lo_)]);
  }
  // P(B ≥ k), summed from the top so that small tails keep their precision.
  double Sf(int64_t k) const {
    if (k <= lo_) return 1.0;
    if (k > hi_) return 0.0;
    return std::min(1.0, sf_[static_cast<size_t>(k - lo_)]);
  }
  int64_t n() const { return n_; }

 private:
  int64_t n_;
  int64_t lo_ = 0, hi_ = 0;
  std::vector<double> cdf_, sf_;
};

// The largest k in [lo, hi] with pred(k) true, for pred true up to some point and false after;
// lo − 1 when pred(lo) is false.
template <typename Pred>
int64_t LastTrue(int64_t lo, int64_t hi, Pred pred) {
  int64_t good = lo - 1;
  while (lo <= hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (pred(mid)) {
      good = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return good;
}

void CheckLevel(double p) { PLASTER_ASSERT(p > 0 && p < 1); }

}  // namespace

SortedSamples::SortedSamples(std::vector<double> values) : values_(std::move(values)) {
  for (double v : values_) PLASTER_ASSERT(!std::isnan(v));
  std::sort(values_.begin(), values_.end());
}

double SortedSamples::OrderStatistic(int64_t k) const {
  PLASTER_ASSERT(k >= 1 && k <= size());
  return values_[static_cast<size_t>(k - 1)];
}

Moments ComputeMoments(std::span<const double> values) {
  Moments m;
  m.count = static_cast<int64_t>(values.size());
  if (values.empty()) return m;
  m.min = *std::min_element(values.begin(), values.end());
  m.max = *std::max_element(values.begin(), values.end());
  // Two passes: the mean first, then squared deviations from it (no cancellation).
  double sum = 0;
  for (double v : values) sum += v;
  m.mean = sum / static_cast<double>(values.size());
  if (values.size() > 1) {
    double squares = 0;
    for (double v : values) squares += (v - m.mean) * (v - m.mean);
    m.stddev = std::sqrt(squares / static_cast<double>(values.size() - 1));
  }
  m.cv = m.mean != 0 ? m.stddev / std::fabs(m.mean) : 0;
  return m;
}

int64_t NearestRank(int64_t n, double p) {
  PLASTER_ASSERT(n > 0 && p > 0 && p <= 1);
  // See Note [Percentile method]. p·n carries a relative error of ~1e-16; a fractional part
  // below 1e-12 of it is that error, not a real fraction of a rank.
  const double exact = p * static_cast<double>(n);
  const double rank = std::ceil(exact - 1e-12 * std::max(1.0, exact));
  return std::clamp<int64_t>(static_cast<int64_t>(rank), 1, n);
}

double Percentile(const SortedSamples& samples, double p) {
  PLASTER_ASSERT(!samples.empty());
  return samples.OrderStatistic(NearestRank(samples.size(), p));
}

double BinomialCdf(int64_t k, int64_t n, double p) { return BinomialWindow(n, p).Cdf(k); }

IntervalRanks PercentileIntervalRanks(int64_t n, double p, double confidence) {
  CheckLevel(p);
  PLASTER_ASSERT(n >= 0 && confidence > 0 && confidence < 1);
  const double tail = (1 - confidence) / 2;
  const BinomialWindow b(n, p);
  IntervalRanks r;
  // See Note [Percentile intervals].
  r.lower = std::max<int64_t>(0, LastTrue(1, n, [&](int64_t l) { return b.Cdf(l - 1) <= tail; }));
  // Sf is decreasing: the smallest u with Sf(u) ≤ tail is one past the last u with Sf(u) > tail.
  r.upper = LastTrue(1, n, [&](int64_t u) { return b.Sf(u) > tail; }) + 1;
  if (r.upper < 1) r.upper = 1;
  const double below = r.lower >= 1 ? b.Cdf(r.lower - 1) : 0.0;
  const double above = r.upper <= n ? b.Sf(r.upper) : 0.0;
  r.coverage = 1 - below - above;
  return r;
}

Interval PercentileInterval(const SortedSamples& samples, double p, double confidence) {
  const IntervalRanks r = PercentileIntervalRanks(samples.size(), p, confidence);
  Interval out;
  out.coverage = r.coverage;
  if (r.lower >= 1) out.lower = samples.OrderStatistic(r.lower);
  if (r.upper <= samples.size()) out.upper = samples.OrderStatistic(r.upper);
  return out;
}

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kMet:
      return "met";
    case Verdict::kMissed:
      return "missed";
    case Verdict::kUndecided:
      return "undecided";
  }
  return "?";
}

EarlyStopping ComputeEarlyStopping(const SortedSamples& samples, double p, double confidence,
                                   std::optional<double> target) {
  CheckLevel(p);
  PLASTER_ASSERT(confidence > 0.5 && confidence < 1);
  EarlyStopping e;
  e.percentile = p;
  e.confidence = confidence;
  e.count = samples.size();
  e.target = target;
  const double risk = 1 - confidence;
  // See Note [Early stopping]. With no sample above x, the claim needs p^n ≤ risk.
  auto m = static_cast<int64_t>(std::ceil(std::log(risk) / std::log(p)));
  while (std::pow(p, static_cast<double>(m)) > risk) ++m;
  while (m > 1 && std::pow(p, static_cast<double>(m - 1)) <= risk) --m;
  e.min_count = m;
  const int64_t n = samples.size();
  const BinomialWindow over(n, 1 - p);  // K, the count of samples above the percentile
  e.overlatency_allowed = LastTrue(0, n, [&](int64_t k) { return over.Cdf(k) <= risk; });
  e.enough = e.overlatency_allowed >= 0;
  if (e.enough) e.bound = samples.OrderStatistic(n - e.overlatency_allowed);
  if (target) {
    const auto values = samples.values();
    e.overlatency = values.end() - std::upper_bound(values.begin(), values.end(), *target);
    if (e.enough && e.overlatency <= e.overlatency_allowed) {
      e.verdict = Verdict::kMet;
    } else if (n > 0 && over.Sf(e.overlatency) <= risk) {
      e.verdict = Verdict::kMissed;
    }
  }
  return e;
}

const PercentileSummary* DistributionSummary::Find(double p) const {
  for (const auto& s : percentiles)
    if (std::fabs(s.p - p) < 1e-12) return &s;
  return nullptr;
}

std::string PercentileName(double p) { return fmt::format("p{:g}", 100 * p); }

std::span<const double> StandardPercentiles() {
  static constexpr std::array<double, 5> kLevels = {0.5, 0.9, 0.95, 0.99, 0.999};
  return kLevels;
}

DistributionSummary Summarize(const SortedSamples& samples, std::span<const double> levels,
                              double confidence) {
  DistributionSummary s;
  s.moments = ComputeMoments(samples.values());
  if (samples.empty()) return s;
  for (double p : levels) {
    s.percentiles.push_back(
        {p, Percentile(samples, p), PercentileInterval(samples, p, confidence)});
  }
  return s;
}

std::vector<std::string> QualityWarnings(const DistributionSummary& summary,
                                         const QualityThresholds& t) {
  std::vector<std::string> out;
  const Moments& m = summary.moments;
  if (m.count < t.min_count) {
    out.push_back(fmt::format("too short: {} {} < {}", m.count, t.unit, t.min_count));
  }
  if (m.count > 1 && m.cv > t.max_cv) {
    out.push_back(fmt::format("noisy: CV {:.2f} > {:.2f}", m.cv, t.max_cv));
  }
  if (const PercentileSummary* w = summary.Find(t.watched_percentile); w != nullptr) {
    const std::string name = PercentileName(t.watched_percentile);
    if (!w->interval.lower || !w->interval.upper) {
      out.push_back(
          fmt::format("too short: the {} interval is unbounded ({} {})", name, m.count, t.unit));
    } else if (w->value > 0) {
      const double width = (*w->interval.upper - *w->interval.lower) / w->value;
      if (width > t.max_relative_interval) {
        out.push_back(fmt::format("noisy: the {} interval spans {:.0f}% of its value (> {:.0f}%)",
                                  name, 100 * width, 100 * t.max_relative_interval));
      }
    }
  }
  return out;
}

}  // namespace plaster::stats
