// Note [Sequences] in src/engine/torch/ops_sequence_values.cpp: sequences live between the steps
// of a run; positions are checked and a bad one is an error naming the node.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "core/error.h"
#include "engine/registry.h"
#include "model/builder.h"

namespace plaster::engine {
namespace {

// x [4, 2] → SplitToSequence (pieces of 1 row, axis kept) → SequenceInsert(x) at the front →
// SequenceErase(last) → SequenceAt(pos) and, stacked on a new axis, ConcatFromSequence.
model::Model Sequences() {
  model::ModelBuilder b("sequences", 12);
  b.Input("x", onnx::TensorProto::FLOAT, {4, 2});
  b.Input("pos", onnx::TensorProto::INT64, {});
  b.InitializerInt64("front", {}, {0});
  b.InitializerInt64("one", {}, {1});
  b.Node("SplitToSequence", {"x", "one"}, {"rows"}, "split");
  b.Node("SequenceErase", {"rows"}, {"three"}, "erase");
  b.Node("SequenceAt", {"three", "pos"}, {"picked"}, "at");
  b.Node("ConcatFromSequence", {"three"}, {"stacked"}, "concat").Int("axis", 0).Int("new_axis", 1);
  b.Node("SequenceLength", {"three"}, {"length"}, "length");
  b.Output("picked", onnx::TensorProto::FLOAT, {1, 2});
  b.Output("stacked", onnx::TensorProto::FLOAT, {3, 1, 2});
  b.Output("length", onnx::TensorProto::INT64, {});
  return model::Model::FromBytes(b.Serialize(), "sequences.onnx");
}

std::vector<HostTensor> Inputs(int64_t pos) {
  HostTensor x(onnx::TensorProto::FLOAT, {4, 2});
  for (int k = 0; k < 8; ++k) x.mutable_data_as<float>()[k] = static_cast<float>(k);
  HostTensor p(onnx::TensorProto::INT64, {});
  *p.mutable_data_as<int64_t>() = pos;
  return {x, p};
}

TEST(TorchSequences, SplitEraseAtConcatAndLength) {
  auto session = FindEngine("torch").Compile(Sequences(), {});
  const auto out = session->Run(Inputs(-1));  // the last of the three rows left: row 2
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(out[0].data_as<float>()[0], 4.0f);
  EXPECT_EQ(out[0].data_as<float>()[1], 5.0f);
  EXPECT_EQ(out[1].shape(), (std::vector<int64_t>{3, 1, 2}));
  for (int k = 0; k < 6; ++k) EXPECT_EQ(out[1].data_as<float>()[k], static_cast<float>(k));
  EXPECT_EQ(*out[2].data_as<int64_t>(), 3);
}

TEST(TorchSequences, APositionOutOfRangeNamesTheNode) {
  auto session = FindEngine("torch").Compile(Sequences(), {});
  try {
    session->Run(Inputs(3));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'at' (SequenceAt)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("position 3 is out of range"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace plaster::engine
