// Note [Fusion] in src/engine/torch/fusion.cpp: the exporters' GELU chain, the convolution
// chains and the matrix-product chains run as one step each, with the same values as the unfused
// program, and only when nothing else reads their intermediates; channels-last results reach every
// other kernel as it expects (Note [Layouts]).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/registry.h"
#include "model/builder.h"
#include "support/engine_fixtures.h"

namespace plaster::engine {
namespace {

using plaster::testing::Pattern;

// y = (x * (erf(x / √2) + 1)) * 0.5, spelled as torch.onnx.export spells it; with
// `expose_erf`, the Erf output is also a graph output.
model::Model Gelu(bool expose_erf) {
  model::ModelBuilder b("gelu");
  b.Input("x", onnx::TensorProto::FLOAT, {2, 8});
  auto constant = [&](const std::string& name, float v) { b.Initializer(name, {}, {v}); };
  constant("sqrt2", 1.4142135f);
  constant("one", 1.0f);
  constant("half", 0.5f);
  b.Node("Div", {"x", "sqrt2"}, {"d"}, "div");
  b.Node("Erf", {"d"}, {"e"}, "erf");
  b.Node("Add", {"e", "one"}, {"a"}, "add");
  b.Node("Mul", {"x", "a"}, {"m"}, "mul");
  b.Node("Mul", {"m", "half"}, {"y"}, "mul_half");
  b.Output("y", onnx::TensorProto::FLOAT, {2, 8});
  if (expose_erf) b.Output("e", onnx::TensorProto::FLOAT, {2, 8});
  return model::Model::FromBytes(b.Serialize(), "gelu.onnx");
}

HostTensor Input() {
  HostTensor x(onnx::TensorProto::FLOAT, {2, 8});
  for (int k = 0; k < 16; ++k) x.mutable_data_as<float>()[k] = -3.0f + 0.4f * static_cast<float>(k);
  return x;
}

TEST(TorchFusion, GeluChainRunsAsOneStepWithTheSameValues) {
  auto session = FindEngine("torch").Compile(Gelu(false), {});
  const auto steps = session->Profile({Input()});
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].fused, "GELU");
  EXPECT_EQ(steps[0].nodes.size(), 5u);
  const auto out = session->Run({Input()});
  const HostTensor x = Input();
  for (int k = 0; k < 16; ++k) {
    const double v = x.data_as<float>()[k];
    const double want = v * (std::erf(v / std::sqrt(2.0)) + 1.0) * 0.5;
    EXPECT_NEAR(out[0].data_as<float>()[k], want, 1e-6) << "at " << v;
  }
}

TEST(TorchFusion, NoFusionWhenAnIntermediateIsReadElsewhere) {
  auto session = FindEngine("torch").Compile(Gelu(true), {});
  const auto steps = session->Profile({Input()});
  EXPECT_EQ(steps.size(), 5u);
  for (const auto& s : steps) EXPECT_TRUE(s.fused.empty()) << s.label;
}

