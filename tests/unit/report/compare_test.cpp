// plaster compare: reading records back, matching, the verdict rule, the renderings, and the
// seeded simulations of issue 5 (false positives on identical runs, detection of a 10% shift,
// and the Mann–Whitney false-positive rate at threshold 0). The measured rates are printed.
#include "report/compare.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/stats.h"
#include "report/evaluation_record.h"

namespace plaster::report {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Context() {
  return json{{"schema", "plaster.evaluation"},
              {"schema_version", 1},
              {"plaster", {{"version", "0.1.0"}, {"git", "abc"}}},
              {"started_utc", "2026-01-01T00:00:00Z"},
              {"model", {{"name", "m.onnx"}, {"file_bytes", 10}}}};
}

json Metric(const std::string& name, json value, const std::string& unit, json better,
            const std::string& samples = "", const std::string& letter = "L") {
  json m{{"name", name},
         {"letter", letter},
         {"label", name},
         {"value", value},
         {"unit", unit},
         {"better", better},
         {"source", value.is_null() ? "unavailable" : "measured"}};
  if (value.is_null()) m["reason"] = "no sensor";
  if (!samples.empty()) m["samples"] = samples;
  return m;
}

json Case(const std::string& id, json metrics, json samples = json::object()) {
  return json{{"id", id},
              {"status", "passed"},
              {"metrics", std::move(metrics)},
              {"samples", std::move(samples)}};
}

json Record(json cases) {
  return json{{"schema", "plaster.evaluation"},
              {"schema_version", 1},
              {"context", Context()},
              {"cases", std::move(cases)},
              {"recommendation", {{"case", nullptr}, {"reason", "none"}}}};
}

const MetricComparison& Find(const Comparison& c, const std::string& id, const std::string& name) {
  for (const auto& cc : c.cases) {
    if (cc.id != id) continue;
    for (const auto& m : cc.metrics) {
      if (m.name == name) return m;
    }
  }
  ADD_FAILURE() << "no " << id << " " << name;
  static const MetricComparison none;
  return none;
}

std::string Message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TailLevel, Names) {
  EXPECT_EQ(TailLevel("latency.p99"), 0.99);
  EXPECT_EQ(TailLevel("latency.p90"), 0.90);
  EXPECT_DOUBLE_EQ(*TailLevel("latency.p99.9"), 0.999);
  EXPECT_EQ(TailLevel("latency.max"), 1.0);
  EXPECT_EQ(TailLevel("latency.p50"), std::nullopt);
  EXPECT_EQ(TailLevel("latency.p89"), std::nullopt);
  EXPECT_EQ(TailLevel("latency.mean"), std::nullopt);
  EXPECT_EQ(TailLevel("t.offline"), std::nullopt);
  EXPECT_EQ(TailLevel("p.cold_start"), std::nullopt);
  EXPECT_EQ(TailLevel("s.peak_rss_bytes"), std::nullopt);  // ".peak" is not a percentile
  EXPECT_EQ(TailLevel("latency.maximum"), std::nullopt);
}

TEST(Compare, MatchesCasesAndMetrics) {
  const json a = Record(
      {Case("x", {Metric("latency.p50", 10, "ms", "lower"), Metric("only.a", 1, "ms", "lower")}),
       Case("gone", json::array())});
  const json b = Record(
      {Case("new", json::array()),
       Case("x", {Metric("only.b", 1, "ms", "lower"), Metric("latency.p50", 11, "ms", "lower")})});
  const Comparison c = CompareRecords(a, b, "a.json", "b.json", {});
  ASSERT_EQ(c.cases.size(), 1U);
  EXPECT_EQ(c.cases[0].id, "x");
  EXPECT_EQ(c.only_in_a, std::vector<std::string>{"gone"});
  EXPECT_EQ(c.only_in_b, std::vector<std::string>{"new"});
  EXPECT_EQ(c.cases[0].only_in_a, std::vector<std::string>{"only.a"});
  EXPECT_EQ(c.cases[0].only_in_b, std::vector<std::string>{"only.b"});
  ASSERT_EQ(c.cases[0].metrics.size(), 1U);
  const MetricComparison& m = c.cases[0].metrics[0];
  EXPECT_DOUBLE_EQ(*m.ratio, 1.1);
  // One number a side: "changed by 10%", never a regression.
  EXPECT_EQ(m.verdict, MetricVerdict::kNotTested);
  EXPECT_EQ(m.reason, "no test (single measurement)");
  EXPECT_FALSE(c.regressed());
  EXPECT_EQ(c.untested, 1);
  EXPECT_EQ(c.as_time.count, 0);
  EXPECT_FALSE(c.as_time.ratio);
}

