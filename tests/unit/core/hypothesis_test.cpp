// Tests of a change: tiny inputs with exact answers (hand-counted U and exact p-values), the
// defined edge cases, agreement with brute force, and determinism for a seed.
#include "core/hypothesis.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace plaster::stats {
namespace {

TEST(Normal, CdfAndQuantile) {
  EXPECT_DOUBLE_EQ(NormalCdf(0), 0.5);
  EXPECT_NEAR(NormalCdf(1.959963984540054), 0.975, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-9);
  EXPECT_NEAR(NormalQuantile(0.5), 0, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.05), -1.6448536269514722, 1e-9);
}

TEST(MannWhitneyExact, GaussianBinomialCounts) {
  // n1 = n2 = 3: the 20 arrangements have U = 0..9 with counts 1 1 2 3 3 3 3 2 1 1.
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(-1, 3, 3), 0);
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(0, 3, 3), 1.0 / 20);
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(1, 3, 3), 2.0 / 20);
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(2, 3, 3), 4.0 / 20);
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(4, 3, 3), 10.0 / 20);
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(9, 3, 3), 1);
  // n1 = 4, n2 = 5: C(9, 4) = 126 arrangements, counts 1 1 2 3 5 6 8 ...
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(3, 4, 5), 7.0 / 126);
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(5, 4, 5), 18.0 / 126);
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(3, 5, 4), 7.0 / 126);  // symmetric in the sizes
  // Largest exact case: P(U = 0) = 1 / C(40, 20).
  EXPECT_NEAR(MannWhitneyExactCdf(0, 20, 20), 1.0 / 137846528820.0, 1e-25);
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(0, 0, 0), 1);
  EXPECT_DOUBLE_EQ(MannWhitneyExactCdf(0, 1, 1), 0.5);
}

TEST(MannWhitney, TextbookExample) {
  // A sorted 16 19 22 24 29, B sorted 11 12 17 20. Pairs with a > b: 16 → 2, 19 → 3, 22, 24,
  // 29 → 4 each: U_a = 17, U_b = 3. Exact two-sided p = 2·P(U ≤ 3) = 2·7/126.
  const std::vector<double> a = {19, 22, 16, 29, 24};
  const std::vector<double> b = {20, 11, 17, 12};
  const MannWhitney r = MannWhitneyU(a, b);
  EXPECT_EQ(r.n_a, 5);
  EXPECT_EQ(r.n_b, 4);
  EXPECT_DOUBLE_EQ(r.u_a, 17);
  EXPECT_DOUBLE_EQ(r.u_b, 3);
  EXPECT_TRUE(r.exact);
  EXPECT_TRUE(r.tested);
  EXPECT_DOUBLE_EQ(r.p_value, 14.0 / 126);
  EXPECT_DOUBLE_EQ(r.effect, 3.0 / 20);  // B is usually smaller
  // Swapping the samples swaps U and keeps p.
  const MannWhitney s = MannWhitneyU(b, a);
  EXPECT_DOUBLE_EQ(s.u_a, 3);
  EXPECT_DOUBLE_EQ(s.p_value, r.p_value);
  EXPECT_DOUBLE_EQ(s.effect, 17.0 / 20);
}

TEST(MannWhitney, CompleteSeparation) {
  const std::vector<double> a = {1, 2, 3, 4, 5};
  const std::vector<double> b = {6, 7, 8, 9, 10};
  const MannWhitney r = MannWhitneyU(a, b);
  EXPECT_DOUBLE_EQ(r.u_a, 0);
  EXPECT_DOUBLE_EQ(r.p_value, 2.0 / 252);  // 2 / C(10, 5)
  EXPECT_DOUBLE_EQ(r.effect, 1);
}

