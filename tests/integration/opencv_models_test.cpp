// The opencv engine on real models exported by tools/export_models.py (the `export_models`
// fixture): the CNNs OpenCV 4.6 imports match PyTorch within 1e-4 of the output's scale; the two
// it cannot import (MobileNetV2 at opset 14, the BERT-like encoder) are reported unsupported,
// node by node with OpenCV's reason, and never crash (issue 9's targets).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/registry.h"
#include "engine/tensor_file.h"
#include "support/fixtures.h"

namespace plaster::engine {
namespace {

model::Model Load(const std::string& name, int64_t batch) {
  model::LoadOptions options;
  options.batch = batch;
  return model::Model::FromFile(std::filesystem::path(PLASTER_MODELS_DIR) / (name + ".onnx"), options);
}

class OpenCvModel : public ::testing::TestWithParam<const char*> {};

TEST_P(OpenCvModel, MatchesPyTorch) {
  const std::filesystem::path dir = PLASTER_MODELS_DIR;
  const std::string name = GetParam();
  const HostTensor input = ReadNpy(dir / (name + ".input.npy"));
  const HostTensor want = ReadNpy(dir / (name + ".output.npy"));
  const model::Model m = Load(name, input.shape()[0]);
  ASSERT_TRUE(FindEngine("opencv").Support(m).AllSupported());
  SessionOptions two;
  two.threads = 2;
  const std::vector<HostTensor> got = FindEngine("opencv").Compile(m, two)->Run({input});
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].shape(), want.shape());
  double scale = 0, worst = 0;
  for (int64_t k = 0; k < want.NumElements(); ++k) {
    scale = std::max(scale, std::fabs(static_cast<double>(want.data_as<float>()[k])));
    worst = std::max(worst, std::fabs(static_cast<double>(got[0].data_as<float>()[k]) -
                                      want.data_as<float>()[k]));
  }
  EXPECT_LE(worst / scale, 1e-4) << name << ": max abs error " << worst << ", scale " << scale;
}

INSTANTIATE_TEST_SUITE_P(Cnns, OpenCvModel,
                         ::testing::Values("resnet50", "squeezenet1_1", "efficientnet_b0"));

struct Unimportable {
  const char* model;
  const char* op_type;
  const char* first_node;
  const char* reason;
};

class OpenCvUnimportable : public ::testing::TestWithParam<Unimportable> {};

TEST_P(OpenCvUnimportable, IsUnsupportedWithTheNodeAndTheReason) {
  const Unimportable u = GetParam();
  const model::Model m = Load(u.model, 1);
  const SupportReport report = FindEngine("opencv").Support(m);
  ASSERT_FALSE(report.AllSupported());
  const auto first = std::find_if(report.nodes.begin(), report.nodes.end(),
                                  [](const NodeSupport& n) { return !n.supported; });
  EXPECT_EQ(first->op_type, u.op_type);
  EXPECT_EQ(first->node, u.first_node);
  EXPECT_EQ(first->reason.rfind(u.reason, 0), 0u) << first->reason;
  for (const auto& n : report.nodes) {
    EXPECT_TRUE(n.supported || !n.reason.empty()) << n.node << " is unsupported without a reason";
  }
  const std::string error = plaster::testing::ErrorOf([&] { FindEngine("opencv").Compile(m, {}); });
  EXPECT_EQ(error.rfind(std::string("unsupported: node '") + u.first_node + "' (" + u.op_type + "): ", 0),
            0u)
      << error;
}

INSTANTIATE_TEST_SUITE_P(
    Models, OpenCvUnimportable,
    ::testing::Values(
        // Clip's bounds as inputs (opset ≥ 11); OpenCV 4.6 reads them as attributes only. Every
        // Clip (ReLU6) of the model is named.
        Unimportable{"mobilenet_v2", "Clip", "/features/features.0/features.0.2/Clip",
                     "parseClip: expected node_proto.input_size() == 1"},
        Unimportable{"bert_like", "Gather", "/layers.0/self_attn/Gather_3",
                     "Mat: assertion failed"}));

TEST(OpenCvUnimportableModel, MobileNetV2NamesEveryClip) {
  const model::Model m = Load("mobilenet_v2", 1);
  const SupportReport report = FindEngine("opencv").Support(m);
  int clips = 0, unsupported_clips = 0, others_unsupported = 0;
  for (const auto& n : report.nodes) {
    if (n.op_type == "Clip") {
      ++clips;
      unsupported_clips += !n.supported;
    } else {
      others_unsupported += !n.supported;
    }
  }
  EXPECT_EQ(clips, 35);
  EXPECT_EQ(unsupported_clips, 35);
  EXPECT_EQ(others_unsupported, 0);
}

}  // namespace
}  // namespace plaster::engine