TEST(Compare, ACaseThatStopsPassingIsARegression) {
  json b_case = Case("x", json::array());
  b_case["status"] = "failed";
  const json a = Record({Case("x", json::array()), Case("y", json::array())});
  const json b = Record({b_case, Case("y", json::array())});
  const Comparison c = CompareRecords(a, b, "a.json", "b.json", {});
  EXPECT_EQ(c.stopped_passing, std::vector<std::string>{"x"});
  EXPECT_EQ(c.regressions, 0);
  EXPECT_TRUE(c.regressed());
  // The other way round is not.
  EXPECT_FALSE(CompareRecords(b, a, "b.json", "a.json", {}).regressed());
}

TEST(Compare, BadInputIsAnErrorNamingWhere) {
  const json a = Record({Case("x", {Metric("latency.p50", 10, "ms", "lower")})});
  const json b = Record({Case("x", {Metric("latency.p50", 0.01, "s", "lower")})});
  EXPECT_EQ(Message([&] { CompareRecords(a, b, "a.json", "b.json", {}); }),
            "a.json vs b.json: case 'x': metric 'latency.p50' is in 'ms' in A but in 's' in B");
  const json twice = Record({Case("x", json::array()), Case("x", json::array())});
  EXPECT_EQ(Message([&] { CompareRecords(twice, b, "a.json", "b.json", {}); }),
            "a.json: case 'x' appears twice");
  json no_samples = Record({Case("x", {Metric("latency.p50", 10, "ms", "lower", "latency_ms")})});
  EXPECT_EQ(Message([&] { CompareRecords(no_samples, no_samples, "a.json", "b.json", {}); }),
            "a.json vs b.json: case 'x': metric 'latency.p50' in A: names samples 'latency_ms' "
            "that the case does not have");
  const json no_id = Record({json{{"status", "passed"}}});
  EXPECT_EQ(Message([&] { CompareRecords(a, no_id, "a.json", "b.json", {}); }),
            "b.json: case 1 has no string \"id\"");
}

TEST(Compare, ValuesThatCannotBeCompared) {
  const json a = Record({Case("x", {Metric("e.energy", nullptr, "J", "lower", "", "E"),
                                    Metric("p.imports", true, "bool", "higher", "", "P"),
                                    Metric("s.intensity", 4.0, "FLOP/B", nullptr, "", "S"),
                                    Metric("zero", 0, "ms", "lower")})});
  const json b = Record({Case("x", {Metric("e.energy", nullptr, "J", "lower", "", "E"),
                                    Metric("p.imports", true, "bool", "higher", "", "P"),
                                    Metric("s.intensity", 5.0, "FLOP/B", nullptr, "", "S"),
                                    Metric("zero", 3, "ms", "lower")})});
  const Comparison c = CompareRecords(a, b, "a", "b", {});
  EXPECT_EQ(Find(c, "x", "e.energy").verdict, MetricVerdict::kNotComparable);
  EXPECT_EQ(Find(c, "x", "e.energy").reason, "A unavailable: no sensor");
  EXPECT_EQ(Find(c, "x", "p.imports").reason, "same");
  EXPECT_EQ(Find(c, "x", "s.intensity").verdict, MetricVerdict::kNoObjective);
  EXPECT_DOUBLE_EQ(*Find(c, "x", "s.intensity").change(), 0.25);
  EXPECT_EQ(Find(c, "x", "zero").reason, "A is 0: no ratio");
  EXPECT_EQ(c.untested, 4);
}

