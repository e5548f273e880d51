// The precision sweep end to end on a model with real accuracy (the trained CNN of the
// `classifiers` fixture): `plaster evaluate --precision fp32,int8 --data --calibration` fills the
// A letter of every case and sets int8 against fp32 as paired data with MLPerf's verdict; the
// record validates against its schema. `plaster accuracy` shows the same figures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace plaster {
namespace {

using ::testing::HasSubstr;
using testing::Slurp;
using testing::TempDir;

const std::string kDir = PLASTER_CLASSIFIERS_DIR;

testing::CommandResult Plaster(const std::string& args) {
  return testing::RunCommand(std::string(PLASTER_BIN) + " " + args);
}

// The record against docs/schema/evaluation.schema.json (tools/validate_record.py).
void ExpectValidRecord(const std::filesystem::path& path) {
  const testing::CommandResult valid = testing::RunCommand(
      std::string(PLASTER_PYTHON) + " " + PLASTER_SOURCE_DIR + "/tools/validate_record.py " +
      PLASTER_SOURCE_DIR + "/docs/schema/evaluation.schema.json " + path.string());
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
}

const nlohmann::json* Metric(const nlohmann::json& c, const std::string& name) {
  for (const auto& m : c["metrics"]) {
    if (m["name"] == name) return &m;
  }
  return nullptr;
}

bool OffersInt8() {
  return Plaster("run builtin:resnet8 --engine torch --precision int8").exit_code == 0;
}

TEST(PrecisionSweep, EvaluateFillsAccuracyAndThePairedDelta) {
  if (!OffersInt8()) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  TempDir dir;
  const auto r = Plaster("evaluate " + kDir + "/cnn.onnx --precision fp32,int8 --batch 50 --data " +
                         kDir + "/cnn_val.npz --calibration " + kDir +
                         "/cnn_calib.npz --calibration-method percentile --budget 30s --jsonl " +
                         (dir / "r.jsonl").string() + " --json " + (dir / "r.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectValidRecord(dir / "r.json");
  const auto record = nlohmann::json::parse(Slurp(dir / "r.json"));
  EXPECT_EQ(record["context"]["sweep"]["data"]["calibration_method"], "percentile");
  ASSERT_EQ(record["cases"].size(), 2u);
  const auto& fp32 = record["cases"][0];
  const auto& int8 = record["cases"][1];
  for (const auto* c : {&fp32, &int8}) {
    SCOPED_TRACE((*c)["id"].get<std::string>());
    EXPECT_EQ((*c)["letters"]["A"]["status"], "measured");
    const auto* top1 = Metric(*c, "accuracy.top1");
    ASSERT_NE(top1, nullptr);
    EXPECT_GT((*top1)["value"].get<double>(), 70.0);
    EXPECT_LT((*top1)["interval"]["lower"].get<double>(), (*top1)["value"].get<double>());
    EXPECT_EQ((*c)["samples"]["accuracy.top1_correct"].size(), 2000u);
  }
  EXPECT_EQ(Metric(fp32, "accuracy.delta"), nullptr);  // the baseline itself
  const auto* delta = Metric(int8, "accuracy.delta");
  ASSERT_NE(delta, nullptr);
  EXPECT_EQ((*delta)["unit"], "points");
  EXPECT_LE(std::abs((*delta)["value"].get<double>()), 1.0);
  EXPECT_THAT((*delta)["how"].get<std::string>(), HasSubstr("paired against case " +
                                                            fp32["id"].get<std::string>()));
  EXPECT_THAT((*delta)["how"].get<std::string>(), HasSubstr("McNemar exact p = "));
  EXPECT_TRUE((*delta).contains("interval"));
  const auto* verdict = Metric(int8, "accuracy.meets_target");
  ASSERT_NE(verdict, nullptr);
  EXPECT_EQ((*verdict)["value"], true);
  const auto* precision = Metric(int8, "p.precision");
  ASSERT_NE(precision, nullptr);
  EXPECT_EQ((*precision)["value"], "int8: 4 of 4 compute nodes");
  EXPECT_THAT((*precision)["how"].get<std::string>(), HasSubstr("static: activation ranges by "
                                                                "percentile 99.99% on cnn_calib"));
  ASSERT_NE(Metric(int8, "p.calibration"), nullptr);
  EXPECT_EQ(Metric(fp32, "p.calibration"), nullptr);
  // The scorecard shows the difference beside the accuracy.
  EXPECT_THAT(r.out, HasSubstr("(Δ "));
}

TEST(PrecisionSweep, AccuracyShowsInt8BesideFp32) {
  if (!OffersInt8()) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  const auto r = Plaster("accuracy " + kDir + "/cnn.onnx --data " + kDir +
                         "/cnn_val.npz --precision fp32,int8 --batch 50 --calibration " + kDir +
                         "/cnn_calib.npz --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["precisions"].size(), 2u) << r.out;
  const auto& int8 = j["precisions"][1];
  EXPECT_EQ(int8["precision"], "int8");
  EXPECT_THAT(int8["compute"]["quantization"].get<std::string>(),
              HasSubstr("static: activation ranges by entropy (KL divergence) on cnn_calib.npz"));
  EXPECT_EQ(int8["delta"]["meets_target"], true);
}

// `plaster optimize` end to end: accuracy once per precision, a batch ladder per precision, the
// front and the recommendation in a record that validates; int8's timed cases reuse the ranges
// its accuracy case calibrated (Note [Calibration cache]); the exported model computes the
// recommended configuration's accuracy.
TEST(PrecisionSweep, OptimizeRecommendsAndExports) {
  if (!OffersInt8()) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  TempDir dir;
  const std::string exported = (dir / "cnn.best.onnx").string();
  const auto r = Plaster("optimize " + kDir + "/cnn.onnx --data " + kDir +
                         "/cnn_val.npz --limit 600 --calibration " + kDir +
                         "/cnn_calib.npz --precision fp32,fp16,int8 --batch 1,8,64 --latency-bound "
                         "200ms --budget 30s --jsonl " + (dir / "o.jsonl").string() + " --json " +
                         (dir / "o.json").string() + " --export " + exported);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectValidRecord(dir / "o.json");
  const auto record = nlohmann::json::parse(Slurp(dir / "o.json"));
  const auto& opt = record["optimization"];
  ASSERT_EQ(opt["accuracy"].size(), 3u);
  std::map<std::string, double> accuracy;
  for (const auto& a : opt["accuracy"]) {
    EXPECT_EQ(a["meets_target"], true) << a.dump();
    accuracy[a["variant"].get<std::string>()] = a["value"].get<double>();
  }
  EXPECT_GT(accuracy["torch/cpu/fp32"], 70.0);
  // Accuracy cases first, then the ladders; every int8 timing case found the cached ranges.
  int accuracy_cases = 0, timing_cases = 0;
  for (const auto& c : record["cases"]) {
    SCOPED_TRACE(c["id"].get<std::string>());
    EXPECT_EQ(c["status"], "passed");
    if (c["role"] == "accuracy") {
      ++accuracy_cases;
      EXPECT_EQ(c["letters"]["A"]["status"], "measured");
      EXPECT_EQ(c["letters"]["L"]["status"], "unavailable");
      EXPECT_EQ(c["precision"] == "int8", Metric(c, "p.calibration") != nullptr);
    } else {
      ++timing_cases;
      EXPECT_EQ(c["role"], "timing");
      EXPECT_EQ(c["letters"]["L"]["status"], "measured");
      EXPECT_EQ(Metric(c, "p.calibration"), nullptr);  // the cache, not a second calibration
      if (c["precision"] == "int8") {
        EXPECT_THAT((*Metric(c, "p.precision"))["how"].get<std::string>(),
                    HasSubstr("static: activation ranges by entropy"));
      }
    }
  }
  EXPECT_EQ(accuracy_cases, 3);
  EXPECT_GE(timing_cases, 2);
  // fp16 is emulated on this CPU: its accuracy is measured, and it is not timed.
  ASSERT_EQ(opt["ladders"].size(), 2u);
  ASSERT_EQ(opt["excluded"].size(), 1u);
  EXPECT_EQ(opt["excluded"][0]["variant"], "torch/cpu/fp16");
  EXPECT_THAT(opt["excluded"][0]["reason"].get<std::string>(), HasSubstr("emulates fp16 on cpu"));
  EXPECT_NEAR(accuracy["torch/cpu/fp16"], accuracy["torch/cpu/fp32"], 1.0);
  EXPECT_EQ(timing_cases + 0u, opt["ladders"][0]["batches"].size() + opt["ladders"][1]["batches"].size());
  ASSERT_FALSE(opt["front"].empty());
  const std::string chosen = record["recommendation"]["case"].get<std::string>();
  EXPECT_EQ(opt["recommended"], chosen);
  EXPECT_EQ(opt["front"][0]["case"], chosen);  // the front's fastest meets the target here
  EXPECT_THAT(r.out, HasSubstr("Recommended: " + chosen));
  EXPECT_THAT(r.out, HasSubstr("Exported: " + exported));

  // The exported model, run as it is (float32 arithmetic over its QDQ nodes, when int8 won),
  // gives the recommended precision's accuracy on the same samples.
  const bool int8 = chosen.find("/int8/") != std::string::npos;
  EXPECT_EQ(record["export"]["precision"], int8 ? "int8" : "fp32");
  const auto again = Plaster("accuracy " + exported + " --data " + kDir +
                             "/cnn_val.npz --limit 600 --batch 8 --json");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto j = nlohmann::json::parse(again.out);
  const double top1 = 100 * j["precisions"][0]["top1"]["value"].get<double>();
  EXPECT_NEAR(top1, accuracy[int8 ? "torch/cpu/int8" : "torch/cpu/fp32"], 0.2) << again.out;
}

// --objective energy: the front is accuracy against inferences per joule, and the recommendation
// the most inferences per joule (the TDP estimate's on a machine with no sensor, and said so).
TEST(PrecisionSweep, OptimizeForEnergy) {
  TempDir dir;
  const auto r = Plaster("optimize " + kDir + "/cnn.onnx --data " + kDir +
                         "/cnn_val.npz --limit 200 --precision fp32 --batch 1,16 --budget 12s "
                         "--objective energy --idle 300ms --jsonl " + (dir / "o.jsonl").string() +
                         " --json " + (dir / "o.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectValidRecord(dir / "o.json");
  const auto record = nlohmann::json::parse(Slurp(dir / "o.json"));
  const auto& opt = record["optimization"];
  EXPECT_EQ(opt["objective"], "energy");
  ASSERT_FALSE(opt["front"].empty());
  double previous = 1e300;
  for (const auto& p : opt["front"]) {
    const double per_joule = p["inferences_per_joule"].get<double>();
    EXPECT_LE(per_joule, previous);
    previous = per_joule;
  }
  EXPECT_EQ(record["recommendation"]["case"], opt["front"][0]["case"]);
  EXPECT_THAT(record["recommendation"]["reason"].get<std::string>(),
              HasSubstr("the most inferences per joule"));
  const auto bad = Plaster("optimize " + kDir + "/cnn.onnx --data " + kDir +
                           "/cnn_val.npz --objective joy");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "plaster: error: --objective 'joy': expected throughput or energy\n");
}

}  // namespace
}  // namespace plaster
