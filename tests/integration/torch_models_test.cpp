// The torch engine against PyTorch itself: real models exported by tools/export_models.py (the
// `export_models` fixture) run on fixed inputs, and every output must match PyTorch's within
// 1e-4 of the output's scale (max |ref|).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/registry.h"
#include "engine/tensor_file.h"

namespace plaster::engine {
namespace {

class TorchModel : public ::testing::TestWithParam<const char*> {};

TEST_P(TorchModel, MatchesPyTorch) {
  const std::filesystem::path dir = PLASTER_MODELS_DIR;
  const std::string name = GetParam();
  const HostTensor input = ReadNpy(dir / (name + ".input.npy"));
  const HostTensor want = ReadNpy(dir / (name + ".output.npy"));
  model::LoadOptions options;
  options.batch = input.shape()[0];
  const model::Model m = model::Model::FromFile(dir / (name + ".onnx"), options);
  auto session = FindEngine("torch").Compile(m, {});
  const std::vector<HostTensor> got = session->Run({input});
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].shape(), want.shape());
  const float* g = got[0].data_as<float>();
  const float* w = want.data_as<float>();
  double scale = 0, worst = 0;
  for (int64_t k = 0; k < want.NumElements(); ++k) {
    scale = std::max(scale, std::fabs(static_cast<double>(w[k])));
    worst = std::max(worst, std::fabs(static_cast<double>(g[k]) - w[k]));
  }
  ASSERT_GT(scale, 0.0);
  EXPECT_LE(worst / scale, 1e-4) << name << ": max abs error " << worst << ", scale " << scale;
  RecordProperty("relative_error", std::to_string(worst / scale));
}

// oneDNN picks its kernels by shape, so a larger batch runs other code than the batch of the
// PyTorch reference: there the optimized session must agree with the unoptimized one (every node
// by its own ATen kernel) within 1e-4 of the output's scale.
TEST_P(TorchModel, OptimizedMatchesUnoptimizedAtBatch8) {
  const std::filesystem::path dir = PLASTER_MODELS_DIR;
  const std::string name = GetParam();
  const HostTensor two = ReadNpy(dir / (name + ".input.npy"));
  std::vector<int64_t> shape = two.shape();
  shape[0] = 8;
  HostTensor input(two.dtype(), shape);
  const int64_t per = two.NumElements() / two.shape()[0];
  for (int64_t k = 0; k < input.NumElements(); ++k) {  // the two samples, repeated and scaled
    input.mutable_data_as<float>()[k] =
        two.data_as<float>()[k % (2 * per)] * (1.0f + 0.05f * static_cast<float>(k / (2 * per)));
  }
  model::LoadOptions options;
  options.batch = 8;
  const model::Model m = model::Model::FromFile(dir / (name + ".onnx"), options);
  SessionOptions plain;
  plain.optimize = false;
  const std::vector<HostTensor> want = FindEngine("torch").Compile(m, plain)->Run({input});
  const std::vector<HostTensor> got = FindEngine("torch").Compile(m, {})->Run({input});
  ASSERT_EQ(got[0].shape(), want[0].shape());
  double scale = 0, worst = 0;
  for (int64_t k = 0; k < want[0].NumElements(); ++k) {
    const double w = want[0].data_as<float>()[k];
    scale = std::max(scale, std::fabs(w));
    worst = std::max(worst, std::fabs(got[0].data_as<float>()[k] - w));
  }
  ASSERT_GT(scale, 0.0);
  EXPECT_LE(worst / scale, 1e-4) << name << ": max abs error " << worst << ", scale " << scale;
}

// A bf16 session (Note [BF16 sessions] in program.cpp) against PyTorch's float32 output:
// bfloat16 keeps 8 bits of mantissa, so outputs differ by ~1e-2 of their scale, but the
// direction of the output vector must stay (cosine ≥ 0.999) and every compute node the session
// does not run in bf16 must be named with a reason.
TEST_P(TorchModel, Bf16StaysCloseToFloat32) {
  const std::filesystem::path dir = PLASTER_MODELS_DIR;
  const std::string name = GetParam();
  const Engine& torch = FindEngine("torch");
  const auto offered = torch.precisions(Device::kCpu);
  if (std::find(offered.begin(), offered.end(), Precision::kBf16) == offered.end()) {
    GTEST_SKIP() << "this CPU has no bf16 kernels in oneDNN";
  }
  const HostTensor input = ReadNpy(dir / (name + ".input.npy"));
  const HostTensor want = ReadNpy(dir / (name + ".output.npy"));
  model::LoadOptions options;
  options.batch = input.shape()[0];
  const model::Model m = model::Model::FromFile(dir / (name + ".onnx"), options);
  SessionOptions bf16;
  bf16.precision = Precision::kBf16;
  auto session = torch.Compile(m, bf16);
  const std::vector<HostTensor> got = session->Run({input});
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].shape(), want.shape());
  ASSERT_EQ(got[0].dtype(), want.dtype());
  const float* g = got[0].data_as<float>();
  const float* w = want.data_as<float>();
  double dot = 0, gg = 0, ww = 0;
  for (int64_t k = 0; k < want.NumElements(); ++k) {
    dot += static_cast<double>(g[k]) * w[k];
    gg += static_cast<double>(g[k]) * g[k];
    ww += static_cast<double>(w[k]) * w[k];
  }
  const double cosine = dot / std::sqrt(gg * ww);
  EXPECT_GE(cosine, 0.999) << name;
  RecordProperty("bf16_cosine", std::to_string(cosine));
  const PrecisionReport report = session->precision_report();
  EXPECT_EQ(report.requested, Precision::kBf16);
  EXPECT_GT(report.compute_nodes, 0) << name;
  EXPECT_FALSE(report.hardware.empty());
  for (const NodeSupport& kept : report.kept) {
    EXPECT_FALSE(kept.reason.empty()) << kept.node;
  }
  // Every convolution and matrix product of these models has constant weights: all in bf16,
  // except the LSTM's recurrent ops, which have no bf16 kernel.
  if (name == "lstm") {
    ASSERT_FALSE(report.kept.empty());
    for (const NodeSupport& kept : report.kept) EXPECT_EQ(kept.op_type, "LSTM") << kept.node;
  } else {
    EXPECT_TRUE(report.kept.empty()) << name << ": " << report.Summary();
  }
}

INSTANTIATE_TEST_SUITE_P(Exported, TorchModel,
                         ::testing::Values("resnet50", "mobilenet_v2", "squeezenet1_1",
                                           "densenet121", "inception_v3", "efficientnet_b0",
                                           "vit_b_16", "bert_like", "lstm"));

}  // namespace
}  // namespace plaster::engine
