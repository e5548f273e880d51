// Sweeps, case records and the recommendation: exact answers on tiny inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "evaluate/case_record.h"
#include "evaluate/evaluation.h"
#include "evaluate/measure_case.h"
#include "evaluate/sweep.h"
#include "support/fixtures.h"

namespace plaster::evaluate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ErrorOf;

std::vector<std::string> Ids(const std::vector<CaseConfig>& cases) {
  std::vector<std::string> ids;
  for (const auto& c : cases) ids.push_back(CaseId(c));
  return ids;
}

TEST(Sweep, ExpandsEveryCombinationLastListFastest) {
  SweepOptions o;
  o.engines = {"torch", "null"};
  o.precisions = {"fp32", "int8"};
  o.batches = {1, 8};
  o.threads = {1, 0};
  const auto cases = ExpandSweep(o, 4);
  ASSERT_EQ(cases.size(), 16u);
  EXPECT_EQ(CaseId(cases[0]), "torch/cpu/fp32/b1/t1");
  EXPECT_EQ(CaseId(cases[1]), "torch/cpu/fp32/b1/t4");  // 0 resolved to the usable cores
  EXPECT_EQ(CaseId(cases[2]), "torch/cpu/fp32/b8/t1");
  EXPECT_EQ(CaseId(cases[4]), "torch/cpu/int8/b1/t1");
  EXPECT_EQ(CaseId(cases[15]), "null/cpu/int8/b8/t4");
}

TEST(Sweep, DefaultsAreOneCase) {
  EXPECT_THAT(Ids(ExpandSweep(SweepOptions{}, 2)), ElementsAre("torch/cpu/fp32/b1/t2"));
}

TEST(Sweep, BadListsAreErrorsNamingTheOption) {
  SweepOptions o;
  o.precisions = {"fp64"};
  EXPECT_THAT(ErrorOf([&] { ExpandSweep(o, 2); }), HasSubstr("--precision 'fp64'"));
  o = {};
  o.devices = {"tpu"};
  EXPECT_THAT(ErrorOf([&] { ExpandSweep(o, 2); }), HasSubstr("--device 'tpu'"));
  o = {};
  o.batches = {1, 1};
  EXPECT_THAT(ErrorOf([&] { ExpandSweep(o, 2); }), HasSubstr("'1' is listed twice"));
  o = {};
  o.batches = {0};
  EXPECT_THAT(ErrorOf([&] { ExpandSweep(o, 2); }), HasSubstr("--batch 0"));
  o = {};
  o.threads = {2, 0};
  EXPECT_THAT(ErrorOf([&] { ExpandSweep(o, 2); }), HasSubstr("the same case"));
  o = {};
  o.engines = {};
  EXPECT_THAT(ErrorOf([&] { ExpandSweep(o, 2); }), HasSubstr("--engine: the list is empty"));
}

TEST(Sweep, SplitList) {
  EXPECT_THAT(SplitList("1, 8,32", "--batch"), ElementsAre("1", "8", "32"));
  EXPECT_THAT(SplitList("fp32", "--precision"), ElementsAre("fp32"));
  EXPECT_THAT(ErrorOf([] { SplitList("1,,8", "--batch"); }), HasSubstr("an empty item"));
  EXPECT_THAT(ErrorOf([] { SplitList("", "--batch"); }), HasSubstr("an empty item"));
}

