// Inputs the fuzzer (docs/fuzzing.md) once crashed plaster with; each now ends as it should.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "model/size_analysis.h"
#include "report/size_report.h"
#include "support/fixtures.h"

namespace plaster::model {
namespace {

using ::testing::HasSubstr;
using plaster::testing::ErrorOf;

std::filesystem::path Regression(const std::string& name) {
  return std::filesystem::path(PLASTER_SOURCE_DIR) / "fuzz/regressions" / (name + ".onnx");
}

TEST(FuzzRegression, SliceFoldingWithEmptyStarts) {
  EXPECT_THAT(ErrorOf([] { Model::FromFile(Regression("slice_folding_empty_starts")); }),
              HasSubstr("Incorrect or missing input value for starts and ends"));
}

TEST(FuzzRegression, ZeroStrideIsRefusedBeforeOnnxDividesByIt) {
  EXPECT_THAT(ErrorOf([] { Model::FromFile(Regression("maxpool_zero_stride")); }),
              HasSubstr("node 'pool' (MaxPool): attribute 'strides' has 0, not positive"));
}

TEST(FuzzRegression, ShapeAfterFailedInferenceIsAnErrorNotACrash) {
  EXPECT_THAT(ErrorOf([] { Model::FromFile(Regression("shape15_after_failed_inference")); }),
              HasSubstr("(op_type:Add, node name: add): Incompatible dimensions"));
}

TEST(FuzzRegression, ShapeOfACustomOpsOutputLoads) {
  const SizeReport r = AnalyzeSize(Model::FromFile(Regression("shape15_reads_custom_op_output")));
  bool listed = false;
  for (int i : r.uncounted) listed |= r.nodes[static_cast<size_t>(i)].op_type == "com.example.Foo";
  EXPECT_TRUE(listed);
}

TEST(FuzzRegression, InvalidUtf8NamesStillMakeValidJson) {
  const SizeReport r = AnalyzeSize(Model::FromFile(Regression("json_invalid_utf8_node_name")));
  const std::string text = report::SizeJson(r).dump();
  EXPECT_THAT(text, HasSubstr("relu\xEF\xBF\xBD"));  // U+FFFD in UTF-8
}

}  // namespace
}  // namespace plaster::model
