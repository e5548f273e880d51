// The opencv engine through the registry, on the built-in model and on small models built here:
// it agrees with torch, reports what OpenCV cannot import node by node, and never crashes on it.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>

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

// X[1,8] → Relu → Clip → Y, with Clip in the form of `opset`: bounds as attributes (opset 6) or
// as inputs (opset 11 on), which OpenCV 4.6 cannot import. The Clip node is named unless
// `named` is false.
model::Model ReluClip(int opset, bool named = true) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(opset);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("relu_clip");
  auto value = [](onnx::ValueInfoProto* v, const char* name) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_value(1);
    t->mutable_shape()->add_dim()->set_dim_value(8);
  };
  value(g->add_input(), "X");
  value(g->add_output(), "Y");
  onnx::NodeProto* relu = g->add_node();
  relu->set_name("relu");
  relu->set_op_type("Relu");
  relu->add_input("X");
  relu->add_output("R");
  onnx::NodeProto* clip = g->add_node();
  if (named) clip->set_name("clip");
  clip->set_op_type("Clip");
  clip->add_input("R");
  clip->add_output("Y");
  if (opset < 11) {
    auto* lo = clip->add_attribute();
    lo->set_name("min");
    lo->set_type(onnx::AttributeProto::FLOAT);
    lo->set_f(0.25f);
    auto* hi = clip->add_attribute();
    hi->set_name("max");
    hi->set_type(onnx::AttributeProto::FLOAT);
    hi->set_f(0.75f);
  } else {
    for (auto [name, v] : {std::pair{"lo", 0.25f}, std::pair{"hi", 0.75f}}) {
      onnx::TensorProto* t = g->add_initializer();
      t->set_name(name);
      t->set_data_type(onnx::TensorProto::FLOAT);
      t->add_float_data(v);
      clip->add_input(name);
    }
  }
  return model::Model::FromBytes(m.SerializeAsString(), "relu_clip.onnx");
}

HostTensor Ramp(const std::vector<int64_t>& shape) {
  HostTensor t(onnx::TensorProto::FLOAT, shape);
  for (int64_t k = 0; k < t.NumElements(); ++k) {
    t.mutable_data_as<float>()[k] = std::sin(0.37f * static_cast<float>(k));
  }
  return t;
}

double RelativeError(const HostTensor& got, const HostTensor& want) {
  double scale = 0, worst = 0;
  for (int64_t k = 0; k < want.NumElements(); ++k) {
    scale = std::max(scale, std::fabs(static_cast<double>(want.data_as<float>()[k])));
    worst = std::max(worst, std::fabs(static_cast<double>(got.data_as<float>()[k]) -
                                      want.data_as<float>()[k]));
  }
  return scale > 0 ? worst / scale : worst;
}

TEST(OpenCvEngine, IsRegisteredAndSaysWhatItIs) {
  const Engine& e = FindEngine("opencv");
  EXPECT_NE(e.description().find("OpenCV DNN 4."), std::string::npos) << e.description();
  const auto precisions = e.precisions(Device::kCpu);
  EXPECT_EQ(precisions, (std::vector<Precision>{Precision::kFp32, Precision::kInt8}));
  ASSERT_FALSE(e.Libraries().empty());
  EXPECT_EQ(e.Libraries()[0].first, "OpenCV");
}

TEST(OpenCvEngine, AgreesWithTorchOnTheBuiltinModel) {
  const model::Model m = Builtin(3);
  EXPECT_TRUE(FindEngine("opencv").Support(m).AllSupported());
  SessionOptions two;
  two.threads = 2;
  auto cv = FindEngine("opencv").Compile(m, two);
  auto torch = FindEngine("torch").Compile(m, {});
  const HostTensor x = Ramp({3, 3, 32, 32});
  const auto got = cv->Run({x});
  const auto want = torch->Run({x});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].shape(), want[0].shape());
  EXPECT_LE(RelativeError(got[0], want[0]), 1e-4);
  EXPECT_EQ(cv->Run({x})[0].bytes(), got[0].bytes());  // the same inputs, the same outputs
}

TEST(OpenCvEngine, ImportsTheOldClipAndComputesIt) {
  const model::Model m = ReluClip(6);
  ASSERT_TRUE(FindEngine("opencv").Support(m).AllSupported());
  const auto out = FindEngine("opencv").Compile(m, {})->Run({Ramp({1, 8})});
  for (int64_t k = 0; k < 8; ++k) {
    const float x = std::max(0.0f, std::sin(0.37f * static_cast<float>(k)));
    EXPECT_FLOAT_EQ(out[0].data_as<float>()[k], std::clamp(x, 0.25f, 0.75f));
  }
}

