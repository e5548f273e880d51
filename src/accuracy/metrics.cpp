#include "accuracy/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>

#include "core/error.h"
#include "core/hypothesis.h"
#include "core/stats.h"

namespace plaster::accuracy {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Agreement's relative-error floor, as a fraction of the reference's largest magnitude.
constexpr double kRelativeFloor = 1e-6;

void CheckConfidence(double confidence) { PLASTER_ASSERT(confidence > 0 && confidence < 1); }

// z(1 − α/2) for a two-sided interval at this confidence.
double TwoSidedZ(double confidence) { return stats::NormalQuantile(1 - (1 - confidence) / 2); }

// max and min that keep a NaN once one is seen: std::max(m, NaN) would return m and hide a broken
// output.
double MaxKeepingNaN(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b);
}
double MinKeepingNaN(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b);
}

int64_t CountTrue(const std::vector<bool>& flags) {
  return std::count(flags.begin(), flags.end(), true);
}

// Note [Student's t distribution]: for T with ν degrees of freedom and t ≥ 0,
// P(T > t) = ½·I_x(ν/2, ½) with x = ν/(ν + t²), I the regularized incomplete beta function.
// Two evaluations, following Didonato and Morris's TOMS 708 (bratio):
//  - In general, I_x(a, b) = x^a·(1 − x)^b / (a·B(a, b)) · CF(a, b, x), the continued fraction
//    of Numerical Recipes' betacf (modified Lentz), which converges quickly for
//    x < (a + 1)/(a + b + 2); above that, I_x(a, b) = 1 − I_{1−x}(b, a).
//  - For many degrees of freedom (a = ν/2 ≥ 15) and x > 0.7, the asymptotic expansion of TOMS
//    708's bgrat, here with b = ½. It is needed: there x lies within ~t²/ν of 1, where the
//    fraction's terms sit near −1 and cancel, losing about log2(ν) bits (1e-11 at ν = 1e6, 1e-8
//    at 1e9); the expansion keeps ~1e-15 at any ν.
// x and 1 − x (and their logarithms) are each computed directly from s = |t|/√ν, so neither a
// tail near 0 nor one near ½ loses digits to a subtraction. The quantile inverts the tail by
// bisection (it is monotone), to a few ulps.

// ln Γ(x) − [(x − ½)·ln x − x + ½·ln 2π] for x ≥ 10: Stirling's series through x^-13; the first
// omitted term, 3617/(122400·x^15), is below 3e-17 at x = 10.
double StirlingCorrection(double x) {
  // B_2k / (2k·(2k − 1)) for k = 1..7, the coefficients of x^-(2k − 1).
  constexpr double kCoefficients[] = {1.0 / 12,   -1.0 / 360,      1.0 / 1260, -1.0 / 1680,
                                      1.0 / 1188, -691.0 / 360360, 1.0 / 156};
  const double r = 1 / x;
  double sum = 0;
  for (int k = 6; k >= 0; --k) sum = sum * r * r + kCoefficients[k];
  return sum * r;
}

// ln Γ(big) − ln Γ(big + small) for big ≥ 10, small > 0. As the difference of two lgamma values it
// would subtract large, nearly equal numbers (ln Γ(1e4) ≈ 8e4 leaves ~1e-11 of absolute precision,
// ln Γ(5e8) ~1e-6), an error that lands unreduced in every tail probability; with Stirling's
// series the large terms cancel analytically:
// −(big − ½)·ln(1 + small/big) − small·ln(big + small) + small + δ(big) − δ(big + small).
double LogGammaRatio(double big, double small) {
  return -(big - 0.5) * std::log1p(small / big) - small * std::log(big + small) + small +
         StirlingCorrection(big) - StirlingCorrection(big + small);
}

// ln B(a, b).
double LogBeta(double a, double b) {
  const double big = std::max(a, b);
  const double small = std::min(a, b);
  if (big < 10) return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
  return std::lgamma(small) + LogGammaRatio(big, small);
}

