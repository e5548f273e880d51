// Statistics: tiny inputs with exact answers (the values come from exact binomial sums), the
// defined edge cases, and a seeded coverage check of the percentile intervals.
#include "core/stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace plaster::stats {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

SortedSamples OneTo(int n) {
  std::vector<double> v;
  for (int k = n; k >= 1; --k) v.push_back(k);  // unsorted on purpose
  return SortedSamples(std::move(v));
}

TEST(Moments, ExactValues) {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  const Moments m = ComputeMoments(v);
  EXPECT_EQ(m.count, 8);
  EXPECT_EQ(m.min, 2);
  EXPECT_EQ(m.max, 9);
  EXPECT_DOUBLE_EQ(m.mean, 5);
  EXPECT_DOUBLE_EQ(m.stddev, std::sqrt(32.0 / 7.0));  // divisor n − 1
  EXPECT_DOUBLE_EQ(m.cv, std::sqrt(32.0 / 7.0) / 5);
}

TEST(Moments, EdgeCases) {
  const Moments empty = ComputeMoments({});
  EXPECT_EQ(empty.count, 0);
  EXPECT_EQ(empty.mean, 0);
  EXPECT_EQ(empty.stddev, 0);
  const std::vector<double> one = {3.5};
  const Moments m1 = ComputeMoments(one);
  EXPECT_EQ(m1.count, 1);
  EXPECT_EQ(m1.min, 3.5);
  EXPECT_EQ(m1.max, 3.5);
  EXPECT_EQ(m1.mean, 3.5);
  EXPECT_EQ(m1.stddev, 0);
  EXPECT_EQ(m1.cv, 0);
  const std::vector<double> same(10, 7.0);
  const Moments m = ComputeMoments(same);
  EXPECT_EQ(m.stddev, 0);
  EXPECT_EQ(m.cv, 0);
  const std::vector<double> zeros(4, 0.0);
  EXPECT_EQ(ComputeMoments(zeros).cv, 0);  // mean 0: cv defined as 0, not NaN
}

TEST(Percentile, NearestRank) {
  EXPECT_EQ(NearestRank(10, 0.9), 9);  // 0.9 × 10 is 9.000000000000002 in floating point
  EXPECT_EQ(NearestRank(10, 0.5), 5);
  EXPECT_EQ(NearestRank(10, 0.91), 10);
  EXPECT_EQ(NearestRank(3, 0.5), 2);
  EXPECT_EQ(NearestRank(1, 0.999), 1);
  EXPECT_EQ(NearestRank(100, 0.99), 99);
  EXPECT_EQ(NearestRank(1000, 0.999), 999);
  EXPECT_EQ(NearestRank(10'000'000, 0.999), 9'990'000);
  EXPECT_EQ(NearestRank(7, 1.0), 7);
  EXPECT_EQ(NearestRank(7, 1e-9), 1);
}

TEST(Percentile, OfSamples) {
  const SortedSamples s = OneTo(10);
  EXPECT_EQ(Percentile(s, 0.5), 5);
  EXPECT_EQ(Percentile(s, 0.9), 9);
  EXPECT_EQ(Percentile(s, 0.99), 10);
  EXPECT_EQ(Percentile(SortedSamples({4.0}), 0.5), 4);
  EXPECT_EQ(Percentile(SortedSamples({2.0, 2.0, 2.0}), 0.99), 2);
  EXPECT_EQ(PercentileName(0.99), "p99");
  EXPECT_EQ(PercentileName(0.999), "p99.9");
  EXPECT_EQ(PercentileName(0.5), "p50");
}

TEST(Binomial, Cdf) {
  EXPECT_NEAR(BinomialCdf(2, 5, 0.5), 0.5, 1e-12);
  EXPECT_NEAR(BinomialCdf(0, 10, 0.1), 0.3486784401, 1e-12);
  EXPECT_NEAR(BinomialCdf(3, 20, 0.3), 0.10708680450373086, 1e-12);
  EXPECT_EQ(BinomialCdf(-1, 20, 0.3), 0);
  EXPECT_EQ(BinomialCdf(20, 20, 0.3), 1);
  EXPECT_EQ(BinomialCdf(0, 0, 0.3), 1);
  // Large n: the median of Binomial(10^7, 1/2) sits at the centre.
  EXPECT_NEAR(BinomialCdf(5'000'000 - 1, 10'000'000, 0.5), 0.5 - 0.5 * 2.5231e-4, 1e-6);
}