// x [1,8,10,10] → conv_a (3×3) → BatchNormalization → Add(·, conv_r(x)) → Relu → y1;
// conv_r (1×1, the "downsample" branch) comes after conv_a in the file, so the Add's second
// input is computed after the chain starts. y1 → depthwise conv_c (stride 2, asymmetric pads)
// → Clip(0, 0.5) → c (a graph output) → Transpose (a kernel that wants NCHW) → t.
model::Model ResidualBlock() {
  model::ModelBuilder b("residual");
  b.Input("x", onnx::TensorProto::FLOAT, {1, 8, 10, 10});
  b.Initializer("wa", {16, 8, 3, 3}, Pattern(16 * 8 * 9, 1));
  b.Initializer("ba", {16}, Pattern(16, 2));
  b.Initializer("scale", {16}, Pattern(16, 3));
  b.Initializer("shift", {16}, Pattern(16, 4));
  b.Initializer("mean", {16}, Pattern(16, 5));
  std::vector<float> var = Pattern(16, 6);
  for (float& v : var) v = 0.5f + v * v;
  b.Initializer("var", {16}, var);
  b.Initializer("wr", {16, 8, 1, 1}, Pattern(16 * 8, 7));
  b.Initializer("wc", {16, 1, 3, 3}, Pattern(16 * 9, 8));
  b.Initializer("lo", {}, {0.0f});
  b.Initializer("hi", {}, {0.5f});
  b.Node("Conv", {"x", "wa", "ba"}, {"a"}, "conv_a").Ints("pads", {1, 1, 1, 1});
  b.Node("BatchNormalization", {"a", "scale", "shift", "mean", "var"}, {"abn"}, "bn")
      .Float("epsilon", 1e-3f);
  b.Node("Conv", {"x", "wr"}, {"r"}, "conv_r");
  b.Node("Add", {"abn", "r"}, {"s"}, "add");
  b.Node("Relu", {"s"}, {"y1"}, "relu");
  b.Node("Conv", {"y1", "wc"}, {"cc"}, "conv_c")
      .Int("group", 16)
      .Ints("strides", {2, 2})
      .Ints("pads", {0, 0, 1, 1});
  b.Node("Clip", {"cc", "lo", "hi"}, {"c"}, "clip");
  b.Node("Transpose", {"c"}, {"t"}, "transpose").Ints("perm", {0, 2, 3, 1});
  b.Output("c", onnx::TensorProto::FLOAT, {1, 16, 5, 5});
  b.Output("t", onnx::TensorProto::FLOAT, {1, 5, 5, 16});
  return model::Model::FromBytes(b.Serialize(), "residual.onnx");
}

HostTensor BlockInput() {
  HostTensor x(onnx::TensorProto::FLOAT, {1, 8, 10, 10});
  const std::vector<float> v = Pattern(800, 9);
  std::copy(v.begin(), v.end(), x.mutable_data_as<float>());
  return x;
}

TEST(TorchFusion, ConvolutionChainsMatchTheUnfusedProgram) {
  const model::Model m = ResidualBlock();
  SessionOptions plain;
  plain.optimize = false;
  const auto want = FindEngine("torch").Compile(m, plain)->Run({BlockInput()});
  const auto got = FindEngine("torch").Compile(m, {})->Run({BlockInput()});
  ASSERT_EQ(got.size(), 2u);
  for (size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].shape(), want[o].shape());
    double scale = 0;
    for (int64_t k = 0; k < want[o].NumElements(); ++k) {
      scale = std::max(scale, std::abs(double{want[o].data_as<float>()[k]}));
    }
    ASSERT_GT(scale, 0.1);  // the pattern reaches the outputs (not all clipped to 0)
    for (int64_t k = 0; k < want[o].NumElements(); ++k) {
      EXPECT_NEAR(got[o].data_as<float>()[k], want[o].data_as<float>()[k], 1e-5 * scale)
          << "output " << o << " at " << k;
    }
  }
}

TEST(TorchFusion, ConvolutionChainsNameEveryNodeTheyRun) {
  auto session = FindEngine("torch").Compile(ResidualBlock(), {});
  std::map<std::string, std::vector<std::string>> fused;  // what → nodes
  for (const auto& s : session->Profile({BlockInput()})) fused[s.fused] = s.nodes;
  using V = std::vector<std::string>;
  // conv_r reaches the Add second: conv_a's chain has taken it, so conv_r runs alone.
  EXPECT_EQ(fused["Conv + BatchNormalization + Add + Relu"], (V{"conv_a", "bn", "add", "relu"}));
  EXPECT_EQ(fused["Conv + Clip"], (V{"conv_c", "clip"}));
  EXPECT_EQ(fused[""], (V{"transpose"}));  // the last unfused step
}

TEST(TorchFusion, UnoptimizedSessionsRunEveryNodeAlone) {
  SessionOptions plain;
  plain.optimize = false;
  auto session = FindEngine("torch").Compile(ResidualBlock(), plain);
  const auto steps = session->Profile({BlockInput()});
  EXPECT_EQ(steps.size(), 8u);
  for (const auto& s : steps) EXPECT_TRUE(s.fused.empty()) << s.label;
}

