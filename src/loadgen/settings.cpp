#include "loadgen/settings.h"

#include <algorithm>
#include <cmath>

#include "core/clock.h"
#include "core/error.h"
#include "core/stats.h"

namespace plaster::loadgen {

const char* ScenarioName(Scenario scenario) {
  switch (scenario) {
    case Scenario::kSingleStream:
      return "single-stream";
    case Scenario::kMultiStream:
      return "multi-stream";
    case Scenario::kServer:
      return "server";
    case Scenario::kOffline:
      return "offline";
  }
  return "?";
}

Scenario ParseScenario(const std::string& name) {
  for (Scenario s :
       {Scenario::kSingleStream, Scenario::kMultiStream, Scenario::kServer, Scenario::kOffline}) {
    if (name == ScenarioName(s)) return s;
  }
  Fail("unknown scenario '{}' (use single-stream, multi-stream, server or offline)", name);
}

EffectiveSettings Resolve(const TestSettings& r, int64_t batch_size, int sessions,
                          int64_t sample_bytes) {
  PLASTER_CHECK(r.budget_ns > 0, "the budget must be more than 0");
  PLASTER_CHECK(r.target_percentile > 0 && r.target_percentile < 1,
                "the target percentile must be in (0, 1), not {}", r.target_percentile);
  PLASTER_CHECK(r.confidence > 0 && r.confidence < 1 && r.early_stopping_confidence > 0.5 &&
                    r.early_stopping_confidence < 1,
                "confidence levels must be in (0.5, 1)");
  PLASTER_ASSERT(batch_size >= 1 && sessions >= 1);
  EffectiveSettings e;
  auto note = [&](std::string text) { e.notes.push_back(std::move(text)); };
  e.requested = r;
  e.scenario = r.scenario;
  e.budget_ns = r.budget_ns;
  e.batch_size = batch_size;
  e.sessions = r.scenario == Scenario::kSingleStream ? 1 : sessions;
  if (r.scenario == Scenario::kSingleStream && sessions > 1) {
    note(fmt::format("requested {} sessions; single-stream uses 1", sessions));
  }
  e.samples_per_query = r.scenario == Scenario::kServer ? 1 : batch_size;

  // Warm-up comes out of the budget: by default a twentieth of it, at most 2 s.
  e.warmup_ns = r.warmup_ns.value_or(std::min<int64_t>(2'000'000'000, r.budget_ns / 20));
  e.warmup_queries = std::max<int64_t>(0, r.warmup_queries);
  PLASTER_CHECK(e.warmup_ns < r.budget_ns, "the warm-up ({}) must be shorter than the budget ({})",
                FormatDurationNs(static_cast<double>(e.warmup_ns)),
                FormatDurationNs(static_cast<double>(r.budget_ns)));
  const int64_t timed = r.budget_ns - e.warmup_ns;
  e.max_duration_ns = r.max_duration_ns.value_or(timed);
  // A closed loop (single-stream, offline) measures for the whole timed budget: more queries,
  // tighter intervals. An open schedule (server, multi-stream) leaves a tenth for the queue to
  // drain, so a system that keeps up finishes inside the budget.
  const bool open = r.scenario == Scenario::kServer || r.scenario == Scenario::kMultiStream;
  e.min_duration_ns = r.min_duration_ns.value_or(open ? e.max_duration_ns * 9 / 10 : timed);
  PLASTER_CHECK(e.min_duration_ns <= e.max_duration_ns,
                "the minimum duration ({}) is above the maximum ({})",
                FormatDurationNs(static_cast<double>(e.min_duration_ns)),
                FormatDurationNs(static_cast<double>(e.max_duration_ns)));
  e.target_percentile = r.target_percentile;
  e.target_latency_ns = r.target_latency_ns;
  e.confidence = r.confidence;
  e.early_stopping_confidence = r.early_stopping_confidence;
  // The fewest queries that can support any claim about the target percentile (Note [Early
  // stopping]): 459 for a p99 at 99%.
  const stats::EarlyStopping none = stats::ComputeEarlyStopping(
      stats::SortedSamples(), r.target_percentile, r.early_stopping_confidence);
  e.min_query_count = r.min_query_count.value_or(none.min_count);
  e.max_query_count = r.max_query_count.value_or(kDefaultMaxQueryCount);
  PLASTER_CHECK(e.max_query_count >= 1 && e.min_query_count <= e.max_query_count,
                "the minimum query count ({}) is above the maximum ({})", e.min_query_count,
                e.max_query_count);
  e.schedule_seed = r.schedule_seed;
  e.sample_seed = r.sample_seed;

  if (r.scenario == Scenario::kServer) {
    PLASTER_CHECK(r.server_rate_qps > 0 && std::isfinite(r.server_rate_qps),
                  "the server scenario needs a rate in queries/s above 0");
    e.server_rate_qps = r.server_rate_qps;
    PLASTER_CHECK(r.max_queue_delay_ns >= 0, "the maximum queue delay cannot be negative");
    e.max_queue_delay_ns = r.max_queue_delay_ns;
  }
  if (r.scenario == Scenario::kMultiStream) {
    e.multistream_interval_ns = r.multistream_interval_ns.value_or(kDefaultMultiStreamIntervalNs);
    PLASTER_CHECK(e.multistream_interval_ns > 0, "the multi-stream interval must be above 0");
  }

  // Enough distinct samples that a batch never repeats one, within 512 MiB.
  constexpr int64_t kLibraryBytes = int64_t{512} << 20;
  const int64_t wanted = r.library_size.value_or(std::max<int64_t>(64, 2 * batch_size));
  PLASTER_CHECK(wanted >= 1, "the sample library needs at least 1 sample");
  const int64_t fits = std::max<int64_t>(1, kLibraryBytes / std::max<int64_t>(1, sample_bytes));
  e.library_size = std::min(wanted, fits);
  if (e.library_size < wanted) {
    note(fmt::format("requested a library of {} samples; using {} (512 MiB of inputs)", wanted,
                     e.library_size));
  }
  return e;
}

}  // namespace plaster::loadgen
