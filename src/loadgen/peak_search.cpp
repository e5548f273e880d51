#include "loadgen/peak_search.h"

#include <algorithm>
#include <cmath>

#include "core/clock.h"
#include "core/error.h"

namespace plaster::loadgen {
namespace {

std::vector<engine::Session*> Raw(const std::vector<std::unique_ptr<engine::Session>>& owned) {
  std::vector<engine::Session*> out;
  for (const auto& s : owned) out.push_back(s.get());
  return out;
}

bool Stopped(const RunHooks& hooks) { return hooks.stop != nullptr && hooks.stop->load(); }

}  // namespace

PeakResult FindPeakServerRate(const std::vector<engine::Session*>& sessions,
                              const TestSettings& base, const RunHooks& hooks, int max_probes) {
  PLASTER_CHECK(base.target_latency_ns && *base.target_latency_ns > 0,
                "the server peak search needs a latency bound (--latency-bound)");
  PLASTER_ASSERT(max_probes >= 3);
  PeakResult result;
  const int64_t probe_ns = std::max<int64_t>(base.budget_ns / (max_probes + 1), 200'000'000);
  const double bound = static_cast<double>(*base.target_latency_ns);
  bool warm = false;

  // Calibration: an offline probe (half a probe's budget) says how many samples/s the sessions
  // can serve at best; the search starts at half of that.
  TestSettings cal = base;
  cal.scenario = Scenario::kOffline;
  cal.budget_ns = probe_ns;
  cal.min_query_count = 1;
  cal.target_latency_ns.reset();
  const ScenarioSummary calibration = Summarize(RunScenario(sessions, cal, hooks));
  warm = true;
  result.notes.push_back(
      fmt::format("calibration: offline {:.1f} samples/s over {}", calibration.samples_per_s,
                  FormatDurationNs(static_cast<double>(calibration.duration_ns))));
  if (calibration.interrupted() || Stopped(hooks)) {
    result.interrupted = true;
    return result;
  }

  std::optional<double> lo, hi;  // the highest rate that passed, the lowest that failed
  auto probe = [&](double rate) {
    TestSettings t = base;
    t.scenario = Scenario::kServer;
    t.server_rate_qps = rate;
    t.budget_ns = probe_ns;
    t.min_query_count = 1;
    if (warm) {
      // Two untimed runs, no more: the sessions are warm from the calibration, but after the
      // pause between probes the first query would meet cold caches and sleeping threads, and
      // with few queries a probe's p99 is its slowest one.
      t.warmup_ns = 0;
      t.warmup_queries = 2;
    }
    RunResult run = RunScenario(sessions, t, hooks);
    ScenarioSummary s = Summarize(run);
    CurvePoint p;
    p.rate_qps = rate;
    p.batch = s.settings.batch_size;
    p.sessions = s.settings.sessions;
    p.samples_per_s = s.samples_per_s;
    p.latency_ns = s.TargetPercentileNs();
    p.end = s.end;
    p.verdict = s.early_stopping.verdict;
    p.passed = s.end == RunEnd::kCompleted && s.queries_completed > 0 && p.latency_ns <= bound;
    result.curve.push_back(p);
    if (p.passed && (!result.best || rate > result.curve[*result.best].rate_qps)) {
      result.best = result.curve.size() - 1;
      result.best_summary = std::move(s);
    }
    if (p.passed) {
      lo = std::max(lo.value_or(0.0), rate);
    } else {
      hi = std::min(hi.value_or(rate), rate);
    }
    return p.passed;
  };

  double rate = std::max(0.5 * calibration.samples_per_s, 1e-3);
  int probes = 0;
  // Bracket: double while passing, halve while failing.
  while (probes < max_probes && !(lo && hi) && !Stopped(hooks)) {
    const bool passed = probe(rate);
    ++probes;
    rate = passed ? rate * 2 : rate / 2;
  }
  // Bisect to 5%.
  while (probes < max_probes && lo && hi && (*hi - *lo) / *lo > 0.05 && !Stopped(hooks)) {
    probe((*lo + *hi) / 2);
    ++probes;
  }
  result.interrupted = Stopped(hooks);
  if (!lo) result.notes.push_back("no rate probed met the bound");
  return result;
}

PeakResult FindBestOffline(const SessionFactory& make, const TestSettings& base, int64_t max_batch,
                           int max_sessions, const RunHooks& hooks) {
  PLASTER_CHECK(max_batch >= 1 && max_sessions >= 1,
                "the offline search needs a batch size and a session count of at least 1");
  PeakResult result;
  int planned = 0;
  for (int64_t b = 1; b <= max_batch; b *= 2) ++planned;
  planned *= max_sessions;
  const int64_t probe_ns = std::max<int64_t>(base.budget_ns / planned, 200'000'000);
  for (int c = 1; c <= max_sessions && !Stopped(hooks); ++c) {
    double best_here = 0;
    for (int64_t b = 1; b <= max_batch && !Stopped(hooks); b *= 2) {
      const auto owned = make(b, c);
      TestSettings t = base;
      t.scenario = Scenario::kOffline;
      t.budget_ns = probe_ns;
      t.min_query_count = 1;
      const ScenarioSummary s = Summarize(RunScenario(Raw(owned), t, hooks));
      CurvePoint p;
      p.batch = b;
      p.sessions = c;
      p.samples_per_s = s.samples_per_s;
      p.latency_ns = s.TargetPercentileNs();
      p.end = s.end;
      p.verdict = s.early_stopping.verdict;
      const bool in_bound =
          !base.target_latency_ns || p.latency_ns <= static_cast<double>(*base.target_latency_ns);
      p.passed = s.end != RunEnd::kInterrupted && s.queries_completed > 0 && in_bound;
      result.curve.push_back(p);
      if (p.passed &&
          (!result.best || p.samples_per_s > result.curve[*result.best].samples_per_s)) {
        result.best = result.curve.size() - 1;
        result.best_summary = s;
      }
      // Larger batches only add latency once the bound is passed or the gain has flattened.
      if (!in_bound || p.samples_per_s < 1.03 * best_here) break;
      best_here = std::max(best_here, p.samples_per_s);
    }
  }
  result.interrupted = Stopped(hooks);
  return result;
}

}  // namespace plaster::loadgen
