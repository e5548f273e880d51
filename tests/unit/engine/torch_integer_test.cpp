// Note [Integer kernels] in src/engine/torch/dnnl_integer.cpp: ConvInteger, QLinearConv,
// MatMulInteger and QLinearMatMul with constant weights run on oneDNN's int8 kernels and give
// exactly what the exact path (the same node with its weights as graph inputs, computed in
// double: Note [Exact quantized arithmetic]) gives, zero points, padding, groups and requantizing
// included.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "engine/registry.h"
#include "model/builder.h"
#include "support/engine_fixtures.h"

namespace plaster::engine {
namespace {

// A typed tensor for the test: ONNX type, shape, values (held as int64, or float).
struct Value {
  int32_t dtype;
  std::vector<int64_t> shape;
  std::vector<double> values;

  std::string Bytes() const {
    std::string bytes;
    for (double v : values) {
      switch (dtype) {
        case onnx::TensorProto::UINT8: bytes.push_back(static_cast<char>(static_cast<uint8_t>(v))); break;
        case onnx::TensorProto::INT8: bytes.push_back(static_cast<char>(static_cast<int8_t>(v))); break;
        case onnx::TensorProto::INT32: {
          const auto i = static_cast<int32_t>(v);
          bytes.append(reinterpret_cast<const char*>(&i), sizeof i);
          break;
        }
        default: {
          const auto f = static_cast<float>(v);
          bytes.append(reinterpret_cast<const char*>(&f), sizeof f);
        }
      }
    }
    return bytes;
  }
  HostTensor Host() const { return HostTensor(dtype, shape, Bytes()); }
};

// Deterministic integers in [lo, hi].
std::vector<double> Integers(int64_t n, int lo, int hi, uint32_t seed) {
  std::vector<double> v(static_cast<size_t>(n));
  uint32_t x = seed * 2654435761u + 1;
  for (auto& e : v) {
    x = x * 1664525u + 1013904223u;
    e = lo + static_cast<int>((x >> 8) % static_cast<uint32_t>(hi - lo + 1));
  }
  return v;
}

int64_t Count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// One node over named values. The values in `weights` are initializers when `constant`, else
// graph inputs (which sends the node down the exact path); `x` is always a graph input.
struct NodeCase {
  std::string op;
  std::vector<std::pair<std::string, Value>> inputs;  // in the node's order; "" omits one
  std::vector<std::string> weights;                   // the inputs that are constant weights
  std::map<std::string, std::vector<int64_t>> attrs;
  int32_t output_dtype;
  std::vector<int64_t> output_shape;
  std::string auto_pad = "";

  model::Model Build(bool constant) const {
    model::ModelBuilder b("integer", 13);
    std::vector<std::string> names;
    for (const auto& [name, value] : inputs) {
      names.push_back(name);
      if (name.empty()) continue;
      const bool weight = std::find(weights.begin(), weights.end(), name) != weights.end();
      if (name == "x" || (weight && !constant)) {
        std::vector<model::Dim> dims(value.shape.begin(), value.shape.end());
        b.Input(name, value.dtype, dims);
      } else {
        onnx::TensorProto* t = b.proto().mutable_graph()->add_initializer();
        t->set_name(name);
        t->set_data_type(value.dtype);
        for (int64_t d : value.shape) t->add_dims(d);
        t->set_raw_data(value.Bytes());
      }
    }
    auto node = b.Node(op, names, {"y"}, "node");
    for (const auto& [name, v] : attrs) {
      if (name == "group") {
        node.Int(name, v[0]);
      } else {
        node.Ints(name, v);
      }
    }
    if (!auto_pad.empty()) node.String("auto_pad", auto_pad);
    b.Output("y", output_dtype, std::vector<model::Dim>(output_shape.begin(), output_shape.end()));
    return model::Model::FromBytes(b.Serialize(), op + ".onnx");
  }

  std::vector<HostTensor> Feeds(bool constant) const {
    std::vector<HostTensor> feeds;
    for (const auto& [name, value] : inputs) {
      const bool weight = std::find(weights.begin(), weights.end(), name) != weights.end();
      if (name == "x" || (weight && !constant)) feeds.push_back(value.Host());
    }
    return feeds;
  }

