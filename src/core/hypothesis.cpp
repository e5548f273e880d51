#include "core/hypothesis.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>
#include <random>
#include <utility>
#include <vector>

#include "core/error.h"

namespace plaster::stats {
namespace {

void CheckValues(std::span<const double> values) {
  for (double v : values) PLASTER_ASSERT(std::isfinite(v));
}

std::vector<double> Sorted(std::span<const double> values) {
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end());
  return v;
}

// The coefficients of the Gaussian binomial [n1 + n2 choose n1]_q: counts[u] arrangements have
// U = u (Note [Exact Mann–Whitney distribution]).
std::vector<int64_t> ExactCounts(int64_t n1, int64_t n2) {
  PLASTER_ASSERT(n1 >= 0 && n2 >= 0 && n1 <= kExactMannWhitneyMax && n2 <= kExactMannWhitneyMax);
  const int64_t degree = n1 * n2;
  std::vector<int64_t> c(static_cast<size_t>(degree + 1), 0);
  c[0] = 1;
  for (int64_t i = 1; i <= n1; ++i) {
    // Multiply by (1 − q^(n2+i)), then divide by (1 − q^i) as a power series; both are exact on
    // the truncated array because the quotient is a polynomial of degree i·n2 ≤ degree.
    const int64_t m = n2 + i;
    for (int64_t u = degree; u >= m; --u)
      c[static_cast<size_t>(u)] -= c[static_cast<size_t>(u - m)];
    for (int64_t u = i; u <= degree; ++u)
      c[static_cast<size_t>(u)] += c[static_cast<size_t>(u - i)];
  }
  return c;
}

// The exact P(U ≤ u) from the counts.
double CdfFromCounts(const std::vector<int64_t>& counts, int64_t u) {
  if (u < 0) return 0;
  int64_t total = 0;
  int64_t below = 0;
  for (size_t k = 0; k < counts.size(); ++k) {
    total += counts[k];
    if (static_cast<int64_t>(k) <= u) below += counts[k];
  }
  return static_cast<double>(below) / static_cast<double>(total);
}

bool ExactApplies(int64_t n1, int64_t n2) {
  return n1 <= kExactMannWhitneyMax && n2 <= kExactMannWhitneyMax;
}

// Doubles mapped to unsigned integers in the same order (−0 and +0 adjacent), so a bisection over
// the integers visits every double between two finite ones.
uint64_t OrderedKey(double x) {
  const auto bits = std::bit_cast<uint64_t>(x);
  constexpr uint64_t kSign = uint64_t{1} << 63;
  return (bits & kSign) != 0 ? ~bits : bits | kSign;
}

double FromOrderedKey(uint64_t key) {
  constexpr uint64_t kSign = uint64_t{1} << 63;
  return std::bit_cast<double>((key & kSign) != 0 ? key & ~kSign : ~key);
}

// The count of pairs with b_j − a_i ≤ t, computed as floating-point differences exactly as
// KthPairwiseDifference compares them. fl(b − a) is non-increasing in a and non-decreasing in b
// (rounding is monotone), so the first a_i that satisfies the test only moves right as b_j grows.
int64_t CountAtMost(std::span<const double> a, std::span<const double> b, double t) {
  const auto n1 = static_cast<int64_t>(a.size());
  int64_t i = 0;
  int64_t count = 0;
  for (double bj : b) {
    while (i < n1 && bj - a[static_cast<size_t>(i)] > t) ++i;
    count += n1 - i;
  }
  return count;
}

// Own generators, so a seed gives the same draws with every standard library (the standard fixes
// mt19937_64's output, but not that of its distributions).
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  /// Uniform in the open interval (0, 1).
  double Uniform() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }
  /// Standard normal (Box–Muller, one of the pair).
  double Normal() {
    const double r = std::sqrt(-2 * std::log(Uniform()));
    return r * std::cos(2 * std::numbers::pi * Uniform());
  }
  /// Gamma(shape, 1) for shape ≥ 1 (Marsaglia and Tsang, 2000).
  double Gamma(double shape) {
    PLASTER_ASSERT(shape >= 1);
    const double d = shape - 1.0 / 3.0;
    const double c = 1 / std::sqrt(9 * d);
    while (true) {
      const double x = Normal();
      double v = 1 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      if (std::log(Uniform()) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }
  /// Beta(a, b) for a, b ≥ 1.
  double Beta(double a, double b) {
    const double x = Gamma(a);
    const double y = Gamma(b);
    return x / (x + y);
  }

 private:
  std::mt19937_64 engine_;
};

// A resample's k-th order statistic, drawn directly (Note [Percentile bootstrap]).
double ResampledOrderStatistic(std::span<const double> sorted, int64_t k, Random& random) {
  const auto n = static_cast<int64_t>(sorted.size());
  const double u = random.Beta(static_cast<double>(k), static_cast<double>(n - k + 1));
  const auto index =
      std::clamp<int64_t>(static_cast<int64_t>(std::floor(u * static_cast<double>(n))), 0, n - 1);
  return sorted[static_cast<size_t>(index)];
}

}  // namespace

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

