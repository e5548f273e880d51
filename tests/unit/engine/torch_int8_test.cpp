// Note [Int8 sessions] in src/engine/torch/program.cpp: an int8 session with calibration
// data quantizes every convolution and matrix product with constant weights statically; without
// it only the matrix products, dynamically. Either way it stays close to float32, names what it
// kept in float32 and why, and says how it was quantized.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "engine/registry.h"
#include "model/builder.h"
#include "model/qdq_export.h"
#include "support/engine_fixtures.h"
#include "support/fixtures.h"

namespace plaster::engine {
namespace {

using plaster::testing::ErrorOf;
using plaster::testing::Pattern;
using plaster::testing::TorchOffers;

// x [2,8,12,12] → Conv 3×3 (+ BatchNormalization, as a model exported from training has, with
// `batch_norm`) + Relu → Conv 1×1 (constant) + Relu → Conv 1×1 whose weights are a graph input
// (stays float32) → GlobalAveragePool → Flatten → Gemm → y [2,5].
model::Model Net(bool batch_norm = false) {
  model::ModelBuilder b(batch_norm ? "int8net_bn" : "int8net", 13);
  b.Input("x", onnx::TensorProto::FLOAT, {2, 8, 12, 12});
  b.Input("w_dynamic", onnx::TensorProto::FLOAT, {16, 16, 1, 1});
  b.Initializer("w1", {16, 8, 3, 3}, Pattern(16 * 8 * 9, 1));
  b.Initializer("b1", {16}, Pattern(16, 2));
  b.Initializer("w2", {16, 16, 1, 1}, Pattern(16 * 16, 7));
  b.Initializer("w3", {5, 16}, Pattern(80, 3));
  b.Initializer("b3", {5}, Pattern(5, 4));
  b.Node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1").Ints("pads", {1, 1, 1, 1});
  if (batch_norm) {
    std::vector<float> variance = Pattern(16, 8);
    for (float& v : variance) v = 0.5f + v * v;
    b.Initializer("bn_scale", {16}, Pattern(16, 11));
    b.Initializer("bn_shift", {16}, Pattern(16, 12));
    b.Initializer("bn_mean", {16}, Pattern(16, 13));
    b.Initializer("bn_var", {16}, variance);
    b.Node("BatchNormalization", {"c1", "bn_scale", "bn_shift", "bn_mean", "bn_var"}, {"n1"}, "bn1")
        .Float("epsilon", 1e-3f);
  }
  b.Node("Relu", {batch_norm ? "n1" : "c1"}, {"r1"}, "relu1");
  b.Node("Conv", {"r1", "w2"}, {"c2"}, "conv2");
  b.Node("Relu", {"c2"}, {"r2"}, "relu2");
  b.Node("Conv", {"r2", "w_dynamic"}, {"c3"}, "conv_dynamic");
  b.Node("GlobalAveragePool", {"c3"}, {"g"}, "gap");
  b.Node("Flatten", {"g"}, {"f"}, "flatten");
  b.Node("Gemm", {"f", "w3", "b3"}, {"y"}, "fc").Int("transB", 1);
  b.Output("y", onnx::TensorProto::FLOAT, {2, 5});
  return model::Model::FromBytes(b.Serialize(), batch_norm ? "int8net_bn.onnx" : "int8net.onnx");
}

std::vector<HostTensor> Inputs(float seed) {
  HostTensor x(onnx::TensorProto::FLOAT, {2, 8, 12, 12});
  const auto v = Pattern(x.NumElements(), seed);
  std::copy(v.begin(), v.end(), x.mutable_data_as<float>());
  HostTensor w(onnx::TensorProto::FLOAT, {16, 16, 1, 1});
  const auto u = Pattern(w.NumElements(), 6);
  std::copy(u.begin(), u.end(), w.mutable_data_as<float>());
  return {x, w};
}

// Batches like the inputs the session will see; counts how often the engine reads them.
class FakeCalibration final : public CalibrationData {
 public:
  /// With `second`, each batch is x and that tensor (a model whose second input is not Net's).
  explicit FakeCalibration(int64_t n, bool bad_shape = false,
                           std::optional<HostTensor> second = std::nullopt)
      : n_(n), bad_shape_(bad_shape), second_(std::move(second)) {}
  int64_t batches() const override { return n_; }
  std::vector<HostTensor> Batch(int64_t index) override {
    ++reads;
    if (bad_shape_) return {HostTensor(onnx::TensorProto::FLOAT, {1, 8, 12, 12}), Inputs(0)[1]};
    std::vector<HostTensor> batch = Inputs(10.0f + static_cast<float>(index));
    if (second_) batch[1] = *second_;
    return batch;
  }
  std::string Describe() const override { return "fake.npz: 3 batches"; }
  int reads = 0;

