// The A letter on models with real accuracy: small classifiers trained by
// tools/train_classifiers.py (the `classifiers` fixture) on generated data, with PyTorch's own
// float32 predictions on their validation sets. plaster's float32 predictions must equal
// PyTorch's sample for sample, and bf16 and int8 (static, each calibration method, on the
// separate calibration set; and dynamic) must stay within 1 point of float32 top-1.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "accuracy/calibration_data.h"
#include "accuracy/measure_accuracy.h"
#include "engine/registry.h"
#include "engine/tensor_file.h"

namespace plaster::accuracy {
namespace {

class Classifier : public ::testing::TestWithParam<const char*> {};

model::Model Load(const std::string& name, int64_t batch) {
  model::LoadOptions options;
  options.batch = batch;
  return model::Model::FromFile(std::filesystem::path(PLASTER_CLASSIFIERS_DIR) / (name + ".onnx"),
                                options);
}

std::unique_ptr<Dataset> Validation(const model::Model& m, const std::string& name) {
  return OpenDataset(std::filesystem::path(PLASTER_CLASSIFIERS_DIR) / (name + "_val.npz"),
                     engine::InputSpecs(m), engine::OutputSpecs(m), {});
}

// PyTorch's predictions: the int64 `predictions` array of NAME_torch.npz, read through the
// dataset reader as the only "input" of a model that takes [N] int64.
std::vector<int64_t> TorchPredictions(const std::string& name) {
  const int32_t int64 = 7;  // onnx::TensorProto::INT64
  auto data = OpenDataset(std::filesystem::path(PLASTER_CLASSIFIERS_DIR) / (name + "_torch.npz"),
                          {{"predictions", int64, {1}}}, {}, {});
  std::vector<int64_t> out;
  for (int64_t i = 0; i < data->size(); ++i) {
    out.push_back(data->Read(i).inputs.at(0).data_as<int64_t>()[0]);
  }
  return out;
}

TEST_P(Classifier, Float32PredictionsEqualPyTorchsSampleForSample) {
  const std::string name = GetParam();
  const model::Model m = Load(name, 50);
  auto session = engine::FindEngine("torch").Compile(m, {});
  auto data = Validation(m, name);
  const AccuracyResult r = MeasureAccuracy(*session, *data);
  const std::vector<int64_t> want = TorchPredictions(name);
  ASSERT_EQ(r.predictions.size(), want.size());
  int64_t differ = 0;
  for (size_t i = 0; i < want.size(); ++i) differ += r.predictions[i] != want[i];
  EXPECT_EQ(differ, 0) << name;
  ASSERT_TRUE(r.top1);
  EXPECT_GT(r.top1->value, 0.5);   // trained: far above chance
  EXPECT_LT(r.top1->value, 0.97);  // and hard enough that precision can matter
  EXPECT_LT(r.top1->ci.low, r.top1->value);
  EXPECT_GT(r.top1->ci.high, r.top1->value);
}

TEST_P(Classifier, Bf16StaysWithinOnePointOfFloat32) {
  const std::string name = GetParam();
  const engine::Engine& torch = engine::FindEngine("torch");
  const auto offered = torch.precisions(engine::Device::kCpu);
  if (std::find(offered.begin(), offered.end(), engine::Precision::kBf16) == offered.end()) {
    GTEST_SKIP() << "this CPU has no bf16 kernels in oneDNN";
  }
  const model::Model m = Load(name, 64);  // the last batch is partial: 2000 = 31·64 + 16
  engine::SessionOptions bf16;
  bf16.precision = engine::Precision::kBf16;
  auto data = Validation(m, name);
  const AccuracyResult base = MeasureAccuracy(*torch.Compile(m, {}), *data);
  const AccuracyResult low = MeasureAccuracy(*torch.Compile(m, bf16), *data);
  const auto delta = CompareAccuracy(base, low, 0.01);
  ASSERT_TRUE(delta.has_value());
  EXPECT_EQ(delta->test, "McNemar exact");
  EXPECT_LE(std::abs(delta->difference), 0.01) << name;
  EXPECT_LE(delta->difference_ci.low, delta->difference);
  EXPECT_GE(delta->difference_ci.high, delta->difference);
  RecordProperty("fp32_top1", std::to_string(base.top1->value));
  RecordProperty("bf16_top1", std::to_string(low.top1->value));
  RecordProperty("mcnemar_p", std::to_string(delta->p_value));
}

TEST_P(Classifier, Int8StaysWithinOnePointOfFloat32) {
  const std::string name = GetParam();
  const engine::Engine& torch = engine::FindEngine("torch");
  const auto offered = torch.precisions(engine::Device::kCpu);
  if (std::find(offered.begin(), offered.end(), engine::Precision::kInt8) == offered.end()) {
    GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  }
  const model::Model m = Load(name, 64);
  auto data = Validation(m, name);
  const AccuracyResult base = MeasureAccuracy(*torch.Compile(m, {}), *data);
  auto check = [&](const engine::SessionOptions& options, const std::string& what) {
    SCOPED_TRACE(what);
    auto session = torch.Compile(m, options);
    const AccuracyResult low = MeasureAccuracy(*session, *data);
    const auto delta = CompareAccuracy(base, low, 0.01);
    ASSERT_TRUE(delta.has_value());
    EXPECT_LE(std::abs(delta->difference), 0.01) << name;
    EXPECT_TRUE(session->precision_report().kept.empty());
    RecordProperty("int8_" + what + "_top1", std::to_string(low.top1->value));
    RecordProperty("int8_" + what + "_mcnemar_p", std::to_string(delta->p_value));
  };
  for (auto method : {engine::CalibrationMethod::kMinMax, engine::CalibrationMethod::kPercentile,
                      engine::CalibrationMethod::kEntropy}) {
    engine::SessionOptions int8;
    int8.precision = engine::Precision::kInt8;
    int8.quantization.method = method;
    int8.quantization.calibration = OpenCalibrationData(
        std::filesystem::path(PLASTER_CLASSIFIERS_DIR) / (name + "_calib.npz"),
        engine::InputSpecs(m), engine::OutputSpecs(m), 512);
    check(int8, engine::CalibrationMethodName(method));
  }
  if (name == "mlp") {  // no convolutions: every product is quantized dynamically
    engine::SessionOptions dynamic;
    dynamic.precision = engine::Precision::kInt8;
    check(dynamic, "dynamic");
  }
}

INSTANTIATE_TEST_SUITE_P(Trained, Classifier, ::testing::Values("cnn", "mlp"));

}  // namespace
}  // namespace plaster::accuracy