// Note [OpenCV import]: the node it cannot take is named with OpenCV's reason; the others are
// supported; compiling says the same in one line, and nothing crashes.
TEST(OpenCvEngine, NamesTheNodeItCannotImportAndWhy) {
  for (bool named : {true, false}) {
    const model::Model m = ReluClip(13, named);
    const SupportReport report = FindEngine("opencv").Support(m);
    ASSERT_EQ(report.nodes.size(), 2u);
    EXPECT_TRUE(report.nodes[0].supported);
    EXPECT_FALSE(report.nodes[1].supported);
    EXPECT_EQ(report.nodes[1].op_type, "Clip");
    EXPECT_EQ(report.nodes[1].reason,
              "parseClip: expected node_proto.input_size() == 1 (node_proto.input_size() is 3)");
    const std::string node = named ? "clip" : m.graph().nodes()[1].name;
    EXPECT_EQ(ErrorOf([&] { FindEngine("opencv").Compile(m, {}); }),
              "unsupported: node '" + node +
                  "' (Clip): parseClip: expected node_proto.input_size() == 1 "
                  "(node_proto.input_size() is 3) (OpenCV's ONNX importer)");
  }
}

TEST(OpenCvEngine, QuantizesToInt8WithItsOwnCalibration) {
  const model::Model m = Builtin(2);
  SessionOptions int8;
  int8.precision = Precision::kInt8;
  auto session = FindEngine("opencv").Compile(m, int8);
  const PrecisionReport report = session->precision_report();
  EXPECT_EQ(report.requested, Precision::kInt8);
  EXPECT_GT(report.compute_nodes, 0);
  EXPECT_NE(report.quantization.find("OpenCV Net::quantize"), std::string::npos);
  EXPECT_NE(report.quantization.find("generated inputs"), std::string::npos);  // said plainly
  EXPECT_GT(report.calibration_seconds, 0.0);
  const HostTensor x = Ramp({2, 3, 32, 32});
  const auto got = session->Run({x});
  const auto want = FindEngine("opencv").Compile(m, {})->Run({x});
  ASSERT_EQ(got[0].shape(), want[0].shape());
  const double error = RelativeError(got[0], want[0]);
  EXPECT_GT(error, 0.0);  // it really computes in int8
  EXPECT_LT(error, 0.2);
  EXPECT_NE(ErrorOf([] {
              SessionOptions bf16;
              bf16.precision = Precision::kBf16;
              FindEngine("opencv").Compile(Builtin(1), bf16);
            }).find("does not offer bf16 on cpu (it offers fp32, int8)"),
            std::string::npos);
}

TEST(OpenCvEngine, ProfilesEveryLayerWithFusedOnesInTheirStep) {
  const model::Model m = Builtin(1);
  auto session = FindEngine("opencv").Compile(m, {});
  const auto steps = session->Profile({Ramp({1, 3, 32, 32})});
  ASSERT_FALSE(steps.empty());
  int64_t total = 0;
  std::vector<std::string> covered;
  for (const auto& s : steps) {
    total += s.duration_ns;
    covered.insert(covered.end(), s.nodes.begin(), s.nodes.end());
    EXPECT_EQ(s.kernel.rfind("OpenCV ", 0), 0u) << s.label;
  }
  EXPECT_GT(total, 0);
  // Every Conv of the model is a step, or inside one.
  for (const auto& node : m.graph().nodes()) {
    if (node.op_type != "Conv") continue;
    EXPECT_NE(std::find(covered.begin(), covered.end(), node.name), covered.end()) << node.name;
  }
  // --no-optimize: OpenCV's fusions off, a step per layer, the same outputs.
  SessionOptions plain;
  plain.optimize = false;
  auto unfused = FindEngine("opencv").Compile(m, plain);
  EXPECT_GT(unfused->Profile({Ramp({1, 3, 32, 32})}).size(), steps.size());
  EXPECT_LE(RelativeError(unfused->Run({Ramp({1, 3, 32, 32})})[0],
                          session->Run({Ramp({1, 3, 32, 32})})[0]),
            1e-5);
}

}  // namespace
}  // namespace plaster::engine
