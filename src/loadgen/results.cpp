#include "loadgen/results.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/clock.h"
#include "core/units.h"

namespace plaster::loadgen {
namespace {

stats::DistributionSummary Of(const std::vector<QueryRecord>& records, double confidence,
                              int64_t (*part)(const QueryRecord&)) {
  std::vector<double> v;
  v.reserve(records.size());
  for (const auto& r : records) v.push_back(static_cast<double>(part(r)));
  return stats::Summarize(stats::SortedSamples(std::move(v)), stats::StandardPercentiles(),
                          confidence);
}

nlohmann::ordered_json Json(const stats::DistributionSummary& d) {
  nlohmann::ordered_json j;
  j["count"] = d.moments.count;
  j["min_ns"] = d.moments.min;
  j["max_ns"] = d.moments.max;
  j["mean_ns"] = d.moments.mean;
  j["stddev_ns"] = d.moments.stddev;
  j["cv"] = d.moments.cv;
  auto& list = j["percentiles"] = nlohmann::ordered_json::array();
  for (const auto& p : d.percentiles) {
    list.push_back({{"name", stats::PercentileName(p.p)},
                    {"p", p.p},
                    {"value_ns", p.value},
                    {"lower_ns", p.interval.lower ? nlohmann::ordered_json(*p.interval.lower)
                                                  : nlohmann::ordered_json(nullptr)},
                    {"upper_ns", p.interval.upper ? nlohmann::ordered_json(*p.interval.upper)
                                                  : nlohmann::ordered_json(nullptr)},
                    {"coverage", p.interval.coverage}});
  }
  return j;
}

}  // namespace

double ScenarioSummary::TargetPercentileNs() const {
  const stats::PercentileSummary* p = latency.Find(settings.target_percentile);
  if (p != nullptr) return p->value;
  return 0;
}

ScenarioSummary Summarize(const RunResult& run) {
  ScenarioSummary s;
  s.settings = run.settings;
  s.end = run.end;
  s.queries_scheduled = run.queries_scheduled;
  s.queries_issued = run.queries_issued;
  s.queries_completed = static_cast<int64_t>(run.records.size());
  s.samples_completed = s.queries_completed * run.settings.samples_per_query;
  s.duration_ns = run.duration_ns;
  if (s.duration_ns > 0) {
    s.queries_per_s =
        static_cast<double>(s.queries_completed) * 1e9 / static_cast<double>(s.duration_ns);
    s.samples_per_s =
        static_cast<double>(s.samples_completed) * 1e9 / static_cast<double>(s.duration_ns);
  }
  double batch_sum = 0;
  for (const auto& r : run.records) batch_sum += r.batch;
  if (!run.records.empty())
    s.mean_batch_queries = batch_sum / static_cast<double>(run.records.size());
  const double conf = run.settings.confidence;
  const bool offline = run.settings.scenario == Scenario::kOffline;
  s.latency_basis = offline ? "finished - issued" : "finished - scheduled";
  std::vector<double> latencies;
  latencies.reserve(run.records.size());
  for (const auto& r : run.records) {
    latencies.push_back(
        static_cast<double>(r.finished_ns - (offline ? r.issued_ns : r.scheduled_ns)));
  }
  const stats::SortedSamples sorted(std::move(latencies));
  s.latency = stats::Summarize(sorted, stats::StandardPercentiles(), conf);
  s.queue_wait =
      Of(run.records, conf, [](const QueryRecord& r) { return r.started_ns - r.scheduled_ns; });
  if (offline) {  // every sample arrived at 0: the wait for a worker, not a queueing delay
    s.queue_wait =
        Of(run.records, conf, [](const QueryRecord& r) { return r.started_ns - r.issued_ns; });
  }
  s.copy_in =
      Of(run.records, conf, [](const QueryRecord& r) { return r.copied_in_ns - r.started_ns; });
  s.compute =
      Of(run.records, conf, [](const QueryRecord& r) { return r.computed_ns - r.copied_in_ns; });
  s.copy_out =
      Of(run.records, conf, [](const QueryRecord& r) { return r.finished_ns - r.computed_ns; });
  std::optional<double> target;
  if (run.settings.target_latency_ns) target = static_cast<double>(*run.settings.target_latency_ns);
  s.early_stopping = stats::ComputeEarlyStopping(sorted, run.settings.target_percentile,
                                                 run.settings.early_stopping_confidence, target);

  // Warnings: how the run ended, then the statistics' own.
  if (run.end == RunEnd::kInterrupted) {
    s.warnings.push_back(fmt::format("interrupted: the figures cover the first {} ({} queries)",
                                     FormatDurationNs(static_cast<double>(s.duration_ns)),
                                     FormatCount(static_cast<uint64_t>(s.queries_completed))));
  } else if (run.end == RunEnd::kMaxDuration && run.queries_issued < run.queries_scheduled) {
    s.warnings.push_back(fmt::format(
        "did not keep up: {} of {} scheduled queries were not served within the maximum duration "
        "{} (their latency is at least the time they waited; the figures leave them out)",
        FormatCount(static_cast<uint64_t>(run.queries_scheduled - run.queries_issued)),
        FormatCount(static_cast<uint64_t>(run.queries_scheduled)),
        FormatDurationNs(static_cast<double>(run.settings.max_duration_ns))));
  } else if (run.end == RunEnd::kMaxQueries) {
    s.warnings.push_back(
        fmt::format("stopped at the maximum query count ({}) before the minimum "
                    "duration",
                    FormatCount(static_cast<uint64_t>(run.settings.max_query_count))));
  }
  stats::QualityThresholds t;
  t.min_count = run.settings.min_query_count;
  t.unit = run.settings.scenario == Scenario::kOffline ? "batches" : "queries";
  t.watched_percentile = run.settings.target_percentile;
  // Queueing makes server and multi-stream latencies spread by design: their CV says nothing
  // about noise.
  if (run.settings.scenario == Scenario::kServer ||
      run.settings.scenario == Scenario::kMultiStream) {
    t.max_cv = std::numeric_limits<double>::infinity();
  }
  for (auto& w : stats::QualityWarnings(s.latency, t)) s.warnings.push_back(std::move(w));
  return s;
}

nlohmann::ordered_json ToJson(const EffectiveSettings& e) {
  auto opt = [](const std::optional<int64_t>& v) {  // null where unset
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
  };
  nlohmann::ordered_json j;
  j["scenario"] = ScenarioName(e.scenario);
  j["budget_ns"] = e.budget_ns;
  j["warmup_ns"] = e.warmup_ns;
  j["warmup_queries"] = e.warmup_queries;
  j["min_duration_ns"] = e.min_duration_ns;
  j["max_duration_ns"] = e.max_duration_ns;
  j["min_query_count"] = e.min_query_count;
  j["max_query_count"] = e.max_query_count;
  j["target_percentile"] = e.target_percentile;
  j["target_latency_ns"] = opt(e.target_latency_ns);
  if (e.scenario == Scenario::kServer) {
    j["server_rate_qps"] = e.server_rate_qps;
    j["max_queue_delay_ns"] = e.max_queue_delay_ns;
  }
  if (e.scenario == Scenario::kMultiStream)
    j["multistream_interval_ns"] = e.multistream_interval_ns;
  j["schedule_seed"] = e.schedule_seed;
  j["sample_seed"] = e.sample_seed;
  j["library_size"] = e.library_size;
  j["confidence"] = e.confidence;
  j["early_stopping_confidence"] = e.early_stopping_confidence;
  j["batch_size"] = e.batch_size;
  j["samples_per_query"] = e.samples_per_query;
  j["sessions"] = e.sessions;
  j["notes"] = e.notes;
  // What was asked; null where the default was taken.
  const TestSettings& r = e.requested;
  j["requested"] = {{"budget_ns", r.budget_ns},
                    {"warmup_ns", opt(r.warmup_ns)},
                    {"warmup_queries", r.warmup_queries},
                    {"min_duration_ns", opt(r.min_duration_ns)},
                    {"max_duration_ns", opt(r.max_duration_ns)},
                    {"min_query_count", opt(r.min_query_count)},
                    {"max_query_count", opt(r.max_query_count)},
                    {"target_latency_ns", opt(r.target_latency_ns)},
                    {"server_rate_qps", r.server_rate_qps},
                    {"max_queue_delay_ns", r.max_queue_delay_ns},
                    {"multistream_interval_ns", opt(r.multistream_interval_ns)},
                    {"library_size", opt(r.library_size)}};
  return j;
}

nlohmann::ordered_json ToJson(const ScenarioSummary& s) {
  nlohmann::ordered_json j;
  j["scenario"] = ScenarioName(s.settings.scenario);
  j["state"] = RunEndName(s.end);
  j["interrupted"] = s.interrupted();
  j["settings"] = ToJson(s.settings);
  j["queries_scheduled"] = s.queries_scheduled;
  j["queries_issued"] = s.queries_issued;
  j["queries_completed"] = s.queries_completed;
  j["samples_completed"] = s.samples_completed;
  j["duration_ns"] = s.duration_ns;
  j["queries_per_s"] = s.queries_per_s;
  j["samples_per_s"] = s.samples_per_s;
  j["mean_batch_queries"] = s.mean_batch_queries;
  j["latency_basis"] = s.latency_basis;
  j["latency"] = Json(s.latency);
  j["breakdown"] = {{"queue_wait", Json(s.queue_wait)},
                    {"copy_in", Json(s.copy_in)},
                    {"compute", Json(s.compute)},
                    {"copy_out", Json(s.copy_out)}};
  const stats::EarlyStopping& e = s.early_stopping;
  j["early_stopping"] = {
      {"percentile", e.percentile},
      {"confidence", e.confidence},
      {"min_queries", e.min_count},
      {"enough", e.enough},
      {"overlatency_allowed", e.overlatency_allowed},
      {"bound_ns", e.bound ? nlohmann::ordered_json(*e.bound) : nlohmann::ordered_json(nullptr)},
      {"target_ns", e.target ? nlohmann::ordered_json(*e.target) : nlohmann::ordered_json(nullptr)},
      {"overlatency", e.overlatency},
      {"verdict", stats::VerdictName(e.verdict)}};
  j["warnings"] = s.warnings;
  return j;
}

}  // namespace plaster::loadgen
