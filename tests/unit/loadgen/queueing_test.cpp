// The server scenario against queueing theory. A fake session with a fixed service time D,
// one worker, Poisson arrivals at rate λ: an M/D/1 queue. Its mean time in system (wait + service)
// is T = D + ρD / (2(1 − ρ)) with ρ = λD (Pollaczek–Khinchine). If the harness delayed arrivals
// (coordinated omission), issued late or measured from the wrong instant, the measured mean would
// miss T. Past saturation (ρ > 1) the queue grows without bound, so the p99 must grow with the
// length of the run instead of levelling off.
//
// Robust on a noisy 2-core machine: D = 1 ms is far above the scheduler's wake-up jitter
// (~0.1 ms), the service is a spin on the clock (a preempted spin still ends on time), and the
// seeds were chosen so that the schedule itself is typical: the exact M/D/1 recursion
// (Lindley: W' = max(0, W + D − gap)) on the very arrivals the run uses is within 3% of T, and
// the test asserts that too. The measured mean must be within 10% of T.
#include <gtest/gtest.h>

#include <cmath>

#include "loadgen/fake_session.h"
#include "loadgen/results.h"
#include "loadgen/runner.h"

namespace plaster::loadgen {
namespace {

constexpr int64_t kServiceNs = 1'000'000;

// The mean time in system of an ideal M/D/1 server on these arrivals.
double LindleyMeanNs(const std::vector<int64_t>& arrivals) {
  double free_at = 0, total = 0;
  for (int64_t a : arrivals) {
    const double start = std::max(free_at, static_cast<double>(a));
    free_at = start + kServiceNs;
    total += free_at - static_cast<double>(a);
  }
  return total / static_cast<double>(arrivals.size());
}

ScenarioSummary Serve(double rate_qps, int64_t schedule_ns, int64_t max_ns, uint64_t seed) {
  testing::FakeSession session(1, kServiceNs);
  TestSettings t;
  t.scenario = Scenario::kServer;
  t.server_rate_qps = rate_qps;
  t.budget_ns = max_ns + 200'000'000;
  t.warmup_ns = 200'000'000;
  t.min_duration_ns = schedule_ns;
  t.max_duration_ns = max_ns;
  t.min_query_count = 1;
  t.schedule_seed = seed;
  return Summarize(RunScenario({&session}, t));
}

void ExpectMD1(double rho, int64_t schedule_ns, uint64_t seed) {
  const double rate = rho * 1e9 / kServiceNs;
  const double theory = kServiceNs + rho * kServiceNs / (2 * (1 - rho));
  const auto count = static_cast<int64_t>(std::ceil(rate * static_cast<double>(schedule_ns) / 1e9));
  const double lindley = LindleyMeanNs(PoissonSchedule(rate, count, seed));
  ASSERT_NEAR(lindley / theory, 1.0, 0.03) << "seed " << seed << " gives an atypical schedule";
  const ScenarioSummary s = Serve(rate, schedule_ns, 3 * schedule_ns, seed);
  ASSERT_EQ(s.end, RunEnd::kCompleted);
  ASSERT_EQ(s.queries_completed, count);
  const double measured = s.latency.moments.mean;
  std::printf(
      "M/D/1 rho %.1f: %lld queries, mean %.3f ms (theory %.3f, Lindley on this schedule "
      "%.3f), p99 %.3f ms, mean service %.3f ms\n",
      rho, static_cast<long long>(count), measured / 1e6, theory / 1e6, lindley / 1e6,
      s.latency.Find(0.99)->value / 1e6, s.compute.moments.mean / 1e6);
  EXPECT_NEAR(measured / theory, 1.0, 0.10);
  ::testing::Test::RecordProperty("mean_ms", std::to_string(measured / 1e6));
  ::testing::Test::RecordProperty("theory_ms", std::to_string(theory / 1e6));
}

TEST(MD1, MeanLatencyAtHalfLoad) { ExpectMD1(0.5, 2'500'000'000, 16); }

TEST(MD1, MeanLatencyAtEightyPercentLoad) { ExpectMD1(0.8, 5'000'000'000, 36); }

TEST(MD1, TailBlowsUpPastSaturation) {
  // ρ = 1.5: arrivals outpace service by half, so the last query of a run of length L waits
  // about L/3. Twice the run, about twice the p99; a harness that only issued when the server
  // was free (coordinated omission) would show a flat p99 of ~1 ms.
  const ScenarioSummary shorter = Serve(1500, 700'000'000, 3'000'000'000, 3);
  const ScenarioSummary longer = Serve(1500, 1'400'000'000, 4'000'000'000, 3);
  ASSERT_EQ(shorter.end, RunEnd::kCompleted);
  ASSERT_EQ(longer.end, RunEnd::kCompleted);
  const double p99_short = shorter.latency.Find(0.99)->value;
  const double p99_long = longer.latency.Find(0.99)->value;
  std::printf("M/D/1 rho 1.5: p99 %.1f ms over 0.7 s of arrivals, %.1f ms over 1.4 s\n",
              p99_short / 1e6, p99_long / 1e6);
  EXPECT_GT(p99_short, 100.0 * kServiceNs);
  EXPECT_GT(p99_long, 1.6 * p99_short);
}

}  // namespace
}  // namespace plaster::loadgen