// LayerNormalization over the last axis as exporters before opset 17 spell it; with
// `expose_centred`, the Sub output is also a graph output (a third reader: no fusion).
model::Model LayerNorm(bool expose_centred) {
  model::ModelBuilder b("layernorm", 14);
  b.Input("x", onnx::TensorProto::FLOAT, {2, 3, 8});
  b.Initializer("two", {}, {2.0f});
  b.Initializer("eps", {}, {1e-5f});
  b.Initializer("gamma", {8}, Pattern(8, 11));
  b.Initializer("beta", {8}, Pattern(8, 12));
  b.Node("ReduceMean", {"x"}, {"mean"}, "mean").Ints("axes", {-1});
  b.Node("Sub", {"x", "mean"}, {"d"}, "sub");
  b.Node("Pow", {"d", "two"}, {"sq"}, "pow");
  b.Node("ReduceMean", {"sq"}, {"var"}, "var").Ints("axes", {-1});
  b.Node("Add", {"var", "eps"}, {"ve"}, "add_eps");
  b.Node("Sqrt", {"ve"}, {"sd"}, "sqrt");
  b.Node("Div", {"d", "sd"}, {"n"}, "div");
  b.Node("Mul", {"n", "gamma"}, {"scaled"}, "mul");
  b.Node("Add", {"scaled", "beta"}, {"y"}, "shift");
  b.Output("y", onnx::TensorProto::FLOAT, {2, 3, 8});
  if (expose_centred) b.Output("d", onnx::TensorProto::FLOAT, {2, 3, 8});
  return model::Model::FromBytes(b.Serialize(), "layernorm.onnx");
}

TEST(TorchFusion, LayerNormChainRunsAsOneStepWithTheSameValues) {
  HostTensor x(onnx::TensorProto::FLOAT, {2, 3, 8});
  const std::vector<float> v = Pattern(48, 13);
  std::copy(v.begin(), v.end(), x.mutable_data_as<float>());
  auto fused = FindEngine("torch").Compile(LayerNorm(false), {});
  const auto steps = fused->Profile({x});
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].fused, "LayerNormalization");
  EXPECT_EQ(steps[0].nodes.size(), 9u);
  SessionOptions plain;
  plain.optimize = false;
  const auto want = FindEngine("torch").Compile(LayerNorm(false), plain)->Run({x});
  const auto got = fused->Run({x});
  for (int64_t k = 0; k < 48; ++k) {
    EXPECT_NEAR(got[0].data_as<float>()[k], want[0].data_as<float>()[k], 1e-5) << "at " << k;
  }
}

TEST(TorchFusion, NoLayerNormFusionWhenTheCentredTensorIsReadElsewhere) {
  auto session = FindEngine("torch").Compile(LayerNorm(true), {});
  HostTensor x(onnx::TensorProto::FLOAT, {2, 3, 8});
  for (const auto& s : session->Profile({x})) EXPECT_NE(s.fused, "LayerNormalization");
}