TEST(CaseRecord, EveryLetterIsPresentWithAReason) {
  CaseRecord r({"torch", engine::Device::kCpu, engine::Precision::kFp32, 8, 2});
  r.SetLetter("P", "measured");
  Metric m;
  m.name = "latency.p99";
  m.letter = "L";
  m.label = "p99 latency";
  m.value = 12.5;
  m.unit = "ms";
  m.better = Better::kLower;
  m.has_interval = true;
  m.lower = 12.0;
  m.coverage = 0.96;
  m.samples = "latency_ms";
  r.Add(m);
  r.AddUnavailable("t.server_peak", "T", "server peak", "samples/s", Better::kHigher,
                   "needs --latency-bound");
  r.SetSamples("latency_ms", {12.0, 12.5});
  const auto j = r.ToJson(CaseStatus::kFailed, "engine error", 10, 3);
  EXPECT_EQ(j["id"], "torch/cpu/fp32/b8/t2");
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["reason"], "engine error");
  EXPECT_EQ(j["letters"]["P"]["status"], "measured");
  EXPECT_EQ(j["letters"]["L"]["status"], "unavailable");
  EXPECT_THAT(j["letters"]["L"]["reason"].get<std::string>(), HasSubstr("ended failed"));
  EXPECT_THAT(j["letters"]["A"]["reason"].get<std::string>(), HasSubstr("--data"));
  EXPECT_THAT(j["letters"]["E"]["reason"].get<std::string>(), HasSubstr("ended failed"));
  EXPECT_THAT(j["letters"]["R"]["reason"].get<std::string>(), HasSubstr("ended failed"));
  ASSERT_EQ(j["metrics"].size(), 2u);
  EXPECT_EQ(j["metrics"][0]["interval"]["lower"], 12.0);
  EXPECT_TRUE(j["metrics"][0]["interval"]["upper"].is_null());  // unbounded above
  EXPECT_EQ(j["metrics"][0]["better"], "lower");
  EXPECT_TRUE(j["metrics"][1]["value"].is_null());
  EXPECT_EQ(j["metrics"][1]["source"], "unavailable");
  EXPECT_EQ(j["metrics"][1]["reason"], "needs --latency-bound");
  EXPECT_EQ(j["samples"]["latency_ms"].size(), 2u);
  EXPECT_TRUE(j["roofline"].is_null());
}

TEST(CaseSpec, RoundTripsAndNamesBadFields) {
  CaseSpec s;
  s.model = "m.onnx";
  s.shapes = {"x:1x3"};
  s.config = {"null", engine::Device::kCpu, engine::Precision::kBf16, 4, 3};
  s.budget_ns = 5'000'000'000;
  s.latency_bound_ns = 7'000'000;
  s.seed = 9;
  const CaseSpec back = CaseSpecFromJson(ToJson(s));
  EXPECT_EQ(CaseId(back.config), "null/cpu/bf16/b4/t3");
  EXPECT_EQ(back.budget_ns, s.budget_ns);
  EXPECT_EQ(back.latency_bound_ns, s.latency_bound_ns);
  EXPECT_EQ(back.shapes, s.shapes);
  EXPECT_EQ(back.seed, 9u);
  nlohmann::json j = ToJson(s);
  j.erase("budget_ns");
  EXPECT_THAT(ErrorOf([&] { CaseSpecFromJson(j); }), HasSubstr("budget_ns"));
}

nlohmann::ordered_json Case(const std::string& id, double p99_ms, double samples_per_s,
                            const std::string& status = "passed") {
  return {{"id", id},
          {"status", status},
          {"metrics",
           {{{"name", "latency.p99"}, {"value", p99_ms}},
            {{"name", "t.offline"}, {"value", samples_per_s}}}}};
}

TEST(Recommend, WithABoundTheMostThroughputThatMeetsIt) {
  const nlohmann::ordered_json cases = {Case("b1", 5, 200), Case("b8", 30, 400),
                                        Case("b4", 9, 350), Case("b2", 1, 900, "failed")};
  auto r = Recommend(cases, 10'000'000);
  EXPECT_EQ(r["case"], "b4");
  EXPECT_THAT(r["reason"].get<std::string>(), HasSubstr("350 samples/s"));
  r = Recommend(cases, 1'000'000);
  EXPECT_TRUE(r["case"].is_null());
  EXPECT_THAT(r["reason"].get<std::string>(), HasSubstr("no case's p99 latency meets"));
}

TEST(Recommend, WithoutABoundTheLowestLatencyAndNamesTheFastestThroughput) {
  const nlohmann::ordered_json cases = {Case("b1", 5, 200), Case("b8", 30, 400)};
  const auto r = Recommend(cases, std::nullopt);
  EXPECT_EQ(r["case"], "b1");
  EXPECT_THAT(r["reason"].get<std::string>(), HasSubstr("b8 gives the most throughput"));
  EXPECT_TRUE(Recommend(nlohmann::ordered_json::array(), std::nullopt)["case"].is_null());
}

TEST(Recommend, NeverAnEmulatedPrecision) {
  const nlohmann::ordered_json cases = {Case("fp32", 5, 200), Case("fp16", 4, 250)};
  EXPECT_EQ(Recommend(cases, std::nullopt)["case"], "fp16");
  EXPECT_EQ(Recommend(cases, std::nullopt, {"fp16"})["case"], "fp32");
  EXPECT_EQ(Recommend(cases, 10'000'000, {"fp16"})["case"], "fp32");
}

}  // namespace
}  // namespace plaster::evaluate
