// plaster check end to end: every engine and precision against the torch fp32 reference, what
// OpenCV cannot import named, and the exit status a script can test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace plaster {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;

testing::CommandResult Plaster(const std::string& args) {
  return testing::RunCommand(std::string(PLASTER_BIN) + " " + args);
}

// X[2,16] → Clip(X, lo, hi) → Y: Clip with its bounds as inputs (opset 13), the form OpenCV 4.6
// cannot import; torch can.
std::string ClipWithInputs() {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("clip");
  for (auto [v, name] : {std::pair{g->add_input(), "X"}, std::pair{g->add_output(), "Y"}}) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_value(2);
    t->mutable_shape()->add_dim()->set_dim_value(16);
  }
  onnx::NodeProto* clip = g->add_node();
  clip->set_name("the_clip");
  clip->set_op_type("Clip");
  clip->add_input("X");
  for (auto [name, value] : {std::pair{"lo", -0.5f}, std::pair{"hi", 0.5f}}) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_float_data(value);
    clip->add_input(name);
  }
  clip->add_output("Y");
  return m.SerializeAsString();
}

TEST(CheckCli, EveryEngineAndPrecisionAgreesOnTheBuiltinModel) {
  const auto r = Plaster("check builtin:resnet8 --batch 4 --runs 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["agree"].get<bool>());
  EXPECT_EQ(j["inputs"], "3 run(s) of generated inputs, seeds 1..3");
  const auto& results = j["results"];
  ASSERT_GE(results.size(), 4u);
  EXPECT_EQ(results[0]["verdict"], "reference");
  bool opencv_fp32 = false, opencv_int8 = false;
  for (const auto& row : results) {
    if (row["verdict"] == "reference") continue;
    EXPECT_EQ(row["verdict"], "agrees") << row.dump();
    ASSERT_EQ(row["outputs"].size(), 1u);
    const auto& out = row["outputs"][0];
    EXPECT_EQ(out["rows"], 12);  // 3 runs × batch 4, top-1 over the 10 classes
    EXPECT_GE(out["cosine"].get<double>(), 0.99);
    if (row["engine"] == "opencv" && row["precision"] == "fp32") {
      opencv_fp32 = true;
      EXPECT_LE(out["max_rel_error"].get<double>(), 1e-4);
      EXPECT_EQ(out["top1_agreement"].get<double>(), 1.0);
    }
    if (row["engine"] == "opencv" && row["precision"] == "int8") {
      opencv_int8 = true;
      EXPECT_GT(out["max_abs_error"].get<double>(), 0.0);  // really int8
      EXPECT_THAT(row["reason"].get<std::string>(), HasSubstr("int8:"));
    }
  }
  EXPECT_TRUE(opencv_fp32);
  EXPECT_TRUE(opencv_int8);
}

TEST(CheckCli, NamesWhatAnEngineCannotImportWithoutFailingTheCheck) {
  TempDir dir;
  WriteFile(dir / "clip13.onnx", ClipWithInputs());
  const auto r = Plaster("check " + (dir / "clip13.onnx").string() + " --precision fp32");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("opencv  fp32       unsupported"));
  EXPECT_THAT(r.out, HasSubstr("node 'the_clip' (Clip): parseClip: expected node_proto.input_size() == 1"));
  EXPECT_THAT(r.out, HasSubstr("torch   fp32       agrees"));
}

// A threshold nothing can meet: int8 disagrees, and the exit status says so.
TEST(CheckCli, ADisagreementExitsWithStatusOne) {
  const auto r =
      Plaster("check builtin:resnet8 --engine opencv --precision int8 --min-cosine 1 --runs 2");
  EXPECT_EQ(r.exit_code, 1) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("DISAGREES"));
  EXPECT_THAT(r.out, HasSubstr("cosine 0.99"));
  EXPECT_THAT(r.out, HasSubstr("< 1"));
  EXPECT_THAT(r.out, HasSubstr("some configurations DISAGREE with the reference (exit status 1)"));
}

TEST(CheckCli, BadInputIsOneLine) {
  const auto r = Plaster("check builtin:resnet8 --engine warp");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown engine 'warp'"));
  const auto p = Plaster("check builtin:resnet8 --precision fp8");
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_THAT(p.err, HasSubstr("fp8"));
}

}  // namespace
}  // namespace plaster
