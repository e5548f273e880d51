// plaster learn end to end (the R letter) on the untrained MLP of the `classifiers` fixture:
// it reaches a target accuracy and stops there, reports time-to-accuracy and training
// throughput, gives the same curve for the same seed, and saves a model that `plaster accuracy`
// scores as the last evaluation did.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "support/fixtures.h"

namespace plaster {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

const std::string kDir = PLASTER_CLASSIFIERS_DIR;

testing::CommandResult Plaster(const std::string& args) {
  return testing::RunCommand(std::string(PLASTER_BIN) + " " + args);
}

std::string MlpArgs(int epochs = 6) {
  return "learn " + kDir + "/mlp_init.onnx --data " + kDir + "/mlp_train.npz --val " + kDir +
         "/mlp_val.npz --batch 64 --lr 0.1 --threads 2 --epochs " + std::to_string(epochs);
}

TEST(Learn, ReachesTheTargetAndSavesWhatItReached) {
  TempDir dir;
  const std::string saved = (dir.path() / "mlp.trained.onnx").string();
  const auto r = Plaster(MlpArgs() + " --seed 7 --target-accuracy 82% --json --save " + saved);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["loss"], "cross-entropy");
  EXPECT_EQ(j["trainable"]["tensors"], 6);  // three Linear layers' weights and biases
  EXPECT_TRUE(j["trainable"]["frozen"].empty());
  ASSERT_FALSE(j["epochs_to_target"].is_null()) << r.out;
  const auto& epochs = j["epochs"];
  ASSERT_EQ(epochs.size(), j["epochs_to_target"].get<size_t>());  // it stopped at the target
  const double reached = epochs.back()["top1"]["value"].get<double>();
  EXPECT_GE(reached, 0.82);
  for (size_t e = 0; e + 1 < epochs.size(); ++e) {
    EXPECT_LT(epochs[e]["top1"]["value"].get<double>(), 0.82) << "an earlier epoch reached it";
  }
  EXPECT_LT(epochs.back()["loss"].get<double>(), epochs.front()["loss"].get<double>());
  // Time-to-accuracy: load + training, evaluation apart.
  double train = 0, eval = 0;
  for (const auto& e : epochs) {
    train += e["train_s"].get<double>();
    eval += e["eval_s"].get<double>();
  }
  EXPECT_NEAR(j["time_to_accuracy_s"].get<double>(), j["load_s"].get<double>() + train, 1e-6);
  EXPECT_NEAR(j["time_to_accuracy_wall_s"].get<double>(),
              j["load_s"].get<double>() + train + eval, 1e-6);
  EXPECT_GT(j["samples_per_s"].get<double>(), 0.0);
  EXPECT_EQ(j["steps_per_epoch"], 10000 / 64);

  // The saved model scores what the last evaluation scored (fused float kernels against the
  // trainer's unfused ones: a prediction on a near-tie may differ).
  const auto a = Plaster("accuracy " + saved + " --data " + kDir + "/mlp_val.npz --json");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const double scored =
      nlohmann::json::parse(a.out)["precisions"][0]["top1"]["value"].get<double>();
  EXPECT_NEAR(scored, reached, 0.002);
}

TEST(Learn, ACnnWithBatchNormalizationLearns) {
  // BatchNormalization trains on each batch's statistics and updates its running ones, which
  // the evaluations and the saved model use (Note [Training]).
  TempDir dir;
  const std::string saved = (dir.path() / "cnn.trained.onnx").string();
  const auto r = Plaster("learn " + kDir + "/cnn_init.onnx --data " + kDir + "/cnn_train.npz --val " +
                         kDir + "/cnn_val.npz --batch 64 --lr 0.05 --epochs 5 --threads 2 " +
                         "--target-accuracy 60% --json --save " + saved);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j["epochs_to_target"].is_null()) << r.out;
  EXPECT_EQ(j["trainable"]["frozen"].size(), 6u);  // three BatchNormalizations' statistics
  const double reached = j["epochs"].back()["top1"]["value"].get<double>();
  const auto a = Plaster("accuracy " + saved + " --data " + kDir + "/cnn_val.npz --json");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NEAR(nlohmann::json::parse(a.out)["precisions"][0]["top1"]["value"].get<double>(),
              reached, 0.002);
}

