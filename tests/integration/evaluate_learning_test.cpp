// The R letter in `plaster evaluate` (Note [Learning in evaluate]) on the classifiers fixture:
// every torch case reports training samples/s; with --train-data and --target-accuracy,
// time-to-accuracy on --data; a precision the engine cannot train leaves R unavailable with the
// reason, and the case still passes; the record validates against its schema.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace plaster {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

const std::string kDir = PLASTER_CLASSIFIERS_DIR;

testing::CommandResult Plaster(const TempDir& dir, const std::string& args) {
  return testing::RunCommand("XDG_CACHE_HOME=" + (dir.path() / "cache").string() + " " +
                             PLASTER_BIN + " " + args + " --jsonl " +
                             (dir.path() / "r.jsonl").string() + " --json " +
                             (dir.path() / "r.json").string());
}

void ExpectValid(const std::filesystem::path& record) {
  const auto r = testing::RunCommand(std::string(PLASTER_PYTHON) + " " + PLASTER_SOURCE_DIR +
                                     "/tools/validate_record.py " + PLASTER_SOURCE_DIR +
                                     "/docs/schema/evaluation.schema.json " + record.string());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

const nlohmann::json* Metric(const nlohmann::json& c, const std::string& name) {
  for (const auto& m : c["metrics"]) {
    if (m["name"] == name) return &m;
  }
  return nullptr;
}

TEST(EvaluateLearning, EveryCaseThatCanTrainReportsTrainingThroughput) {
  TempDir dir;
  const auto r = Plaster(dir, "evaluate " + kDir + "/mlp_init.onnx --batch 64 --precision "
                              "fp32,int8 --threads 1 --budget 16s");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectValid(dir.path() / "r.json");
  const auto record = nlohmann::json::parse(testing::Slurp(dir.path() / "r.json"));
  ASSERT_EQ(record["cases"].size(), 2u);
  const auto& fp32 = record["cases"][0];
  ASSERT_EQ(fp32["status"], "passed") << fp32["reason"];
  EXPECT_EQ(fp32["letters"]["R"]["status"], "measured") << fp32["letters"]["R"];
  const auto* rate = Metric(fp32, "r.training_samples_per_s");
  ASSERT_NE(rate, nullptr);
  EXPECT_GT((*rate)["value"].get<double>(), 0);
  EXPECT_EQ((*rate)["samples"], "training_samples_per_s");
  EXPECT_GE(fp32["samples"]["training_samples_per_s"].size(), 2u);
  EXPECT_THAT((*rate)["how"].get<std::string>(), HasSubstr("class labels (cross-entropy loss)"));
  EXPECT_EQ((*Metric(fp32, "r.trainable_parameters"))["value"], 84488);
  const auto* tta = Metric(fp32, "r.time_to_accuracy");
  ASSERT_NE(tta, nullptr);
  EXPECT_EQ((*tta)["source"], "unavailable");
  EXPECT_THAT((*tta)["reason"].get<std::string>(), HasSubstr("needs --train-data"));
  // int8 inference, but no int8 training: R says why, and the case is not failed for it.
  const auto& int8 = record["cases"][1];
  EXPECT_EQ(int8["status"], "passed") << int8["reason"];
  EXPECT_EQ(int8["letters"]["R"]["status"], "unavailable");
  EXPECT_THAT(int8["letters"]["R"]["reason"].get<std::string>(),
              HasSubstr("--precision int8: engine 'torch' trains in fp32"));
  EXPECT_THAT(r.out, HasSubstr("R learning"));
}

TEST(EvaluateLearning, TimeToAccuracyOnTheTrainingSetEvaluatedOnData) {
  TempDir dir;
  const auto r = Plaster(dir, "evaluate " + kDir + "/mlp_init.onnx --batch 64 --threads 2 " +
                              "--budget 40s --data " + kDir + "/mlp_val.npz --limit 1000 " +
                              "--train-data " + kDir + "/mlp_train.npz --target-accuracy 80% " +
                              "--lr 0.1 --train-epochs 8");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectValid(dir.path() / "r.json");
  const auto record = nlohmann::json::parse(testing::Slurp(dir.path() / "r.json"));
  const auto& c = record["cases"][0];
  ASSERT_EQ(c["status"], "passed") << c["reason"];
  const auto* tta = Metric(c, "r.time_to_accuracy");
  ASSERT_NE(tta, nullptr);
  ASSERT_EQ((*tta)["source"], "measured") << (*tta).dump();
  EXPECT_GT((*tta)["value"].get<double>(), 0);
  EXPECT_THAT((*tta)["how"].get<std::string>(), HasSubstr("top-1 80.00%"));
  const auto* epochs = Metric(c, "r.epochs_to_target");
  ASSERT_NE(epochs, nullptr);
  EXPECT_GE((*epochs)["value"].get<int>(), 1);
  EXPECT_THAT((*Metric(c, "r.training_samples_per_s"))["how"].get<std::string>(),
              HasSubstr("mlp_train.npz"));
  EXPECT_THAT(r.out, HasSubstr(" s"));  // the R cell: "N /s · TTA T s"
}

TEST(EvaluateLearning, BadOptionsAreOneLine) {
  TempDir dir;
  const auto alone = Plaster(dir, "evaluate " + kDir + "/mlp_init.onnx --train-data " + kDir +
                                  "/mlp_train.npz");
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_THAT(alone.err, HasSubstr("--train-data and --target-accuracy go together"));
  const auto no_val = Plaster(dir, "evaluate " + kDir + "/mlp_init.onnx --train-data " + kDir +
                                   "/mlp_train.npz --target-accuracy 80%");
  EXPECT_EQ(no_val.exit_code, 2);
  EXPECT_THAT(no_val.err, HasSubstr("evaluated on --data, which is missing"));
  const auto missing = Plaster(dir, "evaluate " + kDir + "/mlp_init.onnx --data " + kDir +
                                    "/mlp_val.npz --train-data nowhere.npz --target-accuracy 80%");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("--train-data nowhere.npz: no such file"));
}

}  // namespace
}  // namespace plaster
