#pragma once
/// Statistics of measured samples (latencies, rates): pure functions with defined edge cases,
/// the same for every engine and scenario. docs/metrics.md defines each figure; the code follows.
///
/// Raw samples and their summaries are different types: SortedSamples holds every measured
/// value (sorted, so rank statistics are cheap); Moments, Interval, EarlyStopping and
/// DistributionSummary are what reports show.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace plaster::stats {

/// Every measured value of one quantity, sorted ascending. NaNs are a bug (asserted).
class SortedSamples {
 public:
  SortedSamples() = default;
  /// Takes the values and sorts them.
  explicit SortedSamples(std::vector<double> values);
  std::span<const double> values() const { return values_; }
  int64_t size() const { return static_cast<int64_t>(values_.size()); }
  bool empty() const { return values_.empty(); }
  /// The k-th order statistic, 1-based: X(1) is the minimum, X(n) the maximum.
  double OrderStatistic(int64_t k) const;

 private:
  std::vector<double> values_;
};

/// Count, extremes and moments. Empty: every field 0. n = 1: stddev and cv 0.
struct Moments {
  int64_t count = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double stddev = 0;  ///< the sample standard deviation (divisor n − 1)
  double cv = 0;      ///< stddev / mean; 0 when the mean is 0
};
Moments ComputeMoments(std::span<const double> values);

/// Note [Percentile method]: nearest rank. The p-th percentile of n samples is the smallest
/// sample with at least p·n samples at or below it: X(k) with k = ceil(p·n), clamped to [1, n].
/// It is always a measured value, never an interpolation. p is in (0, 1].
/// The 1-based rank for n > 0 samples (p·n is rounded down to an integer first when it is within
/// floating-point error of one, so 0.9 × 10 gives rank 9, not 10).
int64_t NearestRank(int64_t n, double p);
/// The percentile of non-empty samples (empty is a bug).
double Percentile(const SortedSamples& samples, double p);

/// P(B ≤ k) for B ~ Binomial(n, p): 0 for k < 0, 1 for k ≥ n. Accurate to ~1e-12 absolute for any
/// n (summed over the ±40σ window around the mode, normalised).
double BinomialCdf(int64_t k, int64_t n, double p);

/// Note [Percentile intervals]: a distribution-free confidence interval for the p-th quantile ξ
/// from order statistics. B, the count of samples at or below ξ, is Binomial(n, p) whatever the
/// (continuous) distribution, so P(X(l) ≤ ξ < X(u)) = P(l ≤ B ≤ u − 1). The ranks are the
/// equal-tailed choice: l the largest with P(B ≤ l − 1) ≤ α/2, u the smallest with P(B ≥ u) ≤ α/2
/// (α = 1 − confidence); `coverage` is the exact P(l ≤ B ≤ u − 1) ≥ confidence. When even the
/// extreme sample cannot bound a side, that side is unbounded (rank 0 below, n + 1 above) and the
/// coverage counts it as open.
struct IntervalRanks {
  int64_t lower = 0;  ///< 1-based; 0: unbounded below
  int64_t upper = 0;  ///< 1-based; n + 1: unbounded above
  double coverage = 0;
};
/// n ≥ 0, p in (0, 1), confidence in (0, 1). n = 0: both sides unbounded, coverage 1.
IntervalRanks PercentileIntervalRanks(int64_t n, double p, double confidence);

/// The interval in sample values; an unbounded side is nullopt.
struct Interval {
  std::optional<double> lower;
  std::optional<double> upper;
  double coverage = 0;
};
Interval PercentileInterval(const SortedSamples& samples, double p, double confidence);

/// Note [Early stopping], MLPerf LoadGen's idea: can n samples support the claim "the p-th
/// percentile is at most x" with the given confidence? Under the worst case of the null hypothesis
/// (P(sample > x) = 1 − p), the count K of samples above x is Binomial(n, 1 − p); the claim holds
/// when P(K ≤ k) ≤ 1 − confidence for the observed k. `overlatency_allowed` is the largest such k
/// for this n, and `bound` = X(n − overlatency_allowed) the smallest x that can be claimed: a
/// one-sided upper confidence bound on the percentile. Fewer than `min_count` samples cannot
/// claim anything (min_count = ceil(log(1 − confidence) / log p): 459 for p99 at 99%).
enum class Verdict {
  kMet,     ///< the percentile is at most the target, with the confidence
  kMissed,  ///< the percentile is above the target, with the confidence (P(K ≥ k) ≤ 1 − conf)
  kUndecided,  ///< neither can be claimed yet: more samples needed
};
const char* VerdictName(Verdict verdict);

struct EarlyStopping {
  double percentile = 0;
  double confidence = 0;
  int64_t count = 0;
  int64_t min_count = 0;
  bool enough = false;                    ///< count ≥ min_count
  int64_t overlatency_allowed = -1;       ///< -1 when not enough samples
  std::optional<double> bound;            ///< the claimable upper bound; nullopt when not enough
  std::optional<double> target;           ///< the target asked about, if any
  int64_t overlatency = 0;                ///< samples above the target
  Verdict verdict = Verdict::kUndecided;  ///< against the target; kUndecided without one
};
EarlyStopping ComputeEarlyStopping(const SortedSamples& samples, double p, double confidence,
                                   std::optional<double> target = std::nullopt);

/// One percentile of a distribution, with its interval.
struct PercentileSummary {
  double p = 0;
  double value = 0;
  Interval interval;
};

/// What a report shows of one distribution. Empty samples: count 0, no percentiles.
struct DistributionSummary {
  Moments moments;
  std::vector<PercentileSummary> percentiles;
  /// The entry for p (nullptr when absent).
  const PercentileSummary* Find(double p) const;
};

/// "p50", "p99", "p99.9".
std::string PercentileName(double p);

/// The levels every latency report shows: p50, p90, p95, p99, p99.9.
std::span<const double> StandardPercentiles();

DistributionSummary Summarize(const SortedSamples& samples, std::span<const double> levels,
                              double confidence);

/// When to warn that a run is too noisy or too short to trust.
struct QualityThresholds {
  double max_cv = 0.3;  ///< coefficient of variation
  /// (upper − lower) / value of the watched percentile's interval; an unbounded side counts too
  double max_relative_interval = 0.25;
  double watched_percentile = 0.99;
  int64_t min_count = 0;         ///< fewer samples: "too short"
  std::string unit = "samples";  ///< what the samples are, in messages ("queries")
};
/// One line per problem found (empty when none): "noisy: CV 0.42 > 0.30", "noisy: p99 interval
/// spans 38% of its value", "too short: 120 queries < 1024".
std::vector<std::string> QualityWarnings(const DistributionSummary& summary,
                                         const QualityThresholds& thresholds);

}  // namespace plaster::stats