TEST(MannWhitney, TiesUseTheNormalApproximation) {
  // Pooled sorted: 1(A) 2(A) 2(A) 2(B) 3(A) 3(B) 3(B) 4(B) 5(B); mid-ranks 1, 3, 3, 3, 6, 6, 6,
  // 8, 9. R_a = 1 + 3 + 3 + 6 = 13, U_a = 13 − 10 = 3, U_b = 17. Ties: two groups of 3: Σ(t³ − t)
  // = 48. σ² = 20/12 · (10 − 48/72) = 15.5556; z = (|17 − 10| − 0.5)/σ = 1.64804.
  const std::vector<double> a = {1, 2, 2, 3};
  const std::vector<double> b = {2, 3, 3, 4, 5};
  const MannWhitney r = MannWhitneyU(a, b);
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.u_a, 3);
  EXPECT_DOUBLE_EQ(r.u_b, 17);
  const double sigma = std::sqrt(20.0 / 12.0 * (10.0 - 48.0 / 72.0));
  EXPECT_NEAR(r.z, 6.5 / sigma, 1e-12);
  EXPECT_NEAR(r.p_value, std::erfc(6.5 / sigma / std::sqrt(2.0)), 1e-12);
  EXPECT_NEAR(r.p_value, 0.09934, 1e-4);
}

TEST(MannWhitney, EdgeCases) {
  const std::vector<double> empty;
  const std::vector<double> some = {1, 2, 3};
  const MannWhitney e = MannWhitneyU(empty, some);
  EXPECT_FALSE(e.tested);
  EXPECT_EQ(e.p_value, 1);
  EXPECT_EQ(e.effect, 0.5);
  EXPECT_EQ(e.n_b, 3);

  const std::vector<double> one_a = {1};
  const std::vector<double> one_b = {2};
  const MannWhitney one = MannWhitneyU(one_a, one_b);
  EXPECT_TRUE(one.tested);
  EXPECT_EQ(one.p_value, 1);  // two values can never be significant
  EXPECT_EQ(one.effect, 1);

  const std::vector<double> same(30, 4.0);
  const MannWhitney tied = MannWhitneyU(same, same);
  EXPECT_FALSE(tied.tested);
  EXPECT_EQ(tied.p_value, 1);
  EXPECT_EQ(tied.effect, 0.5);
  EXPECT_EQ(tied.u_a, 450);

  const std::vector<double> small_tied(3, 4.0);  // exact range, but tied: approximation, σ = 0
  EXPECT_FALSE(MannWhitneyU(small_tied, small_tied).tested);
}

TEST(MannWhitney, ExactAndNormalAgreeAtTheBoundary) {
  // 20 + 20 values without ties: the exact p and the continuity-corrected normal p are close.
  std::vector<double> a;
  std::vector<double> b;
  for (int k = 0; k < 20; ++k) {
    a.push_back(k * 2.0);
    b.push_back(k * 2.0 + 7.5);  // B shifted by a few ranks
  }
  const MannWhitney exact = MannWhitneyU(a, b);
  ASSERT_TRUE(exact.exact);
  EXPECT_GT(exact.p_value, 0.01);
  EXPECT_LT(exact.p_value, 0.5);
  const double sigma = std::sqrt(20.0 * 20.0 * 41.0 / 12.0);
  const double z = (std::abs(exact.u_a - 200) - 0.5) / sigma;
  EXPECT_NEAR(exact.p_value, std::erfc(z / std::sqrt(2.0)), 0.005);
}

std::vector<double> BruteDifferences(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d;
  for (double y : b) {
    for (double x : a) d.push_back(y - x);
  }
  std::sort(d.begin(), d.end());
  return d;
}

TEST(HodgesLehmann, KthDifferenceMatchesBruteForce) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> small(0, 9);  // many ties
  std::normal_distribution<double> normal(0, 1);
  for (int round = 0; round < 20; ++round) {
    std::vector<double> a;
    std::vector<double> b;
    const int n1 = 1 + round % 7;
    const int n2 = 1 + (round * 3) % 11;
    for (int k = 0; k < n1; ++k) a.push_back(round % 2 ? small(rng) : normal(rng));
    for (int k = 0; k < n2; ++k) b.push_back(round % 2 ? small(rng) : normal(rng) + 0.3);
    const std::vector<double> brute = BruteDifferences(a, b);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    for (int64_t k = 1; k <= static_cast<int64_t>(brute.size()); ++k) {
      ASSERT_EQ(KthPairwiseDifference(a, b, k), brute[static_cast<size_t>(k - 1)])
          << "round " << round << " k " << k;
    }
  }
}