// A transformer's feed-forward block as torch.onnx.export writes it, then a classifier Gemm:
// x [2,3,8] → MatMul(W1 [8,16]) → Add(b1) → GELU chain → MatMul(W2 [16,8]) → Add(b2) →
// Add(x) → Reshape [6,8] → Gemm(W3ᵀ, C, alpha 0.5, beta 2, transB) → Relu → y [6,4].
// With `expose_hidden`, the first MatMul's output is also a graph output.
model::Model FeedForward(bool expose_hidden) {
  model::ModelBuilder b("feedforward", 14);
  b.Input("x", onnx::TensorProto::FLOAT, {2, 3, 8});
  b.Initializer("w1", {8, 16}, Pattern(128, 21));
  b.Initializer("b1", {16}, Pattern(16, 22));
  b.Initializer("w2", {16, 8}, Pattern(128, 23));
  b.Initializer("b2", {8}, Pattern(8, 24));
  b.Initializer("w3", {4, 8}, Pattern(32, 25));
  b.Initializer("c3", {4}, Pattern(4, 26));
  b.Initializer("sqrt2", {}, {1.4142135f});
  b.Initializer("one", {}, {1.0f});
  b.Initializer("half", {}, {0.5f});
  b.InitializerInt64("rows", {2}, {6, 8});
  b.Node("MatMul", {"x", "w1"}, {"h"}, "linear1");
  b.Node("Add", {"b1", "h"}, {"hb"}, "bias1");
  b.Node("Div", {"hb", "sqrt2"}, {"d"}, "div");
  b.Node("Erf", {"d"}, {"e"}, "erf");
  b.Node("Add", {"e", "one"}, {"a"}, "add");
  b.Node("Mul", {"hb", "a"}, {"m"}, "mul");
  b.Node("Mul", {"m", "half"}, {"g"}, "mul_half");
  b.Node("MatMul", {"g", "w2"}, {"o"}, "linear2");
  b.Node("Add", {"b2", "o"}, {"ob"}, "bias2");
  b.Node("Add", {"x", "ob"}, {"r"}, "residual");
  b.Node("Reshape", {"r", "rows"}, {"flat"}, "reshape");
  b.Node("Gemm", {"flat", "w3", "c3"}, {"z"}, "classifier")
      .Float("alpha", 0.5f)
      .Float("beta", 2.0f)
      .Int("transB", 1);
  b.Node("Relu", {"z"}, {"y"}, "relu");
  b.Output("y", onnx::TensorProto::FLOAT, {6, 4});
  if (expose_hidden) b.Output("h", onnx::TensorProto::FLOAT, {2, 3, 16});
  return model::Model::FromBytes(b.Serialize(), "feedforward.onnx");
}

HostTensor FeedForwardInput() {
  HostTensor x(onnx::TensorProto::FLOAT, {2, 3, 8});
  const std::vector<float> v = Pattern(48, 27);
  std::copy(v.begin(), v.end(), x.mutable_data_as<float>());
  return x;
}

TEST(TorchFusion, MatrixProductChainsMatchTheUnfusedProgram) {
  SessionOptions plain;
  plain.optimize = false;
  const auto want =
      FindEngine("torch").Compile(FeedForward(false), plain)->Run({FeedForwardInput()});
  const auto got = FindEngine("torch").Compile(FeedForward(false), {})->Run({FeedForwardInput()});
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].shape(), want[0].shape());
  double scale = 0;
  int zeros = 0;  // the Relu must clip some outputs and pass others
  for (int64_t k = 0; k < want[0].NumElements(); ++k) {
    scale = std::max(scale, std::abs(double{want[0].data_as<float>()[k]}));
    zeros += want[0].data_as<float>()[k] == 0.0f;
  }
  ASSERT_GT(scale, 0.1);
  ASSERT_GT(zeros, 0);
  ASSERT_LT(zeros, 24);
  for (int64_t k = 0; k < want[0].NumElements(); ++k) {
    EXPECT_NEAR(got[0].data_as<float>()[k], want[0].data_as<float>()[k], 1e-5 * scale)
        << "at " << k;
  }
}

TEST(TorchFusion, MatrixProductChainsNameEveryNodeTheyRun) {
  auto session = FindEngine("torch").Compile(FeedForward(false), {});
  std::map<std::string, std::vector<std::string>> fused;  // what → nodes
  for (const auto& s : session->Profile({FeedForwardInput()})) fused[s.fused] = s.nodes;
  using V = std::vector<std::string>;
  EXPECT_EQ(fused["MatMul + Add + GELU"],
            (V{"linear1", "bias1", "div", "erf", "add", "mul", "mul_half"}));
  EXPECT_EQ(fused["MatMul + Add + Add"], (V{"linear2", "bias2", "residual"}));
  EXPECT_EQ(fused["Gemm + Relu"], (V{"classifier", "relu"}));
  EXPECT_EQ(fused[""], (V{"reshape"}));
}

