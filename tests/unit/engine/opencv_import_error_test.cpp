// OpenCV's import messages, recorded from Debian's OpenCV 4.6 (the opencv engine's Note [OpenCV
// import]), turned into node, op and one-line reason.
#include "engine/opencv/import_error.h"

#include <gtest/gtest.h>

namespace plaster::engine::opencv_engine {
namespace {

// MobileNetV2 exported at opset 14: Clip takes its bounds as inputs, OpenCV 4.6 as attributes.
constexpr const char* kClip =
    "OpenCV(4.6.0) ./modules/dnn/src/onnx/onnx_importer.cpp:1040: error: (-2:Unspecified error) "
    "in function 'handleNode'\n"
    "> Node [Clip@ai.onnx]:(onnx_node!/features/features.0/features.0.2/Clip) parse error: "
    "OpenCV(4.6.0) ./modules/dnn/src/onnx/onnx_importer.cpp:1934: error: (-2:Unspecified error) "
    "in function 'void cv::dnn::dnn4_v20220524::ONNXImporter::parseClip("
    "cv::dnn::dnn4_v20220524::LayerParams&, const opencv_onnx::NodeProto&)'\n"
    "> >  (expected: 'node_proto.input_size() == 1'), where\n"
    "> >     'node_proto.input_size()' is 3\n"
    "> > must be equal to\n"
    "> >     '1' is 1\n"
    "> \n";

// The BERT-like encoder: a Gather on a computed shape.
constexpr const char* kGather =
    "OpenCV(4.6.0) ./modules/dnn/src/onnx/onnx_importer.cpp:1040: error: (-2:Unspecified error) "
    "in function 'handleNode'\n"
    "> Node [Gather@ai.onnx]:(onnx_node!/layers.0/self_attn/Gather_3) parse error: OpenCV(4.6.0) "
    "./modules/core/src/matrix.cpp:883: error: (-215:Assertion failed) r == Range::all() || (0 <= "
    "r.start && r.start < r.end && r.end <= m.size[i]) in function 'Mat'\n"
    "> \n";

// An op OpenCV has no layer for, in a node without a name (called after its first output).
constexpr const char* kNonZero =
    "OpenCV(4.6.0) ./modules/dnn/src/onnx/onnx_importer.cpp:1040: error: (-2:Unspecified error) "
    "in function 'handleNode'\n"
    "> Node [NonZero@ai.onnx]:(onnx_node_output_0!result) parse error: OpenCV(4.6.0) "
    "./modules/dnn/src/layer_internals.hpp:110: error: (-2:Unspecified error) Can't create layer "
    "\"onnx_node_output_0!result\" of type \"NonZero\" in function 'getLayerInstance'\n"
    "> \n";

TEST(OpenCvImportError, NamesTheNodeTheOpAndTheCheckThatFailed) {
  const ImportFailure clip = ParseImportError(kClip);
  EXPECT_EQ(clip.node, "/features/features.0/features.0.2/Clip");
  EXPECT_EQ(clip.op_type, "Clip");
  EXPECT_EQ(clip.reason, "parseClip: expected node_proto.input_size() == 1 (node_proto.input_size() is 3)");

  const ImportFailure gather = ParseImportError(kGather);
  EXPECT_EQ(gather.node, "/layers.0/self_attn/Gather_3");
  EXPECT_EQ(gather.op_type, "Gather");
  EXPECT_EQ(gather.reason,
            "Mat: assertion failed: r == Range::all() || (0 <= r.start && r.start < r.end && r.end "
            "<= m.size[i])");

  const ImportFailure missing = ParseImportError(kNonZero);
  EXPECT_EQ(missing.node, "result");
  EXPECT_EQ(missing.op_type, "NonZero");
  EXPECT_EQ(missing.reason, "getLayerInstance: OpenCV has no layer for op NonZero");
}

TEST(OpenCvImportError, KeepsAMessageOfAnotherFormAsItsFirstLine) {
  const ImportFailure other = ParseImportError("Failed to parse ONNX model from in-memory byte array.\nmore");
  EXPECT_EQ(other.node, "");
  EXPECT_EQ(other.reason, "Failed to parse ONNX model from in-memory byte array.");
  EXPECT_EQ(ShortenReason(""), "no reason given");
  EXPECT_EQ(ShortenReason("OpenCV(4.6.0) x.cpp:1: error: (-5:Bad argument) wrong blob in function "
                          "'cv::dnn::Net::forward'"),
            "forward: wrong blob");
}

// What the importer logs in diagnostic mode: every node it cannot take, each once.
TEST(OpenCvImportError, ReadsEveryFailingNodeFromADiagnosticLog) {
  const std::string log =
      "[ERROR:0@0.004] global ./modules/dnn/src/debug_utils.cpp (74) printMissing DNN: Not "
      "supported types:\n"
      "Type='ai.onnx.NonZero', affected nodes:\n"
      "['result']\n"
      "\n"
      "[ERROR:0@0.259] global ./modules/dnn/src/onnx/onnx_importer.cpp (996) handleNode DNN/ONNX: "
      "Potential problem during processing node with 3 inputs and 1 outputs: "
      "[Clip]:(onnx_node!/a/Clip) from domain='ai.onnx'\n"
      "OpenCV(4.6.0) ./modules/dnn/src/onnx/onnx_importer.cpp:1934: error: (-2:Unspecified "
      "error) in function 'void cv::dnn::ONNXImporter::parseClip(cv::dnn::LayerParams&, const "
      "opencv_onnx::NodeProto&)'\n"
      ">  (expected: 'node_proto.input_size() == 1'), where\n"
      ">     'node_proto.input_size()' is 3\n"
      "> must be equal to\n"
      ">     '1' is 1\n"
      "\n"
      "[ERROR:0@0.260] global ./modules/dnn/src/onnx/onnx_importer.cpp (996) handleNode DNN/ONNX: "
      "Potential problem during processing node with 1 inputs and 1 outputs: "
      "[NonZero]:(onnx_node_output_0!result) from domain='ai.onnx'\n"
      "OpenCV(4.6.0) ./modules/dnn/src/layer_internals.hpp:110: error: (-2:Unspecified error) "
      "Can't create layer \"onnx_node_output_0!result\" of type \"NonZero\" in function "
      "'getLayerInstance'\n"
      "\n"
      "[ERROR:0@0.261] global ./modules/dnn/src/onnx/onnx_importer.cpp (996) handleNode DNN/ONNX: "
      "Potential problem during processing node with 3 inputs and 1 outputs: "
      "[Clip]:(onnx_node!/a/Clip) from domain='ai.onnx'\n"
      "OpenCV(4.6.0) ./modules/dnn/src/onnx/onnx_importer.cpp:1934: error: (-2:Unspecified "
      "error) in function 'parseClip'\n";
  const std::vector<ImportFailure> failures = ParseDiagnosticLog(log);
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0].node, "/a/Clip");
  EXPECT_EQ(failures[0].op_type, "Clip");
  EXPECT_EQ(failures[0].reason,
            "parseClip: expected node_proto.input_size() == 1 (node_proto.input_size() is 3)");
  EXPECT_EQ(failures[1].node, "result");
  EXPECT_EQ(failures[1].reason, "getLayerInstance: OpenCV has no layer for op NonZero");
  EXPECT_TRUE(ParseDiagnosticLog("").empty());
}

}  // namespace
}  // namespace plaster::engine::opencv_engine
