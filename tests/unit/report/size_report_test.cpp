// The renderings: what the text report shows for uncounted nodes and notes, and JSON nulls.
#include "report/size_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <sstream>

#include "model/builder.h"

namespace plaster::report {
namespace {

using ::testing::HasSubstr;

model::SizeReport WithCustomOp() {
  model::ModelBuilder b("custom");
  b.Input("x", onnx::TensorProto::FLOAT, {"n", 4});
  b.Node("Relu", {"x"}, {"r"}, "relu");
  auto* op = b.proto().add_opset_import();
  op->set_domain("com.example");
  op->set_version(1);
  b.Node("Frob", {"r"}, {"y"}, "frob");
  b.proto().mutable_graph()->mutable_node(1)->set_domain("com.example");
  b.Output("y", onnx::TensorProto::FLOAT, {"n", 4});
  return model::AnalyzeSize(model::Model::FromBytes(b.Serialize(), "custom.onnx"));
}

TEST(SizeText, ListsUncountedNodesAndNotes) {
  std::ostringstream out;
  PrintSizeText(WithCustomOp(), {10}, out);
  const std::string text = out.str();
  EXPECT_THAT(text,
              HasSubstr("not counted  1 of 2 nodes (listed below): the totals are lower bounds"));
  EXPECT_THAT(text, HasSubstr("'frob' (com.example.Frob): no cost formula for op type 'Frob' of "
                              "domain 'com.example'"));
  EXPECT_THAT(text, HasSubstr("note        input 'x': dimension 0 ('n') is not set; using 1"));
  EXPECT_THAT(text, HasSubstr("lower bounds: some sizes unknown"));
}

TEST(SizeJson, UnknownFiguresAreNullNotZero) {
  auto j = SizeJson(WithCustomOp());
  const auto& frob = j["nodes"][1];
  EXPECT_EQ(frob["name"], "frob");
  EXPECT_TRUE(frob["macs"].is_null());
  EXPECT_TRUE(frob["flops"].is_null());
  EXPECT_EQ(frob["rule"], "uncounted");
  EXPECT_THAT(frob["reason"].get<std::string>(), HasSubstr("no cost formula"));
  EXPECT_TRUE(j["memory"]["bytes_moved"].is_null());
  EXPECT_TRUE(j["arithmetic_intensity"].is_null());
  EXPECT_EQ(j["compute"]["uncounted"].size(), 1u);
  EXPECT_TRUE(j["model"]["file_bytes"].is_null());
  EXPECT_EQ(j["model"]["inputs"][0]["shape"], nlohmann::ordered_json::parse("[1,4]"));
}

}  // namespace
}  // namespace plaster::report
