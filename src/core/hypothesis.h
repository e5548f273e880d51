#pragma once
/// Tests of a change between two independent samples (run A, run B): pure functions with defined
/// edge cases, used by `plaster compare` (docs/metrics.md, "Comparing runs").
///  - MannWhitneyU: is one sample stochastically larger? (a two-sided rank test; centres)
///  - HodgesLehmann / HodgesLehmannRatio: how large is the shift, with a distribution-free interval
///  - BootstrapPercentileRatio: the ratio of a (tail) percentile, with a seeded bootstrap interval
/// The samples need not be sorted. NaNs are a bug (asserted).

#include <cstdint>
#include <optional>
#include <span>

#include "core/stats.h"

namespace plaster::stats {

/// The standard normal CDF Φ(z) and its inverse (p in (0, 1); 1e-12 absolute accuracy).
double NormalCdf(double z);
double NormalQuantile(double p);

/// Note [Exact Mann–Whitney distribution]: without ties, under the null hypothesis (A and B from
/// one continuous distribution) every arrangement of the n1 + n2 ranks is equally likely, and the
/// number of arrangements whose U (pairs with a > b) equals u is the coefficient of q^u in the
/// Gaussian binomial [n1 + n2 choose n1]_q. plaster builds it as the product over i = 1..n1 of
/// (1 − q^(n2+i)) / (1 − q^i) (the counting recursion f(m, n, u) = f(m − 1, n, u − n) + f(m, n − 1,
/// u) in closed form), in exact integers: the total is C(n1 + n2, n1) ≤ C(40, 20) ≈ 1.4e11. P(U ≤
/// u) for 0 ≤ n1, n2 ≤ kExactMannWhitneyMax (both sizes 0: 1 for u ≥ 0).
double MannWhitneyExactCdf(int64_t u, int64_t n1, int64_t n2);
/// The exact distribution is used when both samples have at most this many values and no ties.
inline constexpr int64_t kExactMannWhitneyMax = 20;

/// The two-sided Mann–Whitney U (Wilcoxon rank-sum) test of A against B.
/// Note [Mann–Whitney p-value]: U_a counts the pairs (a, b) with a > b, ties counting ½
/// (U_a = R_a − n1(n1 + 1)/2 from the mid-ranks); U_a + U_b = n1·n2. Small samples without ties
/// (both ≤ kExactMannWhitneyMax): the exact p = min(1, 2·P(U ≤ min(U_a, U_b))). Otherwise the
/// normal approximation: mean n1·n2/2, variance n1·n2/12 · (N + 1 − Σ(t³ − t)/(N(N − 1))) over the
/// groups of t tied values, z = (|U_a − mean| − ½)/σ (continuity correction, floored at 0), p = 2(1
/// − Φ(z)). Edge cases: an empty sample, or every value tied (σ = 0): p = 1 and `tested` false.
struct MannWhitney {
  int64_t n_a = 0;
  int64_t n_b = 0;
  double u_a = 0;  ///< pairs with a > b, ties ½
  double u_b = 0;  ///< pairs with b > a, ties ½
  double z = 0;    ///< the normal approximation's z (signed: > 0 when B is larger); 0 when exact
  double p_value = 1;
  bool exact = false;   ///< from the exact distribution
  bool tested = false;  ///< false: no test was possible (empty side, or every value tied)
  /// The common-language effect size: P(B > A) + ½·P(B = A) = U_b / (n1·n2); 0.5 when a side is
  /// empty. Above 0.5: B tends to be larger.
  double effect = 0.5;
};
MannWhitney MannWhitneyU(std::span<const double> a, std::span<const double> b);

/// Note [Hodges–Lehmann interval]: the Hodges–Lehmann estimate of the shift of B against A is the
/// median of the n1·n2 pairwise differences b_j − a_i. Its distribution-free interval (exact for
/// continuous distributions without ties; approximate with ties) is [D(c), D(K + 1 − c)] over the
/// ordered differences, K = n1·n2, where c is the largest rank with P(U ≤ c − 1) ≤ α/2 under the
/// null distribution of U (exact for small samples, per Note [Exact Mann–Whitney distribution];
/// otherwise c = round(K/2 − z(1 − α/2)·√(n1·n2·(N + 1)/12))). When c < 1 neither side is bounded.
/// The differences are never all formed (K reaches 1e10 for 100k values a side): the k-th smallest
/// is found exactly by bisection over the ordered bit patterns of doubles (at most 64 rounds), each
/// round counting the differences ≤ t with one merge-like pass over the two sorted samples, so it
/// costs O((n1 + n2)·64) after sorting, and the result is exactly the k-th smallest computed
/// difference (no sampling, no approximation).
struct ShiftEstimate {
  double estimate = 0;  ///< the median pairwise difference (mean of the middle two when K is even)
  Interval interval;    ///< coverage: exact (small samples) or from the normal approximation
};
/// nullopt when either sample is empty. confidence in (0, 1).
std::optional<ShiftEstimate> HodgesLehmann(std::span<const double> a, std::span<const double> b,
                                           double confidence);
/// The same on log values, exponentiated: the change as a ratio B/A (1.10: B is 10% larger), with
/// its interval. nullopt when either sample is empty or holds a value ≤ 0.
std::optional<ShiftEstimate> HodgesLehmannRatio(std::span<const double> a,
                                                std::span<const double> b, double confidence);
/// The k-th smallest (1-based, 1 ≤ k ≤ n1·n2) of the differences b_j − a_i of two sorted samples,
/// exactly (see Note [Hodges–Lehmann interval]).
double KthPairwiseDifference(std::span<const double> sorted_a, std::span<const double> sorted_b,
                             int64_t k);

/// Note [Percentile bootstrap]: the ratio of the p-th (nearest-rank) percentile of B to that of A.
/// Each of `iterations` replicates resamples both samples with replacement (their own sizes) and
/// takes the ratio of the resampled percentiles. A resample's k-th order statistic is the original
/// sorted sample's value at index ⌊n·U(k)⌋, where U(k) ~ Beta(k, n − k + 1) is the k-th order
/// statistic of n uniforms, so one replicate costs one Beta draw a side instead of n draws and a
/// selection: the same distribution, exactly, at any n (no subsampling). The interval is the
/// equal-tailed percentile interval of the replicates (nearest-rank at α/2 and 1 − α/2); the
/// two-sided p-value of "ratio = 1" is min(1, 2·min(1 + #{r ≤ 1}, 1 + #{r ≥ 1}) / (1 +
/// iterations)). Every random choice comes from the seed through plaster's own generators
/// (mt19937_64, then Marsaglia–Tsang gamma and Box–Muller normal draws written here), so results
/// are identical for a seed on every platform. A percentile bootstrap is approximate, and rough at
/// extreme tails of small samples (a p99 of 200 values rests on the top few).
struct BootstrapOptions {
  int64_t iterations = 2000;
  uint64_t seed = 1;
  double confidence = 0.95;
};
struct RatioEstimate {
  double estimate = 0;  ///< percentile(B) / percentile(A) of the samples themselves
  Interval interval;    ///< coverage: the nominal confidence
  double p_value = 1;
  bool excludes_one = false;  ///< the interval lies wholly above or below 1
};
/// p in (0, 1], iterations ≥ 1, confidence in (0, 1); nullopt when either sample is empty or
/// holds a value ≤ 0 (a ratio needs positive percentiles, in every replicate too).
std::optional<RatioEstimate> BootstrapPercentileRatio(std::span<const double> a,
                                                      std::span<const double> b, double p,
                                                      const BootstrapOptions& options);

}  // namespace plaster::stats