TEST(TorchFusion, NoMatrixProductFusionWhenItsOutputIsReadElsewhere) {
  auto session = FindEngine("torch").Compile(FeedForward(true), {});
  const auto steps = session->Profile({FeedForwardInput()});
  // linear1 runs alone (its output is a graph output); the GELU chain fuses on its own.
  bool alone = false;
  for (const auto& s : steps) {
    if (s.nodes == std::vector<std::string>{"linear1"}) alone = s.fused.empty();
    EXPECT_NE(s.fused, "MatMul + Add + GELU") << s.label;
  }
  EXPECT_TRUE(alone);
  SessionOptions plain;
  plain.optimize = false;
  const auto want =
      FindEngine("torch").Compile(FeedForward(true), plain)->Run({FeedForwardInput()});
  const auto got = session->Run({FeedForwardInput()});
  for (size_t o = 0; o < 2; ++o) {
    for (int64_t k = 0; k < want[o].NumElements(); ++k) {
      EXPECT_NEAR(got[o].data_as<float>()[k], want[o].data_as<float>()[k], 1e-5)
          << o << " at " << k;
    }
  }
}

// Note [Direct oneDNN pooling]: pools on a convolution's channels-last output, in the windows
// where ONNX's and oneDNN's rules could part (ceil_mode, dilation, padding counted or not, a
// last window that stops short), give ATen's values.
model::Model Pools() {
  model::ModelBuilder b("pools", 13);
  b.Input("x", onnx::TensorProto::FLOAT, {2, 3, 11, 9});
  b.Initializer("w", {8, 3, 1, 1}, Pattern(24, 31));
  b.Node("Conv", {"x", "w"}, {"c"}, "conv");
  b.Node("MaxPool", {"c"}, {"max_ceil"}, "max_ceil")
      .Ints("kernel_shape", {3, 3})
      .Ints("strides", {2, 2})
      .Ints("pads", {1, 0, 0, 1})
      .Int("ceil_mode", 1);
  b.Node("MaxPool", {"c"}, {"max_dilated"}, "max_dilated")
      .Ints("kernel_shape", {2, 3})
      .Ints("dilations", {2, 2})
      .Ints("strides", {3, 1});
  b.Node("AveragePool", {"c"}, {"avg_pads"}, "avg_pads")
      .Ints("kernel_shape", {3, 3})
      .Ints("pads", {1, 1, 1, 1})
      .Int("count_include_pad", 1);
  b.Node("AveragePool", {"c"}, {"avg_ceil"}, "avg_ceil")
      .Ints("kernel_shape", {2, 2})
      .Ints("strides", {2, 2})
      .Ints("pads", {0, 1, 0, 0})
      .Int("ceil_mode", 1)
      .Int("count_include_pad", 1);
  b.Node("AveragePool", {"c"}, {"avg_same"}, "avg_same")
      .Ints("kernel_shape", {3, 2})
      .Ints("strides", {2, 2})
      .String("auto_pad", "SAME_UPPER");
  b.Node("GlobalAveragePool", {"c"}, {"gap"}, "gap");
  b.Node("GlobalMaxPool", {"c"}, {"gmp"}, "gmp");
  const std::vector<std::pair<const char*, std::vector<model::Dim>>> outputs = {
      {"max_ceil", {2, 8, 6, 5}}, {"max_dilated", {2, 8, 3, 5}}, {"avg_pads", {2, 8, 11, 9}},
      {"avg_ceil", {2, 8, 6, 5}}, {"avg_same", {2, 8, 6, 5}},    {"gap", {2, 8, 1, 1}},
      {"gmp", {2, 8, 1, 1}}};
  for (const auto& [name, shape] : outputs) b.Output(name, onnx::TensorProto::FLOAT, shape);
  return model::Model::FromBytes(b.Serialize(), "pools.onnx");
}