// Samples with a given median and CV (log-normal), seeded.
std::vector<double> LogNormal(std::mt19937_64& rng, int n, double median, double cv) {
  std::normal_distribution<double> normal(0, std::sqrt(std::log(1 + cv * cv)));
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = median * std::exp(normal(rng));
  return v;
}

// A case as plaster evaluate writes it: latency metrics from single-stream samples, t.offline from
// per-batch throughput samples; every value computed from its samples.
json SimulatedCase(std::mt19937_64& rng, double latency_scale, int n = 200, double cv = 0.05) {
  const std::vector<double> latency = LogNormal(rng, n, 10 * latency_scale, cv);
  const std::vector<double> offline = LogNormal(rng, n, 800 / latency_scale, cv);
  const stats::SortedSamples sorted(latency);
  json metrics = json::array();
  metrics.push_back(
      Metric("latency.mean", stats::ComputeMoments(latency).mean, "ms", "lower", "latency_ms"));
  for (const double p : {0.5, 0.9, 0.99}) {
    metrics.push_back(Metric("latency." + stats::PercentileName(p), stats::Percentile(sorted, p),
                             "ms", "lower", "latency_ms"));
  }
  metrics.push_back(Metric("latency.max", sorted.values().back(), "ms", "lower", "latency_ms"));
  metrics.push_back(Metric("t.offline", stats::ComputeMoments(offline).mean, "samples/s", "higher",
                           "offline_samples_per_s", "T"));
  return Case("torch/cpu/fp32/b1/t2", std::move(metrics),
              json{{"latency_ms", latency}, {"offline_samples_per_s", offline}});
}

const std::vector<std::string> kSimulatedMetrics = {"latency.mean", "latency.p50", "latency.p90",
                                                    "latency.p99",  "latency.max", "t.offline"};

// Per metric: how often each verdict came out over `reps` simulated pairs.
std::map<std::string, std::map<MetricVerdict, int>> Simulate(uint64_t seed, int reps, double scale,
                                                             const CompareOptions& options) {
  std::mt19937_64 rng(seed);
  std::map<std::string, std::map<MetricVerdict, int>> counts;
  for (int rep = 0; rep < reps; ++rep) {
    const json a = Record({SimulatedCase(rng, 1.0)});
    const json b = Record({SimulatedCase(rng, scale)});
    CompareOptions o = options;
    o.seed = static_cast<uint64_t>(rep) + 1;
    const Comparison c = CompareRecords(a, b, "a", "b", o);
    for (const auto& m : c.cases.at(0).metrics) ++counts[m.name][m.verdict];
  }
  return counts;
}

double Rate(const std::map<MetricVerdict, int>& counts, MetricVerdict verdict, int reps) {
  const auto it = counts.find(verdict);
  return it == counts.end() ? 0 : static_cast<double>(it->second) / reps;
}

// Issue 5, target (a): two runs of one configuration show no significant change.
TEST(CompareSimulation, SameConfigurationShowsNoChange) {
  const int reps = 200;
  const auto counts = Simulate(101, reps, 1.0, {});
  int total = 0;
  int unchanged = 0;
  for (const auto& name : kSimulatedMetrics) {
    const auto& per = counts.at(name);
    const double rate = Rate(per, MetricVerdict::kNoChange, reps);
    std::printf("[ rate     ] same configuration, %-12s no significant change %5.1f%%\n",
                name.c_str(), 100 * rate);
    for (const auto& [verdict, n] : per) total += n;
    unchanged += per.count(MetricVerdict::kNoChange) ? per.at(MetricVerdict::kNoChange) : 0;
  }
  const double overall = static_cast<double>(unchanged) / total;
  std::printf("[ rate     ] same configuration, all metrics: %.1f%% no significant change\n",
              100 * overall);
  EXPECT_GE(overall, 0.95);
  for (const auto& name : kSimulatedMetrics) {
    EXPECT_GE(Rate(counts.at(name), MetricVerdict::kNoChange, reps), 0.95) << name;
  }
}