TEST(PercentileInterval, ClassicMedianInterval) {
  // The textbook 95% interval for the median of 100 samples: X(40)..X(61), coverage 0.9648.
  const IntervalRanks r = PercentileIntervalRanks(100, 0.5, 0.95);
  EXPECT_EQ(r.lower, 40);
  EXPECT_EQ(r.upper, 61);
  EXPECT_NEAR(r.coverage, 0.9647997997822951, 1e-12);
  const Interval i = PercentileInterval(OneTo(100), 0.5, 0.95);
  EXPECT_EQ(i.lower, 40);
  EXPECT_EQ(i.upper, 61);
}

TEST(PercentileInterval, TailPercentiles) {
  IntervalRanks r = PercentileIntervalRanks(1000, 0.9, 0.95);
  EXPECT_EQ(r.lower, 881);
  EXPECT_EQ(r.upper, 919);
  EXPECT_NEAR(r.coverage, 0.9549071811148258, 1e-9);
  r = PercentileIntervalRanks(1000, 0.99, 0.95);
  EXPECT_EQ(r.lower, 983);
  EXPECT_EQ(r.upper, 997);
  EXPECT_NEAR(r.coverage, 0.9760947634979771, 1e-9);
  // 100 samples cannot bound a p99 from above: even the maximum is below it with p 0.366.
  r = PercentileIntervalRanks(100, 0.99, 0.95);
  EXPECT_EQ(r.lower, 97);
  EXPECT_EQ(r.upper, 101);
  EXPECT_NEAR(r.coverage, 0.9816259635553504, 1e-9);
  const Interval i = PercentileInterval(OneTo(100), 0.99, 0.95);
  EXPECT_EQ(i.lower, 97);
  EXPECT_FALSE(i.upper.has_value());
}

TEST(PercentileInterval, EdgeCases) {
  IntervalRanks r = PercentileIntervalRanks(0, 0.5, 0.95);
  EXPECT_EQ(r.lower, 0);
  EXPECT_EQ(r.upper, 1);
  EXPECT_EQ(r.coverage, 1);
  r = PercentileIntervalRanks(5, 0.5, 0.95);  // too few for either side
  EXPECT_EQ(r.lower, 0);
  EXPECT_EQ(r.upper, 6);
  EXPECT_EQ(r.coverage, 1);
  const Interval same = PercentileInterval(SortedSamples(std::vector<double>(200, 3.0)), 0.5, 0.95);
  EXPECT_EQ(same.lower, 3.0);
  EXPECT_EQ(same.upper, 3.0);
}

// The point of the intervals: over repeated experiments, the 95% interval covers the true
// percentile at least 95% of the time (the test allows 93% for the 1000-repetition noise).
TEST(PercentileInterval, CoversTheTruePercentile) {
  std::mt19937_64 rng(20261126);
  struct Case {
    const char* name;
    std::function<double()> draw;
    std::function<double(double)> quantile;
  };
  std::exponential_distribution<double> expo(1.0);
  std::lognormal_distribution<double> lognormal(0.0, 0.5);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  const double z[] = {0.0, 1.2815515655446004, 2.3263478740408408};  // Φ⁻¹(0.5, 0.9, 0.99)
  const double levels[] = {0.5, 0.9, 0.99};
  for (int li = 0; li < 3; ++li) {
    const double p = levels[li];
    const std::vector<Case> cases = {
        {"exponential", [&] { return expo(rng); }, [](double q) { return -std::log(1 - q); }},
        {"uniform", [&] { return uniform(rng); }, [](double q) { return q; }},
        {"lognormal", [&] { return lognormal(rng); },
         [&, li](double) { return std::exp(0.5 * z[li]); }},
    };
    for (const Case& c : cases) {
      const double truth = c.quantile(p);
      int covered = 0;
      double nominal = 0;
      constexpr int kReps = 1000;
      for (int rep = 0; rep < kReps; ++rep) {
        std::vector<double> v(600);
        for (double& x : v) x = c.draw();
        const Interval i = PercentileInterval(SortedSamples(std::move(v)), p, 0.95);
        nominal = i.coverage;
        const bool above_lower = !i.lower || *i.lower <= truth;
        const bool below_upper = !i.upper || truth <= *i.upper;
        covered += above_lower && below_upper;
      }
      const double rate = static_cast<double>(covered) / kReps;
      EXPECT_GE(rate, 0.93) << c.name << " p" << 100 * p;
      // Not trivially wide either: within a few points of the exact coverage it claims.
      EXPECT_LE(rate, std::min(1.0, nominal + 0.03)) << c.name << " p" << 100 * p;
      RecordProperty(std::string(c.name) + "_p" + std::to_string(static_cast<int>(1000 * p)),
                     std::to_string(rate));
    }
  }
}

