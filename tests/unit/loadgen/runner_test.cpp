// The scenario runner with fake sessions of known service time: the records' invariants per
// scenario, the batcher, Ctrl-C, the raw file, engine failures, settings resolution.
#include "loadgen/runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "loadgen/fake_session.h"
#include "loadgen/peak_search.h"
#include "loadgen/results.h"
#include "support/fixtures.h"

namespace plaster::loadgen {
namespace {

using plaster::testing::ErrorOf;
using plaster::testing::TempDir;
using testing::FakeSession;
using ::testing::HasSubstr;

constexpr int64_t kMs = 1'000'000;

TestSettings Quick(Scenario scenario, int64_t budget_ns) {
  TestSettings t;
  t.scenario = scenario;
  t.budget_ns = budget_ns;
  t.warmup_ns = 0;
  t.warmup_queries = 1;
  t.min_query_count = 1;
  return t;
}

void ExpectOrdered(const QueryRecord& r) {
  EXPECT_LE(r.scheduled_ns, r.issued_ns) << r.query;
  EXPECT_LE(r.issued_ns, r.started_ns) << r.query;
  EXPECT_LE(r.started_ns, r.copied_in_ns) << r.query;
  EXPECT_LE(r.copied_in_ns, r.computed_ns) << r.query;
  EXPECT_LE(r.computed_ns, r.finished_ns) << r.query;
}

TEST(Runner, SingleStreamIssuesOneQueryAtATime) {
  FakeSession s(1, 200'000);
  const RunResult run = RunScenario({&s}, Quick(Scenario::kSingleStream, 300 * kMs));
  EXPECT_EQ(run.end, RunEnd::kCompleted);
  ASSERT_GT(run.records.size(), 100u);
  EXPECT_EQ(run.records.size(), static_cast<size_t>(run.queries_issued));
  EXPECT_EQ(s.runs(), static_cast<int64_t>(run.records.size()) + 1);  // + the warm-up run
  for (size_t k = 0; k < run.records.size(); ++k) {
    const QueryRecord& r = run.records[k];
    EXPECT_EQ(r.query, k);
    ExpectOrdered(r);
    EXPECT_EQ(r.scheduled_ns, r.issued_ns);
    EXPECT_GE(r.computed_ns - r.copied_in_ns, 200'000);
    EXPECT_EQ(r.batch, 1);
    if (k > 0) {
      EXPECT_GE(r.issued_ns, run.records[k - 1].finished_ns);
    }
  }
  // The run takes the whole timed budget, and no more than a query past it.
  EXPECT_GE(run.duration_ns, 300 * kMs);
  EXPECT_LT(run.duration_ns, 400 * kMs);
  const ScenarioSummary sum = Summarize(run);
  EXPECT_EQ(sum.latency.moments.count, static_cast<int64_t>(run.records.size()));
  EXPECT_GE(sum.latency.moments.min, 200'000);
  EXPECT_EQ(sum.latency_basis, "finished - scheduled");
  EXPECT_GE(sum.compute.moments.min, 200'000);
}

TEST(Runner, BatchedQueriesCopyTheirSamplesIn) {
  FakeSession s(4, 100'000);
  TestSettings t = Quick(Scenario::kSingleStream, 100 * kMs);
  t.library_size = 10;
  const RunResult run = RunScenario({&s}, t);
  ASSERT_GT(run.records.size(), 10u);
  EXPECT_EQ(run.settings.samples_per_query, 4);
  EXPECT_EQ(run.settings.library_size, 10);
  for (const auto& r : run.records) EXPECT_EQ(r.sample, (4 * r.query) % 10);
  EXPECT_EQ(Summarize(run).samples_completed, 4 * static_cast<int64_t>(run.records.size()));
}

TEST(Runner, OfflineUsesEverySession) {
  FakeSession a(2, 300'000), b(2, 300'000);
  const RunResult run = RunScenario({&a, &b}, Quick(Scenario::kOffline, 200 * kMs));
  std::set<int> workers;
  for (const auto& r : run.records) {
    workers.insert(r.worker);
    EXPECT_EQ(r.scheduled_ns, 0);  // every sample is there at the start
    ExpectOrdered(r);
  }
  EXPECT_EQ(workers, (std::set<int>{0, 1}));
  const ScenarioSummary sum = Summarize(run);
  EXPECT_EQ(sum.latency_basis, "finished - issued");
  EXPECT_EQ(sum.samples_completed, 2 * sum.queries_completed);
  EXPECT_GT(sum.samples_per_s, 0);
}

TEST(Runner, MultiStreamIssuesOnAFixedInterval) {
  FakeSession s(2, 1 * kMs);
  TestSettings t = Quick(Scenario::kMultiStream, 2'000 * kMs);
  t.multistream_interval_ns = 5 * kMs;
  t.min_duration_ns = 180 * kMs;  // 36 queries; up to 2 s to serve them on a busy machine
  const RunResult run = RunScenario({&s}, t);
  EXPECT_EQ(run.end, RunEnd::kCompleted);
  EXPECT_EQ(run.queries_scheduled, 36);  // 180 ms of 5 ms intervals
  ASSERT_EQ(run.records.size(), 36u);
  for (const auto& r : run.records) {
    EXPECT_EQ(r.scheduled_ns, 5 * kMs * r.query);
    ExpectOrdered(r);
  }
}

TEST(Runner, ServerBatcherGroupsQueriesThatArrivedTogether) {
  FakeSession s(4, 2 * kMs);  // 500 batches/s, 2000 q/s at most: 1500 q/s needs batches of 3+
  TestSettings t = Quick(Scenario::kServer, 3'000 * kMs);
  t.min_duration_ns = 450 * kMs;  // the schedule; up to 3 s to serve it on a busy machine
  t.server_rate_qps = 1500;
  t.max_queue_delay_ns = 1 * kMs;
  const RunResult run = RunScenario({&s}, t);
  ASSERT_EQ(run.records.size(), static_cast<size_t>(run.queries_scheduled));
  int64_t batched = 0;
  for (const auto& r : run.records) {
    ExpectOrdered(r);
    EXPECT_GE(r.batch, 1);
    EXPECT_LE(r.batch, 4);
    batched += r.batch > 1;
  }
  EXPECT_GT(batched, static_cast<int64_t>(run.records.size()) / 2);
  EXPECT_EQ(run.records.front().scheduled_ns, PoissonSchedule(1500, 1, 1)[0]);
}

TEST(Runner, CtrlCStopsTheRunAndKeepsWhatWasMeasured) {
  FakeSession s(1, 1 * kMs);
  std::atomic<bool> stop{false};
  RunHooks hooks;
  hooks.stop = &stop;
  std::thread press([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop = true;
  });
  const int64_t start = NowNs();
  const RunResult run = RunScenario({&s}, Quick(Scenario::kSingleStream, 20'000 * kMs), hooks);
  press.join();
  EXPECT_LT(NowNs() - start, 2'000 * kMs);
  EXPECT_EQ(run.end, RunEnd::kInterrupted);
  EXPECT_GT(run.records.size(), 10u);
  const ScenarioSummary sum = Summarize(run);
  EXPECT_TRUE(sum.interrupted());
  ASSERT_FALSE(sum.warnings.empty());
  EXPECT_THAT(sum.warnings[0], HasSubstr("interrupted: the figures cover the first"));
  EXPECT_EQ(ToJson(sum)["state"], "interrupted");
}

TEST(Runner, RawRecordsAreStreamedAsMeasured) {
  TempDir dir;
  FakeSession s(1, 100'000);
  for (const std::string name : {"raw.csv", "raw.jsonl"}) {
    RunResult run;
    {
      RawWriter raw((dir / name).string());
      RunHooks hooks;
      hooks.raw = &raw;
      hooks.progress_interval_ns = 50 * kMs;
      int ticks = 0;
      hooks.on_progress = [&](const Progress& p) {
        ++ticks;
        EXPECT_GT(p.queries, 0);
        EXPECT_TRUE(p.recent_p99_ns.has_value());
      };
      run = RunScenario({&s}, Quick(Scenario::kSingleStream, 300 * kMs), hooks);
      EXPECT_GE(ticks, 3);
      EXPECT_EQ(raw.written(), static_cast<int64_t>(run.records.size()));
    }
    std::ifstream in(dir / name);
    std::string line;
    int64_t lines = 0;
    while (std::getline(in, line)) {
      if (name == "raw.csv" && lines == 0) {
        EXPECT_EQ(line.rfind("query,sample,batch,worker,scheduled_ns", 0), 0u);
      } else if (name == "raw.jsonl") {
        const auto j = nlohmann::json::parse(line);
        EXPECT_GE(j["finished_ns"].get<int64_t>(), j["scheduled_ns"].get<int64_t>());
      }
      ++lines;
    }
    EXPECT_EQ(lines, static_cast<int64_t>(run.records.size()) + (name == "raw.csv" ? 1 : 0));
  }
  EXPECT_EQ(ErrorOf([&] { RawWriter w((dir / "raw.txt").string()); }),
            "--raw " + (dir / "raw.txt").string() +
                ": unknown format '.txt' (use .csv, .jsonl or .ndjson)");
  EXPECT_THAT(ErrorOf([&] { RawWriter w((dir / "no" / "such" / "raw.csv").string()); }),
              HasSubstr("cannot write: No such file or directory"));
}

TEST(Runner, AnEngineFailureStopsEveryWorkerAndIsReported) {
  FakeSession a(1, 100'000, 20), b(1, 100'000, 1000);
  EXPECT_EQ(ErrorOf([&] {
              RunScenario({&a, &b}, Quick(Scenario::kOffline, 5'000 * kMs));
            }),
            "engine 'fake' failed on run 20");
}

TEST(PeakSearch, FindsTheRateAnM_D_1ServerSustainsUnderABound) {
  // 1 ms of service: at most 1000 q/s. M/D/1 keeps its p99 under 20 ms up to ρ ≈ 0.9; a busy
  // machine's stalls lower that, so the test asks only for a fifth of the capacity.
  FakeSession s(1, 1 * kMs);
  TestSettings t;
  t.budget_ns = 4'000 * kMs;
  t.target_latency_ns = 20 * kMs;
  const PeakResult r = FindPeakServerRate({&s}, t, {}, 8);
  ASSERT_TRUE(r.best.has_value());
  ASSERT_GE(r.curve.size(), 3u);
  const CurvePoint& best = r.curve[*r.best];
  for (const auto& p : r.curve) {
    std::printf("rate %.1f q/s: p99 %.2f ms, %s\n", p.rate_qps, p.latency_ns / 1e6,
                p.passed ? "passed" : "failed");
  }
  EXPECT_TRUE(best.passed);
  EXPECT_LE(best.latency_ns, 20e6);
  EXPECT_GT(best.rate_qps, 200);
  EXPECT_LT(best.rate_qps, 1000);
  // Every passing point is below the best; a failing one above it exists (the bracket).
  bool failed_above = false;
  for (const auto& p : r.curve) {
    if (p.passed) {
      EXPECT_LE(p.rate_qps, best.rate_qps);
    }
    failed_above = failed_above || (!p.passed && p.rate_qps > best.rate_qps);
  }
  EXPECT_TRUE(failed_above);
}

TEST(SampleLibrary, StagesSeededSamplesOfBatchOne) {
  const std::vector<engine::TensorSpec> specs = {{"x", onnx::TensorProto::FLOAT, {4, 3}},
                                                 {"ids", onnx::TensorProto::INT64, {4, 2}}};
  const SampleLibrary a(specs, 5, 7), b(specs, 5, 7), c(specs, 5, 8);
  EXPECT_EQ(a.size(), 5);
  EXPECT_EQ(a.batch_size(), 4);
  EXPECT_EQ(a.sample_bytes(), 3 * 4 + 2 * 8);
  ASSERT_EQ(a.sample(0).size(), 2u);
  EXPECT_EQ(a.sample(0)[0].shape(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(a.sample(0)[0].bytes(), b.sample(0)[0].bytes());  // seeded
  EXPECT_NE(a.sample(0)[0].bytes(), c.sample(0)[0].bytes());
  EXPECT_NE(a.sample(0)[0].bytes(), a.sample(1)[0].bytes());  // samples differ
  EXPECT_EQ(&a.sample(6), &a.sample(1));                      // indices wrap
  EXPECT_EQ(a.sample(2)[1].bytes(), std::string(16, '\0'));   // integers: zero
}

TEST(SampleLibrary, NeedsOneBatchDimension) {
  EXPECT_EQ(ErrorOf([] { SampleLibrary::BatchOf({}); }),
            "the model has no inputs; the load generator needs one");
  EXPECT_EQ(ErrorOf([] {
              SampleLibrary::BatchOf({{"s", onnx::TensorProto::FLOAT, {}}});
            }),
            "input 's' has no batch dimension (its first dimension); the load generator batches "
            "along it");
  EXPECT_EQ(ErrorOf([] {
              SampleLibrary::BatchOf(
                  {{"a", onnx::TensorProto::FLOAT, {2, 3}}, {"b", onnx::TensorProto::FLOAT, {4}}});
            }),
            "input 'b' has batch 4 but input 'a' has 2; the load generator needs one batch size");
}

TEST(Settings, ResolvesDefaultsFromTheBudget) {
  TestSettings t;
  t.scenario = Scenario::kSingleStream;
  EffectiveSettings e = Resolve(t, 1, 2, 600'000);
  EXPECT_EQ(e.warmup_ns, 1'500'000'000);  // a twentieth of 30 s
  EXPECT_EQ(e.min_duration_ns, 28'500'000'000);
  EXPECT_EQ(e.max_duration_ns, 28'500'000'000);
  EXPECT_EQ(e.min_query_count, 459);  // enough for early stopping to claim a p99 at 99%
  EXPECT_EQ(e.sessions, 1);
  EXPECT_THAT(e.notes, ::testing::ElementsAre("requested 2 sessions; single-stream uses 1"));
  t.scenario = Scenario::kServer;
  t.server_rate_qps = 100;
  e = Resolve(t, 4, 2, 600'000);
  EXPECT_EQ(e.min_duration_ns, 28'500'000'000LL * 9 / 10);
  EXPECT_EQ(e.samples_per_query, 1);
  EXPECT_EQ(e.library_size, 64);
  e = Resolve(t, 4, 2, 100'000'000);  // 100 MB samples: 5 fit in 512 MiB
  EXPECT_EQ(e.library_size, 5);
  EXPECT_THAT(e.notes.back(), HasSubstr("requested a library of 64 samples; using 5"));
}

TEST(Settings, RefusesContradictions) {
  TestSettings t;
  t.scenario = Scenario::kServer;
  EXPECT_EQ(ErrorOf([&] { Resolve(t, 1, 1, 4); }),
            "the server scenario needs a rate in queries/s above 0");
  t.scenario = Scenario::kOffline;
  t.min_duration_ns = 5 * kMs;
  t.max_duration_ns = 4 * kMs;
  EXPECT_EQ(ErrorOf([&] { Resolve(t, 1, 1, 4); }),
            "the minimum duration (5.00 ms) is above the maximum (4.00 ms)");
  t = TestSettings();
  t.warmup_ns = t.budget_ns;
  EXPECT_EQ(ErrorOf([&] { Resolve(t, 1, 1, 4); }),
            "the warm-up (30.0 s) must be shorter than the budget (30.0 s)");
  EXPECT_EQ(ErrorOf([] { ParseScenario("batch"); }),
            "unknown scenario 'batch' (use single-stream, multi-stream, server or offline)");
  EXPECT_EQ(ParseScenario("server"), Scenario::kServer);
}

TEST(Schedule, PoissonIsSeededAndHasTheRate) {
  const auto a = PoissonSchedule(1000, 20000, 7);
  EXPECT_EQ(a, PoissonSchedule(1000, 20000, 7));
  EXPECT_NE(a, PoissonSchedule(1000, 20000, 8));
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  // 20,000 arrivals at 1000/s span ~20 s (σ of the sum: 0.14 s).
  EXPECT_NEAR(static_cast<double>(a.back()) / 1e9, 20.0, 0.6);
}

}  // namespace
}  // namespace plaster::loadgen