// The continued fraction CF(a, b, x) of Note [Student's t distribution]; y = 1 − x.
double BetaContinuedFraction(double a, double b, double x, double y) {
  constexpr double kTiny = 1e-300;  // keeps Lentz's divisions away from 0
  constexpr double kTolerance = 1e-16;
  // It converges in O(√max(a, b)) terms; the cap is far above that for any sample count.
  constexpr int kMaxTerms = 10'000'000;
  const double qab = a + b;
  const double qap = a + 1;
  const double qam = a - 1;
  double c = 1;
  // 1 − (a + b)·x/(a + 1), written with y so that x near 1 does not cancel it away.
  double d = (1 - b + qab * y) / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= kMaxTerms; ++m) {
    const double m2 = 2.0 * m;
    // The even step.
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    // The odd step.
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < kTolerance) break;
  }
  return h;
}

// I_x(a, b), with y = 1 − x and the logarithms of both given (Note [Student's t distribution]).
double RegularizedBeta(double a, double b, double x, double y, double log_x, double log_y) {
  // x itself may have underflowed to 0 while its logarithm, which the result rests on, has not.
  if (std::isinf(log_x)) return 0;
  if (std::isinf(log_y)) return 1;
  const double front = std::exp(a * log_x + b * log_y - LogBeta(a, b));
  if (x < (a + 1) / (a + b + 2)) return front * BetaContinuedFraction(a, b, x, y) / a;
  return 1 - front * BetaContinuedFraction(b, a, y, x) / b;
}

// I_x(a, ½) for a ≥ 15 and x > 0.7 by TOMS 708's bgrat expansion (Note [Student's t
// distribution]), given ln x. With T = a − ¼ and z = −T·ln x, it is u·Σ d_n·J_n, where
// u = r·Γ(a + ½)/(Γ(a)·√T) with r = e^(−z)·√z/√π, J_0 = Q(½, z)/r with Q(½, z) = erfc(√z), and
// J_n, d_n follow Didonato and Morris's recurrences. nullopt when z > 700, where e^(−z)
// underflows (the tail is below 1e-300 there).
std::optional<double> HalfBetaExpansion(double a, double log_x) {
  constexpr double b = 0.5;
  constexpr double kTolerance = 1e-16;
  constexpr int kMaxTerms = 30;
  const double nu = a - 0.25;  // a + (b − 1)/2
  const double z = -nu * log_x;
  if (!(z > 0) || z > 700) return std::nullopt;
  const double log_r = 0.5 * std::log(z) - z - 0.5 * std::log(std::numbers::pi);
  const double u = std::exp(log_r - (LogGammaRatio(a, b) + b * std::log(nu)));
  const double v = 0.25 / (nu * nu);
  const double t2 = 0.25 * log_x * log_x;
  double j = std::erfc(std::sqrt(z)) / std::exp(log_r);
  double sum = j;
  double t = 1;
  double cn = 1;
  double n2 = 0;
  double c[kMaxTerms];
  double d[kMaxTerms];
  for (int n = 1; n <= kMaxTerms; ++n) {
    const double bp2n = b + n2;
    j = (bp2n * (bp2n + 1) * j + (z + bp2n + 1) * t) * v;
    n2 += 2;
    t *= t2;
    cn /= n2 * (n2 + 1);
    c[n - 1] = cn;
    double s = 0;
    double coef = b - n;
    for (int i = 1; i < n; ++i) {
      s += coef * c[i - 1] * d[n - 1 - i];
      coef += b;
    }
    d[n - 1] = (b - 1) * cn + s / n;
    const double dj = d[n - 1] * j;
    sum += dj;
    if (std::fabs(dj) <= kTolerance * sum) break;
  }
  return u * sum;
}

