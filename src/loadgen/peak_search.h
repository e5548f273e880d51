#pragma once
/// Peak searches: the most throughput a system gives under a latency bound, and the curve of
/// throughput against latency at every point visited on the way.
///  - server: the highest Poisson rate whose latency at the target percentile stays under the
///    bound (bracket by doubling or halving, then bisect, like MLPerf LoadGen's
///    FindPeakPerformance);
///  - offline: the batch size and session count that give the most samples/s, optionally with the
///    batch latency at the target percentile under the bound.
/// Each probe is a full run with its own budget (the search's budget divided among its probes).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loadgen/results.h"

namespace plaster::loadgen {

struct CurvePoint {
  double rate_qps = 0;  ///< server: the requested arrival rate; offline: 0
  int64_t batch = 0;
  int sessions = 0;
  double samples_per_s = 0;  ///< achieved
  double latency_ns = 0;     ///< at the target percentile (server: from arrival; offline: batch)
  bool passed = false;       ///< completed, and latency_ns under the bound (when there is one)
  stats::Verdict verdict = stats::Verdict::kUndecided;  ///< early stopping against the bound
  RunEnd end = RunEnd::kCompleted;
};

struct PeakResult {
  std::vector<CurvePoint> curve;  ///< in the order visited
  std::optional<size_t> best;     ///< index into curve of the best passing point
  std::optional<ScenarioSummary> best_summary;
  bool interrupted = false;
  std::vector<std::string> notes;  ///< how the search went ("calibration: 21.3 samples/s")
};

/// base.target_latency_ns is required (plaster::Error otherwise); base.budget_ns is the whole
/// search's. The sessions serve every probe; the first probe warms them up.
PeakResult FindPeakServerRate(const std::vector<engine::Session*>& sessions,
                              const TestSettings& base, const RunHooks& hooks, int max_probes = 10);

/// Makes `count` sessions at batch size `batch` (compiling as needed).
using SessionFactory =
    std::function<std::vector<std::unique_ptr<engine::Session>>(int64_t batch, int count)>;

/// Tries batch sizes 1, 2, 4, ... up to max_batch for 1..max_sessions sessions, while samples/s
/// still grows by 3% and (with a bound) the batch latency stays under it.
PeakResult FindBestOffline(const SessionFactory& make, const TestSettings& base, int64_t max_batch,
                           int max_sessions, const RunHooks& hooks);

}  // namespace plaster::loadgen
