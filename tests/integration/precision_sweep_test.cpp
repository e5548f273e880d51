// The precision sweep end to end on a model with real accuracy (the trained CNN of the
// `classifiers` fixture): `plaster evaluate --precision fp32,int8 --data --calibration` fills the
// A letter of every case and sets int8 against fp32 as paired data with MLPerf's verdict; the
// record validates against its schema. `plaster accuracy` shows the same figures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
  const testing::CommandResult valid = testing::RunCommand(
      std::string(PLASTER_PYTHON) + " " + PLASTER_SOURCE_DIR + "/tools/validate_record.py " +
      PLASTER_SOURCE_DIR + "/docs/schema/evaluation.schema.json " + (dir / "r.json").string());
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
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

}  // namespace
}  // namespace plaster