double NormalQuantile(double p) {
  PLASTER_ASSERT(p > 0 && p < 1);
  // Bisection: Φ is monotone and cheap; 200 halvings of [−40, 40] reach the double's resolution.
  double lo = -40;
  double hi = 40;
  for (int k = 0; k < 200 && hi - lo > 1e-15; ++k) {
    const double mid = 0.5 * (lo + hi);
    (NormalCdf(mid) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double MannWhitneyExactCdf(int64_t u, int64_t n1, int64_t n2) {
  return CdfFromCounts(ExactCounts(n1, n2), u);
}

MannWhitney MannWhitneyU(std::span<const double> a, std::span<const double> b) {
  CheckValues(a);
  CheckValues(b);
  MannWhitney r;
  r.n_a = static_cast<int64_t>(a.size());
  r.n_b = static_cast<int64_t>(b.size());
  if (r.n_a == 0 || r.n_b == 0) return r;

  // Mid-ranks over the pooled sample; the tie term for the variance.
  std::vector<std::pair<double, bool>> pooled;  // (value, from A)
  pooled.reserve(a.size() + b.size());
  for (double v : a) pooled.emplace_back(v, true);
  for (double v : b) pooled.emplace_back(v, false);
  std::sort(pooled.begin(), pooled.end());
  const auto n = static_cast<int64_t>(pooled.size());
  double rank_sum_a = 0;
  double tie_term = 0;
  bool ties = false;
  int64_t groups = 0;  // distinct values
  for (int64_t first = 0; first < n;) {
    int64_t last = first;
    while (last + 1 < n && pooled[static_cast<size_t>(last + 1)].first ==
                               pooled[static_cast<size_t>(first)].first) {
      ++last;
    }
    const double mid_rank = 0.5 * static_cast<double>(first + last) + 1;
    for (int64_t k = first; k <= last; ++k) {
      if (pooled[static_cast<size_t>(k)].second) rank_sum_a += mid_rank;
    }
    const auto t = static_cast<double>(last - first + 1);
    if (last > first) ties = true;
    tie_term += t * t * t - t;
    ++groups;
    first = last + 1;
  }
  const auto n1 = static_cast<double>(r.n_a);
  const auto n2 = static_cast<double>(r.n_b);
  const double pairs = n1 * n2;
  r.u_a = rank_sum_a - n1 * (n1 + 1) / 2;
  r.u_b = pairs - r.u_a;
  r.effect = r.u_b / pairs;

  if (!ties && ExactApplies(r.n_a, r.n_b)) {
    // See Note [Mann–Whitney p-value]. Without ties U is an integer.
    const auto u_min = static_cast<int64_t>(std::llround(std::min(r.u_a, r.u_b)));
    r.p_value = std::min(1.0, 2 * MannWhitneyExactCdf(u_min, r.n_a, r.n_b));
    r.exact = true;
    r.tested = true;
    return r;
  }
  // Every value tied: nothing can be told apart (and the variance below is 0, up to rounding).
  if (groups == 1) return r;
  const double nn = static_cast<double>(n);
  const double variance = pairs / 12 * ((nn + 1) - tie_term / (nn * (nn - 1)));
  PLASTER_ASSERT(variance > 0);
  const double sigma = std::sqrt(variance);
  const double d = r.u_b - pairs / 2;
  const double z = std::max(0.0, std::abs(d) - 0.5) / sigma;
  r.z = d < 0 ? -z : z;
  r.p_value = std::min(1.0, std::erfc(z / std::numbers::sqrt2));
  r.tested = true;
  return r;
}

double KthPairwiseDifference(std::span<const double> sorted_a, std::span<const double> sorted_b,
                             int64_t k) {
  PLASTER_ASSERT(!sorted_a.empty() && !sorted_b.empty());
  const auto total = static_cast<int64_t>(sorted_a.size()) * static_cast<int64_t>(sorted_b.size());
  PLASTER_ASSERT(k >= 1 && k <= total);
  // See Note [Hodges–Lehmann interval]: the smallest double t with count(≤ t) ≥ k is the k-th
  // smallest computed difference, found by bisection over the ordered keys.
  uint64_t lo = OrderedKey(sorted_b.front() - sorted_a.back());
  uint64_t hi = OrderedKey(sorted_b.back() - sorted_a.front());
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (CountAtMost(sorted_a, sorted_b, FromOrderedKey(mid)) >= k) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return FromOrderedKey(lo);
}

std::optional<ShiftEstimate> HodgesLehmann(std::span<const double> a, std::span<const double> b,
                                           double confidence) {
  PLASTER_ASSERT(confidence > 0 && confidence < 1);
  CheckValues(a);
  CheckValues(b);
  if (a.empty() || b.empty()) return std::nullopt;
  const std::vector<double> sa = Sorted(a);
  const std::vector<double> sb = Sorted(b);
  const auto n1 = static_cast<int64_t>(sa.size());
  const auto n2 = static_cast<int64_t>(sb.size());
  const int64_t total = n1 * n2;

  ShiftEstimate r;
  if (total % 2 == 1) {
    r.estimate = KthPairwiseDifference(sa, sb, (total + 1) / 2);
  } else {
    r.estimate = 0.5 * (KthPairwiseDifference(sa, sb, total / 2) +
                        KthPairwiseDifference(sa, sb, total / 2 + 1));
  }

  // The rank c of the interval's lower end (Note [Hodges–Lehmann interval]).
  const double tail = (1 - confidence) / 2;
  int64_t c = 0;
  double below = 0;  // P(U ≤ c − 1)
  if (ExactApplies(n1, n2)) {
    const std::vector<int64_t> counts = ExactCounts(n1, n2);
    // The tolerance keeps 1 − 0.9 (0.09999999999999998 in doubles) from missing an exact 0.05.
    while (c < total && CdfFromCounts(counts, c) <= tail * (1 + 1e-12)) ++c;
    below = CdfFromCounts(counts, c - 1);
  } else {
    const double n = static_cast<double>(n1 + n2);
    const double sigma = std::sqrt(static_cast<double>(total) * (n + 1) / 12);
    const double mean = static_cast<double>(total) / 2;
    c = std::clamp<int64_t>(std::llround(mean - NormalQuantile(1 - tail) * sigma), 0, total / 2);
    below = NormalCdf((static_cast<double>(c) - 0.5 - mean) / sigma);
  }
  if (c < 1) {
    r.interval.coverage = 1;  // both sides unbounded
    return r;
  }
  r.interval.lower = KthPairwiseDifference(sa, sb, c);
  r.interval.upper = KthPairwiseDifference(sa, sb, total + 1 - c);
  r.interval.coverage = 1 - 2 * below;
  return r;
}

std::optional<ShiftEstimate> HodgesLehmannRatio(std::span<const double> a,
                                                std::span<const double> b, double confidence) {
  auto logs = [](std::span<const double> values) -> std::optional<std::vector<double>> {
    std::vector<double> out;
    out.reserve(values.size());
    for (double v : values) {
      if (!(v > 0)) return std::nullopt;
      out.push_back(std::log(v));
    }
    return out;
  };
  const auto la = logs(a);
  const auto lb = logs(b);
  if (!la || !lb) return std::nullopt;
  auto r = HodgesLehmann(*la, *lb, confidence);
  if (!r) return std::nullopt;
  r->estimate = std::exp(r->estimate);
  if (r->interval.lower) r->interval.lower = std::exp(*r->interval.lower);
  if (r->interval.upper) r->interval.upper = std::exp(*r->interval.upper);
  return r;
}

std::optional<RatioEstimate> BootstrapPercentileRatio(std::span<const double> a,
                                                      std::span<const double> b, double p,
                                                      const BootstrapOptions& options) {
  PLASTER_ASSERT(p > 0 && p <= 1);
  PLASTER_ASSERT(options.iterations >= 1);
  PLASTER_ASSERT(options.confidence > 0 && options.confidence < 1);
  CheckValues(a);
  CheckValues(b);
  if (a.empty() || b.empty()) return std::nullopt;
  const std::vector<double> sa = Sorted(a);
  const std::vector<double> sb = Sorted(b);
  if (!(sa.front() > 0) || !(sb.front() > 0)) return std::nullopt;
  const int64_t ka = NearestRank(static_cast<int64_t>(sa.size()), p);
  const int64_t kb = NearestRank(static_cast<int64_t>(sb.size()), p);

  RatioEstimate r;
  r.estimate = sb[static_cast<size_t>(kb - 1)] / sa[static_cast<size_t>(ka - 1)];
  // See Note [Percentile bootstrap].
  Random random(options.seed);
  std::vector<double> ratios;
  ratios.reserve(static_cast<size_t>(options.iterations));
  int64_t at_most_one = 0;
  int64_t at_least_one = 0;
  for (int64_t k = 0; k < options.iterations; ++k) {
    const double qa = ResampledOrderStatistic(sa, ka, random);
    const double qb = ResampledOrderStatistic(sb, kb, random);
    const double ratio = qb / qa;
    if (ratio <= 1) ++at_most_one;
    if (ratio >= 1) ++at_least_one;
    ratios.push_back(ratio);
  }
  const SortedSamples sorted(std::move(ratios));
  const double tail = (1 - options.confidence) / 2;
  r.interval.lower = Percentile(sorted, tail);
  r.interval.upper = Percentile(sorted, 1 - tail);
  r.interval.coverage = options.confidence;
  r.p_value = std::min(1.0, 2 * static_cast<double>(std::min(at_most_one, at_least_one) + 1) /
                                static_cast<double>(options.iterations + 1));
  r.excludes_one = *r.interval.lower > 1 || *r.interval.upper < 1;
  return r;
}

}  // namespace plaster::stats
