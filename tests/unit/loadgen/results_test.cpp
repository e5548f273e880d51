// Summaries from hand-made records: each latency part is the interval docs/metrics.md says, the
// latency basis follows the scenario, and how a run ended becomes a warning.
#include "loadgen/results.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace plaster::loadgen {
namespace {

using ::testing::HasSubstr;

QueryRecord Record(uint32_t query, int64_t scheduled, int64_t issued, int64_t started,
                   int64_t copied, int64_t computed, int64_t finished, uint16_t batch = 1) {
  QueryRecord r{};
  r.query = query;
  r.scheduled_ns = scheduled;
  r.issued_ns = issued;
  r.started_ns = started;
  r.copied_in_ns = copied;
  r.computed_ns = computed;
  r.finished_ns = finished;
  r.batch = batch;
  return r;
}

RunResult Server() {
  RunResult run;
  run.settings.scenario = Scenario::kServer;
  run.settings.samples_per_query = 1;
  run.settings.min_query_count = 1;
  run.settings.target_latency_ns = 150;
  run.records = {Record(0, 0, 10, 20, 25, 100, 110, 2), Record(1, 5, 10, 20, 25, 100, 110, 2),
                 Record(2, 200, 200, 230, 240, 340, 400, 1)};
  run.queries_scheduled = run.queries_issued = 3;
  run.duration_ns = 400;
  return run;
}

TEST(Summary, PartsAreTheDocumentedIntervals) {
  const ScenarioSummary s = Summarize(Server());
  EXPECT_EQ(s.latency_basis, "finished - scheduled");
  EXPECT_EQ(s.latency.moments.min, 105);    // 110 − 5
  EXPECT_EQ(s.latency.moments.max, 200);    // 400 − 200
  EXPECT_EQ(s.queue_wait.moments.max, 30);  // started − scheduled: 20, 15, 30
  EXPECT_EQ(s.queue_wait.moments.min, 15);
  EXPECT_EQ(s.copy_in.moments.max, 10);  // copied − started: 5, 5, 10
  EXPECT_EQ(s.compute.moments.min, 75);  // computed − copied: 75, 75, 100
  EXPECT_EQ(s.compute.moments.max, 100);
  EXPECT_EQ(s.copy_out.moments.max, 60);  // finished − computed: 10, 10, 60
  EXPECT_DOUBLE_EQ(s.mean_batch_queries, 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.samples_per_s, 3 / 400e-9);
  EXPECT_EQ(s.TargetPercentileNs(), 200);
  EXPECT_EQ(s.early_stopping.overlatency, 1);  // one query above 150 ns
  EXPECT_EQ(s.early_stopping.verdict, stats::Verdict::kUndecided);
  const auto j = ToJson(s);
  EXPECT_EQ(j["breakdown"]["copy_out"]["max_ns"], 60);
  EXPECT_EQ(j["early_stopping"]["verdict"], "undecided");
}

TEST(Summary, OfflineLatencyIsTheBatchLatency) {
  RunResult run = Server();
  run.settings.scenario = Scenario::kOffline;
  run.settings.samples_per_query = 8;
  for (auto& r : run.records) r.scheduled_ns = 0;
  const ScenarioSummary s = Summarize(run);
  EXPECT_EQ(s.latency_basis, "finished - issued");
  EXPECT_EQ(s.latency.moments.min, 100);    // 110 − 10
  EXPECT_EQ(s.latency.moments.max, 200);    // 400 − 200
  EXPECT_EQ(s.queue_wait.moments.max, 30);  // started − issued
  EXPECT_EQ(s.samples_completed, 24);
}

TEST(Summary, HowTheRunEndedIsAWarning) {
  RunResult run = Server();
  run.end = RunEnd::kMaxDuration;
  run.queries_scheduled = 10;
  run.settings.max_duration_ns = 1'000'000'000;
  ScenarioSummary s = Summarize(run);
  ASSERT_FALSE(s.warnings.empty());
  EXPECT_EQ(s.warnings[0],
            "did not keep up: 7 of 10 scheduled queries were not served within the maximum "
            "duration 1.00 s (their latency is at least the time they waited; the figures leave "
            "them out)");
  run.end = RunEnd::kInterrupted;
  s = Summarize(run);
  EXPECT_TRUE(s.interrupted());
  EXPECT_THAT(s.warnings[0],
              HasSubstr("interrupted: the figures cover the first 400 ns (3 queries)"));
  RunResult empty;
  empty.end = RunEnd::kInterrupted;
  s = Summarize(empty);
  EXPECT_EQ(s.latency.moments.count, 0);
  EXPECT_EQ(s.TargetPercentileNs(), 0);
  EXPECT_FALSE(s.early_stopping.enough);
}

}  // namespace
}  // namespace plaster::loadgen