// Issue 5, target (b): a 10% latency shift (throughput 1/1.1) on 200 samples, CV 5%, is detected.
TEST(CompareSimulation, TenPercentShiftIsDetected) {
  const int reps = 200;
  const auto counts = Simulate(202, reps, 1.1, {});
  for (const auto& name : kSimulatedMetrics) {
    const double rate = Rate(counts.at(name), MetricVerdict::kRegressed, reps);
    std::printf("[ rate     ] 10%% slower, %-12s detected (slower) %5.1f%%\n", name.c_str(),
                100 * rate);
    EXPECT_EQ(Rate(counts.at(name), MetricVerdict::kImproved, reps), 0) << name;
    if (name != "latency.max") {
      EXPECT_GE(rate, 0.95) << name;
    }
  }
}

// At threshold 0 only the p-value decides: identical runs are flagged at about alpha, so a wrong
// p-value (too small or too large) fails here.
TEST(CompareSimulation, FalsePositiveRateAtThresholdZeroIsNearAlpha) {
  const int reps = 1000;
  CompareOptions options;
  options.threshold = 0;
  options.bootstrap_iterations = 500;
  const auto counts = Simulate(303, reps, 1.0, options);
  for (const auto& name : kSimulatedMetrics) {
    const double rate = 1 - Rate(counts.at(name), MetricVerdict::kNoChange, reps);
    std::printf("[ rate     ] threshold 0, alpha 0.05, %-12s flagged %5.1f%%\n", name.c_str(),
                100 * rate);
    if (!TailLevel(name)) {  // Mann–Whitney
      EXPECT_GE(rate, 0.02) << name;
      EXPECT_LE(rate, 0.09) << name;
    }
  }
}

TEST(Compare, RegressionImprovementAndRenderings) {
  std::mt19937_64 rng(9);
  const json a = Record({SimulatedCase(rng, 1.0)});
  const json b = Record({SimulatedCase(rng, 1.25)});
  const Comparison slower = CompareRecords(a, b, "a.json", "b.json", {});
  EXPECT_TRUE(slower.regressed());
  const MetricComparison& p50 = Find(slower, "torch/cpu/fp32/b1/t2", "latency.p50");
  EXPECT_EQ(p50.verdict, MetricVerdict::kRegressed);
  EXPECT_EQ(p50.test->method, "mann-whitney");
  EXPECT_GT(*p50.test->effect, 0.9);  // B is nearly always larger
  EXPECT_NEAR(*p50.test->ratio_estimate, 1.25, 0.02);
  EXPECT_LT(*p50.test->ratio_interval.lower, *p50.test->ratio_estimate);
  const MetricComparison& p99 = Find(slower, "torch/cpu/fp32/b1/t2", "latency.p99");
  EXPECT_EQ(p99.test->method, "bootstrap");
  EXPECT_EQ(p99.test->percentile, 0.99);
  EXPECT_DOUBLE_EQ(*p99.test->ratio_estimate, *p99.ratio);  // nearest rank, as recorded
  EXPECT_EQ(Find(slower, "torch/cpu/fp32/b1/t2", "t.offline").verdict, MetricVerdict::kRegressed);
  ASSERT_TRUE(slower.latency.ratio);
  EXPECT_EQ(slower.latency.count, 5);
  EXPECT_EQ(slower.as_time.count, 6);
  EXPECT_NEAR(*slower.latency.ratio, 1.25, 0.05);
  EXPECT_NEAR(*slower.as_time.ratio, 1.25, 0.05);  // throughput inverted: also ~1.25

  // The other way round it is faster, and no regression.
  const Comparison faster = CompareRecords(b, a, "b.json", "a.json", {});
  EXPECT_FALSE(faster.regressed());
  EXPECT_EQ(faster.improvements, 6);
  EXPECT_NEAR(*faster.as_time.ratio, 0.8, 0.05);

  std::ostringstream text;
  PrintComparisonText(slower, text);
  EXPECT_THAT(text.str(), HasSubstr("torch/cpu/fp32/b1/t2 (passed)"));
  EXPECT_THAT(text.str(), HasSubstr("SLOWER"));
  EXPECT_THAT(text.str(), HasSubstr("Result: 6 significant regressions: "));
  EXPECT_THAT(text.str(), HasSubstr("and 1 more (exit status 1)"));
  std::ostringstream markdown;
  PrintComparisonMarkdown(slower, markdown);
  EXPECT_THAT(markdown.str(), HasSubstr("| `latency.p50` |"));
  EXPECT_THAT(markdown.str(), HasSubstr("**SLOWER**"));

  const json out = ComparisonJson(slower);
  EXPECT_EQ(out["schema"], "plaster.comparison");
  EXPECT_EQ(out["schema_version"], 1);
  EXPECT_EQ(out["regression"], true);
  EXPECT_EQ(out["summary"]["regressions"], 6);
  const json& m = out["cases"][0]["metrics"][1];
  EXPECT_EQ(m["name"], "latency.p50");
  EXPECT_EQ(m["verdict"], "regressed");
  EXPECT_EQ(m["test"]["method"], "mann-whitney");
  EXPECT_TRUE(m["test"]["ratio_interval"]["lower"].is_number());

  // The threshold: a 25% change is not significant when 30% is required.
  CompareOptions strict;
  strict.threshold = 0.30;
  EXPECT_FALSE(CompareRecords(a, b, "a", "b", strict).regressed());
}

