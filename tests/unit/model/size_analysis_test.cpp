// The Size analysis as a whole: parameters, constants, peak memory, structure, folded BatchNorm.
#include "model/size_analysis.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "model/builder.h"
#include "model/builtin_model.h"

namespace plaster::model {
namespace {

SizeReport Analyze(ModelBuilder& b) { return AnalyzeSize(Model::FromBytes(b.Serialize(), "t")); }

TEST(SizeAnalysis, ParametersPerDtypeAndSharedWeightsOnce) {
  ModelBuilder b("shared");
  b.Input("x", onnx::TensorProto::FLOAT, {1, 4});
  b.Initializer("W", {4, 4}, std::vector<float>(16, 1.0f));
  b.InitializerInt64("shape", {2}, {1, 4});
  b.Node("MatMul", {"x", "W"}, {"h"}, "mm1");
  b.Node("MatMul", {"h", "W"}, {"y0"}, "mm2");  // the same weight again
  b.Node("Reshape", {"y0", "shape"}, {"y"}, "reshape");
  b.Output("y", onnx::TensorProto::FLOAT, {1, 4});
  const SizeReport r = Analyze(b);
  EXPECT_EQ(r.parameters, 16);
  EXPECT_EQ(r.parameter_bytes, 64);
  ASSERT_EQ(r.parameters_by_dtype.size(), 1u);
  EXPECT_EQ(r.parameters_by_dtype[0].dtype, "float32");
  EXPECT_EQ(r.parameters_by_dtype[0].tensors, 1);
  EXPECT_EQ(r.constant_elements, 2);  // the int64 shape is a constant, not a parameter
  EXPECT_EQ(r.constant_bytes, 16);
  EXPECT_EQ(r.weight_bytes, 80);
  EXPECT_EQ(r.macs, 2 * 16);  // two 1×4 · 4×4 products
  EXPECT_FALSE(r.folded_batchnorm.has_value());
}

// Peak memory on a chain with a skip connection, sizes in float32 bytes:
//   x[100] -> a=Relu(x)[100] -> b=Neg(a)[100] -> c=Add(a, b)[100] -> y=Relu(c)[100]
// While Neg runs: x is dead (last use Relu), a + b live = 800. While Add runs: a, b, c = 1200,
// then a and b are freed. While the last Relu runs: c + y = 800. Peak 1200 during 'add'.
TEST(SizeAnalysis, PeakLiveActivationsFollowTheSchedule) {
  ModelBuilder b("chain");
  b.Input("x", onnx::TensorProto::FLOAT, {100});
  b.Node("Relu", {"x"}, {"a"}, "relu1");
  b.Node("Neg", {"a"}, {"b"}, "neg");
  b.Node("Add", {"a", "b"}, {"c"}, "add");
  b.Node("Relu", {"c"}, {"y"}, "relu2");
  b.Output("y", onnx::TensorProto::FLOAT, {100});
  const SizeReport r = Analyze(b);
  EXPECT_EQ(r.peak_activation_bytes, 1200);
  EXPECT_EQ(r.peak_node, "add");
  EXPECT_EQ(r.activation_bytes, 5 * 400);
  EXPECT_EQ(r.unknown_size_tensors, 0);
  EXPECT_EQ(r.node_count, 4);
  EXPECT_EQ(r.depth, 4);
}

// A wide fan-out keeps its source alive until the last branch: x[10] feeds three Relus whose
// outputs are summed. Sum runs with x? no: x dies after the third Relu. During relu3: x, r1, r2,
// r3 = 160 bytes; during sum: r1, r2, r3, s = 160 bytes. Peak 160, first reached at 'relu3'.
TEST(SizeAnalysis, FanOutKeepsTheSourceAliveUntilItsLastUse) {
  ModelBuilder b("fan");
  b.Input("x", onnx::TensorProto::FLOAT, {10});
  b.Node("Relu", {"x"}, {"r1"}, "relu1");
  b.Node("Relu", {"x"}, {"r2"}, "relu2");
  b.Node("Relu", {"x"}, {"r3"}, "relu3");
  b.Node("Sum", {"r1", "r2", "r3"}, {"s"}, "sum");
  b.Output("s", onnx::TensorProto::FLOAT, {10});
  const SizeReport r = Analyze(b);
  EXPECT_EQ(r.peak_activation_bytes, 160);
  EXPECT_EQ(r.peak_node, "relu3");
}

TEST(SizeAnalysis, UnusedOutputsAreFreedAtOnce) {
  // Split makes two halves; only one is used. The unused half is freed after Split.
  ModelBuilder b("split");
  b.Input("x", onnx::TensorProto::FLOAT, {8});
  b.InitializerInt64("sizes", {2}, {4, 4});
  b.Node("Split", {"x", "sizes"}, {"h1", "h2"}, "split");
  b.Node("Relu", {"h1"}, {"y"}, "relu");
  b.Output("y", onnx::TensorProto::FLOAT, {4});
  const SizeReport r = Analyze(b);
  // split: x 32 + h1 16 + h2 16 = 64; then x and h2 freed: h1 16; relu: h1 + y = 32.
  EXPECT_EQ(r.peak_activation_bytes, 64);
  EXPECT_EQ(r.peak_node, "split");
}

TEST(SizeAnalysis, IntensityIsFlopsPerByteMoved) {
  ModelBuilder b("mm");
  b.Input("x", onnx::TensorProto::FLOAT, {2, 8});
  b.Initializer("W", {8, 4}, std::vector<float>(32, 0.0f));
  b.Node("MatMul", {"x", "W"}, {"y"}, "mm");
  b.Output("y", onnx::TensorProto::FLOAT, {2, 4});
  const SizeReport r = Analyze(b);
  // 2×4 outputs × 8 = 64 MACs = 128 FLOPs; bytes: x 64 + W 128 + y 32 = 224.
  EXPECT_EQ(r.flops, 128);
  ASSERT_TRUE(r.bytes_moved.has_value());
  EXPECT_EQ(*r.bytes_moved, 224);
  EXPECT_DOUBLE_EQ(*r.intensity(), 128.0 / 224.0);
  EXPECT_EQ(r.nodes[0].weight_elements, 32);
}

TEST(SizeAnalysis, FoldedBatchNormIsRecognisedByTheExportersNames) {
  ModelBuilder b("folded");
  b.Input("x", onnx::TensorProto::FLOAT, {1, 3, 8, 8});
  b.Initializer("onnx::Conv_5", {16, 3, 3, 3}, std::vector<float>(16 * 27, 0.0f));
  b.Initializer("onnx::Conv_6", {16}, std::vector<float>(16, 0.0f));
  b.Node("Conv", {"x", "onnx::Conv_5", "onnx::Conv_6"}, {"y"}, "conv").Ints("pads", {1, 1, 1, 1});
  b.Output("y", onnx::TensorProto::FLOAT, {1, 16, 8, 8});
  const SizeReport r = Analyze(b);
  ASSERT_TRUE(r.folded_batchnorm.has_value());
  EXPECT_EQ(r.folded_batchnorm->conv_nodes, 1);
  EXPECT_EQ(r.folded_batchnorm->channels, 16);
}

TEST(SizeAnalysis, BuiltinModel) {
  const SizeReport r = AnalyzeSize(Model::FromBytes(BuiltinModelBytes(), kBuiltinModelName));
  // Counted by hand from builtin_model.cpp: convs 3·16·9 + 2·(16·16·9) + (16·32·9 + 32·32·9 +
  // 16·32) + (32·64·9 + 64·64·9 + 32·64) = 432 + 4608 + 14336 + 57344 = 76,720; 9 BatchNorms ×
  // 4 vectors: 4·(16 + 16 + 16 + 32 + 32 + 32 + 64 + 64 + 64) = 1,344; fc 64·10 + 10 = 650.
  EXPECT_EQ(r.parameters, 76720 + 1344 + 650);
  EXPECT_EQ(r.node_count, 31);
  EXPECT_TRUE(r.uncounted.empty());
  EXPECT_EQ(r.inputs[0].shape.ToString(), "1x3x32x32");
}

}  // namespace
}  // namespace plaster::model