// P(T > |t|) for T with `dof` degrees of freedom (Note [Student's t distribution]).
double StudentTTail(double t, double dof) {
  const double s = std::fabs(t) / std::sqrt(dof);
  if (std::isnan(s)) return kNaN;
  if (s == 0) return 0.5;
  // x = 1/(1 + s²) and y = s²/(1 + s²) with their logarithms, from whichever of s² and 1/s² is at
  // most 1: s² would overflow for t above 1e154, and dof 1 has its 1e-200 quantile at 3e199.
  double x = 0;
  double y = 0;
  double log_x = 0;
  double log_y = 0;
  if (s <= 1) {
    const double s2 = s * s;  // may underflow; log_y does not
    x = 1 / (1 + s2);
    y = s2 / (1 + s2);
    log_x = -std::log1p(s2);
    log_y = 2 * std::log(s) - std::log1p(s2);
  } else {
    const double r = 1 / s;
    const double r2 = r * r;  // may underflow; log_x does not
    x = r2 / (1 + r2);
    y = 1 / (1 + r2);
    log_x = 2 * std::log(r) - std::log1p(r2);
    log_y = -std::log1p(r2);
  }
  if (dof >= 30 && x > 0.7) {
    if (const std::optional<double> i = HalfBetaExpansion(dof / 2, log_x)) return 0.5 * *i;
  }
  return 0.5 * RegularizedBeta(dof / 2, 0.5, x, y, log_x, log_y);
}

// Count, mean and sample standard deviation, with the all-equal case exact: a computed mean of
// equal values can differ from them in the last bit, which would give a spread where there is none.
struct Spread {
  int64_t count = 0;
  double mean = 0;
  double stddev = 0;
};
Spread SpreadOf(std::span<const double> values) {
  const stats::Moments m = stats::ComputeMoments(values);
  Spread s{m.count, m.mean, m.stddev};
  // NaN != NaN, so a NaN is never "all equal" and propagates through the mean.
  if (!values.empty() &&
      std::all_of(values.begin(), values.end(), [&](double v) { return v == values.front(); })) {
    s.mean = values.front();
    s.stddev = 0;
  }
  return s;
}

// A mean error's t interval can reach below 0 when the errors are skewed; an error cannot. (A NaN
// end stays NaN.)
MeanEstimate NonNegative(MeanEstimate e) {
  if (e.ci.low < 0) e.ci.low = 0;
  return e;
}

// Whether class i ranks above class j: a higher score, or an equal one at a lower index. NaN ranks
// above every number (NumPy's argmax and PyTorch's argmax and topk put NaN first).
bool RanksAbove(std::span<const float> scores, size_t i, size_t j) {
  const bool nan_i = std::isnan(scores[i]);
  const bool nan_j = std::isnan(scores[j]);
  if (nan_i != nan_j) return nan_i;
  if (nan_i || scores[i] == scores[j]) return i < j;
  return scores[i] > scores[j];
}

}  // namespace

Proportion WilsonProportion(int64_t successes, int64_t trials, double confidence) {
  CheckConfidence(confidence);
  PLASTER_ASSERT(trials >= 0 && successes >= 0 && successes <= trials);
  Proportion r;
  r.successes = successes;
  r.trials = trials;
  if (trials == 0) {
    r.ci = {0, 1};
    return r;
  }
  const auto n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z = TwoSidedZ(confidence);
  const double z2n = z * z / n;
  // Wilson: the p0 with |p − p0| = z·√(p0(1 − p0)/n), solved for p0.
  const double centre = (p + z2n / 2) / (1 + z2n);
  const double half = z / (1 + z2n) * std::sqrt(p * (1 - p) / n + z2n / (4 * n));
  r.value = p;
  // At k = 0 (k = n) the formula's end is 0 (1) up to rounding; the exact value is the defined one.
  r.ci.low = successes == 0 ? 0 : std::max(0.0, centre - half);
  r.ci.high = successes == trials ? 1 : std::min(1.0, centre + half);
  return r;
}

MeanEstimate MeanWithInterval(std::span<const double> values, double confidence) {
  CheckConfidence(confidence);
  const Spread s = SpreadOf(values);
  MeanEstimate r;
  r.count = s.count;
  r.mean = s.mean;
  r.ci = {s.mean, s.mean};
  if (s.count < 2) return r;
  const double half = StudentTQuantile(1 - (1 - confidence) / 2, s.count - 1) * s.stddev /
                      std::sqrt(static_cast<double>(s.count));
  r.ci = {s.mean - half, s.mean + half};
  r.interval_known = true;
  return r;
}

