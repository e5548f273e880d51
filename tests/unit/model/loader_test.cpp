// Loading models: every bad-input case gives one plaster::Error naming the file and the problem.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>

#include "model/builder.h"
#include "model/builtin_model.h"
#include "model/model.h"
#include "support/fixtures.h"

namespace plaster::model {
namespace {

using plaster::testing::ErrorOf;
using plaster::testing::TempDir;
using plaster::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace fs = std::filesystem;

// x[batch, 4] · W[4, 3] + b -> y: a small valid model to break in various ways.
void Linear(ModelBuilder& b) {
  b.Input("x", onnx::TensorProto::FLOAT, {"batch", 4});
  b.Initializer("W", {4, 3}, std::vector<float>(12, 0.5f));
  b.Initializer("b", {3}, {1, 2, 3});
  b.Node("MatMul", {"x", "W"}, {"xw"}, "mm");
  b.Node("Add", {"xw", "b"}, {"y"}, "add");
  b.Output("y", onnx::TensorProto::FLOAT, {"n", "m"});
}

Model LoadBuilt(ModelBuilder& b, const LoadOptions& options = {}) {
  return Model::FromBytes(b.Serialize(), "m.onnx", options);
}

TEST(Loader, LoadsAValidModelAndInfersShapes) {
  ModelBuilder b("linear");
  Linear(b);
  Model m = LoadBuilt(b, {{}, 8});
  const auto& g = m.graph();
  ASSERT_EQ(g.nodes().size(), 2u);
  EXPECT_EQ(g.tensor(*g.FindTensor("xw")).shape.ToString(), "8x3");
  EXPECT_EQ(g.tensor(*g.FindTensor("y")).shape.ToString(), "8x3");
  EXPECT_EQ(m.opset(), 17);
  EXPECT_TRUE(m.notes().empty());
}

TEST(Loader, UnsetSymbolicDimensionsBecomeOneAndSaySo) {
  ModelBuilder b("linear");
  Linear(b);
  Model m = LoadBuilt(b);
  EXPECT_EQ(m.graph().tensor(*m.graph().FindTensor("y")).shape.ToString(), "1x3");
  ASSERT_EQ(m.notes().size(), 1u);
  EXPECT_THAT(m.notes()[0], HasSubstr("input 'x': dimension 0 ('batch') is not set; using 1"));
}

TEST(Loader, ShapeOverrideBindsASymbolOnEveryInput) {
  ModelBuilder b("two");
  b.Input("a", onnx::TensorProto::FLOAT, {"n", 5});
  b.Input("c", onnx::TensorProto::FLOAT, {"n", 5});
  b.Node("Add", {"a", "c"}, {"s"}, "add");
  b.Output("s", onnx::TensorProto::FLOAT, {"n", 5});
  Model m = LoadBuilt(b, {{ParseShapeOverride("a:6x5")}, std::nullopt});
  EXPECT_EQ(m.graph().tensor(*m.graph().FindTensor("c")).shape.ToString(), "6x5");
  EXPECT_TRUE(m.notes().empty());
}

TEST(Loader, ShapeOverrideErrors) {
  ModelBuilder b("linear");
  Linear(b);
  EXPECT_EQ(ErrorOf([&] {
              LoadBuilt(b, {{ParseShapeOverride("nope:1x4")}, std::nullopt});
            }),
            "m.onnx: --shape names 'nope', which is not an input of the model (inputs: x)");
  EXPECT_EQ(ErrorOf([&] {
              LoadBuilt(b, {{ParseShapeOverride("x:1x4x1")}, std::nullopt});
            }),
            "m.onnx: --shape gives input 'x' 3 dimensions; the model declares 2");
  EXPECT_EQ(ErrorOf([&] {
              LoadBuilt(b, {{ParseShapeOverride("x:2x5")}, std::nullopt});
            }),
            "m.onnx: --shape asks 5 for dimension 1 of input 'x', which the model fixes at 4");
  EXPECT_EQ(ErrorOf([] { ParseShapeOverride("x:1xx4"); }),
            "--shape 'x:1xx4': dimension '' is not a positive integer");
  EXPECT_EQ(ErrorOf([] { ParseShapeOverride("x:0x4"); }),
            "--shape 'x:0x4': dimension 0 is outside 1..1099511627776");
  EXPECT_EQ(ErrorOf([] { ParseShapeOverride("1x4"); }),
            "--shape '1x4': expected NAME:DIMS, e.g. input:1x3x224x224");
  EXPECT_EQ(ParseShapeOverride("scope:x:2,3").input, "scope:x");
}

TEST(Loader, BatchOnAFixedFirstDimensionIsRefused) {
  ModelBuilder b("fixed");
  b.Input("x", onnx::TensorProto::FLOAT, {1, 4});
  b.Node("Relu", {"x"}, {"y"}, "relu");
  b.Output("y", onnx::TensorProto::FLOAT, {"n", "m"});
  EXPECT_EQ(ErrorOf([&] {
              LoadBuilt(b, {{}, 8});
            }),
            "m.onnx: --batch 8: input 'x' has a fixed first dimension of 1");
}

TEST(Loader, InconsistentShapesFailShapeInference) {
  ModelBuilder b("mismatch");
  b.Input("x", onnx::TensorProto::FLOAT, {"batch", 5});
  b.Initializer("W", {4, 3}, std::vector<float>(12, 0.5f));
  b.Node("MatMul", {"x", "W"}, {"y"}, "mm");
  b.Output("y", onnx::TensorProto::FLOAT, {"batch", 3});
  EXPECT_THAT(ErrorOf([&] { LoadBuilt(b); }),
              StartsWith("m.onnx: shape inference failed: (op_type:MatMul, node name: mm): "
                         "Incompatible dimensions for matrix multiplication"));
}

TEST(Loader, MissingFile) {
  EXPECT_EQ(ErrorOf([] { Model::FromFile("/nonexistent/m.onnx"); }),
            "/nonexistent/m.onnx: no such file");
}

TEST(Loader, EmptyFile) {
  TempDir dir;
  WriteFile(dir / "e.onnx", "");
  EXPECT_THAT(ErrorOf([&] { Model::FromFile(dir / "e.onnx"); }),
              HasSubstr("e.onnx: the file is empty"));
}

TEST(Loader, NotAProtobuf) {
  TempDir dir;
  WriteFile(dir / "t.onnx", "this is a text file, not a model\n");
  EXPECT_THAT(ErrorOf([&] { Model::FromFile(dir / "t.onnx"); }),
              HasSubstr("t.onnx: not an ONNX model"));
}

TEST(Loader, TruncatedFile) {
  const std::string& bytes = BuiltinModelBytes();
  TempDir dir;
  WriteFile(dir / "cut.onnx", bytes.substr(0, bytes.size() / 2));
  EXPECT_THAT(ErrorOf([&] { Model::FromFile(dir / "cut.onnx"); }),
              HasSubstr("cut.onnx: not an ONNX model: the protobuf does not parse"));
}

TEST(Loader, Cycle) {
  ModelBuilder b("cycle");
  b.Input("x", onnx::TensorProto::FLOAT, {2});
  b.Node("Add", {"x", "c"}, {"a"}, "first");
  b.Node("Relu", {"a"}, {"c"}, "second");
  b.Output("a", onnx::TensorProto::FLOAT, {2});
  EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }),
            "m.onnx: the graph has a cycle: 'first' -> 'second' -> 'first'");
}

