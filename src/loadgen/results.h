#pragma once
/// Summaries of a run: what reports show, computed from the raw records (results.h is to
/// records.h what a summary is to samples). docs/metrics.md defines each figure.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/stats.h"
#include "loadgen/runner.h"

namespace plaster::loadgen {

struct ScenarioSummary {
  EffectiveSettings settings;
  RunEnd end = RunEnd::kCompleted;
  int64_t queries_scheduled = 0;
  int64_t queries_issued = 0;
  int64_t queries_completed = 0;
  int64_t samples_completed = 0;
  int64_t duration_ns = 0;
  double queries_per_s = 0;
  double samples_per_s = 0;
  double mean_batch_queries = 0;  ///< queries per batch, averaged over queries
  /// What `latency` measures: "finished − scheduled" (single-stream, multi-stream, server) or
  /// "finished − issued" (offline: the batch latency; every sample arrived at time 0).
  std::string latency_basis;
  stats::DistributionSummary latency;
  stats::DistributionSummary queue_wait;
  stats::DistributionSummary copy_in;
  stats::DistributionSummary compute;
  stats::DistributionSummary copy_out;
  /// Early stopping for the target percentile; the verdict is against target_latency_ns if set.
  stats::EarlyStopping early_stopping;
  std::vector<std::string> warnings;

  bool interrupted() const { return end == RunEnd::kInterrupted; }
  /// The latency at settings.target_percentile (0 when nothing completed).
  double TargetPercentileNs() const;
};

ScenarioSummary Summarize(const RunResult& run);

/// The summary as JSON (nanoseconds, samples/s; each percentile with its interval and coverage).
nlohmann::ordered_json ToJson(const ScenarioSummary& summary);
/// The settings, requested values resolved, with the notes.
nlohmann::ordered_json ToJson(const EffectiveSettings& settings);

}  // namespace plaster::loadgen