TEST(HodgesLehmann, ExactSmallExample) {
  // Differences b − a: 1 2 2 3 3 3 4 4 5; the median is 3.
  const std::vector<double> a = {1, 2, 3};
  const std::vector<double> b = {4, 5, 6};
  const auto r90 = HodgesLehmann(a, b, 0.90);
  ASSERT_TRUE(r90);
  EXPECT_EQ(r90->estimate, 3);
  // P(U ≤ 0) = 1/20 ≤ 0.05 < P(U ≤ 1): c = 1, the interval is [D(1), D(9)], coverage 1 − 2/20.
  EXPECT_EQ(r90->interval.lower, 1);
  EXPECT_EQ(r90->interval.upper, 5);
  EXPECT_DOUBLE_EQ(r90->interval.coverage, 0.9);
  // At 95% even the extremes do not bound it.
  const auto r95 = HodgesLehmann(a, b, 0.95);
  ASSERT_TRUE(r95);
  EXPECT_FALSE(r95->interval.lower);
  EXPECT_FALSE(r95->interval.upper);
  EXPECT_EQ(r95->interval.coverage, 1);
  // An even count of differences: the mean of the middle two (2 − 1 = 1 and 3 − 1 = 2... ).
  const std::vector<double> a2 = {0, 10};
  const std::vector<double> b2 = {1, 2};  // differences −9 −8 1 2: median (−8 + 1)/2
  EXPECT_EQ(HodgesLehmann(a2, b2, 0.9)->estimate, -3.5);
}

TEST(HodgesLehmann, EdgeCases) {
  const std::vector<double> empty;
  const std::vector<double> one = {2};
  EXPECT_FALSE(HodgesLehmann(empty, one, 0.95));
  EXPECT_FALSE(HodgesLehmannRatio(one, empty, 0.95));
  const auto single = HodgesLehmann(one, std::vector<double>{5}, 0.95);
  ASSERT_TRUE(single);
  EXPECT_EQ(single->estimate, 3);
  EXPECT_FALSE(single->interval.lower);
  const std::vector<double> same(50, 3.0);
  const auto tied = HodgesLehmann(same, same, 0.95);
  ASSERT_TRUE(tied);
  EXPECT_EQ(tied->estimate, 0);
  EXPECT_EQ(tied->interval.lower, 0);
  EXPECT_EQ(tied->interval.upper, 0);
  const std::vector<double> with_zero = {0, 1, 2};
  EXPECT_FALSE(HodgesLehmannRatio(with_zero, one, 0.95));
}

TEST(HodgesLehmann, RatioOfScaledSamples) {
  // Pairwise ratios b/a: 0.5 1 1 2 2 2 4 4 8; the median is 2.
  const std::vector<double> a = {1, 2, 4};
  const std::vector<double> b = {2, 4, 8};
  EXPECT_NEAR(HodgesLehmannRatio(a, b, 0.9)->estimate, 2, 1e-12);

  // 100k values a side (1e10 differences), B = 1.1·A: the ratio is 1.1 and inside a tight interval.
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> lognormal(0, 0.05);
  std::vector<double> big_a(100000);
  for (double& v : big_a) v = lognormal(rng);
  std::vector<double> big_b = big_a;
  for (double& v : big_b) v *= 1.1;
  std::shuffle(big_b.begin(), big_b.end(), rng);
  const auto r = HodgesLehmannRatio(big_a, big_b, 0.95);
  ASSERT_TRUE(r);
  EXPECT_NEAR(r->estimate, 1.1, 1e-9);
  ASSERT_TRUE(r->interval.lower && r->interval.upper);
  EXPECT_LT(*r->interval.lower, 1.1);
  EXPECT_GT(*r->interval.upper, 1.1);
  EXPECT_GT(*r->interval.lower, 1.099);
  EXPECT_LT(*r->interval.upper, 1.101);
  EXPECT_NEAR(r->interval.coverage, 0.95, 0.001);
}

TEST(HodgesLehmann, IntervalCoversTheTrueShift) {
  // Seeded: 400 repetitions of 60 vs 60 normal values shifted by 1; the 90% interval should cover
  // the shift in about 90% of them (binomial sd 1.5%).
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0, 1);
  int covered = 0;
  const int reps = 400;
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<double> a(60);
    std::vector<double> b(60);
    for (double& v : a) v = normal(rng);
    for (double& v : b) v = normal(rng) + 1;
    const auto r = HodgesLehmann(a, b, 0.90);
    if (*r->interval.lower <= 1 && 1 <= *r->interval.upper) ++covered;
  }
  const double rate = static_cast<double>(covered) / reps;
  EXPECT_GT(rate, 0.85);
  EXPECT_LT(rate, 0.95);
}