TEST(EarlyStopping, MinimumCountAndBound) {
  // p99 at 99% confidence needs 459 samples (0.99^459 = 0.00994 ≤ 0.01 < 0.99^458).
  EarlyStopping e = ComputeEarlyStopping(OneTo(458), 0.99, 0.99);
  EXPECT_EQ(e.min_count, 459);
  EXPECT_FALSE(e.enough);
  EXPECT_EQ(e.overlatency_allowed, -1);
  EXPECT_FALSE(e.bound.has_value());
  e = ComputeEarlyStopping(OneTo(459), 0.99, 0.99);
  EXPECT_TRUE(e.enough);
  EXPECT_EQ(e.overlatency_allowed, 0);
  EXPECT_EQ(e.bound, 459);  // only the maximum can be claimed
  e = ComputeEarlyStopping(OneTo(1000), 0.99, 0.99);
  EXPECT_EQ(e.overlatency_allowed, 2);
  EXPECT_EQ(e.bound, 998);
}

TEST(EarlyStopping, Verdicts) {
  // 1000 samples 1..1000: 2 above 998 may be tolerated, so a target of 998 is met, 997 is not.
  EarlyStopping e = ComputeEarlyStopping(OneTo(1000), 0.99, 0.99, 998.0);
  EXPECT_EQ(e.overlatency, 2);
  EXPECT_EQ(e.verdict, Verdict::kMet);
  e = ComputeEarlyStopping(OneTo(1000), 0.99, 0.99, 997.0);
  EXPECT_EQ(e.verdict, Verdict::kUndecided);
  // 19 or more of 1000 above the target: the p99 is above it, with 99% confidence.
  e = ComputeEarlyStopping(OneTo(1000), 0.99, 0.99, 982.0);
  EXPECT_EQ(e.overlatency, 18);
  EXPECT_EQ(e.verdict, Verdict::kUndecided);
  e = ComputeEarlyStopping(OneTo(1000), 0.99, 0.99, 981.0);
  EXPECT_EQ(e.overlatency, 19);
  EXPECT_EQ(e.verdict, Verdict::kMissed);
  e = ComputeEarlyStopping(SortedSamples(), 0.99, 0.99, 1.0);
  EXPECT_EQ(e.verdict, Verdict::kUndecided);
  EXPECT_STREQ(VerdictName(Verdict::kMissed), "missed");
}

TEST(Summary, EmptyAndFull) {
  const DistributionSummary empty = Summarize(SortedSamples(), StandardPercentiles(), 0.95);
  EXPECT_EQ(empty.moments.count, 0);
  EXPECT_THAT(empty.percentiles, IsEmpty());
  EXPECT_EQ(empty.Find(0.99), nullptr);
  const DistributionSummary s = Summarize(OneTo(1000), StandardPercentiles(), 0.95);
  ASSERT_EQ(s.percentiles.size(), 5u);
  EXPECT_EQ(s.Find(0.5)->value, 500);
  EXPECT_EQ(s.Find(0.999)->value, 999);
  EXPECT_EQ(s.Find(0.99)->interval.lower, 983);
}

TEST(Summary, QualityWarnings) {
  QualityThresholds t;
  t.min_count = 1024;
  const DistributionSummary tight =
      Summarize(SortedSamples(std::vector<double>(2000, 5.0)), StandardPercentiles(), 0.95);
  EXPECT_THAT(QualityWarnings(tight, t), IsEmpty());
  const DistributionSummary short_run = Summarize(OneTo(100), StandardPercentiles(), 0.95);
  const auto w = QualityWarnings(short_run, t);
  EXPECT_THAT(w, ElementsAre("too short: 100 samples < 1024", "noisy: CV 0.57 > 0.30",
                             "too short: the p99 interval is unbounded (100 samples)"));
  t.min_count = 0;
  const DistributionSummary wide = Summarize(OneTo(2000), StandardPercentiles(), 0.95);
  t.max_cv = 1;
  const auto w2 = QualityWarnings(wide, t);
  EXPECT_THAT(w2, IsEmpty());  // the p99 interval spans about 2% of its value
}

}  // namespace
}  // namespace plaster::stats
