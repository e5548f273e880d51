#include "engine/null/null_engine.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "engine/registry.h"
#include "model/builtin_model.h"
#include "support/fixtures.h"

namespace plaster::engine {
namespace {

using plaster::testing::ErrorOf;

model::Model Builtin(int64_t batch) {
  model::LoadOptions o;
  o.batch = batch;
  return model::Model::FromBytes(model::BuiltinModelBytes(), model::kBuiltinModelName, o);
}

TEST(NullEngine, ReturnsZerosOfTheBoundShapes) {
  const Engine& e = FindEngine("null");
  auto session = e.Compile(Builtin(4), {});
  ASSERT_EQ(session->inputs().size(), 1u);
  EXPECT_EQ(session->inputs()[0].shape, (std::vector<int64_t>{4, 3, 32, 32}));
  auto out = session->Run({HostTensor(onnx::TensorProto::FLOAT, {4, 3, 32, 32})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{4, 10}));
  for (int64_t k = 0; k < out[0].NumElements(); ++k) EXPECT_EQ(out[0].data_as<float>()[k], 0.0f);
}

TEST(NullEngine, ChecksItsInputs) {
  auto session = FindEngine("null").Compile(Builtin(1), {});
  EXPECT_EQ(ErrorOf([&] { session->Run({}); }), "the model takes 1 inputs; 0 were given");
  EXPECT_EQ(ErrorOf([&] {
              session->Run({HostTensor(onnx::TensorProto::FLOAT, {1, 3, 32, 31})});
            }),
            "input 'image' must have shape 1x3x32x32; it has 1x3x32x31");
  EXPECT_EQ(ErrorOf([&] {
              session->Run({HostTensor(onnx::TensorProto::INT64, {1, 3, 32, 32})});
            }),
            "input 'image' must be float32; it is int64");
}

TEST(NullEngine, SupportsEveryNodeOnCpuOnly) {
  const Engine& e = FindEngine("null");
  SupportReport support = e.Support(Builtin(1));
  EXPECT_EQ(support.nodes.size(), 31u);
  EXPECT_TRUE(support.AllSupported());
  SessionOptions cuda;
  cuda.device = Device::kCuda;
  EXPECT_EQ(ErrorOf([&] { e.Compile(Builtin(1), cuda); }),
            "engine 'null' runs on cpu only, not cuda");
}

TEST(Registry, UnknownEngineListsTheAvailableOnes) {
  EXPECT_EQ(ErrorOf([] { FindEngine("tensorrt"); }),
            "unknown engine 'tensorrt' (this build has: " + EngineNames() + ")");
}

}  // namespace
}  // namespace plaster::engine
