// Size figures against PyTorch's own, for real models exported by tools/export_models.py (the
// `export_models` CTest fixture): parameters reconcile exactly, matrix-product MACs agree.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/size_analysis.h"

namespace plaster::model {
namespace {

struct Exported {
  SizeReport report;
  nlohmann::json torch;  // <name>.json: counts taken in PyTorch
};

Exported Load(const std::string& name) {
  const std::filesystem::path dir = PLASTER_MODELS_DIR;
  std::ifstream in(dir / (name + ".json"));
  if (!in) throw std::runtime_error("missing " + (dir / (name + ".json")).string());
  Exported e;
  e.torch = nlohmann::json::parse(in);
  LoadOptions batch_one;
  batch_one.batch = 1;
  e.report = AnalyzeSize(Model::FromFile(dir / (name + ".onnx"), batch_one));
  return e;
}

int64_t MatrixMacs(const SizeReport& r) {
  int64_t macs = 0;
  for (const auto& op : r.op_types) {
    if (op.op_type == "Conv" || op.op_type == "Gemm" || op.op_type == "MatMul") macs += op.macs;
  }
  return macs;
}

void ExpectWithinHalfPercent(int64_t ours, int64_t theirs) {
  const double error = std::abs(static_cast<double>(ours - theirs)) / static_cast<double>(theirs);
  EXPECT_LE(error, 0.005) << "plaster " << ours << " vs PyTorch " << theirs;
}

TEST(PyTorchSize, ResNet50) {
  Exported e = Load("resnet50");
  const SizeReport& r = e.report;
  // Exact element count of the exported weights.
  EXPECT_EQ(r.parameters, e.torch["onnx_params"].get<int64_t>());
  EXPECT_EQ(r.parameters, 25530472);
  // PyTorch counts 25,557,032: BatchNorm folded into the 53 convolutions explains the rest.
  ASSERT_TRUE(r.folded_batchnorm.has_value());
  EXPECT_EQ(r.folded_batchnorm->conv_nodes, 53);
  EXPECT_EQ(r.folded_batchnorm->channels, e.torch["bn_channels"].get<int64_t>());
  EXPECT_EQ(r.parameters + r.folded_batchnorm->channels, e.torch["torch_params"].get<int64_t>());
  // Conv + Gemm MACs: exactly the hook count, 4,089,184,256 per 224×224 image.
  EXPECT_EQ(MatrixMacs(r), e.torch["torch_macs_per_sample"].get<int64_t>());
  EXPECT_EQ(MatrixMacs(r), 4089184256);
  EXPECT_TRUE(r.uncounted.empty());
}

TEST(PyTorchSize, MobileNetV2) {
  Exported e = Load("mobilenet_v2");
  const SizeReport& r = e.report;
  EXPECT_EQ(r.parameters, e.torch["onnx_params"].get<int64_t>());
  ASSERT_TRUE(r.folded_batchnorm.has_value());
  EXPECT_EQ(r.parameters + r.folded_batchnorm->channels, e.torch["torch_params"].get<int64_t>());
  ExpectWithinHalfPercent(MatrixMacs(r), e.torch["torch_macs_per_sample"].get<int64_t>());
  EXPECT_TRUE(r.uncounted.empty());
}

TEST(PyTorchSize, BertLikeEncoderCountsAttentionProducts) {
  Exported e = Load("bert_like");
  const SizeReport& r = e.report;
  EXPECT_EQ(r.parameters, e.torch["onnx_params"].get<int64_t>());
  EXPECT_EQ(r.parameters, e.torch["torch_params"].get<int64_t>());  // no BatchNorm to fold
  EXPECT_FALSE(r.folded_batchnorm.has_value());
  // Includes Q·Kᵀ and attention·V, whose shapes come from the exporter's Shape→Reshape chains.
  ExpectWithinHalfPercent(MatrixMacs(r), e.torch["torch_macs_per_sample"].get<int64_t>());
  EXPECT_TRUE(r.uncounted.empty());
  EXPECT_EQ(r.unknown_size_tensors, 0);
}

}  // namespace
}  // namespace plaster::model
