// The server scenario against queueing theory. A fake session with a fixed service time D,
// one worker, Poisson arrivals at rate λ: an M/D/1 queue. Its mean time in system (wait + service)
// is T = D + ρD / (2(1 − ρ)) with ρ = λD (Pollaczek–Khinchine). If the harness delayed arrivals
// (coordinated omission), issued late or measured from the wrong instant, the measured mean would
// miss T. Past saturation (ρ > 1) the queue grows without bound, so the p99 must grow with the
// length of the run instead of levelling off.
//
// Robust on a noisy 2-core machine: D = 1 ms is far above the scheduler's wake-up jitter
// (~0.1 ms); the service is a wait on the clock that sleeps and spins only its last 200 µs (a
// thread that holds a core for the whole millisecond gets preempted on a busy machine); the seeds
// were chosen so that the schedule itself is typical (the exact M/D/1 recursion, Lindley's
// W' = max(0, W + D − gap), on the very arrivals the run uses is within 3% of T, asserted too).
// The one thing the harness cannot control is other processes stretching some services (a
// preemption at the end of one): at 80% load a 2% longer mean service means 9% more queueing. So
// the measured mean must be within 10% of the Pollaczek–Khinchine mean for the service times the
// fake actually delivered (E[S] and E[S²] of the run; exactly the M/D/1 formula when the machine
// is quiet), and the service itself within 10% of D.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>

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

struct Served {
  ScenarioSummary summary;
  double service_mean_ns = 0;
  double service_square_ns2 = 0;  // E[S²]
};

Served Serve(double rate_qps, int64_t schedule_ns, int64_t max_ns, uint64_t seed) {
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
  const RunResult run = RunScenario({&session}, t);
  // How late the server started work it could have started: after an arrival at an idle server,
  // or after the previous query when one was waiting. An ideal dispatcher adds nothing.
  double late = 0, late_max = 0;
  int64_t prev_finished = 0;
  for (const auto& r : run.records) {
    const double d = static_cast<double>(r.started_ns - std::max(r.scheduled_ns, prev_finished));
    late += d;
    late_max = std::max(late_max, d);
    prev_finished = r.finished_ns;
  }
  Served out;
  for (const auto& r : run.records) {
    const auto service = static_cast<double>(r.finished_ns - r.started_ns);
    out.service_mean_ns += service;
    out.service_square_ns2 += service * service;
  }
  const auto n = static_cast<double>(run.records.size());
  out.service_mean_ns /= n;
  out.service_square_ns2 /= n;
  std::printf(
      "  dispatch delay: mean %.1f us, max %.1f us; service mean %.4f ms, sd %.4f ms\n",
      late / n / 1e3, late_max / 1e3, out.service_mean_ns / 1e6,
      std::sqrt(std::max(0.0, out.service_square_ns2 - out.service_mean_ns * out.service_mean_ns)) /
          1e6);
  out.summary = Summarize(run);
  return out;
}

// When other processes (or, on a VM, the host's other guests) keep the cores so busy that even
// the fake's 1 ms service comes out more than 10% longer on average, or varies by more than 15%
// of D from query to query (a few stalls of several ms among a thousand queries), the service is
// not the deterministic one M/D/1 is about, and the machine cannot run a queue at a known load: the
// test says so and skips, rather than pass or fail on the machine's behalf. (A wrong harness still
// fails: it shows at any service time the fake delivers.)
constexpr double kBusyServiceRatio = 1.10;
constexpr double kBusyServiceSpread = 0.15;  // sd of the service / D

struct Attempt {
  bool served_all = false;
  double service_ratio = 0;   // mean service / D
  double service_spread = 0;  // sd of the service / D
  double ratio = 0;           // measured mean / theory
  bool quiet() const {
    return service_ratio <= kBusyServiceRatio && service_spread <= kBusyServiceSpread;
  }
  bool ok() const {
    return served_all && std::fabs(service_ratio - 1) <= 0.10 && std::fabs(ratio - 1) <= 0.10;
  }
};