TEST(Learn, TheSameSeedGivesTheSameCurve) {
  const std::string args = MlpArgs(2) + " --seed 7 --limit 2000 --val-limit 500 --json";
  const auto a = Plaster(args);
  const auto b = Plaster(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  ASSERT_EQ(ja["epochs"].size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_EQ(ja["epochs"][e]["loss"], jb["epochs"][e]["loss"]) << e;
    EXPECT_EQ(ja["epochs"][e]["top1"]["value"], jb["epochs"][e]["top1"]["value"]) << e;
  }
  // Another seed visits the samples in another order.
  const auto c = Plaster(MlpArgs(2) + " --limit 2000 --val-limit 500 --json --seed 8");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(nlohmann::json::parse(c.out)["epochs"][0]["loss"], ja["epochs"][0]["loss"]);
}

TEST(Learn, RunsRepeatWithTheNextSeedsAndTakeTheOlympicMean) {
  const auto r = Plaster(MlpArgs(3) + " --seed 7 --limit 2000 --val-limit 500 --target-accuracy 60% "
                                      "--runs 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["runs"].size(), 3u);
  std::vector<double> times;
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(j["runs"][k]["seed"], 7 + k);
    ASSERT_FALSE(j["runs"][k]["time_to_accuracy_s"].is_null()) << r.out;
    times.push_back(j["runs"][k]["time_to_accuracy_s"].get<double>());
  }
  std::sort(times.begin(), times.end());
  EXPECT_DOUBLE_EQ(j["olympic_time_to_accuracy_s"].get<double>(), times[1]);  // of 3: the middle
  EXPECT_DOUBLE_EQ(j["time_to_accuracy_min_s"].get<double>(), times[0]);
  EXPECT_DOUBLE_EQ(j["time_to_accuracy_max_s"].get<double>(), times[2]);
  // The curve is the first run's.
  EXPECT_EQ(j["time_to_accuracy_s"], j["runs"][0]["time_to_accuracy_s"]);
}

TEST(Learn, ReLearnsOnNewDataFromTrainedWeights) {
  // Note [Initial weights]: the CNN trained on the fixture's data, then new data under other
  // lighting (cnn_shift_*.npz), which the trained weights classify poorly.
  TempDir dir;
  const std::string trained = (dir.path() / "cnn.trained.onnx").string();
  const std::string cnn = "learn " + kDir + "/cnn_init.onnx --batch 64 --threads 2 --json ";
  const auto first = Plaster(cnn + "--data " + kDir + "/cnn_train.npz --val " + kDir +
                             "/cnn_val.npz --lr 0.05 --epochs 6 --target-accuracy 70% --save " +
                             trained);
  ASSERT_EQ(first.exit_code, 0) << first.err;

  // Already at the target on its own data: no training at all, and time-to-accuracy is the load.
  const auto met = Plaster(cnn + "--data " + kDir + "/cnn_train.npz --val " + kDir +
                           "/cnn_val.npz --epochs 3 --target-accuracy 70% --init " + trained);
  ASSERT_EQ(met.exit_code, 0) << met.err;
  const auto m = nlohmann::json::parse(met.out);
  EXPECT_EQ(m["epochs_to_target"], 0);
  ASSERT_EQ(m["epochs"].size(), 1u);
  EXPECT_TRUE(m["epochs"][0]["loss"].is_null());
  EXPECT_DOUBLE_EQ(m["time_to_accuracy_s"].get<double>(), m["load_s"].get<double>());
  // Every weight and BatchNormalization statistic came from the file (11 + 6).
  EXPECT_EQ(m["init"]["tensors"], 17);

  // New data: the trained weights start low and recover the target within two epochs.
  const auto again = Plaster(cnn + "--data " + kDir + "/cnn_shift_train.npz --val " + kDir +
                             "/cnn_shift_val.npz --lr 0.02 --epochs 4 --target-accuracy 70% "
                             "--init " + trained);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto j = nlohmann::json::parse(again.out);
  EXPECT_EQ(j["epochs"][0]["epoch"], 0);
  EXPECT_LT(j["epochs"][0]["top1"]["value"].get<double>(), 0.5);
  ASSERT_FALSE(j["epochs_to_target"].is_null()) << again.out;
  EXPECT_LE(j["epochs_to_target"].get<int>(), 2);
  EXPECT_THAT(again.err, HasSubstr("before training (--init " + trained + "): val top-1"));

  // A file that is not a trained copy of the model.
  const auto other = Plaster(cnn + "--data " + kDir + "/cnn_train.npz --val " + kDir +
                             "/cnn_val.npz --init " + kDir + "/mlp.onnx");
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_THAT(other.err, HasSubstr("--init " + kDir + "/mlp.onnx: none of its"));
}

TEST(Learn, BadInputIsOneLineNamingIt) {
  const auto no_labels = Plaster("learn " + kDir + "/mlp_init.onnx --data " + kDir +
                                 "/mlp_calib.npz --val " + kDir + "/mlp_val.npz");
  EXPECT_EQ(no_labels.exit_code, 2);
  EXPECT_THAT(no_labels.err, HasSubstr("training needs labels"));
  const auto target = Plaster(MlpArgs() + " --target-accuracy 120%");
  EXPECT_EQ(target.exit_code, 2);
  EXPECT_THAT(target.err, HasSubstr("--target-accuracy '120%'"));
  const auto optimizer = Plaster(MlpArgs() + " --optimizer lamb");
  EXPECT_EQ(optimizer.exit_code, 2);
  EXPECT_THAT(optimizer.err, HasSubstr("--optimizer 'lamb'"));
  const auto int8 = Plaster(MlpArgs() + " --precision int8");
  EXPECT_EQ(int8.exit_code, 2);
  EXPECT_THAT(int8.err, HasSubstr("--precision int8: engine 'torch' trains in fp32"));
}

}  // namespace
}  // namespace plaster