// The samples say B is larger but the recorded values are equal (or move the other way): no
// direction can be claimed, even at threshold 0.
TEST(Compare, NoVerdictWhenSamplesAndValuesDisagree) {
  std::vector<double> low;
  std::vector<double> high;
  for (int k = 1; k <= 50; ++k) {
    low.push_back(10 + k * 0.01);
    high.push_back(11 + k * 0.01);
  }
  const json a = Record({Case("x",
                              {Metric("latency.mean", 10.0, "ms", "lower", "latency_ms"),
                               Metric("latency.p50", 10.0, "ms", "lower", "latency_ms")},
                              json{{"latency_ms", low}})});
  const json b = Record({Case("x",
                              {Metric("latency.mean", 10.0, "ms", "lower", "latency_ms"),
                               Metric("latency.p50", 9.0, "ms", "lower", "latency_ms")},
                              json{{"latency_ms", high}})});
  CompareOptions options;
  options.threshold = 0;
  const Comparison c = CompareRecords(a, b, "a", "b", options);
  const MetricComparison& same = Find(c, "x", "latency.mean");
  EXPECT_LT(same.test->p_value, 1e-6);
  EXPECT_EQ(same.verdict, MetricVerdict::kNoChange);  // a ratio of exactly 1 has no direction
  const MetricComparison& opposite = Find(c, "x", "latency.p50");
  EXPECT_EQ(opposite.verdict, MetricVerdict::kNoChange);
  EXPECT_EQ(opposite.reason, "samples and values disagree on the direction");
  EXPECT_FALSE(c.regressed());
  EXPECT_EQ(c.improvements, 0);
}

// Reading records back.
class RecordFiles : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::path(::testing::TempDir()) / name;
    std::ofstream(path) << text;
    return path.string();
  }
};