  // Runs both ways; returns the fast path's kernel name.
  std::string ExpectExact() const {
    const Engine& torch = FindEngine("torch");
    auto fast = torch.Compile(Build(true), {});
    const auto got = fast->Run(Feeds(true));
    const auto want = torch.Compile(Build(false), {})->Run(Feeds(false));
    EXPECT_EQ(got.at(0).dtype(), output_dtype);
    EXPECT_EQ(got.at(0).shape(), want.at(0).shape());
    EXPECT_EQ(got.at(0).bytes(), want.at(0).bytes()) << op;
    int64_t nonzero = 0;
    for (char c : want.at(0).bytes()) nonzero += c != 0;
    EXPECT_GT(nonzero, 0) << "a trivial output proves nothing";
    return fast->Profile(Feeds(true)).at(0).kernel;
  }
};

Value U8(std::vector<int64_t> shape, int lo, int hi, uint32_t seed) {
  return {onnx::TensorProto::UINT8, shape, Integers(Count(shape), lo, hi, seed)};
}
Value S8(std::vector<int64_t> shape, int lo, int hi, uint32_t seed) {
  return {onnx::TensorProto::INT8, shape, Integers(Count(shape), lo, hi, seed)};
}
Value Scalar(int32_t dtype, double v) { return {dtype, {}, {v}}; }
Value Floats(std::vector<double> v) {
  return {onnx::TensorProto::FLOAT, {static_cast<int64_t>(v.size())}, v};
}

bool Exact() { return plaster::testing::TorchOffers(Precision::kInt8); }

TEST(TorchInteger, QLinearConvWithPaddingStrideAndZeroPoints) {
  if (!Exact()) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  std::vector<double> w_scales;
  for (int o = 0; o < 16; ++o) w_scales.push_back(0.002 + 0.0003 * o);
  const NodeCase c{"QLinearConv",
                   {{"x", U8({2, 8, 9, 9}, 0, 255, 1)},
                    {"x_scale", Scalar(onnx::TensorProto::FLOAT, 0.02)},
                    {"x_zero_point", Scalar(onnx::TensorProto::UINT8, 131)},
                    {"w", S8({16, 8, 3, 3}, -127, 127, 2)},
                    {"w_scale", Floats(w_scales)},
                    {"w_zero_point", {onnx::TensorProto::INT8, {16}, std::vector<double>(16, 0)}},
                    {"y_scale", Scalar(onnx::TensorProto::FLOAT, 0.05)},
                    {"y_zero_point", Scalar(onnx::TensorProto::UINT8, 120)},
                    {"B", {onnx::TensorProto::INT32, {16}, Integers(16, -3000, 3000, 3)}}},
                   {"w"},
                   {{"pads", {1, 1, 1, 1}}, {"strides", {2, 2}}},
                   onnx::TensorProto::UINT8,
                   {2, 16, 5, 5}};
  EXPECT_EQ(c.ExpectExact(), "oneDNN int8 (exact int32 sums)");
}

TEST(TorchInteger, DepthwiseQLinearConvWithDilation) {
  if (!Exact()) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  const NodeCase c{"QLinearConv",
                   {{"x", S8({1, 8, 11, 11}, -128, 127, 4)},
                    {"x_scale", Scalar(onnx::TensorProto::FLOAT, 0.03)},
                    {"x_zero_point", Scalar(onnx::TensorProto::INT8, -5)},
                    {"w", S8({8, 1, 3, 3}, -127, 127, 5)},
                    {"w_scale", Scalar(onnx::TensorProto::FLOAT, 0.004)},
                    {"w_zero_point", Scalar(onnx::TensorProto::INT8, 0)},
                    {"y_scale", Scalar(onnx::TensorProto::FLOAT, 0.04)},
                    {"y_zero_point", Scalar(onnx::TensorProto::INT8, 2)}},
                   {"w"},
                   {{"pads", {2, 2, 2, 2}}, {"dilations", {2, 2}}, {"group", {8}}},
                   onnx::TensorProto::INT8,
                   {1, 8, 11, 11}};
  EXPECT_EQ(c.ExpectExact(), "oneDNN int8 (exact int32 sums)");
}

TEST(TorchInteger, ConvIntegerWithUnsignedWeightsAroundTheirZeroPoint) {
  if (!Exact()) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  // uint8 weights with zero point 120: w − 120 lies in [−120, 120], which int8 holds.
  const NodeCase c{"ConvInteger",
                   {{"x", U8({1, 4, 7, 7}, 0, 255, 6)},
                    {"w", U8({6, 4, 3, 3}, 0, 240, 7)},
                    {"x_zero_point", Scalar(onnx::TensorProto::UINT8, 5)},
                    {"w_zero_point", Scalar(onnx::TensorProto::UINT8, 120)}},
                   {"w", "w_zero_point"},
                   {{"pads", {1, 1, 1, 1}}},
                   onnx::TensorProto::INT32,
                   {1, 6, 7, 7}};
  EXPECT_EQ(c.ExpectExact(), "oneDNN int8 (exact int32 sums)");
}

TEST(TorchInteger, ConvIntegerWhoseWindowsPadOneSideOrStopShort) {
  if (!Exact()) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  // SAME_UPPER at stride 2 on 10×10: padding 0 before, 1 after.
  NodeCase same{"ConvInteger",
                {{"x", U8({2, 3, 10, 10}, 0, 255, 15)},
                 {"w", S8({4, 3, 3, 3}, -128, 127, 16)},
                 {"x_zero_point", Scalar(onnx::TensorProto::UINT8, 77)}},
                {"w"},
                {{"strides", {2, 2}}},
                onnx::TensorProto::INT32,
                {2, 4, 5, 5},
                "SAME_UPPER"};
  EXPECT_EQ(same.ExpectExact(), "oneDNN int8 (exact int32 sums)");
  // No padding, stride 2 on 10×10: the last window ends one short of the input's end.
  NodeCase short_of_end = same;
  short_of_end.auto_pad = "";
  short_of_end.output_shape = {2, 4, 4, 4};
  EXPECT_EQ(short_of_end.ExpectExact(), "oneDNN int8 (exact int32 sums)");
}

TEST(TorchInteger, WeightsThatDoNotFitInt8StayOnTheExactPath) {
  // uint8 weights up to 250 with no zero point: no int8 holds them.
  const NodeCase c{"ConvInteger",
                   {{"x", U8({1, 4, 7, 7}, 0, 255, 8)}, {"w", U8({6, 4, 3, 3}, 0, 250, 9)}},
                   {"w"},
                   {},
                   onnx::TensorProto::INT32,
                   {1, 6, 5, 5}};
  EXPECT_EQ(c.ExpectExact(), "ATen");
}

TEST(TorchInteger, MatMulIntegerWithZeroPointsOnBothSides) {
  if (!Exact()) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  const NodeCase c{"MatMulInteger",
                   {{"x", U8({2, 3, 32}, 0, 255, 10)},
                    {"B", S8({32, 10}, -120, 120, 11)},
                    {"a_zero_point", Scalar(onnx::TensorProto::UINT8, 7)},
                    {"b_zero_point", S8({10}, -3, 3, 12)}},
                   {"B", "b_zero_point"},
                   {},
                   onnx::TensorProto::INT32,
                   {2, 3, 10}};
  EXPECT_EQ(c.ExpectExact(), "oneDNN int8 (exact int32 sums)");
}

TEST(TorchInteger, QLinearMatMulWithPerColumnScales) {
  if (!Exact()) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  std::vector<double> b_scales;
  for (int j = 0; j < 12; ++j) b_scales.push_back(0.003 + 0.0005 * j);
  const NodeCase c{"QLinearMatMul",
                   {{"x", S8({5, 32}, -128, 127, 13)},
                    {"a_scale", Scalar(onnx::TensorProto::FLOAT, 0.05)},
                    {"a_zero_point", Scalar(onnx::TensorProto::INT8, -4)},
                    {"b", S8({32, 12}, -127, 127, 14)},
                    {"b_scale", Floats(b_scales)},
                    {"b_zero_point", {onnx::TensorProto::INT8, {12}, std::vector<double>(12, 0)}},
                    {"y_scale", Scalar(onnx::TensorProto::FLOAT, 0.1)},
                    {"y_zero_point", Scalar(onnx::TensorProto::INT8, 3)}},
                   {"b"},
                   {},
                   onnx::TensorProto::INT8,
                   {5, 12}};
  EXPECT_EQ(c.ExpectExact(), "oneDNN int8 (exact int32 sums)");
}

}  // namespace
}  // namespace plaster::engine
