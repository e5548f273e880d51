#pragma once
/// What OpenCV's ONNX importer says when it cannot take a node, turned into plaster's terms
/// ("node X (op Y): reason"). Plain text in, plain text out: no OpenCV headers here, so the
/// parsing is unit-tested on recorded messages.

#include <string>
#include <string_view>
#include <vector>

namespace plaster::engine::opencv_engine {

struct ImportFailure {
  std::string node;     ///< the ONNX node's name ("/features/features.0/features.0.2/Clip")
  std::string op_type;  ///< "Clip"
  std::string reason;   ///< one line: "parseClip: expected node_proto.input_size() == 1 (it is 3)"
};

/// The failing node of an import exception's message (cv::Exception::what()): "> Node
/// [Clip@ai.onnx]:(onnx_node!NAME) parse error: INNER". Without that form, node and op_type are
/// empty and reason is the message's first meaningful line.
ImportFailure ParseImportError(std::string_view message);

/// Every failing node of a diagnostic import's log (cv::dnn::enableModelDiagnostics: the importer
/// logs each node it cannot take and goes on): "[ERROR:...] ... DNN/ONNX: Potential problem during
/// processing node with N inputs and M outputs: [OP]:(onnx_node!NAME) from domain='ai.onnx'",
/// followed by the exception's lines. In log order; a node named twice is kept once.
std::vector<ImportFailure> ParseDiagnosticLog(std::string_view log);

/// OpenCV's own wording of an error ("OpenCV(4.6.0) FILE:LINE: error: (-215:Assertion failed)
/// COND in function 'F'" and the "> (expected: ...)" lines), reduced to one line: "F: assertion
/// failed: COND" or "F: expected COND (A is 3)".
std::string ShortenReason(std::string_view text);

}  // namespace plaster::engine::opencv_engine