TEST(Bootstrap, EstimateEdgeCasesAndDeterminism) {
  const std::vector<double> a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const std::vector<double> b = {2, 4, 6, 8, 10, 12, 14, 16, 18, 20};
  BootstrapOptions options;
  options.iterations = 500;
  options.seed = 42;
  const auto r = BootstrapPercentileRatio(a, b, 0.9, options);
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->estimate, 18.0 / 9.0);  // nearest-rank p90 of 10 values is X(9)
  const auto again = BootstrapPercentileRatio(a, b, 0.9, options);
  EXPECT_EQ(again->interval.lower, r->interval.lower);
  EXPECT_EQ(again->interval.upper, r->interval.upper);
  EXPECT_EQ(again->p_value, r->p_value);
  options.seed = 43;
  const auto other = BootstrapPercentileRatio(a, b, 0.9, options);
  EXPECT_NE(other->p_value, r->p_value);

  const std::vector<double> empty;
  EXPECT_FALSE(BootstrapPercentileRatio(empty, b, 0.5, options));
  const std::vector<double> with_zero = {0, 1};
  EXPECT_FALSE(BootstrapPercentileRatio(a, with_zero, 0.5, options));

  // Identical constant samples: every replicate is 1.
  const std::vector<double> same(20, 3.0);
  const auto tied = BootstrapPercentileRatio(same, same, 0.99, options);
  EXPECT_EQ(tied->estimate, 1);
  EXPECT_EQ(tied->interval.lower, 1);
  EXPECT_EQ(tied->interval.upper, 1);
  EXPECT_EQ(tied->p_value, 1);
  EXPECT_FALSE(tied->excludes_one);

  // One value a side: every replicate is that value.
  const auto single =
      BootstrapPercentileRatio(std::vector<double>{2}, std::vector<double>{3}, 1.0, options);
  EXPECT_DOUBLE_EQ(single->estimate, 1.5);
  EXPECT_DOUBLE_EQ(*single->interval.lower, 1.5);
  EXPECT_TRUE(single->excludes_one);
  EXPECT_DOUBLE_EQ(single->p_value, 2.0 / 501);
}

TEST(Bootstrap, SeparatedSamplesAreSignificant) {
  std::vector<double> a;
  std::vector<double> b;
  for (int k = 1; k <= 300; ++k) {
    a.push_back(1 + k / 300.0);
    b.push_back(10 + k / 30.0);
  }
  const auto r = BootstrapPercentileRatio(a, b, 0.99, {});
  EXPECT_TRUE(r->excludes_one);
  EXPECT_DOUBLE_EQ(r->p_value, 2.0 / 2001);  // the smallest possible with 2000 replicates
  EXPECT_GT(*r->interval.lower, 1);
}

// The order-statistic shortcut (Note [Percentile bootstrap]) against resampling every value.
TEST(Bootstrap, MatchesBruteForceResampling) {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> lognormal(0, 0.3);
  std::vector<double> a(400);
  std::vector<double> b(300);
  for (double& v : a) v = lognormal(rng);
  for (double& v : b) v = lognormal(rng);
  const double p = 0.9;
  const int iterations = 20000;
  BootstrapOptions options;
  options.iterations = iterations;
  options.confidence = 0.9;
  const auto fast = BootstrapPercentileRatio(a, b, p, options);

  std::vector<double> ratios;
  std::vector<double> ra(a.size());
  std::vector<double> rb(b.size());
  std::uniform_int_distribution<size_t> pick_a(0, a.size() - 1);
  std::uniform_int_distribution<size_t> pick_b(0, b.size() - 1);
  for (int k = 0; k < iterations; ++k) {
    for (double& v : ra) v = a[pick_a(rng)];
    for (double& v : rb) v = b[pick_b(rng)];
    ratios.push_back(Percentile(SortedSamples(rb), p) / Percentile(SortedSamples(ra), p));
  }
  const SortedSamples brute(std::move(ratios));
  EXPECT_NEAR(*fast->interval.lower, Percentile(brute, 0.05), 0.01);
  EXPECT_NEAR(*fast->interval.upper, Percentile(brute, 0.95), 0.01);
  const double width = Percentile(brute, 0.95) - Percentile(brute, 0.05);
  EXPECT_GT(width, 0.1);  // the tolerance above is small against the spread
}

}  // namespace
}  // namespace plaster::stats