double StudentTQuantile(double p, int64_t dof) {
  PLASTER_ASSERT(p > 0 && p < 1 && dof >= 1);
  if (p == 0.5) return 0;
  // The distribution is symmetric: find t ≥ 0 with P(T > t) = the smaller tail. 1 − p is exact
  // for p ≥ ½ (Sterbenz), so no precision is lost to the reflection.
  const double tail = std::min(p, 1 - p);
  const auto nu = static_cast<double>(dof);
  double lo = 0;
  double hi = 1;
  while (StudentTTail(hi, nu) > tail) {  // t can reach ~1e300 for dof 1 and tiny p
    lo = hi;
    hi *= 2;
    if (std::isinf(hi)) return p < 0.5 ? -hi : hi;
  }
  for (int k = 0; k < 2000; ++k) {
    const double mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;  // adjacent doubles: as exact as it gets
    (StudentTTail(mid, nu) > tail ? lo : hi) = mid;
  }
  const double t = lo + (hi - lo) / 2;
  return p < 0.5 ? -t : t;
}

int64_t Argmax(std::span<const float> scores) {
  PLASTER_CHECK(!scores.empty(), "argmax of an empty score row");
  size_t best = 0;
  for (size_t i = 1; i < scores.size(); ++i) {
    if (RanksAbove(scores, i, best)) best = i;
  }
  return static_cast<int64_t>(best);
}

void ClassificationAccuracy::Add(std::span<const float> scores, int64_t label,
                                 const std::string& source) {
  PLASTER_CHECK(!scores.empty(), "{}: the output has no class scores", source);
  const auto classes = static_cast<int64_t>(scores.size());
  PLASTER_CHECK(label >= 0 && label < classes,
                "{}: label {} is out of range for an output of {} class scores (0 to {})", source,
                label, classes, classes - 1);
  // The label's rank is the count of classes ranked above it: no sort, and ties count exactly as
  // the argmax breaks them.
  const auto label_index = static_cast<size_t>(label);
  int64_t rank = 0;
  for (size_t j = 0; j < scores.size(); ++j) {
    if (j != label_index && RanksAbove(scores, j, label_index)) ++rank;
  }
  top1_.push_back(rank == 0);
  top5_.push_back(rank < 5);
  predictions_.push_back(Argmax(scores));
}

Proportion ClassificationAccuracy::Top1() const {
  return WilsonProportion(CountTrue(top1_), count());
}

Proportion ClassificationAccuracy::Top5() const {
  return WilsonProportion(CountTrue(top5_), count());
}

void RegressionError::Add(std::span<const float> prediction, std::span<const float> target,
                          const std::string& source) {
  PLASTER_CHECK(prediction.size() == target.size(),
                "{}: the output has {} elements but the target has {}", source, prediction.size(),
                target.size());
  double squared = 0;
  double absolute = 0;
  for (size_t i = 0; i < prediction.size(); ++i) {
    const double e = static_cast<double>(prediction[i]) - static_cast<double>(target[i]);
    squared += e * e;
    absolute += std::fabs(e);
  }
  const auto n = static_cast<double>(std::max<size_t>(1, prediction.size()));
  squared_.push_back(squared / n);
  absolute_.push_back(absolute / n);
}

MeanEstimate RegressionError::Mse() const { return NonNegative(MeanWithInterval(squared_)); }

MeanEstimate RegressionError::Mae() const { return NonNegative(MeanWithInterval(absolute_)); }

