#pragma once
/// Measures the A letter of one session on one dataset: every sample run through the session in
/// batches of the session's batch size (the last batch filled up by repeating its last sample,
/// whose outputs are dropped), the task metric summarised with its interval, and the per-sample
/// results kept so two precisions can be compared as paired data (Note [Paired accuracy] in
/// measure_accuracy.cpp).
///
/// Threading: one call uses the session and the dataset from the calling thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "accuracy/dataset.h"
#include "accuracy/metrics.h"
#include "engine/engine.h"

namespace plaster::accuracy {

/// Input `input` of a batch of `samples` (each with batch axis 1) at spec's shape: the samples
/// concatenated along axis 0, the last one repeated to fill the batch. plaster::Error naming the
/// sample when its size does not fit.
engine::HostTensor MakeBatch(const std::vector<Sample>& samples, size_t input,
                             const engine::TensorSpec& spec);

/// What one session scored. Which metrics are set depends on the dataset's labels: kClass →
/// top1/top5; kTargets → mse/mae; kNone → agreement with the reference session only.
struct AccuracyResult {
  LabelKind kind = LabelKind::kNone;
  int64_t samples = 0;
  std::optional<Proportion> top1, top5;
  std::optional<MeanEstimate> mse, mae;
  std::vector<bool> top1_correct;     ///< kClass: per sample
  std::vector<int64_t> predictions;   ///< kClass: the top-1 class per sample
  std::vector<double> squared_error;  ///< kTargets: per sample
  /// Against the reference session's outputs, when one was given.
  std::optional<Agreement> agreement;
  double seconds = 0;  ///< wall time of the whole pass (reading and preprocessing included)
};

/// Runs every sample of `data` through `session` (and through `reference` too, when given, for
/// agreement). The first output is the one scored: class scores [B, C] for kClass, the
/// prediction for kTargets. plaster::Error naming the sample on a mismatch.
AccuracyResult MeasureAccuracy(engine::Session& session, Dataset& data,
                               engine::Session* reference = nullptr);

/// A precision's accuracy against the float32 case's on the same samples.
struct AccuracyDelta {
  std::string metric;  ///< "top-1", "MSE", "agreement"
  double baseline = 0, value = 0;
  double difference = 0;  ///< value − baseline (for errors, larger is worse)
  Interval difference_ci;
  double p_value = 1;  ///< McNemar (classification) or paired t (regression)
  std::string test;    ///< "McNemar exact" or "paired t"
  /// MLPerf's rule: classification at least (1 − max_drop) of the baseline accuracy; regression
  /// error at most (1 + max_drop) of the baseline error.
  bool meets_target = false;
  double max_drop = 0.01;
};
/// nullopt when the two results have nothing comparable (no labels; different sample counts).
std::optional<AccuracyDelta> CompareAccuracy(const AccuracyResult& baseline,
                                             const AccuracyResult& result, double max_drop);

}  // namespace plaster::accuracy