 private:
  int64_t n_;
  bool bad_shape_;
  std::optional<HostTensor> second_;
};

// The largest absolute difference relative to the largest absolute float32 output.
double RelativeError(const HostTensor& want, const HostTensor& got) {
  double scale = 0, worst = 0;
  for (int64_t k = 0; k < want.NumElements(); ++k) {
    scale = std::max(scale, std::abs(double{want.data_as<float>()[k]}));
    worst = std::max(worst, std::abs(double{got.data_as<float>()[k]} - want.data_as<float>()[k]));
  }
  return scale > 0 ? worst / scale : worst;
}

TEST(TorchInt8, StaticQuantizationStaysCloseToFloat32) {
  if (!TorchOffers(Precision::kInt8)) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  for (auto method :
       {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy}) {
    SCOPED_TRACE(CalibrationMethodName(method));
    SessionOptions int8;
    int8.precision = Precision::kInt8;
    auto data = std::make_shared<FakeCalibration>(3);
    int8.quantization.calibration = data;
    int8.quantization.method = method;
    auto session = FindEngine("torch").Compile(Net(), int8);
    // Two passes (range, then histogram) except for min-max.
    EXPECT_EQ(data->reads, method == CalibrationMethod::kMinMax ? 3 : 6);
    const auto want = FindEngine("torch").Compile(Net(), {})->Run(Inputs(5));
    const auto got = session->Run(Inputs(5));
    ASSERT_EQ(got[0].shape(), want[0].shape());
    EXPECT_EQ(got[0].dtype(), onnx::TensorProto::FLOAT);
    const double error = RelativeError(want[0], got[0]);
    EXPECT_LE(error, 0.05);  // three int8 layers: a few 1/255 steps each
    EXPECT_GT(error, 0.0);   // it really computed in int8

    const PrecisionReport report = session->precision_report();
    EXPECT_EQ(report.requested, Precision::kInt8);
    EXPECT_EQ(report.compute_nodes, 4);
    ASSERT_EQ(report.kept.size(), 1u);
    EXPECT_EQ(report.kept[0].node, "conv_dynamic");
    EXPECT_NE(report.quantization.find("static"), std::string::npos) << report.quantization;
    EXPECT_NE(report.quantization.find(CalibrationMethodName(method)), std::string::npos);
    EXPECT_NE(report.quantization.find("fake.npz"), std::string::npos);
    int int8_kernels = 0, handed_over = 0;
    for (const auto& step : session->Profile(Inputs(5))) {
      int8_kernels += step.kernel.find("int8") != std::string::npos ||
                      step.kernel.find("vnni") != std::string::npos ||
                      step.kernel.find("amx") != std::string::npos;
      handed_over += step.kernel.find("→ int8") != std::string::npos;
    }
    EXPECT_GE(int8_kernels, 2);
    // Note [Int8 chains]: conv1 (+ Relu) writes its output quantized for conv2, the only reader;
    // conv2's output goes to a Conv with computed weights (float32), so it stays float32.
    EXPECT_EQ(handed_over, 1);
  }
}

// x → Conv 3×3 + Relu → Conv 1×1 whose bias is a graph input (no fused kernel: ATen, float32)
// → y. conv1's only reader is a Conv with constant weights, but not one that runs in int8, so
// conv1 must write float32 for it, not hand its output over quantized (Note [Int8 chains]).
TEST(TorchInt8, NoHandOverToAReaderThatIsNotAnInt8Convolution) {
  if (!TorchOffers(Precision::kInt8)) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  model::ModelBuilder b("fallback", 13);
  b.Input("x", onnx::TensorProto::FLOAT, {2, 8, 12, 12});
  b.Input("b_dynamic", onnx::TensorProto::FLOAT, {16});
  b.Initializer("w1", {16, 8, 3, 3}, Pattern(16 * 8 * 9, 1));
  b.Initializer("w2", {16, 16, 1, 1}, Pattern(16 * 16, 7));
  b.Node("Conv", {"x", "w1"}, {"c1"}, "conv1").Ints("pads", {1, 1, 1, 1});
  b.Node("Relu", {"c1"}, {"r1"}, "relu1");
  b.Node("Conv", {"r1", "w2", "b_dynamic"}, {"y"}, "conv_dynamic_bias");
  b.Output("y", onnx::TensorProto::FLOAT, {2, 16, 12, 12});
  const model::Model m = model::Model::FromBytes(b.Serialize(), "fallback.onnx");
  HostTensor bias(onnx::TensorProto::FLOAT, {16});
  const auto bv = Pattern(16, 9);
  std::copy(bv.begin(), bv.end(), bias.mutable_data_as<float>());
  const std::vector<HostTensor> inputs = {Inputs(5)[0], bias};
  SessionOptions int8;
  int8.precision = Precision::kInt8;
  int8.quantization.calibration = std::make_shared<FakeCalibration>(2, false, bias);
  int8.quantization.method = CalibrationMethod::kMinMax;
  auto session = FindEngine("torch").Compile(m, int8);
  for (const auto& step : session->Profile(inputs)) {
    EXPECT_EQ(step.kernel.find("→ int8"), std::string::npos) << step.label;
  }
  const auto want = FindEngine("torch").Compile(m, {})->Run(inputs);
  const double error = RelativeError(want[0], session->Run(inputs)[0]);
  EXPECT_LE(error, 0.05);
  EXPECT_GT(error, 0.0);
  const PrecisionReport report = session->precision_report();
  ASSERT_EQ(report.kept.size(), 1u);
  EXPECT_EQ(report.kept[0].node, "conv_dynamic_bias");
}

TEST(TorchInt8, SessionsOfOneCommandCalibrateOnce) {
  if (!TorchOffers(Precision::kInt8)) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  SessionOptions int8;
  int8.precision = Precision::kInt8;
  auto data = std::make_shared<FakeCalibration>(3);
  int8.quantization.calibration = data;
  int8.quantization.method = CalibrationMethod::kMinMax;
  const auto first = FindEngine("torch").Compile(Net(), int8)->Run(Inputs(5));
  const SessionOptions copy = int8;  // shares the calibrated ranges
  const auto second = FindEngine("torch").Compile(Net(), copy)->Run(Inputs(5));
  EXPECT_EQ(data->reads, 3);
  EXPECT_EQ(first[0].bytes(), second[0].bytes());
}

TEST(TorchInt8, WithoutCalibrationOnlyMatrixProductsAreQuantizedDynamically) {
  if (!TorchOffers(Precision::kInt8)) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  SessionOptions int8;
  int8.precision = Precision::kInt8;
  auto session = FindEngine("torch").Compile(Net(), int8);
  const PrecisionReport report = session->precision_report();
  EXPECT_EQ(report.Summary(), "int8: 1 of 4 compute nodes (3 kept in fp32)");
  EXPECT_NE(report.quantization.find("dynamic"), std::string::npos);
  EXPECT_EQ(report.kept[0].node, "conv1");
  EXPECT_NE(report.kept[0].reason.find("--calibration"), std::string::npos);
  const auto want = FindEngine("torch").Compile(Net(), {})->Run(Inputs(5));
  const double error = RelativeError(want[0], session->Run(Inputs(5))[0]);
  EXPECT_LE(error, 0.02);
  EXPECT_GT(error, 0.0);
}

TEST(TorchInt8, CalibrationDataThatDoesNotFitIsNamed) {
  if (!TorchOffers(Precision::kInt8)) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  SessionOptions int8;
  int8.precision = Precision::kInt8;
  int8.quantization.calibration = std::make_shared<FakeCalibration>(2, /*bad_shape=*/true);
  const std::string error = ErrorOf([&] { FindEngine("torch").Compile(Net(), int8); });
  EXPECT_NE(error.find("calibration batch 1 of fake.npz"), std::string::npos) << error;
  EXPECT_NE(error.find("'x'"), std::string::npos) << error;
}

// Note [QDQ export] in src/model/qdq_export.cpp: the QDQ model written from an int8 session's
// ranges computes, run in float32, what the int8 session computes; folding the BatchNormalization
// alone changes nothing.
TEST(TorchInt8, ExportedQdqModelComputesWhatTheInt8SessionComputes) {
  if (!TorchOffers(Precision::kInt8)) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  const model::Model m = Net(/*batch_norm=*/true);
  SessionOptions int8;
  int8.precision = Precision::kInt8;
  int8.quantization.calibration = std::make_shared<FakeCalibration>(3);
  int8.quantization.method = CalibrationMethod::kMinMax;
  auto session = FindEngine("torch").Compile(m, int8);
  std::map<std::string, model::ActivationRange> ranges;
  for (const auto& [name, r] : int8.quantization.calibrated->ranges) {
    ranges[name] = {r.threshold, r.is_unsigned};
  }
  std::set<std::string> keep;
  for (const auto& k : session->precision_report().kept) keep.insert(k.node);
  plaster::testing::TempDir dir;

  // Folding only (no ranges): the float32 model, computed the same.
  const std::string folded_path = (dir.path() / "folded.onnx").string();
  const model::QdqExport folded = model::ExportQdq(m, {}, keep, {{"k", "v"}}, folded_path);
  EXPECT_EQ(folded.folded_batchnorms, 1);
  EXPECT_EQ(folded.quantized, 0);
  const auto fp32 = FindEngine("torch").Compile(m, {})->Run(Inputs(5));
  const model::Model folded_model = model::Model::FromFile(folded_path);
  EXPECT_LE(RelativeError(fp32[0], FindEngine("torch").Compile(folded_model, {})->Run(Inputs(5))[0]),
            1e-5);
  ASSERT_EQ(folded_model.proto().metadata_props_size(), 1);
  EXPECT_EQ(folded_model.proto().metadata_props(0).value(), "v");

  const std::string path = (dir.path() / "int8.onnx").string();
  const model::QdqExport q = model::ExportQdq(m, ranges, keep, {}, path);
  EXPECT_EQ(q.quantized, 3);  // conv1 (BatchNorm folded in), conv2, fc
  ASSERT_EQ(q.kept_float.size(), 1u);
  EXPECT_NE(q.kept_float[0].find("conv_dynamic"), std::string::npos) << q.kept_float[0];
  const model::Model exported = model::Model::FromFile(path);
  int quantize = 0, dequantize = 0;
  for (const auto& n : exported.proto().graph().node()) {
    EXPECT_NE(n.op_type(), "BatchNormalization");
    quantize += n.op_type() == "QuantizeLinear";
    dequantize += n.op_type() == "DequantizeLinear";
  }
  EXPECT_EQ(quantize, 3);        // one per quantized input tensor
  EXPECT_EQ(dequantize, 3 + 3);  // and one per weight
  const auto want = session->Run(Inputs(5));
  const auto got = FindEngine("torch").Compile(exported, {})->Run(Inputs(5));
  // The same quantization, computed in another order (int32 sums against float32 sums of
  // dequantized values): float32 rounding apart, the same numbers. (Measured: 1e-7, where a
  // scale of T/256 instead of T/255 gives 3e-4 and int8 against float32 8e-4.)
  EXPECT_LE(RelativeError(want[0], got[0]), 1e-5);
  EXPECT_GT(RelativeError(fp32[0], got[0]), 0.0);  // it is quantized

  // Note [Models that arrive quantized]: an int8 session of the QDQ file needs no calibration:
  // the pairs give the ranges, and the int8 kernels compute what the fake quantization does.
  SessionOptions given;
  given.precision = Precision::kInt8;
  auto arrived = FindEngine("torch").Compile(exported, given);
  const PrecisionReport report = arrived->precision_report();
  EXPECT_NE(report.quantization.find("static: 3 activation range(s) from the model's "
                                     "QuantizeLinear/DequantizeLinear pairs"),
            std::string::npos)
      << report.quantization;
  ASSERT_EQ(report.kept.size(), 1u);
  EXPECT_EQ(report.kept[0].node, "conv_dynamic");
  EXPECT_LE(RelativeError(got[0], arrived->Run(Inputs(5))[0]), 1e-5);
  int int8_kernels = 0, pairs_skipped = 0, pairs_run = 0, handed_over = 0;
  for (const auto& step : arrived->Profile(Inputs(5))) {
    handed_over += step.kernel.find("→ int8") != std::string::npos;
    int8_kernels += step.kernel.find("vnni") != std::string::npos ||
                    step.kernel.find("amx") != std::string::npos ||
                    step.kernel.find("int8") != std::string::npos;
    pairs_skipped += step.kernel.rfind("none: a QDQ pair", 0) == 0;
    pairs_run += step.label.find("(QuantizeLinear)") != std::string::npos;
  }
  EXPECT_GE(int8_kernels, 2);
  // Each pair is read by one quantized node only: none of them runs.
  EXPECT_EQ(pairs_skipped, 3);
  EXPECT_EQ(pairs_run, 0);
  // Note [Int8 chains] through a skipped pair: conv1 (+ Relu) writes its output quantized for
  // conv2, as in the calibrated session.
  EXPECT_EQ(handed_over, 1);

  // The same grids with the other zero points ONNX Runtime writes: [0, 255] as s8 with −128,
  // [−128, 127] as u8 with 128. The same values, so run as written the same floats, and in an
  // int8 session the same integers.
  onnx::ModelProto shifted = exported.proto();
  shifted.mutable_graph()->clear_value_info();  // the quantized tensors' types change
  std::set<std::string> zero_points;
  for (const auto& n : shifted.graph().node()) {
    if (n.op_type() == "QuantizeLinear" && n.input_size() >= 3) zero_points.insert(n.input(2));
  }
  ASSERT_EQ(zero_points.size(), 3u);
  int unsigned_grids = 0;
  for (auto& t : *shifted.mutable_graph()->mutable_initializer()) {
    if (!zero_points.count(t.name())) continue;
    const bool was_u8 = t.data_type() == onnx::TensorProto::UINT8;
    unsigned_grids += was_u8;
    t.set_data_type(was_u8 ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8);
    t.clear_int32_data();
    t.clear_raw_data();
    t.add_int32_data(was_u8 ? -128 : 128);
  }
  EXPECT_GE(unsigned_grids, 1);         // conv2's input, after a Relu
  EXPECT_LT(unsigned_grids, 3);         // conv1's input is signed
  const model::Model moved = model::Model::FromBytes(shifted.SerializeAsString(), "moved.onnx");
  EXPECT_EQ(FindEngine("torch").Compile(moved, {})->Run(Inputs(5))[0].bytes(), got[0].bytes());
  auto moved_session = FindEngine("torch").Compile(moved, given);
  EXPECT_NE(moved_session->precision_report().quantization.find(
                "static: 3 activation range(s) from the model's"),
            std::string::npos)
      << moved_session->precision_report().quantization;
  EXPECT_EQ(moved_session->Run(Inputs(5))[0].bytes(), arrived->Run(Inputs(5))[0].bytes());
  // A zero point that leaves another set of integers ([−13, 242]) is not a grid the kernels
  // have: that pair runs as written and its reader in float32.
  for (auto& t : *shifted.mutable_graph()->mutable_initializer()) {
    if (zero_points.count(t.name()) && t.data_type() == onnx::TensorProto::UINT8) {
      t.clear_int32_data();
      t.add_int32_data(13);
    }
  }
  const model::Model odd = model::Model::FromBytes(shifted.SerializeAsString(), "odd.onnx");
  const PrecisionReport odd_report = FindEngine("torch").Compile(odd, given)->precision_report();
  int without_range = 0;
  for (const auto& k : odd_report.kept) {
    without_range += k.reason.find("no calibrated range") != std::string::npos;
  }
  EXPECT_EQ(without_range, 1) << odd_report.Summary();  // conv1, whose input is signed
}

// x → conv1 (1×1) whose output has one channel a thousand times the others → conv2 (1×1) that
// weighs that channel by 1e-3: in a per-tensor int8 range set by the big channel, the small ones
// round to zero, and conv2's output loses most of what it computes. conv1's input is ordinary.
model::Model OutlierNet() {
  model::ModelBuilder b("outlier", 13);
  b.Input("x", onnx::TensorProto::FLOAT, {2, 4, 8, 8});
  std::vector<float> w1(16, 0.0f);
  for (int c = 0; c < 4; ++c) w1[static_cast<size_t>(c * 4 + c)] = c == 0 ? 1000.0f : 1.0f;
  std::vector<float> w2 = Pattern(12, 5);
  for (int o = 0; o < 3; ++o) w2[static_cast<size_t>(o * 4)] = 1e-3f;
  b.Initializer("w1", {4, 4, 1, 1}, w1);
  b.Initializer("w2", {3, 4, 1, 1}, w2);
  b.Node("Conv", {"x", "w1"}, {"c1"}, "conv1");
  b.Node("Conv", {"c1", "w2"}, {"y"}, "conv2");
  b.Output("y", onnx::TensorProto::FLOAT, {2, 3, 8, 8});
  return model::Model::FromBytes(b.Serialize(), "outlier.onnx");
}

HostTensor OutlierInput(float seed) {
  HostTensor x(onnx::TensorProto::FLOAT, {2, 4, 8, 8});
  const auto v = Pattern(x.NumElements(), seed);
  std::copy(v.begin(), v.end(), x.mutable_data_as<float>());
  return x;
}

class OutlierCalibration final : public CalibrationData {
 public:
  int64_t batches() const override { return 3; }
  std::vector<HostTensor> Batch(int64_t index) override {
    return {OutlierInput(20.0f + static_cast<float>(index))};
  }
  std::string Describe() const override { return "outlier.npz: 3 batches"; }
};

// Note [Int8 sensitivity] in src/engine/torch/torch_engine.cpp: with a tolerance, the layer whose
// int8 input wrecks the output stays float32, named with its figure; the other stays int8.
TEST(TorchInt8, MixedPrecisionKeepsTheSensitiveLayerInFloat32) {
  if (!TorchOffers(Precision::kInt8)) GTEST_SKIP() << "this CPU has no int8 dot-product instructions for oneDNN";
  const model::Model m = OutlierNet();
  const std::vector<HostTensor> inputs = {OutlierInput(5)};
  const auto want = FindEngine("torch").Compile(m, {})->Run(inputs);
  SessionOptions int8;
  int8.precision = Precision::kInt8;
  int8.quantization.calibration = std::make_shared<OutlierCalibration>();
  int8.quantization.method = CalibrationMethod::kMinMax;
  SessionOptions mixed = int8;
  mixed.quantization.calibrated = std::make_shared<QuantizationOptions::Calibrated>();
  mixed.quantization.layer_tolerance = 0.05;

  auto plain = FindEngine("torch").Compile(m, int8);
  EXPECT_TRUE(plain->precision_report().kept.empty());
  EXPECT_GT(RelativeError(want[0], plain->Run(inputs)[0]), 0.3);  // int8 everywhere: wrecked

  auto session = FindEngine("torch").Compile(m, mixed);
  const PrecisionReport report = session->precision_report();
  ASSERT_EQ(report.kept.size(), 1u);
  EXPECT_EQ(report.kept[0].node, "conv2");
  EXPECT_NE(report.kept[0].reason.find("mixed precision: quantizing its input alone moves the "
                                       "model's output by"),
            std::string::npos)
      << report.kept[0].reason;
  EXPECT_NE(report.quantization.find("mixed precision: 1 of 2 convolutions and products kept"),
            std::string::npos)
      << report.quantization;
  const double error = RelativeError(want[0], session->Run(inputs)[0]);
  EXPECT_LT(error, 0.02);
  EXPECT_GT(error, 0.0);  // conv1 is still int8
  EXPECT_EQ(mixed.quantization.calibrated->keep_float.count("conv2"), 1u);
}

TEST(QdqExport, RefusesAModelBelowOpset13) {
  model::ModelBuilder b("old", 12);
  b.Input("x", onnx::TensorProto::FLOAT, {1, 4});
  b.Initializer("w", {4, 2}, Pattern(8, 1));
  b.Node("MatMul", {"x", "w"}, {"y"}, "mm");
  b.Output("y", onnx::TensorProto::FLOAT, {1, 2});
  const model::Model m = model::Model::FromBytes(b.Serialize(), "old.onnx");
  plaster::testing::TempDir dir;
  const std::string error = ErrorOf(
      [&] { model::ExportQdq(m, {{"x", {1.0f, false}}}, {}, {}, (dir.path() / "o.onnx").string()); });
  EXPECT_NE(error.find("opset 13"), std::string::npos) << error;
  EXPECT_NE(error.find("opset 12"), std::string::npos) << error;
}

}  // namespace
}  // namespace plaster::engine
