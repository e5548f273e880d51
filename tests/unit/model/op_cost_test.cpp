#include "model/op_cost.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "model/builder.h"
#include "model/model.h"
#include "model/size_analysis.h"

// Every expected number below is worked out by hand in the comment beside it, from the formulas
// in op_cost.cpp (1 MAC = 2 FLOPs; flops() = 2 × MACs + other FLOPs). The output shape the ONNX
// shape inference gives is checked too, so that the hand arithmetic starts from the right shape.

namespace plaster::model {
namespace {

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;
constexpr int32_t kBool = onnx::TensorProto::BOOL;

std::vector<float> Zeros(int64_t n) { return std::vector<float>(static_cast<size_t>(n)); }

// Declares graph output `name` with `rank` symbolic dimensions ("y0", "y1", ...): the shape
// inference fills in their values, so the shapes checked below are inferred, not declared.
void DeclareOutput(ModelBuilder* b, const std::string& name, size_t rank, int32_t dtype = kFloat) {
  std::vector<std::string> symbols;
  for (size_t k = 0; k < rank; ++k) symbols.push_back(name + std::to_string(k));
  std::vector<Dim> dims;
  for (const auto& s : symbols) dims.emplace_back(s.c_str());
  b->Output(name, dtype, dims);
}

// The cost of the single node of the model b builds, and the shape of that node's first output.
struct Result {
  OpCost cost;
  std::string out_shape;
};

Result CostOfOnlyNode(const ModelBuilder& b) {
  const Model model = Model::FromBytes(b.Serialize(), "test");
  const Graph& graph = model.graph();
  EXPECT_EQ(graph.nodes().size(), 1u);
  const NodeInfo& node = graph.nodes().front();
  return {CostOfNode(graph, node), graph.tensor(node.outputs[0]).shape.ToString()};
}

// ---- Conv.

TEST(OpCostConv, GroupedWithoutBias) {
  ModelBuilder b("conv");
  b.Input("x", kFloat, {1, 4, 16, 16});
  b.Initializer("w", {8, 2, 3, 3}, Zeros(8 * 2 * 3 * 3));
  DeclareOutput(&b, "y", 4);
  b.Node("Conv", {"x", "w"}, {"y"})
      .Int("group", 2)
      .Ints("kernel_shape", {3, 3})
      .Ints("pads", {1, 1, 1, 1});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x8x16x16");  // (16 + 1 + 1 - 3) / 1 + 1 = 16
  EXPECT_EQ(r.cost.rule, CostRule::kContraction);
  // 1 image × 8 out-channels × 16×16 outputs × (4/2 in-ch per group × 3×3 kernel)
  // = 2,048 × 18 = 36,864 MACs
  EXPECT_EQ(r.cost.macs, 36'864);
  EXPECT_EQ(r.cost.other_flops, 0);   // no bias
  EXPECT_EQ(r.cost.flops(), 73'728);  // 2 × 36,864
}

TEST(OpCostConv, GroupedWithBiasAddsOneFlopPerOutput) {
  ModelBuilder b("conv");
  b.Input("x", kFloat, {1, 4, 16, 16});
  b.Initializer("w", {8, 2, 3, 3}, Zeros(8 * 2 * 3 * 3));
  b.Initializer("b", {8}, Zeros(8));
  DeclareOutput(&b, "y", 4);
  b.Node("Conv", {"x", "w", "b"}, {"y"}).Int("group", 2).Ints("pads", {1, 1, 1, 1});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x8x16x16");
  EXPECT_EQ(r.cost.macs, 36'864);        // as without bias: 2,048 outputs × 18
  EXPECT_EQ(r.cost.other_flops, 2'048);  // bias: 1 × 8 × 16 × 16 output elements
  EXPECT_EQ(r.cost.flops(), 75'776);     // 2 × 36,864 + 2,048
}

TEST(OpCostConv, DepthwiseStridedWithBias) {
  ModelBuilder b("conv");
  b.Input("x", kFloat, {1, 8, 10, 10});
  b.Initializer("w", {8, 1, 3, 3}, Zeros(8 * 1 * 3 * 3));
  b.Initializer("b", {8}, Zeros(8));
  DeclareOutput(&b, "y", 4);
  b.Node("Conv", {"x", "w", "b"}, {"y"})
      .Int("group", 8)
      .Ints("strides", {2, 2})
      .Ints("pads", {1, 1, 1, 1});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x8x5x5");  // floor((10 + 1 + 1 - 3) / 2) + 1 = 4 + 1 = 5
  // 1 × 8 channels × 5×5 outputs × (8/8 = 1 in-ch per group × 3×3) = 200 × 9 = 1,800 MACs
  EXPECT_EQ(r.cost.macs, 1'800);
  EXPECT_EQ(r.cost.other_flops, 200);  // bias: 8 × 5 × 5
  EXPECT_EQ(r.cost.flops(), 3'800);    // 2 × 1,800 + 200
}

TEST(OpCostConv, Dilation) {
  ModelBuilder b("conv");
  b.Input("x", kFloat, {1, 3, 20, 20});
  b.Initializer("w", {4, 3, 3, 3}, Zeros(4 * 3 * 3 * 3));
  DeclareOutput(&b, "y", 4);
  b.Node("Conv", {"x", "w"}, {"y"}).Ints("dilations", {2, 2});
  const Result r = CostOfOnlyNode(b);
  // Effective kernel 2 × (3 - 1) + 1 = 5: 20 - 5 + 1 = 16 per axis.
  EXPECT_EQ(r.out_shape, "1x4x16x16");
  // 1 × 4 × 16×16 outputs × (3 in-ch × 3×3 taps; dilation adds no taps) = 1,024 × 27 = 27,648
  EXPECT_EQ(r.cost.macs, 27'648);
  EXPECT_EQ(r.cost.other_flops, 0);
  EXPECT_EQ(r.cost.flops(), 55'296);  // 2 × 27,648
}

TEST(OpCostConv, StridesAndAsymmetricPadsBatchTwo) {
  ModelBuilder b("conv");
  b.Input("x", kFloat, {2, 3, 15, 15});
  b.Initializer("w", {6, 3, 5, 5}, Zeros(6 * 3 * 5 * 5));
  b.Initializer("b", {6}, Zeros(6));
  DeclareOutput(&b, "y", 4);
  // pads = [top, left, bottom, right] = [2, 0, 1, 0].
  b.Node("Conv", {"x", "w", "b"}, {"y"}).Ints("strides", {3, 3}).Ints("pads", {2, 0, 1, 0});
  const Result r = CostOfOnlyNode(b);
  // H: floor((15 + 2 + 1 - 5) / 3) + 1 = 4 + 1 = 5; W: floor((15 + 0 + 0 - 5) / 3) + 1 = 3 + 1 = 4
  EXPECT_EQ(r.out_shape, "2x6x5x4");
  // 2 images × 6 out-ch × 5×4 outputs × (3 in-ch × 5×5) = 240 × 75 = 18,000 MACs
  EXPECT_EQ(r.cost.macs, 18'000);
  EXPECT_EQ(r.cost.other_flops, 240);  // bias: 2 × 6 × 5 × 4
  EXPECT_EQ(r.cost.flops(), 36'240);   // 2 × 18,000 + 240
}

TEST(OpCostConv, AutoPadSameUpper) {
  ModelBuilder b("conv");
  b.Input("x", kFloat, {1, 3, 17, 17});
  b.Initializer("w", {16, 3, 3, 3}, Zeros(16 * 3 * 3 * 3));
  b.Initializer("b", {16}, Zeros(16));
  DeclareOutput(&b, "y", 4);
  b.Node("Conv", {"x", "w", "b"}, {"y"}).String("auto_pad", "SAME_UPPER").Ints("strides", {2, 2});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x16x9x9");  // SAME: ceil(17 / 2) = 9
  // 1 × 16 × 9×9 outputs × (3 × 3×3) = 1,296 × 27 = 34,992 MACs
  EXPECT_EQ(r.cost.macs, 34'992);
  EXPECT_EQ(r.cost.other_flops, 1'296);  // bias: 16 × 9 × 9
  EXPECT_EQ(r.cost.flops(), 71'280);     // 2 × 34,992 + 1,296
}

TEST(OpCostConv, TransposeStrideTwoGrouped) {
  ModelBuilder b("convt");
  b.Input("x", kFloat, {1, 4, 5, 5});
  // ConvTranspose weights are [C, M / group, kH, kW]: 4 in-ch, 3 out-ch per group, 2 groups.
  b.Initializer("w", {4, 3, 3, 3}, Zeros(4 * 3 * 3 * 3));
  DeclareOutput(&b, "y", 4);
  b.Node("ConvTranspose", {"x", "w"}, {"y"}).Int("group", 2).Ints("strides", {2, 2});
  const Result r = CostOfOnlyNode(b);
  // M = 3 × 2 groups = 6; (5 - 1) × 2 + 3 = 11 per axis.
  EXPECT_EQ(r.out_shape, "1x6x11x11");
  EXPECT_EQ(r.cost.rule, CostRule::kContraction);
  // Each of the 1 × 4 × 5×5 = 100 input elements is scattered through (6/2 = 3 out-ch of its
  // group × 3×3 kernel) = 27 weights: 100 × 27 = 2,700 MACs
  EXPECT_EQ(r.cost.macs, 2'700);
  EXPECT_EQ(r.cost.other_flops, 0);
  EXPECT_EQ(r.cost.flops(), 5'400);  // 2 × 2,700
}

TEST(OpCostConv, TransposeWithBias) {
  ModelBuilder b("convt");
  b.Input("x", kFloat, {1, 4, 5, 5});
  b.Initializer("w", {4, 3, 3, 3}, Zeros(4 * 3 * 3 * 3));
  b.Initializer("b", {6}, Zeros(6));
  DeclareOutput(&b, "y", 4);
  b.Node("ConvTranspose", {"x", "w", "b"}, {"y"}).Int("group", 2).Ints("strides", {2, 2});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x6x11x11");
  EXPECT_EQ(r.cost.macs, 2'700);       // 100 input elements × 27, as above
  EXPECT_EQ(r.cost.other_flops, 726);  // bias: 6 × 11 × 11 output elements
  EXPECT_EQ(r.cost.flops(), 6'126);    // 2 × 2,700 + 726
}

// ---- Gemm and MatMul.

TEST(OpCostGemm, TransposedOperands) {
  ModelBuilder b("gemm");
  b.Input("a", kFloat, {64, 32});                // transA: A is K × M = 64 × 32
  b.Initializer("b", {16, 64}, Zeros(16 * 64));  // transB: B is N × K = 16 × 64
  DeclareOutput(&b, "y", 2);
  b.Node("Gemm", {"a", "b"}, {"y"}).Int("transA", 1).Int("transB", 1);
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "32x16");  // M × N
  // 32 × 16 outputs × K = 64 = 512 × 64 = 32,768 MACs
  EXPECT_EQ(r.cost.macs, 32'768);
  EXPECT_EQ(r.cost.other_flops, 0);   // no C, alpha = 1
  EXPECT_EQ(r.cost.flops(), 65'536);  // 2 × 32,768
}

TEST(OpCostGemm, WithBiasDefaultScales) {
  ModelBuilder b("gemm");
  b.Input("a", kFloat, {8, 16});
  b.Initializer("b", {16, 4}, Zeros(16 * 4));
  b.Initializer("c", {4}, Zeros(4));
  DeclareOutput(&b, "y", 2);
  b.Node("Gemm", {"a", "b", "c"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "8x4");
  EXPECT_EQ(r.cost.macs, 512);        // 8 × 4 outputs × K = 16
  EXPECT_EQ(r.cost.other_flops, 32);  // + C: 8 × 4 outputs
  EXPECT_EQ(r.cost.flops(), 1'056);   // 2 × 512 + 32
}

TEST(OpCostGemm, AlphaAndBetaScaleTheirTerms) {
  ModelBuilder b("gemm");
  b.Input("a", kFloat, {8, 16});
  b.Initializer("b", {16, 4}, Zeros(16 * 4));
  b.Initializer("c", {4}, Zeros(4));
  DeclareOutput(&b, "y", 2);
  b.Node("Gemm", {"a", "b", "c"}, {"y"}).Float("alpha", 2.0f).Float("beta", 0.5f);
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "8x4");
  EXPECT_EQ(r.cost.macs, 512);  // 8 × 4 outputs × K = 16
  // alpha × (A·B): 32, + C: 32, beta × C: 32 (one each per 8 × 4 output) = 96
  EXPECT_EQ(r.cost.other_flops, 96);
  EXPECT_EQ(r.cost.flops(), 1'120);  // 2 × 512 + 96
}

TEST(OpCostMatMul, TwoD) {
  ModelBuilder b("matmul");
  b.Input("a", kFloat, {3, 4});
  b.Initializer("b", {4, 5}, Zeros(4 * 5));
  DeclareOutput(&b, "y", 2);
  b.Node("MatMul", {"a", "b"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "3x5");
  EXPECT_EQ(r.cost.rule, CostRule::kContraction);
  EXPECT_EQ(r.cost.macs, 60);  // 3 × 5 outputs × K = 4
  EXPECT_EQ(r.cost.other_flops, 0);
  EXPECT_EQ(r.cost.flops(), 120);  // 2 × 60
}

TEST(OpCostMatMul, BatchedWithBroadcasting) {
  ModelBuilder b("matmul");
  b.Input("a", kFloat, {2, 1, 4, 8});
  b.Input("b", kFloat, {3, 8, 5});
  DeclareOutput(&b, "y", 4);
  b.Node("MatMul", {"a", "b"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "2x3x4x5");  // batch [2, 1] and [3] broadcast to [2, 3]
  // 2 × 3 batches × 4 × 5 outputs × K = 8 = 120 × 8 = 960 MACs
  EXPECT_EQ(r.cost.macs, 960);
  EXPECT_EQ(r.cost.flops(), 1'920);  // 2 × 960
}

TEST(OpCostMatMul, VectorTimesMatrix) {
  ModelBuilder b("matmul");
  b.Input("a", kFloat, {8});
  b.Initializer("b", {8, 5}, Zeros(8 * 5));
  DeclareOutput(&b, "y", 1);
  b.Node("MatMul", {"a", "b"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "5");
  EXPECT_EQ(r.cost.macs, 40);     // 5 outputs × K = 8
  EXPECT_EQ(r.cost.flops(), 80);  // 2 × 40
}

TEST(OpCostMatMul, MatrixTimesVector) {
  ModelBuilder b("matmul");
  b.Input("a", kFloat, {5, 8});
  b.Initializer("b", {8}, Zeros(8));
  DeclareOutput(&b, "y", 1);
  b.Node("MatMul", {"a", "b"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "5");
  EXPECT_EQ(r.cost.macs, 40);     // 5 outputs × K = 8
  EXPECT_EQ(r.cost.flops(), 80);  // 2 × 40
}

TEST(OpCostMatMul, AttentionScores) {
  ModelBuilder b("qk");
  b.Input("q", kFloat, {1, 12, 128, 64});
  b.Input("kt", kFloat, {1, 12, 64, 128});
  DeclareOutput(&b, "s", 4);
  b.Node("MatMul", {"q", "kt"}, {"s"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x12x128x128");
  // 1 × 12 heads × 128 × 128 scores × head dim 64 = 196,608 × 64 = 12,582,912 MACs
  EXPECT_EQ(r.cost.macs, 12'582'912);
  EXPECT_EQ(r.cost.other_flops, 0);
  EXPECT_EQ(r.cost.flops(), 25'165'824);  // 2 × 12,582,912
}

// ---- Einsum. ONNX's shape inference (1.12) gives an Einsum output its rank but no dimensions,
// so these costs must come from the equation and the input shapes alone.

TEST(OpCostEinsum, BatchedMatMul) {
  ModelBuilder b("einsum");
  b.Input("a", kFloat, {2, 3, 4});
  b.Input("b", kFloat, {2, 4, 5});
  DeclareOutput(&b, "y", 3);
  b.Node("Einsum", {"a", "b"}, {"y"}).String("equation", "bij,bjk->bik");
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.cost.rule, CostRule::kContraction);
  // Index space b × i × j × k = 2 × 3 × 4 × 5 = 120, × (2 operands - 1) = 120 MACs
  // (the same as 2 × 3 × 5 outputs × j = 4).
  EXPECT_EQ(r.cost.macs, 120);
  EXPECT_EQ(r.cost.flops(), 240);  // 2 × 120
}

TEST(OpCostEinsum, AttentionScores) {
  ModelBuilder b("einsum");
  b.Input("q", kFloat, {1, 2, 8, 16});
  b.Input("k", kFloat, {1, 2, 10, 16});
  DeclareOutput(&b, "s", 4);
  b.Node("Einsum", {"q", "k"}, {"s"}).String("equation", "bhqd,bhkd->bhqk");
  const Result r = CostOfOnlyNode(b);
  // b × h × q × k × d = 1 × 2 × 8 × 10 × 16 = 2,560 MACs (= 160 outputs × d = 16)
  EXPECT_EQ(r.cost.macs, 2'560);
  EXPECT_EQ(r.cost.flops(), 5'120);  // 2 × 2,560
}

TEST(OpCostEinsum, OneOperandReductionIsArithmetic) {
  ModelBuilder b("einsum");
  b.Input("a", kFloat, {6, 7});
  DeclareOutput(&b, "y", 1);
  b.Node("Einsum", {"a"}, {"y"}).String("equation", "ij->i");
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.cost.rule, CostRule::kArithmetic);
  EXPECT_EQ(r.cost.macs, 0);
  EXPECT_EQ(r.cost.other_flops, 42);  // one add per input element: 6 × 7
  EXPECT_EQ(r.cost.flops(), 42);
}

TEST(OpCostEinsum, ImplicitOutputSumsRepeatedLetter) {
  ModelBuilder b("einsum");
  b.Input("a", kFloat, {3, 3});
  DeclareOutput(&b, "y", 0);
  b.Node("Einsum", {"a"}, {"y"}).String("equation", "ii");  // the trace
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.cost.rule, CostRule::kArithmetic);
  EXPECT_EQ(r.cost.other_flops, 9);  // one add per input element: 3 × 3
  EXPECT_EQ(r.cost.flops(), 9);
}

TEST(OpCostEinsum, OneOperandTransposeIsDataMovement) {
  ModelBuilder b("einsum");
  b.Input("a", kFloat, {6, 7});
  DeclareOutput(&b, "y", 2);
  b.Node("Einsum", {"a"}, {"y"}).String("equation", "ij->ji");
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.cost.rule, CostRule::kDataMovement);
  EXPECT_EQ(r.cost.flops(), 0);
}

// ---- Recurrent layers. X is [seq, batch, input] = [5, 2, 3] (layout 0), hidden_size = 4.
// MACs = seq × batch × dirs × gates × hidden × (input + hidden); other FLOPs per (step, batch row,
// direction) = bias 2 × gates × hidden + gates × hidden (activations) + update × hidden, with
// update = 5 (LSTM), 4 (GRU), 0 (RNN).

// A recurrent model: W [dirs, gates·H, I], R [dirs, gates·H, H], B [dirs, 2·gates·H] if with_bias.
void BuildRecurrent(ModelBuilder* b, const std::string& op, int64_t gates, int64_t dirs,
                    bool with_bias, const std::vector<Dim>& x_shape, int64_t layout = 0) {
  constexpr int64_t kInput = 3;
  constexpr int64_t kHidden = 4;
  b->Input("x", kFloat, x_shape);
  b->Initializer("w", {dirs, gates * kHidden, kInput}, Zeros(dirs * gates * kHidden * kInput));
  b->Initializer("r", {dirs, gates * kHidden, kHidden}, Zeros(dirs * gates * kHidden * kHidden));
  std::vector<std::string> inputs = {"x", "w", "r"};
  if (with_bias) {
    b->Initializer("b", {dirs, 2 * gates * kHidden}, Zeros(dirs * 2 * gates * kHidden));
    inputs.push_back("b");
  }
  DeclareOutput(b, "y", 4);
  auto node = b->Node(op, inputs, {"y"});
  node.Int("hidden_size", kHidden);
  if (dirs == 2) node.String("direction", "bidirectional");
  if (layout != 0) node.Int("layout", layout);
}

TEST(OpCostRecurrent, LstmForward) {
  ModelBuilder b("lstm");
  BuildRecurrent(&b, "LSTM", 4, 1, true, {5, 2, 3});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "5x1x2x4");  // [seq, dirs, batch, hidden]
  EXPECT_EQ(r.cost.rule, CostRule::kContraction);
  // 5 steps × 2 batch × 1 dir × 4 gates × 4 hidden × (3 + 4) = 10 × 112 = 1,120 MACs
  EXPECT_EQ(r.cost.macs, 1'120);
  // 10 rows × (bias 2 × 4 × 4 = 32 + gates 4 × 4 = 16 + update 5 × 4 = 20 = 68) = 680
  EXPECT_EQ(r.cost.other_flops, 680);
  EXPECT_EQ(r.cost.flops(), 2'920);  // 2 × 1,120 + 680
}

TEST(OpCostRecurrent, LstmBidirectional) {
  ModelBuilder b("lstm");
  BuildRecurrent(&b, "LSTM", 4, 2, true, {5, 2, 3});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "5x2x2x4");
  // 5 × 2 × 2 dirs × 4 gates × 4 × (3 + 4) = 20 × 112 = 2,240 MACs
  EXPECT_EQ(r.cost.macs, 2'240);
  EXPECT_EQ(r.cost.other_flops, 1'360);  // 20 rows × 68
  EXPECT_EQ(r.cost.flops(), 5'840);      // 2 × 2,240 + 1,360
}

TEST(OpCostRecurrent, LstmWithoutBias) {
  ModelBuilder b("lstm");
  BuildRecurrent(&b, "LSTM", 4, 1, false, {5, 2, 3});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.cost.macs, 1'120);       // 10 rows × 4 × 4 × (3 + 4)
  EXPECT_EQ(r.cost.other_flops, 360);  // 10 rows × (no bias + gates 16 + update 20 = 36)
  EXPECT_EQ(r.cost.flops(), 2'600);    // 2 × 1,120 + 360
}

TEST(OpCostRecurrent, LstmBatchFirstLayout) {
  ModelBuilder b("lstm");
  BuildRecurrent(&b, "LSTM", 4, 1, true, {2, 5, 3}, /*layout=*/1);  // X is [batch, seq, input]
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "2x5x1x4");   // [batch, seq, dirs, hidden]
  EXPECT_EQ(r.cost.macs, 1'120);       // the same 10 rows × 112 as layout 0
  EXPECT_EQ(r.cost.other_flops, 680);  // 10 rows × 68
}

TEST(OpCostRecurrent, GruForward) {
  ModelBuilder b("gru");
  BuildRecurrent(&b, "GRU", 3, 1, true, {5, 2, 3});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "5x1x2x4");
  // 5 × 2 × 1 dir × 3 gates × 4 × (3 + 4) = 10 × 84 = 840 MACs
  EXPECT_EQ(r.cost.macs, 840);
  // 10 rows × (bias 2 × 3 × 4 = 24 + gates 3 × 4 = 12 + update 4 × 4 = 16 = 52) = 520
  EXPECT_EQ(r.cost.other_flops, 520);
  EXPECT_EQ(r.cost.flops(), 2'200);  // 2 × 840 + 520
}

TEST(OpCostRecurrent, GruBidirectional) {
  ModelBuilder b("gru");
  BuildRecurrent(&b, "GRU", 3, 2, true, {5, 2, 3});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "5x2x2x4");
  EXPECT_EQ(r.cost.macs, 1'680);         // 20 rows × 84
  EXPECT_EQ(r.cost.other_flops, 1'040);  // 20 rows × 52
  EXPECT_EQ(r.cost.flops(), 4'400);      // 2 × 1,680 + 1,040
}

TEST(OpCostRecurrent, RnnForward) {
  ModelBuilder b("rnn");
  BuildRecurrent(&b, "RNN", 1, 1, true, {5, 2, 3});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "5x1x2x4");
  // 5 × 2 × 1 dir × 1 gate × 4 × (3 + 4) = 10 × 28 = 280 MACs
  EXPECT_EQ(r.cost.macs, 280);
  // 10 rows × (bias 2 × 1 × 4 = 8 + activation 1 × 4 = 4 + no update = 12) = 120
  EXPECT_EQ(r.cost.other_flops, 120);
  EXPECT_EQ(r.cost.flops(), 680);  // 2 × 280 + 120
}

TEST(OpCostRecurrent, RnnBidirectional) {
  ModelBuilder b("rnn");
  BuildRecurrent(&b, "RNN", 1, 2, true, {5, 2, 3});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "5x2x2x4");
  EXPECT_EQ(r.cost.macs, 560);         // 20 rows × 28
  EXPECT_EQ(r.cost.other_flops, 240);  // 20 rows × 12
  EXPECT_EQ(r.cost.flops(), 1'360);    // 2 × 560 + 240
}

// ---- Pooling.

TEST(OpCostPool, MaxPool) {
  ModelBuilder b("pool");
  b.Input("x", kFloat, {1, 3, 8, 8});
  DeclareOutput(&b, "y", 4);
  b.Node("MaxPool", {"x"}, {"y"}).Ints("kernel_shape", {2, 2}).Ints("strides", {2, 2});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x3x4x4");
  EXPECT_EQ(r.cost.rule, CostRule::kArithmetic);
  EXPECT_EQ(r.cost.macs, 0);
  EXPECT_EQ(r.cost.other_flops, 192);  // 1 × 3 × 4 × 4 = 48 outputs × 2×2 = 4 taps (compares)
  EXPECT_EQ(r.cost.flops(), 192);
}

TEST(OpCostPool, AveragePool) {
  ModelBuilder b("pool");
  b.Input("x", kFloat, {1, 3, 9, 9});
  DeclareOutput(&b, "y", 4);
  b.Node("AveragePool", {"x"}, {"y"})
      .Ints("kernel_shape", {3, 3})
      .Ints("strides", {2, 2})
      .Ints("pads", {1, 1, 1, 1});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x3x5x5");  // floor((9 + 2 - 3) / 2) + 1 = 5
  // 1 × 3 × 5 × 5 = 75 outputs × (3×3 = 9 taps (adds) + 1 divide) = 750
  EXPECT_EQ(r.cost.other_flops, 750);
  EXPECT_EQ(r.cost.flops(), 750);
}

TEST(OpCostPool, GlobalAveragePool) {
  ModelBuilder b("pool");
  b.Input("x", kFloat, {2, 16, 7, 7});
  DeclareOutput(&b, "y", 4);
  b.Node("GlobalAveragePool", {"x"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "2x16x1x1");
  // 2 × 16 × 7 × 7 = 1,568 input adds + 2 × 16 = 32 output divides = 1,600
  EXPECT_EQ(r.cost.other_flops, 1'600);
  EXPECT_EQ(r.cost.flops(), 1'600);
}

// ---- Normalisation and softmax.

TEST(OpCostNorm, BatchNormalization) {
  ModelBuilder b("bn");
  b.Input("x", kFloat, {2, 4, 5, 5});
  for (const char* name : {"scale", "bias", "mean", "var"}) b.Initializer(name, {4}, Zeros(4));
  DeclareOutput(&b, "y", 4);
  b.Node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "2x4x5x5");
  EXPECT_EQ(r.cost.rule, CostRule::kArithmetic);
  EXPECT_EQ(r.cost.other_flops, 400);  // 2 × 4 × 5 × 5 = 200 elements × (scale + shift)
  EXPECT_EQ(r.cost.flops(), 400);
}

TEST(OpCostNorm, LayerNormalization) {
  ModelBuilder b("ln");
  b.Input("x", kFloat, {2, 10, 16});
  b.Initializer("scale", {16}, Zeros(16));
  b.Initializer("bias", {16}, Zeros(16));
  DeclareOutput(&b, "y", 3);
  b.Node("LayerNormalization", {"x", "scale", "bias"}, {"y"}).Int("axis", -1);
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "2x10x16");
  EXPECT_EQ(r.cost.other_flops, 2'560);  // 2 × 10 × 16 = 320 elements × 8
  EXPECT_EQ(r.cost.flops(), 2'560);
}

TEST(OpCostNorm, InstanceNormalization) {
  ModelBuilder b("in");
  b.Input("x", kFloat, {1, 3, 6, 6});
  b.Initializer("scale", {3}, Zeros(3));
  b.Initializer("bias", {3}, Zeros(3));
  DeclareOutput(&b, "y", 4);
  b.Node("InstanceNormalization", {"x", "scale", "bias"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x3x6x6");
  EXPECT_EQ(r.cost.other_flops, 864);  // 1 × 3 × 6 × 6 = 108 elements × 8
  EXPECT_EQ(r.cost.flops(), 864);
}

TEST(OpCostNorm, Softmax) {
  ModelBuilder b("softmax");
  b.Input("x", kFloat, {4, 10});
  DeclareOutput(&b, "y", 2);
  b.Node("Softmax", {"x"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "4x10");
  EXPECT_EQ(r.cost.rule, CostRule::kArithmetic);
  // 4 × 10 = 40 elements × (max, subtract, exp, sum, divide = 5) = 200
  EXPECT_EQ(r.cost.other_flops, 200);
  EXPECT_EQ(r.cost.flops(), 200);
}

// ---- Elementwise and reductions.

TEST(OpCostElementwise, Relu) {
  ModelBuilder b("relu");
  b.Input("x", kFloat, {2, 3, 4});
  DeclareOutput(&b, "y", 3);
  b.Node("Relu", {"x"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.cost.rule, CostRule::kArithmetic);
  EXPECT_EQ(r.cost.macs, 0);
  EXPECT_EQ(r.cost.other_flops, 24);  // 2 × 3 × 4 elements × 1
  EXPECT_EQ(r.cost.flops(), 24);
}

TEST(OpCostElementwise, AddCountsBroadcastOutput) {
  ModelBuilder b("add");
  b.Input("a", kFloat, {3, 1});
  b.Input("b", kFloat, {1, 4});
  DeclareOutput(&b, "y", 2);
  b.Node("Add", {"a", "b"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "3x4");
  // One add per output element: 3 × 4 = 12 (not per input: 3 + 4 = 7)
  EXPECT_EQ(r.cost.other_flops, 12);
  EXPECT_EQ(r.cost.flops(), 12);
}

TEST(OpCostElementwise, SumOfThree) {
  ModelBuilder b("sum");
  b.Input("a", kFloat, {2, 5});
  b.Input("b", kFloat, {5});
  b.Input("c", kFloat, {1, 5});
  DeclareOutput(&b, "y", 2);
  b.Node("Sum", {"a", "b", "c"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "2x5");
  EXPECT_EQ(r.cost.other_flops, 20);  // 2 × 5 outputs × (3 inputs - 1 = 2 adds)
  EXPECT_EQ(r.cost.flops(), 20);
}

TEST(OpCostElementwise, MeanOfThree) {
  ModelBuilder b("mean");
  for (const char* name : {"a", "b", "c"}) b.Input(name, kFloat, {2, 5});
  DeclareOutput(&b, "y", 2);
  b.Node("Mean", {"a", "b", "c"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "2x5");
  EXPECT_EQ(r.cost.other_flops, 30);  // 2 × 5 outputs × (2 adds + 1 divide)
  EXPECT_EQ(r.cost.flops(), 30);
}

TEST(OpCostReduce, ReduceMean) {
  ModelBuilder b("reduce");
  b.Input("x", kFloat, {4, 6, 8});
  DeclareOutput(&b, "y", 3);
  b.Node("ReduceMean", {"x"}, {"y"}).Ints("axes", {2}).Int("keepdims", 1);
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "4x6x1");
  EXPECT_EQ(r.cost.rule, CostRule::kArithmetic);
  // 4 × 6 × 8 = 192 input adds + 4 × 6 = 24 output divides = 216
  EXPECT_EQ(r.cost.other_flops, 216);
  EXPECT_EQ(r.cost.flops(), 216);
}

TEST(OpCostResize, NearestIsDataMovement) {
  ModelBuilder b("resize");
  b.Input("x", kFloat, {1, 3, 4, 4});
  b.Initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
  DeclareOutput(&b, "y", 4);
  b.Node("Resize", {"x", "", "scales"}, {"y"}).String("mode", "nearest");
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x3x8x8");
  EXPECT_EQ(r.cost.rule, CostRule::kDataMovement);
  EXPECT_EQ(r.cost.macs, 0);
  EXPECT_EQ(r.cost.flops(), 0);
}

TEST(OpCostResize, LinearInterpolatesEachScaledAxis) {
  ModelBuilder b("resize");
  b.Input("x", kFloat, {1, 3, 4, 4});
  b.Initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
  DeclareOutput(&b, "y", 4);
  b.Node("Resize", {"x", "", "scales"}, {"y"}).String("mode", "linear");
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "1x3x8x8");
  EXPECT_EQ(r.cost.rule, CostRule::kArithmetic);
  // 1 × 3 × 8 × 8 = 192 outputs × 2 scaled axes × (2 taps: 2 multiplies + 1 add = 3) = 1,152
  EXPECT_EQ(r.cost.other_flops, 1'152);
  EXPECT_EQ(r.cost.flops(), 1'152);
}

TEST(OpCostTopK, HeapOfK) {
  ModelBuilder b("topk");
  b.Input("x", kFloat, {3, 10});
  b.InitializerInt64("k", {1}, {4});
  DeclareOutput(&b, "values", 2);
  DeclareOutput(&b, "indices", 2, onnx::TensorProto::INT64);
  b.Node("TopK", {"x", "k"}, {"values", "indices"}).Int("axis", -1);
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "3x4");
  EXPECT_EQ(r.cost.rule, CostRule::kArithmetic);
  // 3 × 10 = 30 input elements × ceil(log2(k + 1)) = ceil(log2(5)) = ceil(2.32) = 3 → 90
  EXPECT_EQ(r.cost.other_flops, 90);
  EXPECT_EQ(r.cost.flops(), 90);
}

// ---- Data movement.

TEST(OpCostDataMovement, Reshape) {
  ModelBuilder b("reshape");
  b.Input("x", kFloat, {2, 3, 4});
  b.InitializerInt64("shape", {2}, {6, 4});
  DeclareOutput(&b, "y", 2);
  b.Node("Reshape", {"x", "shape"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "6x4");
  EXPECT_TRUE(r.cost.counted());
  EXPECT_EQ(r.cost.rule, CostRule::kDataMovement);
  EXPECT_EQ(r.cost.macs, 0);
  EXPECT_EQ(r.cost.flops(), 0);
}

TEST(OpCostDataMovement, Transpose) {
  ModelBuilder b("transpose");
  b.Input("x", kFloat, {2, 3, 4});
  DeclareOutput(&b, "y", 3);
  b.Node("Transpose", {"x"}, {"y"}).Ints("perm", {2, 0, 1});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "4x2x3");
  EXPECT_EQ(r.cost.rule, CostRule::kDataMovement);
  EXPECT_EQ(r.cost.macs, 0);
  EXPECT_EQ(r.cost.flops(), 0);
}

TEST(OpCostDataMovement, Concat) {
  ModelBuilder b("concat");
  b.Input("a", kFloat, {2, 3});
  b.Input("b", kFloat, {4, 3});
  DeclareOutput(&b, "y", 2);
  b.Node("Concat", {"a", "b"}, {"y"}).Int("axis", 0);
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "6x3");
  EXPECT_EQ(r.cost.rule, CostRule::kDataMovement);
  EXPECT_EQ(r.cost.macs, 0);
  EXPECT_EQ(r.cost.flops(), 0);
}

// ---- Uncounted nodes.

TEST(OpCostUncounted, CustomDomain) {
  ModelBuilder b("custom");
  auto* opset = b.proto().add_opset_import();
  opset->set_domain("com.example");
  opset->set_version(1);
  b.Input("x", kFloat, {2, 3});
  DeclareOutput(&b, "y", 2);
  b.Node("FancyOp", {"x"}, {"y"});
  b.proto().mutable_graph()->mutable_node(0)->set_domain("com.example");
  const Result r = CostOfOnlyNode(b);
  EXPECT_FALSE(r.cost.counted());
  EXPECT_EQ(r.cost.rule, CostRule::kUncounted);
  EXPECT_EQ(r.cost.reason, "no cost formula for op type 'FancyOp' of domain 'com.example'");
  EXPECT_EQ(r.cost.macs, 0);
  EXPECT_EQ(r.cost.flops(), 0);
}

TEST(OpCostUncounted, StandardOpWithoutFormula) {
  const auto ops = CountedOpTypes();
  ASSERT_FALSE(std::binary_search(ops.begin(), ops.end(), "Det"));
  ModelBuilder b("det");
  b.Input("x", kFloat, {3, 3});
  DeclareOutput(&b, "y", 0);
  b.Node("Det", {"x"}, {"y"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "scalar");
  EXPECT_FALSE(r.cost.counted());
  EXPECT_EQ(r.cost.reason, "no cost formula for op type 'Det'");
  EXPECT_EQ(r.cost.flops(), 0);
}

// A branch of an If: `op`(x) as its only output, a float [2].
void SetBranch(onnx::NodeProto* node, const std::string& attr, const std::string& op) {
  auto* a = node->add_attribute();
  a->set_name(attr);
  a->set_type(onnx::AttributeProto::GRAPH);
  auto* g = a->mutable_g();
  g->set_name(attr);
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(attr + "_" + op);
  n->add_input("x");
  n->add_output(attr + "_out");
  auto* out = g->add_output();
  out->set_name(attr + "_out");
  auto* tt = out->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(kFloat);
  tt->mutable_shape()->add_dim()->set_dim_value(2);
}

TEST(OpCostUncounted, ControlFlow) {
  ModelBuilder b("if");
  b.Input("cond", kBool, {});
  b.Input("x", kFloat, {2});
  DeclareOutput(&b, "y", 1);
  b.Node("If", {"cond"}, {"y"});
  auto* node = b.proto().mutable_graph()->mutable_node(0);
  SetBranch(node, "then_branch", "Relu");
  SetBranch(node, "else_branch", "Neg");
  const Result r = CostOfOnlyNode(b);
  EXPECT_FALSE(r.cost.counted());
  EXPECT_EQ(r.cost.reason, "control flow: its cost depends on run-time branches and trip counts");
  EXPECT_EQ(r.cost.flops(), 0);
}

TEST(OpCostUncounted, UnknownShapeGivesReason) {
  // NonZero's second output dimension depends on the data: the Relu after it cannot be sized.
  ModelBuilder b("nonzero");
  b.Input("x", kFloat, {2, 3});
  b.Output("y", kFloat, {2, "n"});
  b.Node("NonZero", {"x"}, {"nz"}, "nz");
  b.Node("Cast", {"nz"}, {"f"}, "cast").Int("to", kFloat);
  b.Node("Relu", {"f"}, {"y"}, "relu");
  const Model model = Model::FromBytes(b.Serialize(), "test");
  const Graph& graph = model.graph();
  ASSERT_EQ(graph.nodes().size(), 3u);
  const NodeInfo& relu = graph.nodes()[2];
  ASSERT_EQ(relu.op_type, "Relu");
  const OpCost cost = CostOfNode(graph, relu);
  EXPECT_FALSE(cost.counted());
  EXPECT_EQ(cost.reason, "the shape of 'y' is not fully known (2xn)");
  EXPECT_EQ(cost.flops(), 0);
}

TEST(OpCostElementwise, NonZeroNeedsOnlyItsInputShape) {
  // NonZero's output [rank, count] depends on the data; its cost is per input element.
  ModelBuilder b("nonzero");
  b.Input("x", kFloat, {2, 3});
  b.Output("nz", onnx::TensorProto::INT64, {2, "count"});
  b.Node("NonZero", {"x"}, {"nz"});
  const Result r = CostOfOnlyNode(b);
  EXPECT_EQ(r.out_shape, "2xcount");  // the count is not known before running
  EXPECT_EQ(r.cost.reason, "");
  EXPECT_EQ(r.cost.rule, CostRule::kArithmetic);
  EXPECT_EQ(r.cost.other_flops, 6);  // one test against zero per input element: 2 × 3
  EXPECT_EQ(r.cost.flops(), 6);
}

// ---- The table, and whole-model totals.

TEST(OpCostTable, CountedOpTypesSortedAndComplete) {
  const auto ops = CountedOpTypes();
  EXPECT_TRUE(std::is_sorted(ops.begin(), ops.end()));
  EXPECT_EQ(std::adjacent_find(ops.begin(), ops.end()), ops.end());  // each once
  for (const char* op : {"Conv", "MatMul", "LSTM", "Gemm", "Einsum", "Relu", "Reshape"}) {
    EXPECT_TRUE(std::binary_search(ops.begin(), ops.end(), op)) << op;
  }
  for (const char* op : {"If", "Loop", "Scan", "Det"}) {
    EXPECT_FALSE(std::binary_search(ops.begin(), ops.end(), op)) << op;
  }
}

TEST(OpCostTable, RuleNames) {
  EXPECT_STREQ(CostRuleName(CostRule::kUncounted), "uncounted");
  EXPECT_STREQ(CostRuleName(CostRule::kContraction), "contraction");
  EXPECT_STREQ(CostRuleName(CostRule::kArithmetic), "arithmetic");
  EXPECT_STREQ(CostRuleName(CostRule::kDataMovement), "data movement");
}

TEST(OpCostAnalyzeSize, SumsCountedNodesAndListsUncounted) {
  // Conv (grouped, with bias) → Relu → Reshape, and beside them a Det, which is not counted.
  ModelBuilder b("net");
  b.Input("x", kFloat, {1, 4, 16, 16});
  b.Input("m", kFloat, {3, 3});
  b.Initializer("w", {8, 2, 3, 3}, Zeros(8 * 2 * 3 * 3));
  b.Initializer("b", {8}, Zeros(8));
  b.InitializerInt64("shape", {2}, {1, 2048});
  DeclareOutput(&b, "y", 2);
  DeclareOutput(&b, "d", 0);
  b.Node("Conv", {"x", "w", "b"}, {"c"}, "conv").Int("group", 2).Ints("pads", {1, 1, 1, 1});
  b.Node("Relu", {"c"}, {"r"}, "relu");
  b.Node("Reshape", {"r", "shape"}, {"y"}, "reshape");
  b.Node("Det", {"m"}, {"d"}, "det");
  const SizeReport report = AnalyzeSize(Model::FromBytes(b.Serialize(), "test"));
  // Conv: 2,048 outputs × 18 = 36,864 MACs, bias 2,048; Relu: 2,048; Reshape: 0; Det: uncounted.
  EXPECT_EQ(report.macs, 36'864);
  EXPECT_EQ(report.other_flops, 4'096);  // 2,048 (bias) + 2,048 (Relu)
  EXPECT_EQ(report.flops, 77'824);       // 2 × 36,864 + 4,096
  EXPECT_EQ(report.counted_nodes, 3);    // Conv, Relu, Reshape
  ASSERT_EQ(report.uncounted.size(), 1u);
  const NodeSize& det = report.nodes[static_cast<size_t>(report.uncounted[0])];
  EXPECT_EQ(det.op_type, "Det");
  EXPECT_EQ(det.cost.reason, "no cost formula for op type 'Det'");
}

}  // namespace
}  // namespace plaster::model
