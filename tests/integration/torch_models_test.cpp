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

INSTANTIATE_TEST_SUITE_P(Exported, TorchModel,
                         ::testing::Values("resnet50", "mobilenet_v2", "squeezenet1_1",
                                           "densenet121", "inception_v3", "efficientnet_b0",
                                           "vit_b_16", "bert_like", "lstm"));

}  // namespace
}  // namespace plaster::engine
