#pragma once
/// Accuracy metrics with their uncertainty (docs/metrics.md, the A letter): pure functions and
/// accumulators, fed one sample at a time, so a dataset of any size is summarised in memory
/// proportional to its sample count (one bit or one double per sample, for the paired tests).
///
/// Every figure carries a 95% confidence interval: Wilson's score interval for proportions
/// (top-1, top-5, agreement), Student's t interval on per-sample errors for MSE/MAE. Two
/// precisions evaluated on the same samples are compared as paired data: McNemar's exact test
/// for classification correctness (two-sided, conditional binomial on the discordant pairs),
/// with a confidence interval for the difference of the paired proportions.
///
/// `confidence` is in (0, 1) and counts satisfy 0 ≤ successes ≤ trials: breaking either is a bug
/// in the caller (asserted). Bad data (a label out of range, mismatched sizes) is a plaster::Error.
/// A NaN in an output is not an error: it is what the model produced, so it propagates into the
/// figures it touches (an error, a cosine, a mean) instead of vanishing in a comparison.
///
/// Threading: the functions are pure; an accumulator is used from one thread.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace plaster::accuracy {

/// A confidence interval, [low, high].
struct Interval {
  double low = 0;
  double high = 0;
};

/// k successes out of n trials, with Wilson's score interval. n = 0: value 0, interval [0, 1].
/// k = 0 has the lower end exactly 0, and k = n the upper end exactly 1.
struct Proportion {
  int64_t successes = 0;
  int64_t trials = 0;
  double value = 0;  ///< successes / trials
  Interval ci;
};
Proportion WilsonProportion(int64_t successes, int64_t trials, double confidence = 0.95);

/// A mean of per-sample values with Student's t interval (n < 2: the interval is [mean, mean]
/// and `interval_known` is false; n = 0: mean 0). Values all equal: the mean is exactly that
/// value and the interval [mean, mean], known.
struct MeanEstimate {
  int64_t count = 0;
  double mean = 0;
  Interval ci;
  bool interval_known = false;
};
MeanEstimate MeanWithInterval(std::span<const double> values, double confidence = 0.95);

/// Student's t quantile: P(T ≤ t) = p for T with `dof` degrees of freedom (p in (0, 1), dof ≥ 1).
/// Relative accuracy about 1e-13 at any dof.
double StudentTQuantile(double p, int64_t dof);

/// Classification against labels: top-1 and top-5 correctness per sample.
class ClassificationAccuracy {
 public:
  /// scores: one row of class scores (logits or probabilities; only their order matters), not
  /// empty, and label in [0, scores.size()) (plaster::Error otherwise, naming `source`). Ties are
  /// broken towards the lower class index, and NaN ranks above every number, as argmax and topk
  /// in NumPy and PyTorch.
  void Add(std::span<const float> scores, int64_t label, const std::string& source);
  int64_t count() const { return static_cast<int64_t>(top1_.size()); }
  Proportion Top1() const;
  Proportion Top5() const;  ///< with fewer than 5 classes: top-k over all classes (always 1)
  const std::vector<bool>& top1_correct() const { return top1_; }
  /// Per sample: the argmax of its scores.
  const std::vector<int64_t>& predictions() const { return predictions_; }

 private:
  std::vector<bool> top1_, top5_;
  std::vector<int64_t> predictions_;
};

/// The class with the highest score; ties go to the lower index, and the first NaN wins (as
/// NumPy's argmax). Empty scores: plaster::Error.
int64_t Argmax(std::span<const float> scores);

/// Regression against targets: per-sample mean squared and mean absolute error (each sample's
/// error averaged over its elements; 0 for a sample with no elements), then summarised across
/// samples. The intervals' lower ends are clamped at 0, since an error cannot be negative.
class RegressionError {
 public:
  /// prediction and target have the same element count (plaster::Error otherwise, naming source).
  void Add(std::span<const float> prediction, std::span<const float> target,
           const std::string& source);
  int64_t count() const { return static_cast<int64_t>(squared_.size()); }
  MeanEstimate Mse() const;
  MeanEstimate Mae() const;
  const std::vector<double>& per_sample_squared() const { return squared_; }

 private:
  std::vector<double> squared_, absolute_;
};

/// Agreement of an output with a reference output (the FP32 run of the same model) when there
/// are no labels: top-1 agreement (when the output is a score row), the largest absolute and
/// relative element error, and the cosine similarity per sample (its mean and minimum).
/// Every sample counts towards top-1 agreement (whether the output is a score row is for the
/// caller to say when reporting). A cosine with a zero vector is defined, not NaN: both outputs
/// zero → 1 (they agree), only one zero → 0. A sample with no elements agrees (top-1 same,
/// cosine 1, errors 0). No samples: errors 0, mean and minimum cosine 1.
class Agreement {
 public:
  /// Same element count (plaster::Error otherwise). Relative error is |a − r| / max(|r|, eps·s)
  /// with s the reference's largest magnitude in the sample and eps 1e-6, so zeros in the
  /// reference do not blow it up. A reference that is all zeros has no scale: the relative error
  /// is 0 where the output is 0 too and +infinity elsewhere.
  void Add(std::span<const float> output, std::span<const float> reference,
           const std::string& source);
  int64_t count() const { return static_cast<int64_t>(top1_same_.size()); }
  Proportion Top1Agreement() const;
  double max_abs_error() const { return max_abs_; }
  double max_rel_error() const { return max_rel_; }
  double mean_cosine() const;
  double min_cosine() const { return min_cosine_; }
  const std::vector<bool>& top1_same() const { return top1_same_; }

 private:
  std::vector<bool> top1_same_;
  double max_abs_ = 0, max_rel_ = 0, cosine_sum_ = 0, min_cosine_ = 1;
};

/// McNemar's test on paired correctness (a[i], b[i] for the same sample i): b01 = samples a got
/// right and b wrong, b10 = the reverse. The p-value is the exact two-sided conditional binomial
/// test (min(1, 2·P(X ≤ min(b01, b10))) with X ~ Binomial(b01 + b10, ½)); 1 when there are no
/// discordant pairs. `difference` is accuracy(b) − accuracy(a) = (b10 − b01)/n with a Wald
/// interval for paired proportions (variance ((b01 + b10) − (b10 − b01)²/n) / n²), clamped to
/// [−1, 1] (with no discordant pairs the Wald interval is [0, 0]). n = 0: difference 0, interval
/// [−1, 1], p 1.
struct McNemarResult {
  int64_t n = 0;
  int64_t a_only = 0;  ///< b01: a right, b wrong
  int64_t b_only = 0;  ///< b10: b right, a wrong
  double p_value = 1;
  double difference = 0;
  Interval difference_ci;
  /// p < alpha: the two accuracies differ beyond chance.
  bool Significant(double alpha = 0.05) const { return p_value < alpha; }
};
/// a and b have the same length (plaster::Error otherwise).
McNemarResult McNemar(const std::vector<bool>& a, const std::vector<bool>& b,
                      double confidence = 0.95);

/// A paired comparison of per-sample errors (regression): the mean of b − a with its t interval,
/// and the two-sided p-value of the paired t test. Edge cases: n < 2 (no test possible) or every
/// difference 0: p = 1; every difference the same nonzero value (no spread): p = 0.
struct PairedDifference {
  MeanEstimate difference;
  double p_value = 1;
};
/// a and b have the same length (plaster::Error otherwise).
PairedDifference PairedT(std::span<const double> a, std::span<const double> b,
                         double confidence = 0.95);

}  // namespace plaster::accuracy