void Agreement::Add(std::span<const float> output, std::span<const float> reference,
                    const std::string& source) {
  PLASTER_CHECK(output.size() == reference.size(),
                "{}: the output has {} elements but the reference output has {}", source,
                output.size(), reference.size());
  if (output.empty()) {  // nothing to disagree about (see the header)
    top1_same_.push_back(true);
    cosine_sum_ += 1;
    return;
  }
  top1_same_.push_back(Argmax(output) == Argmax(reference));

  double scale = 0;
  for (float r : reference) scale = std::max(scale, std::fabs(static_cast<double>(r)));
  const double floor = kRelativeFloor * scale;
  double dot = 0;
  double output_norm2 = 0;
  double reference_norm2 = 0;
  for (size_t i = 0; i < output.size(); ++i) {
    // In double: float products of large values would overflow, and sums of many lose digits.
    const auto a = static_cast<double>(output[i]);
    const auto r = static_cast<double>(reference[i]);
    const double diff = std::fabs(a - r);
    const double denominator = std::max(std::fabs(r), floor);
    // A zero denominator means an all-zero reference: any difference is infinitely relative.
    const double relative = denominator > 0 ? diff / denominator : (diff > 0 ? kInfinity : diff);
    max_abs_ = MaxKeepingNaN(max_abs_, diff);
    max_rel_ = MaxKeepingNaN(max_rel_, relative);
    dot += a * r;
    output_norm2 += a * a;
    reference_norm2 += r * r;
  }
  double cosine = 0;
  if (output_norm2 == 0 && reference_norm2 == 0) {
    cosine = 1;  // two zero vectors are the same output
  } else if (output_norm2 == 0 || reference_norm2 == 0) {
    cosine = 0;  // nothing in common with a zero vector; the 0/0 formula would give NaN
  } else {
    // Rounding can carry the quotient a hair outside [−1, 1]; a NaN passes through clamp.
    cosine = std::clamp(dot / (std::sqrt(output_norm2) * std::sqrt(reference_norm2)), -1.0, 1.0);
  }
  cosine_sum_ += cosine;
  min_cosine_ = MinKeepingNaN(min_cosine_, cosine);
}

Proportion Agreement::Top1Agreement() const {
  return WilsonProportion(CountTrue(top1_same_), count());
}

double Agreement::mean_cosine() const {
  return count() == 0 ? 1 : cosine_sum_ / static_cast<double>(count());
}

McNemarResult McNemar(const std::vector<bool>& a, const std::vector<bool>& b, double confidence) {
  CheckConfidence(confidence);
  PLASTER_CHECK(a.size() == b.size(),
                "McNemar's test pairs the samples of two runs, but one has {} samples and the "
                "other {}",
                a.size(), b.size());
  McNemarResult r;
  r.n = static_cast<int64_t>(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] && !b[i]) ++r.a_only;
    if (!a[i] && b[i]) ++r.b_only;
  }
  if (r.n == 0) {
    r.difference_ci = {-1, 1};
    return r;
  }
  const int64_t discordant = r.a_only + r.b_only;
  if (discordant > 0) {
    // Conditional on the discordant count, b10 ~ Binomial(b01 + b10, ½) under the null hypothesis;
    // BinomialCdf sums only a ±40σ window, so a million discordant pairs cost ~40k terms.
    const int64_t smaller = std::min(r.a_only, r.b_only);
    r.p_value = std::min(1.0, 2 * stats::BinomialCdf(smaller, discordant, 0.5));
  }
  const auto n = static_cast<double>(r.n);
  const auto net = static_cast<double>(r.b_only - r.a_only);
  r.difference = net / n;
  // (b01 + b10) − (b10 − b01)²/n ≥ 0 mathematically; max() guards against rounding.
  const double variance = std::max(0.0, static_cast<double>(discordant) - net * net / n) / (n * n);
  const double half = TwoSidedZ(confidence) * std::sqrt(variance);
  r.difference_ci = {std::max(-1.0, r.difference - half), std::min(1.0, r.difference + half)};
  return r;
}

PairedDifference PairedT(std::span<const double> a, std::span<const double> b, double confidence) {
  CheckConfidence(confidence);
  PLASTER_CHECK(a.size() == b.size(),
                "a paired comparison needs the same samples in both runs, but one has {} and the "
                "other {}",
                a.size(), b.size());
  std::vector<double> differences(a.size());
  for (size_t i = 0; i < a.size(); ++i) differences[i] = b[i] - a[i];
  PairedDifference r;
  r.difference = MeanWithInterval(differences, confidence);
  const Spread s = SpreadOf(differences);
  if (s.count < 2) return r;  // no spread to test against
  if (s.stddev == 0) {
    // No spread (every difference equal; SpreadOf makes that exact): all 0 is no change, any
    // other constant a change beyond any doubt (t = ±∞).
    r.p_value = s.mean == 0 ? 1 : 0;
    return r;
  }
  const double t = s.mean / (s.stddev / std::sqrt(static_cast<double>(s.count)));
  r.p_value = std::min(1.0, 2 * StudentTTail(t, static_cast<double>(s.count - 1)));
  return r;
}

}  // namespace plaster::accuracy
