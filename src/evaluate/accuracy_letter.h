#pragma once
/// The A letter in `plaster evaluate` (Note [Accuracy in evaluate] in accuracy_letter.cpp): each
/// case's child runs the dataset through its session; the parent then sets every lower
/// precision against the fp32 case of the same engine, on the same samples.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/engine.h"
#include "evaluate/case_record.h"
#include "model/model.h"

namespace plaster::evaluate {

/// The data options of a sweep: the dataset for A, and the calibration data of int8 cases.
struct CaseData {
  std::string data;  ///< empty: A is not measured
  std::optional<int64_t> limit;
  std::optional<uint64_t> subset_seed;
  std::string preset = "imagenet";
  int64_t resize = 256;
  double max_drop = 0.01;    ///< MLPerf's rule: at least 99% of fp32's accuracy
  std::string calibration;   ///< empty: int8 is dynamic (MatMul/Gemm only)
  std::string calibration_method = "entropy";
  double calibration_percentile = 99.99;
  int64_t calibration_limit = 512;
  std::optional<double> int8_tolerance;  ///< mixed precision by sensitivity (--int8-tolerance)
  /// Note [Calibration cache] in calibration_cache.h: where int8 cases share their ranges; empty:
  /// each calibrates on its own.
  std::string calibration_cache;
  /// The R letter's time-to-accuracy (Note [Learning in evaluate] in learning_letter.cpp): a
  /// labelled training set and the top-1 to reach on `data`; empty/unset: R measures training
  /// throughput only, on generated data.
  std::string train_data;
  std::optional<double> target_accuracy;
  int train_epochs = 10;
  double lr = 0.05;
};
nlohmann::json ToJson(const CaseData& d);
/// plaster::Error naming a missing or mistyped field.
CaseData CaseDataFromJson(const nlohmann::json& j);

/// The quantization options of a case's sessions (reads the calibration data's headers, and the
/// calibration cache when there is one).
engine::QuantizationOptions CaseQuantization(const CaseData& d, const model::Model& m,
                                             engine::Precision precision);

/// Child side: the dataset through `session`; adds the A metrics (with their per-sample results,
/// for the parent's paired comparison) and marks A measured. A dataset without labels is scored
/// by agreement with an fp32 session of the same engine, compiled here.
void MeasureAccuracyLetter(const CaseData& d, const model::Model& m, const engine::Engine& eng,
                           const engine::SessionOptions& options, engine::Session& session,
                           CaseRecord& record);

/// Parent side: for every passed case of a lower precision with A measured, the difference from
/// the fp32 case of the same engine and device (same batch and threads where there is one),
/// tested as paired data, and MLPerf's verdict; appended to the case's metrics.
void AddAccuracyDeltas(nlohmann::ordered_json& cases, double max_drop);

}  // namespace plaster::evaluate