TEST_F(RecordFiles, JsonLinesBecomeADocument) {
  json context = Context();
  context["kind"] = "context";
  json c = Case("x", {Metric("latency.p50", 10, "ms", "lower")});
  c["kind"] = "case";
  const std::string path = Write("ok.jsonl", context.dump() + "\n\n" + c.dump() + "\n" +
                                                 R"({"kind": "progress", "done": 1})" + "\n");
  const json r = LoadEvaluationRecord(path);
  EXPECT_EQ(r["schema"], "plaster.evaluation");
  EXPECT_EQ(r["schema_version"], 1);
  ASSERT_EQ(r["cases"].size(), 1U);
  EXPECT_EQ(r["cases"][0]["id"], "x");
  EXPECT_FALSE(r["cases"][0].contains("kind"));
  EXPECT_FALSE(r["context"].contains("kind"));
  EXPECT_EQ(r["recommendation"],
            (json{{"case", nullptr}, {"reason", "not recorded (JSON Lines)"}}));
}

TEST_F(RecordFiles, DocumentRoundTrips) {
  const json doc = Record({Case("x", json::array())});
  const std::string path = Write("doc.json", doc.dump(2));
  EXPECT_EQ(LoadEvaluationRecord(path), doc);
}

TEST_F(RecordFiles, ErrorsNameTheFileAndLine) {
  json context = Context();
  context["kind"] = "context";
  const std::string case_line = R"({"kind": "case", "id": "x"})";
  const std::string early = Write("early.jsonl", case_line + "\n" + context.dump() + "\n");
  EXPECT_EQ(Message([&] { LoadEvaluationRecord(early); }),
            early + ":1: a case line before the context line");
  const std::string bad_line = Write("bad.jsonl", context.dump() + "\n{\"kind\": \"case\", \n");
  EXPECT_THAT(Message([&] { LoadEvaluationRecord(bad_line); }),
              HasSubstr(bad_line + ":2: not valid JSON: "));
  const std::string bad_doc = Write("bad.json", "{\n  \"schema\": \"plaster.evaluation\",\n  x\n}");
  EXPECT_THAT(Message([&] { LoadEvaluationRecord(bad_doc); }),
              HasSubstr(bad_doc + ":3: not valid JSON: syntax error"));
  json newer = Record(json::array());
  newer["schema_version"] = 2;
  const std::string newer_path = Write("newer.json", newer.dump());
  EXPECT_EQ(Message([&] { LoadEvaluationRecord(newer_path); }),
            newer_path +
                ": schema_version 2 is newer than this plaster reads (1); use a newer "
                "plaster");
  json other = Record(json::array());
  other["schema"] = "plaster.size";
  const std::string other_path = Write("other.json", other.dump());
  EXPECT_EQ(Message([&] { LoadEvaluationRecord(other_path); }),
            other_path + ": schema is \"plaster.size\", expected \"plaster.evaluation\"");
  EXPECT_THAT(Message([&] { LoadEvaluationRecord("/nonexistent/a.json"); }),
              HasSubstr("/nonexistent/a.json: cannot read the file"));
  const std::string empty = Write("empty.json", "\n");
  EXPECT_EQ(Message([&] { LoadEvaluationRecord(empty); }), empty + ": the file is empty");
  const std::string twice = Write("twice.jsonl", context.dump() + "\n" + context.dump() + "\n");
  EXPECT_EQ(Message([&] { LoadEvaluationRecord(twice); }), twice + ":2: a second context line");
}

// The committed fixture pair (tests/data) loads and compares as docs/cli.md shows.
TEST(CompareFixtures, ShowARegression) {
  const std::string dir = std::string(PLASTER_SOURCE_DIR) + "/tests/data/";
  const json a = LoadEvaluationRecord(dir + "compare_a.json");
  const json b = LoadEvaluationRecord(dir + "compare_b.json");
  const Comparison c = CompareRecords(a, b, "compare_a.json", "compare_b.json", {});
  EXPECT_TRUE(c.regressed());
  EXPECT_EQ(Find(c, "torch/cpu/fp32/b1/t2", "latency.p50").verdict, MetricVerdict::kNoChange);
  EXPECT_EQ(Find(c, "torch/cpu/fp32/b8/t2", "latency.p50").verdict, MetricVerdict::kRegressed);
}

}  // namespace
}  // namespace plaster::report
