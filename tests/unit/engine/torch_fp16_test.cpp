// Note [FP16 on CPU] in src/engine/torch/program.cpp: an fp16 session on CPU rounds its weights
// and every tensor between steps to IEEE half (ties to even, overflow to ±inf), computes inside
// each step in float32, and says in its precision report that it is emulated.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <limits>

#include "engine/registry.h"
#include "model/builder.h"
#include "support/engine_fixtures.h"
#include "support/fixtures.h"

namespace plaster::engine {
namespace {

using plaster::testing::Pattern;

// y = (x · c) + d with c and d initializers: two steps, so x·c is handed over rounded.
model::Model ScaleShift(float c, float d, int64_t width = 6) {
  model::ModelBuilder b("scale_shift", 13);
  b.Input("x", onnx::TensorProto::FLOAT, {1, width});
  b.Initializer("c", {1}, {c});
  b.Initializer("d", {1}, {d});
  b.Node("Mul", {"x", "c"}, {"m"}, "scale");
  b.Node("Add", {"m", "d"}, {"y"}, "shift");
  b.Output("y", onnx::TensorProto::FLOAT, {1, width});
  return model::Model::FromBytes(b.Serialize(), "scale_shift.onnx");
}

std::vector<float> RunOne(const model::Model& m, Precision precision, const std::vector<float>& x) {
  SessionOptions options;
  options.precision = precision;
  HostTensor input(onnx::TensorProto::FLOAT, {1, static_cast<int64_t>(x.size())});
  std::copy(x.begin(), x.end(), input.mutable_data_as<float>());
  const auto out = FindEngine("torch").Compile(m, options)->Run({input});
  EXPECT_EQ(out.at(0).dtype(), onnx::TensorProto::FLOAT);  // the model's type, not float16
  const float* y = out.at(0).data_as<float>();
  return {y, y + out.at(0).NumElements()};
}

TEST(TorchFp16, RoundsWhatItHandsOnToHalf) {
  const float eps = std::ldexp(1.0f, -10);  // half's spacing at 1
  const std::vector<float> x = {
      1 + eps / 2,      // a tie: to even, 1
      1 + 3 * eps / 2,  // a tie: to even, 1 + 2 eps
      1 + eps / 4,      // below half a spacing: 1
      65504,            // half's largest
      70000,            // past it: +inf
      -1e-9f,           // below half's smallest subnormal (2^-24): −0 (+0 after adding 0)
  };
  const model::Model m = ScaleShift(1, 0);
  const std::vector<float> fp32 = RunOne(m, Precision::kFp32, x);
  EXPECT_EQ(fp32, x);  // float32 keeps every value
  const std::vector<float> fp16 = RunOne(m, Precision::kFp16, x);
  ASSERT_EQ(fp16.size(), x.size());
  EXPECT_EQ(fp16[0], 1.0f);
  EXPECT_EQ(fp16[1], 1 + 2 * eps);
  EXPECT_EQ(fp16[2], 1.0f);
  EXPECT_EQ(fp16[3], 65504.0f);
  EXPECT_EQ(fp16[4], std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16[5], 0.0f);
}

TEST(TorchFp16, RoundsTheWeightsAndWhatOneStepHandsTheNext) {
  // c = 1 + 2^-12 rounds to 1 in half, so x·c = 2048 exactly, where float32 gives 2048.5.
  const model::Model weights = ScaleShift(1 + std::ldexp(1.0f, -12), 0, 1);
  EXPECT_EQ(RunOne(weights, Precision::kFp32, {2048})[0], 2048.5f);
  EXPECT_EQ(RunOne(weights, Precision::kFp16, {2048})[0], 2048.0f);
  // x·c = 40000·2 = 80000 overflows when handed to the Add, which cannot bring it back; in
  // float32 the Add does.
  const model::Model between = ScaleShift(2, -50000, 1);
  EXPECT_EQ(RunOne(between, Precision::kFp32, {40000})[0], 30000.0f);
  EXPECT_EQ(RunOne(between, Precision::kFp16, {40000})[0], std::numeric_limits<float>::infinity());
}

TEST(TorchFp16, SaysItIsEmulatedAndStaysCloseToFloat32) {
  const Engine& torch = FindEngine("torch");
  EXPECT_TRUE(plaster::testing::TorchOffers(Precision::kFp16));
  EXPECT_TRUE(torch.Emulates(Device::kCpu, Precision::kFp16));
  EXPECT_FALSE(torch.Emulates(Device::kCpu, Precision::kFp32));

  // A convolution and a product with constant weights, in fused steps.
  model::ModelBuilder b("net", 13);
  b.Input("x", onnx::TensorProto::FLOAT, {2, 4, 8, 8});
  b.Initializer("w", {8, 4, 3, 3}, Pattern(8 * 4 * 9, 1));
  b.Initializer("fc", {5, 8}, Pattern(40, 2));
  b.Node("Conv", {"x", "w"}, {"c"}, "conv").Ints("pads", {1, 1, 1, 1});
  b.Node("Relu", {"c"}, {"r"}, "relu");
  b.Node("GlobalAveragePool", {"r"}, {"g"}, "gap");
  b.Node("Flatten", {"g"}, {"f"}, "flatten");
  b.Node("Gemm", {"f", "fc"}, {"y"}, "gemm").Int("transB", 1);
  b.Output("y", onnx::TensorProto::FLOAT, {2, 5});
  const model::Model m = model::Model::FromBytes(b.Serialize(), "net.onnx");
  HostTensor x(onnx::TensorProto::FLOAT, {2, 4, 8, 8});
  const auto v = Pattern(x.NumElements(), 3);
  std::copy(v.begin(), v.end(), x.mutable_data_as<float>());
  SessionOptions fp16;
  fp16.precision = Precision::kFp16;
  auto session = torch.Compile(m, fp16);
  const auto got = session->Run({x});
  const auto want = torch.Compile(m, {})->Run({x});
  double scale = 0, worst = 0;
  for (int64_t k = 0; k < want[0].NumElements(); ++k) {
    scale = std::max(scale, std::abs(double{want[0].data_as<float>()[k]}));
    worst =
        std::max(worst, std::abs(double{got[0].data_as<float>()[k]} - want[0].data_as<float>()[k]));
  }
  ASSERT_GT(scale, 0.01);
  EXPECT_LE(worst, 4e-3 * scale);  // half rounds to 2^-11 relative, over a few roundings
  EXPECT_GT(worst, 0.0);           // it really rounded

  const PrecisionReport report = session->precision_report();
  EXPECT_EQ(report.requested, Precision::kFp16);
  EXPECT_EQ(report.compute_nodes, 2);
  EXPECT_TRUE(report.kept.empty());
  EXPECT_NE(report.hardware.find("emulated on CPU"), std::string::npos) << report.hardware;
  EXPECT_NE(report.hardware.find("the speed is not"), std::string::npos) << report.hardware;
  EXPECT_EQ(report.Summary(), "fp16: 2 of 2 compute nodes");
}

}  // namespace
}  // namespace plaster::engine