// One run at load rho (see the comment at the top).
Attempt MeasureMD1(double rho, int64_t schedule_ns, uint64_t seed) {
  const double rate = rho * 1e9 / kServiceNs;
  const double nominal = kServiceNs + rho * kServiceNs / (2 * (1 - rho));
  const auto count = static_cast<int64_t>(std::ceil(rate * static_cast<double>(schedule_ns) / 1e9));
  const double lindley = LindleyMeanNs(PoissonSchedule(rate, count, seed));
  EXPECT_NEAR(lindley / nominal, 1.0, 0.03) << "seed " << seed << " gives an atypical schedule";
  const Served served = Serve(rate, schedule_ns, 3 * schedule_ns, seed);
  const ScenarioSummary& s = served.summary;
  Attempt a;
  a.served_all = s.end == RunEnd::kCompleted && s.queries_completed == count;
  a.service_ratio = served.service_mean_ns / kServiceNs;
  a.service_spread = std::sqrt(std::max(0.0, served.service_square_ns2 -
                                                 served.service_mean_ns * served.service_mean_ns)) /
                     kServiceNs;
  // Pollaczek–Khinchine with the service the fake actually delivered: T = E[S] + λE[S²]/(2(1 − ρ)).
  // On a quiet machine E[S] = D and E[S²] = D², and this is the M/D/1 formula exactly.
  const double lambda = rate / 1e9;
  const double rho_actual = std::min(0.95, lambda * served.service_mean_ns);
  const double theory =
      served.service_mean_ns + lambda * served.service_square_ns2 / (2 * (1 - rho_actual));
  const double measured = s.latency.moments.mean;
  a.ratio = measured / theory;
  std::printf(
      "M/D/1 rho %.1f: %lld queries, mean %.3f ms; theory %.3f ms with the measured service "
      "(%.3f ms with exactly 1 ms; Lindley on this schedule %.3f), p99 %.3f ms\n",
      rho, static_cast<long long>(count), measured / 1e6, theory / 1e6, nominal / 1e6,
      lindley / 1e6, s.latency.Find(0.99)->value / 1e6);
  return a;
}

// Up to five runs: a stall of the whole machine (another process, or on a VM the host, holding
// the cores for several ms) during one run can move its mean by more than 10%, and stalls come in
// bursts that the measured service's moments understate. The quiet run closest to theory is
// judged; a harness that measured wrongly would miss in every run.
void ExpectMD1(double rho, int64_t schedule_ns, uint64_t seed) {
  Attempt last;
  std::optional<Attempt> quiet;  // the quiet run closest to theory
  for (int attempt = 0; attempt < 5 && !(quiet && quiet->ok()); ++attempt) {
    last = MeasureMD1(rho, schedule_ns, seed);
    if (last.quiet() && (!quiet || std::fabs(last.ratio - 1) < std::fabs(quiet->ratio - 1))) {
      quiet = last;
    }
  }
  if (!quiet) {
    GTEST_SKIP() << "the machine is too busy: a 1 ms service took " << last.service_ratio
                 << " ms on average, varying by " << last.service_spread << " ms, in every run";
  }
  const Attempt& a = *quiet;
  EXPECT_TRUE(a.served_all);
  EXPECT_NEAR(a.service_ratio, 1.0, 0.10);
  EXPECT_NEAR(a.ratio, 1.0, 0.10);
  ::testing::Test::RecordProperty("measured_over_theory", std::to_string(a.ratio));
}

TEST(MD1, MeanLatencyAtHalfLoad) { ExpectMD1(0.5, 2'500'000'000, 16); }

TEST(MD1, MeanLatencyAtEightyPercentLoad) { ExpectMD1(0.8, 5'000'000'000, 36); }

TEST(MD1, TailBlowsUpPastSaturation) {
  // ρ = 1.5: arrivals outpace service by half, so the last query of a run of length L waits
  // about L/3. Twice the run, about twice the p99; a harness that only issued when the server
  // was free (coordinated omission) would show a flat p99 of ~1 ms.
  const Served short_run = Serve(1500, 700'000'000, 3'000'000'000, 3);
  const Served long_run = Serve(1500, 1'400'000'000, 4'000'000'000, 3);
  const double stretch = std::max(short_run.service_mean_ns, long_run.service_mean_ns) / kServiceNs;
  if (stretch > kBusyServiceRatio) {
    GTEST_SKIP() << "the machine is too busy: a 1 ms service took " << stretch << " ms on average";
  }
  const ScenarioSummary& shorter = short_run.summary;
  const ScenarioSummary& longer = long_run.summary;
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
