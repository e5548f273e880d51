#pragma once
/// The scenario runner: sessions + a sample library + settings → raw per-query records.
///
/// Threading: each worker session runs on its own thread (Session::Run is not reentrant; one
/// session, one thread). Workers take batches from one dispatcher under a mutex: the worker that
/// holds it waits for the next arrival and forms the next batch (leader/followers), so no thread
/// hands queries to another. Records are preallocated before timing and written by the worker that
/// ran the query; the calling thread streams them to the raw file and reports progress. A Ctrl-C
/// (the stop flag) ends the run at the next batch boundary; what was measured is kept.

#include <atomic>
#include <functional>
#include <optional>
#include <vector>

#include "engine/engine.h"
#include "loadgen/records.h"
#include "loadgen/sample_library.h"
#include "loadgen/settings.h"

namespace plaster::loadgen {

/// Why a run ended.
enum class RunEnd {
  kCompleted,    ///< the schedule was served, or the minimum duration and count were reached
  kMaxDuration,  ///< cut at the maximum duration (an open schedule left queries unserved)
  kMaxQueries,   ///< a closed loop reached the maximum query count
  kInterrupted,  ///< the stop flag (Ctrl-C)
};
const char* RunEndName(RunEnd end);

/// What the progress callback sees, from the calling thread, every progress interval.
struct Progress {
  int64_t elapsed_ns = 0;
  int64_t queries = 0;  ///< completed
  /// p99 latency of the last 65,536 completed queries (nullopt before the first)
  std::optional<double> recent_p99_ns;
};

struct RunHooks {
  std::function<void(const Progress&)> on_progress;
  int64_t progress_interval_ns = 500'000'000;
  RawWriter* raw = nullptr;                 ///< streams every record as it completes
  const std::atomic<bool>* stop = nullptr;  ///< polled; e.g. plaster::StopFlag()
};

struct RunResult {
  EffectiveSettings settings;
  std::vector<QueryRecord> records;  ///< completed queries, ordered by query id
  int64_t queries_scheduled = 0;     ///< open schedules: its length; closed loops: issued
  int64_t queries_issued = 0;
  int64_t origin_ns = 0;    ///< the origin on the core clock (NowNs), for aligned windows (E)
  int64_t duration_ns = 0;  ///< origin → the last completion
  RunEnd end = RunEnd::kCompleted;
};

/// Runs settings.scenario. sessions must hold at least settings.sessions sessions, all with the
/// library's input specs at settings.batch_size (a bug otherwise). Engine errors
/// (plaster::Error from Run) stop every worker and are rethrown after the raw file is flushed.
RunResult RunScenario(const std::vector<engine::Session*>& sessions, const SampleLibrary& library,
                      const EffectiveSettings& settings, const RunHooks& hooks = {});

/// Convenience: resolves `requested` for these sessions, stages a library, runs.
RunResult RunScenario(const std::vector<engine::Session*>& sessions, const TestSettings& requested,
                      const RunHooks& hooks = {});

/// The server scenario's arrivals, generated before timing: `count` Poisson arrivals at `rate_qps`
/// (exponential gaps from a mt19937_64 seeded with seed), in ns from 0.
std::vector<int64_t> PoissonSchedule(double rate_qps, int64_t count, uint64_t seed);

}  // namespace plaster::loadgen