TEST(Loader, InputThatNothingProduces) {
  ModelBuilder b("ghost");
  b.Input("x", onnx::TensorProto::FLOAT, {2});
  b.Node("Add", {"x", "ghost"}, {"y"}, "add");
  b.Output("y", onnx::TensorProto::FLOAT, {"n", "m"});
  EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }),
            "m.onnx: node 'add' (Add): input 'ghost' is not produced by any node, initializer or "
            "graph input");
}

TEST(Loader, NegativeAndAbsurdDimensions) {
  {
    ModelBuilder b("neg");
    b.Input("x", onnx::TensorProto::FLOAT, {2, -3});
    b.Node("Relu", {"x"}, {"y"}, "relu");
    b.Output("y", onnx::TensorProto::FLOAT, {"n", "m"});
    EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }), "m.onnx: input 'x' has a negative dimension -3");
  }
  {
    ModelBuilder b("huge");
    b.Input("x", onnx::TensorProto::FLOAT, {int64_t{1} << 50});
    b.Node("Relu", {"x"}, {"y"}, "relu");
    b.Output("y", onnx::TensorProto::FLOAT, {"n", "m"});
    EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }),
              "m.onnx: input 'x' has an absurd dimension 1125899906842624 (limit 1099511627776)");
  }
  {
    // A weight that claims 2^41 elements and carries none: refused before anything is sized.
    ModelBuilder b("bigweight");
    Linear(b);
    auto* t = b.proto().mutable_graph()->mutable_initializer(0);
    t->clear_dims();
    t->add_dims(int64_t{1} << 21);
    t->add_dims(int64_t{1} << 20);
    EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }),
              "m.onnx: tensor 'W': has more than 1,099,511,627,776 elements; refusing it");
  }
  {
    ModelBuilder b("negweight");
    Linear(b);
    b.proto().mutable_graph()->mutable_initializer(1)->set_dims(0, -3);
    EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }), "m.onnx: tensor 'b': has a negative dimension -3");
  }
}

TEST(Loader, DataThatDisagreesWithDims) {
  ModelBuilder b("short");
  Linear(b);
  b.proto().mutable_graph()->mutable_initializer(1)->set_dims(0, 4);
  EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }),
            "m.onnx: tensor 'b': holds 12 bytes of raw data, but its dims 4 need 16");
}

TEST(Loader, UnknownDtype) {
  {
    ModelBuilder b("dtype");
    Linear(b);
    b.proto().mutable_graph()->mutable_initializer(1)->set_data_type(99);
    EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }), "m.onnx: tensor 'b': has an unknown data type 99");
  }
  {
    ModelBuilder b("dtype");
    Linear(b);
    b.proto()
        .mutable_graph()
        ->mutable_input(0)
        ->mutable_type()
        ->mutable_tensor_type()
        ->set_elem_type(77);
    EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }), "m.onnx: input 'x' has an unknown data type 77");
  }
}

