#pragma once
/// What a load-generator run is asked to do (TestSettings, as the user gave it) and what it
/// actually does (EffectiveSettings), both recorded, as MLPerf LoadGen keeps test_settings.h apart
/// from its internal settings. When plaster adjusts a value, a note says "requested X, using Y".
///
/// Scenarios (docs/metrics.md, "L and T: the scenarios"):
///  - single-stream: one query at a time, the next issued when the last finishes;
///  - multi-stream: a query every `multistream_interval_ns`, each a full batch of samples;
///  - server: Poisson arrivals at `server_rate_qps` (seeded, generated before timing), served by
///    a dynamic batcher (up to the session's batch size, waiting at most `max_queue_delay_ns`);
///  - offline: every sample available at once; full batches back to back; samples/s.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace plaster::loadgen {

enum class Scenario { kSingleStream, kMultiStream, kServer, kOffline };

/// "single-stream", "multi-stream", "server", "offline".
const char* ScenarioName(Scenario scenario);
/// The inverse; throws plaster::Error listing the names otherwise.
Scenario ParseScenario(const std::string& name);

/// The defaults, in one place (they also feed --help).
inline constexpr int64_t kDefaultBudgetNs = 30'000'000'000;
inline constexpr int64_t kDefaultMaxQueryCount = 10'000'000;  ///< bounds the records' memory
inline constexpr int64_t kDefaultMultiStreamIntervalNs = 50'000'000;

/// As requested. Unset optionals take their defaults from the budget (Resolve).
struct TestSettings {
  Scenario scenario = Scenario::kSingleStream;
  int64_t budget_ns = kDefaultBudgetNs;  ///< the whole scenario, warm-up included
  std::optional<int64_t> min_duration_ns;
  std::optional<int64_t> max_duration_ns;
  std::optional<int64_t> min_query_count;
  std::optional<int64_t> max_query_count;
  std::optional<int64_t> warmup_ns;  ///< untimed runs of every session first
  int64_t warmup_queries = 1;        ///< at least this many warm-up runs per session
  double target_percentile = 0.99;
  std::optional<int64_t> target_latency_ns;  ///< the bound the verdict is about
  double server_rate_qps = 0;                ///< server: required
  int64_t max_queue_delay_ns = 0;            ///< server: how long the batcher may wait to fill
  std::optional<int64_t> multistream_interval_ns;
  uint64_t schedule_seed = 1;           ///< server arrivals
  uint64_t sample_seed = 1;             ///< generated input data
  std::optional<int64_t> library_size;  ///< samples staged in memory
  double confidence = 0.95;             ///< of the percentile intervals
  double early_stopping_confidence = 0.99;
};

/// As run. Every field is set; `notes` say where a value differs from what was asked.
struct EffectiveSettings {
  Scenario scenario = Scenario::kSingleStream;
  int64_t budget_ns = 0;
  int64_t warmup_ns = 0;
  int64_t warmup_queries = 0;
  int64_t min_duration_ns = 0;
  int64_t max_duration_ns = 0;
  int64_t min_query_count = 0;
  int64_t max_query_count = 0;
  double target_percentile = 0.99;
  std::optional<int64_t> target_latency_ns;
  double server_rate_qps = 0;
  int64_t max_queue_delay_ns = 0;
  int64_t multistream_interval_ns = 0;
  uint64_t schedule_seed = 1;
  uint64_t sample_seed = 1;
  int64_t library_size = 0;
  double confidence = 0.95;
  double early_stopping_confidence = 0.99;
  int64_t batch_size = 1;         ///< samples per session run (the sessions' batch)
  int64_t samples_per_query = 1;  ///< server: 1 (the batcher groups queries); else batch_size
  int sessions = 1;               ///< worker sessions (single-stream uses the first only)
  std::vector<std::string> notes;
  TestSettings requested;  ///< what was asked, unset values still unset
};

/// Resolves the defaults for sessions of `batch_size` samples, each sample `sample_bytes` in
/// memory. Throws plaster::Error for contradictions (min above max duration, a server without a
/// rate, a percentile outside (0, 1), ...), naming the setting.
EffectiveSettings Resolve(const TestSettings& requested, int64_t batch_size, int sessions,
                          int64_t sample_bytes);

}  // namespace plaster::loadgen
