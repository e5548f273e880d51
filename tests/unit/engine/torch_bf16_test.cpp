// Note [BF16 sessions] in src/engine/torch/program.cpp: a bf16 session runs its fused
// convolutions and matrix products in bfloat16, agrees with the float32 session to bfloat16's
// precision, returns the types the model declares, and names every compute node it kept in
// float32.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>

#include "engine/registry.h"
#include "model/builder.h"
#include "support/engine_fixtures.h"
#include "support/fixtures.h"

namespace plaster::engine {
namespace {

using plaster::testing::ErrorOf;
using plaster::testing::Pattern;
using plaster::testing::TorchOffers;

// x [2,8,12,12] → Conv 3×3 (constant weights) → Relu → MaxPool 2×2 → Conv 1×1 whose weights are
// a graph input (no fused kernel: stays float32) → GlobalAveragePool → Flatten → Gemm → y [2,5].
model::Model SmallNet() {
  model::ModelBuilder b("small", 13);
  b.Input("x", onnx::TensorProto::FLOAT, {2, 8, 12, 12});
  b.Input("w_dynamic", onnx::TensorProto::FLOAT, {16, 16, 1, 1});
  b.Initializer("w1", {16, 8, 3, 3}, Pattern(16 * 8 * 9, 1));
  b.Initializer("b1", {16}, Pattern(16, 2));
  b.Initializer("w3", {5, 16}, Pattern(80, 3));
  b.Initializer("b3", {5}, Pattern(5, 4));
  b.Node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1").Ints("pads", {1, 1, 1, 1});
  b.Node("Relu", {"c1"}, {"r1"}, "relu1");
  b.Node("MaxPool", {"r1"}, {"p1"}, "pool1").Ints("kernel_shape", {2, 2}).Ints("strides", {2, 2});
  b.Node("Conv", {"p1", "w_dynamic"}, {"c2"}, "conv_dynamic");
  b.Node("GlobalAveragePool", {"c2"}, {"g"}, "gap");
  b.Node("Flatten", {"g"}, {"f"}, "flatten");
  b.Node("Gemm", {"f", "w3", "b3"}, {"y"}, "fc").Int("transB", 1);
  b.Output("y", onnx::TensorProto::FLOAT, {2, 5});
  return model::Model::FromBytes(b.Serialize(), "small.onnx");
}

std::vector<HostTensor> SmallNetInputs() {
  HostTensor x(onnx::TensorProto::FLOAT, {2, 8, 12, 12});
  const auto v = Pattern(x.NumElements(), 5);
  std::copy(v.begin(), v.end(), x.mutable_data_as<float>());
  HostTensor w(onnx::TensorProto::FLOAT, {16, 16, 1, 1});
  const auto u = Pattern(w.NumElements(), 6);
  std::copy(u.begin(), u.end(), w.mutable_data_as<float>());
  return {x, w};
}

TEST(TorchBf16, AgreesWithFloat32ToBfloat16Precision) {
  if (!TorchOffers(Precision::kBf16)) GTEST_SKIP() << "this CPU has no bf16 kernels in oneDNN";
  const model::Model m = SmallNet();
  SessionOptions bf16;
  bf16.precision = Precision::kBf16;
  const auto want = FindEngine("torch").Compile(m, {})->Run(SmallNetInputs());
  const auto got = FindEngine("torch").Compile(m, bf16)->Run(SmallNetInputs());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].dtype(), onnx::TensorProto::FLOAT);  // the model's type, not bfloat16
  ASSERT_EQ(got[0].shape(), want[0].shape());
  double scale = 0, worst = 0;
  for (int64_t k = 0; k < want[0].NumElements(); ++k) {
    scale = std::max(scale, std::abs(double{want[0].data_as<float>()[k]}));
    worst =
        std::max(worst, std::abs(double{got[0].data_as<float>()[k]} - want[0].data_as<float>()[k]));
  }
  ASSERT_GT(scale, 0.1);
  EXPECT_LE(worst, 2e-2 * scale);  // bfloat16 rounds to 2^-8 relative, over a few layers
  EXPECT_GT(worst, 0.0);           // it really computed in bfloat16
}

TEST(TorchBf16, NamesTheComputeNodesKeptInFloat32) {
  if (!TorchOffers(Precision::kBf16)) GTEST_SKIP() << "this CPU has no bf16 kernels in oneDNN";
  SessionOptions bf16;
  bf16.precision = Precision::kBf16;
  auto session = FindEngine("torch").Compile(SmallNet(), bf16);
  const PrecisionReport report = session->precision_report();
  EXPECT_EQ(report.requested, Precision::kBf16);
  EXPECT_EQ(report.compute_nodes, 3);
  ASSERT_EQ(report.kept.size(), 1u);
  EXPECT_EQ(report.kept[0].node, "conv_dynamic");
  EXPECT_NE(report.kept[0].reason.find("constant weights"), std::string::npos);
  EXPECT_EQ(report.Summary(), "bf16: 2 of 3 compute nodes (1 kept in fp32)");
  // The profile names the bf16 kernels.
  int bf16_kernels = 0;
  for (const auto& step : session->Profile(SmallNetInputs())) {
    bf16_kernels += step.kernel.find("bf16") != std::string::npos;
  }
  EXPECT_GE(bf16_kernels, 2);

  SessionOptions plain = bf16;
  plain.optimize = false;
  const PrecisionReport unoptimized =
      FindEngine("torch").Compile(SmallNet(), plain)->precision_report();
  EXPECT_EQ(unoptimized.kept.size(), 3u);
  EXPECT_NE(unoptimized.kept[0].reason.find("--no-optimize"), std::string::npos);
}

TEST(TorchBf16, Float32SessionsReportNothingKept) {
  auto session = FindEngine("torch").Compile(SmallNet(), {});
  const PrecisionReport report = session->precision_report();
  EXPECT_EQ(report.requested, Precision::kFp32);
  EXPECT_TRUE(report.kept.empty());
}

TEST(TorchBf16, DevicesTheEngineDoesNotOfferAreRefusedByName) {
  SessionOptions cuda;
  cuda.device = Device::kCuda;
  EXPECT_NE(ErrorOf([&] {
              FindEngine("torch").Compile(SmallNet(), cuda);
            }).find("engine 'torch' runs on cpu only in this build"),
            std::string::npos);
}

}  // namespace
}  // namespace plaster::engine