TEST(Loader, UnsupportedVersions) {
  {
    ModelBuilder b("ir");
    Linear(b);
    b.proto().set_ir_version(99);
    EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }),
              "m.onnx: IR version 99 is not supported (this build's ONNX 1.12.0 reads IR 3 to 8)");
  }
  {
    ModelBuilder b("opset", 99);
    Linear(b);
    EXPECT_EQ(ErrorOf([&] { LoadBuilt(b); }),
              "m.onnx: opset 99 of domain 'ai.onnx' is not supported (this build's ONNX 1.12.0 "
              "knows 1 to 17)");
  }
}

TEST(Loader, CheckerFailuresAreOneLine) {
  ModelBuilder b("attr");
  Linear(b);
  b.Node("Softmax", {"y"}, {"z"}, "sm").String("axis", "not an int");
  std::string message = ErrorOf([&] { LoadBuilt(b); });
  EXPECT_THAT(message, StartsWith("m.onnx: fails the ONNX checker: "));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(Loader, SortsNodesThatAreOutOfOrder) {
  ModelBuilder b("unsorted");
  b.Input("x", onnx::TensorProto::FLOAT, {2});
  b.Node("Relu", {"a"}, {"y"}, "second");
  b.Node("Neg", {"x"}, {"a"}, "first");
  b.Output("y", onnx::TensorProto::FLOAT, {2});
  Model m = LoadBuilt(b);
  ASSERT_EQ(m.graph().nodes().size(), 2u);
  EXPECT_EQ(m.graph().nodes()[0].name, "first");
  EXPECT_EQ(m.graph().nodes()[1].name, "second");
  EXPECT_THAT(m.notes().back(), HasSubstr("not in topological order"));
}

// External data: weights in a side file, resolved only inside the model's folder.
class ExternalData : public ::testing::Test {
 protected:
  // Writes the Linear model with W stored in `location`, holding `bytes` bytes.
  fs::path Write(const std::string& location, uint64_t length = 48) {
    ModelBuilder b("ext");
    Linear(b);
    auto* w = b.proto().mutable_graph()->mutable_initializer(0);
    w->clear_raw_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* entry = w->add_external_data();
    entry->set_key("location");
    entry->set_value(location);
    auto* len = w->add_external_data();
    len->set_key("length");
    len->set_value(std::to_string(length));
    fs::path model = dir_ / "models/m.onnx";
    WriteFile(model, b.Serialize());
    return model;
  }
  TempDir dir_;
};

TEST_F(ExternalData, ResolvesInsideTheFolder) {
  std::string weights(48, '\0');
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<char>(i);
  WriteFile(dir_ / "models/w.bin", weights);
  Model m = Model::FromFile(Write("w.bin"));
  EXPECT_EQ(m.external_data_bytes(), 48u);
  EXPECT_EQ(m.ReadTensorData(m.proto().graph().initializer(0)), weights);
}

TEST_F(ExternalData, RefusesParentEscape) {
  WriteFile(dir_ / "secret.bin", std::string(48, 'x'));
  EXPECT_THAT(
      ErrorOf([&] { Model::FromFile(Write("../secret.bin")); }),
      HasSubstr("tensor 'W': external data location '../secret.bin' leaves the model's folder"));
}

TEST_F(ExternalData, RefusesAbsolutePath) {
  EXPECT_THAT(ErrorOf([&] { Model::FromFile(Write("/etc/passwd")); }),
              HasSubstr("external data location '/etc/passwd' is absolute"));
}

TEST_F(ExternalData, RefusesSymlinkOut) {
  WriteFile(dir_ / "outside.bin", std::string(48, 'x'));
  fs::create_directories(dir_ / "models");
  fs::create_symlink(dir_ / "outside.bin", dir_ / "models/link.bin");
  EXPECT_THAT(ErrorOf([&] { Model::FromFile(Write("link.bin")); }),
              HasSubstr("external data location 'link.bin' resolves to"));
}

TEST_F(ExternalData, MissingFileAndWrongLength) {
  EXPECT_THAT(ErrorOf([&] { Model::FromFile(Write("absent.bin")); }),
              HasSubstr("external data file 'absent.bin' does not exist"));
  WriteFile(dir_ / "models/w.bin", std::string(40, 'x'));
  EXPECT_THAT(ErrorOf([&] { Model::FromFile(Write("w.bin", 40)); }),
              HasSubstr("external data holds 40 bytes, but its dims and dtype need 48"));
  EXPECT_THAT(ErrorOf([&] { Model::FromFile(Write("w.bin", 48)); }),
              HasSubstr("external data range 0+48 is past the end of 'w.bin' (40 bytes)"));
}

TEST_F(ExternalData, NeedsAFolder) {
  fs::path model = Write("w.bin");
  std::ifstream in(model, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  EXPECT_THAT(ErrorOf([&] { Model::FromBytes(bytes, "mem"); }),
              HasSubstr("needs the model's folder"));
}

}  // namespace
}  // namespace plaster::model
