// Note [Initial weights]: a model's graph with a trained copy's initializers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>

#include "model/builder.h"
#include "model/initial_weights.h"
#include "model/model.h"
#include "support/fixtures.h"

namespace plaster::model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using plaster::testing::TempDir;

// Y = X·W + copy, where copy = Identity(B) (as PyTorch's exporter writes an equal initializer).
std::string Linear(const std::vector<float>& w, const std::vector<float>& b) {
  ModelBuilder m("linear");
  m.Input("X", onnx::TensorProto::FLOAT, {2, 3});
  m.Output("Y", onnx::TensorProto::FLOAT, {2, 2});
  m.Initializer("W", {3, 2}, w);
  m.Initializer("B", {2}, b);
  m.Node("Identity", {"B"}, {"copy"});
  m.Node("MatMul", {"X", "W"}, {"T"});
  m.Node("Add", {"T", "copy"}, {"Y"});
  return m.Serialize();
}

std::vector<float> Values(const Model& m, const std::string& name) {
  for (const auto& t : m.proto().graph().initializer()) {
    if (t.name() != name) continue;
    const std::string bytes = m.ReadTensorData(t);
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), bytes.size());
    return v;
  }
  return {};
}

TEST(InitialWeights, TakesTheFilesInitializersByNameAndItsCopiesInPlaceOfIdentities) {
  TempDir dir;
  // What `plaster learn --save` writes: W trained, the copy as an initializer of its own.
  ModelBuilder trained("linear");
  trained.Input("X", onnx::TensorProto::FLOAT, {2, 3});
  trained.Output("Y", onnx::TensorProto::FLOAT, {2, 2});
  trained.Initializer("W", {3, 2}, {6, 5, 4, 3, 2, 1});
  trained.Initializer("B", {2}, {0, 0});
  trained.Initializer("copy", {2}, {7, 8});
  trained.Initializer("unrelated", {1}, {9});
  trained.Node("MatMul", {"X", "W"}, {"T"});
  trained.Node("Add", {"T", "copy"}, {"Y"});
  const auto path = dir.path() / "trained.onnx";
  testing::WriteFile(path, trained.Serialize());

  const Model m = Model::FromBytes(Linear({1, 2, 3, 4, 5, 6}, {0.5f, 0.25f}), "linear.onnx");
  InitialWeights report;
  const Model started = WithInitialWeights(m, path.string(), {}, &report);
  EXPECT_THAT(Values(started, "W"), ElementsAre(6, 5, 4, 3, 2, 1));
  EXPECT_THAT(Values(started, "B"), ElementsAre(0, 0));
  EXPECT_THAT(Values(started, "copy"), ElementsAre(7, 8));  // no longer Identity(B)
  for (const auto& n : started.proto().graph().node()) EXPECT_NE(n.op_type(), "Identity");
  EXPECT_EQ(report.tensors, 3);
  EXPECT_EQ(report.values, 6 + 2 + 2);
  EXPECT_THAT(report.unused, ElementsAre("unrelated"));
}

TEST(InitialWeights, AShapeThatDiffersOrNoSharedTensorIsAnError) {
  TempDir dir;
  const Model m = Model::FromBytes(Linear({1, 2, 3, 4, 5, 6}, {0, 0}), "linear.onnx");
  ModelBuilder wrong("linear");
  wrong.Input("X", onnx::TensorProto::FLOAT, {2, 3});
  wrong.Output("Y", onnx::TensorProto::FLOAT, {2, 3});
  wrong.Initializer("W", {3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  wrong.Node("MatMul", {"X", "W"}, {"Y"});
  const auto wrong_path = dir.path() / "wrong.onnx";
  testing::WriteFile(wrong_path, wrong.Serialize());
  EXPECT_THAT(testing::ErrorOf([&] { WithInitialWeights(m, wrong_path.string(), {}, nullptr); }),
              HasSubstr("initializer 'W' has float32 [3x3] there and float32 [3x2] in linear.onnx"));

  ModelBuilder other("other");
  other.Input("X", onnx::TensorProto::FLOAT, {2, 3});
  other.Output("Y", onnx::TensorProto::FLOAT, {2, 3});
  other.Initializer("V", {1}, {1});
  other.Node("Mul", {"X", "V"}, {"Y"});
  const auto other_path = dir.path() / "other.onnx";
  testing::WriteFile(other_path, other.Serialize());
  EXPECT_THAT(testing::ErrorOf([&] { WithInitialWeights(m, other_path.string(), {}, nullptr); }),
              HasSubstr("none of its 1 initializers is one of linear.onnx's"));
}

}  // namespace
}  // namespace plaster::model
