// Note [Fusion] in src/engine/torch/torch_engine.cpp: the exporters' GELU chain runs as one step,
// with the same values, and only when nothing else reads its intermediates.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>

#include "engine/registry.h"
#include "model/builder.h"

namespace plaster::engine {
namespace {

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

}  // namespace
}  // namespace plaster::engine