TEST(TorchFusion, PoolsOnChannelsLastTensorsMatchTheUnfusedProgram) {
  HostTensor x(onnx::TensorProto::FLOAT, {2, 3, 11, 9});
  const std::vector<float> v = Pattern(2 * 3 * 11 * 9, 32);
  std::copy(v.begin(), v.end(), x.mutable_data_as<float>());
  SessionOptions plain;
  plain.optimize = false;
  const auto want = FindEngine("torch").Compile(Pools(), plain)->Run({x});
  const auto got = FindEngine("torch").Compile(Pools(), {})->Run({x});
  ASSERT_EQ(got.size(), 7u);
  for (size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].shape(), want[o].shape()) << "output " << o;
    for (int64_t k = 0; k < want[o].NumElements(); ++k) {
      EXPECT_NEAR(got[o].data_as<float>()[k], want[o].data_as<float>()[k], 1e-5)
          << "output " << o << " at " << k;
    }
  }
}

// MatMuls of two computed tensors (attention's Q·Kᵀ) run through oneDNN on their operands' own
// strides: a transposed view, batch axes that broadcast, and ranks that differ (at::matmul's
// case) all give the unfused program's values.
model::Model Products() {
  model::ModelBuilder b("products", 13);
  b.Input("q", onnx::TensorProto::FLOAT, {2, 3, 5, 4});
  b.Input("k", onnx::TensorProto::FLOAT, {2, 3, 6, 4});
  b.Input("m", onnx::TensorProto::FLOAT, {1, 3, 4, 7});
  b.Input("v", onnx::TensorProto::FLOAT, {4, 2});
  b.Node("Transpose", {"k"}, {"kt"}, "transpose").Ints("perm", {0, 1, 3, 2});
  b.Node("MatMul", {"q", "kt"}, {"scores"}, "scores");  // [2,3,5,6], b a transposed view
  b.Node("MatMul", {"q", "m"}, {"mixed"}, "mixed");     // batch axes 2 and 1 broadcast
  b.Node("MatMul", {"q", "v"}, {"ranks"}, "ranks");     // ranks 4 and 2: at::matmul
  b.Output("scores", onnx::TensorProto::FLOAT, {2, 3, 5, 6});
  b.Output("mixed", onnx::TensorProto::FLOAT, {2, 3, 5, 7});
  b.Output("ranks", onnx::TensorProto::FLOAT, {2, 3, 5, 2});
  return model::Model::FromBytes(b.Serialize(), "products.onnx");
}

TEST(TorchFusion, ProductsOfComputedTensorsMatchTheUnfusedProgram) {
  std::vector<HostTensor> inputs;
  float seed = 70;
  for (const std::vector<int64_t>& shape :
       std::vector<std::vector<int64_t>>{{2, 3, 5, 4}, {2, 3, 6, 4}, {1, 3, 4, 7}, {4, 2}}) {
    HostTensor t(onnx::TensorProto::FLOAT, shape);
    const std::vector<float> v = Pattern(t.NumElements(), seed++);
    std::copy(v.begin(), v.end(), t.mutable_data_as<float>());
    inputs.push_back(std::move(t));
  }
  SessionOptions plain;
  plain.optimize = false;
  const auto want = FindEngine("torch").Compile(Products(), plain)->Run(inputs);
  auto session = FindEngine("torch").Compile(Products(), {});
  for (int run = 0; run < 2; ++run) {  // the second run reuses the kernels the first made
    const auto got = session->Run(inputs);
    ASSERT_EQ(got.size(), 3u);
    for (size_t o = 0; o < got.size(); ++o) {
      ASSERT_EQ(got[o].shape(), want[o].shape()) << "output " << o;
      for (int64_t k = 0; k < want[o].NumElements(); ++k) {
        EXPECT_NEAR(got[o].data_as<float>()[k], want[o].data_as<float>()[k], 1e-5)
            << "output " << o << " at " << k;
      }
    }
  }
}

}  // namespace
}  // namespace plaster::engine
