#include "engine/opencv/import_error.h"

#include <set>

namespace plaster::engine::opencv_engine {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '>')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// "void cv::dnn::dnn4_v20220524::ONNXImporter::parseClip(cv::dnn::...)" → "parseClip".
std::string ShortFunction(std::string_view signature) {
  if (const size_t paren = signature.find('('); paren != std::string_view::npos) {
    signature = signature.substr(0, paren);
  }
  if (const size_t colon = signature.rfind("::"); colon != std::string_view::npos) {
    signature.remove_prefix(colon + 2);
  }
  if (const size_t space = signature.rfind(' '); space != std::string_view::npos) {
    signature.remove_prefix(space + 1);
  }
  return std::string(signature);
}

// The text between the first quote pair after `key` ("'...'" or "\"...\""), or empty.
std::string_view Quoted(std::string_view text, std::string_view key, char quote = '\'') {
  const size_t at = text.find(key);
  if (at == std::string_view::npos) return {};
  const size_t open = text.find(quote, at + key.size());
  if (open == std::string_view::npos) return {};
  const size_t close = text.find(quote, open + 1);
  if (close == std::string_view::npos) return {};
  return text.substr(open + 1, close - open - 1);
}

// "onnx_node!NAME" or "onnx_node_output_0!OUTPUT" (a node without a name, called after its first
// output) → NAME / OUTPUT.
std::string StripLayerPrefix(std::string_view layer) {
  if (const size_t bang = layer.find('!'); bang != std::string_view::npos) {
    layer.remove_prefix(bang + 1);
  }
  return std::string(layer);
}

}  // namespace

std::string ShortenReason(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::string_view line : Lines(text)) {
    line = Trim(line);
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) return "no reason given";
  const std::string_view head = lines.front();
  const size_t error = head.find("error: (");
  if (head.rfind("OpenCV(", 0) != 0 || error == std::string_view::npos) return std::string(head);
  // "error: (-215:Assertion failed) COND in function 'F'"
  std::string_view rest = head.substr(error + 8);
  const size_t close = rest.find(')');
  std::string_view kind;
  if (const size_t colon = rest.find(':'); colon != std::string_view::npos && colon < close) {
    kind = rest.substr(colon + 1, close - colon - 1);
  }
  rest = close == std::string_view::npos ? std::string_view() : Trim(rest.substr(close + 1));
  std::string function;
  if (const size_t in = rest.rfind(" in function '"); in != std::string_view::npos) {
    function = ShortFunction(Quoted(rest.substr(in), "in function"));
    rest = Trim(rest.substr(0, in));
  } else if (rest.rfind("in function '", 0) == 0) {
    function = ShortFunction(Quoted(rest, "in function"));
    rest = {};
  }
  std::string reason;
  if (const std::string_view type = Quoted(rest, "of type", '"');
      rest.find("Can't create layer") != std::string_view::npos && !type.empty()) {
    reason = "OpenCV has no layer for op " + std::string(type);
  } else if (kind == "Assertion failed" && !rest.empty()) {
    reason = "assertion failed: " + std::string(rest);
  } else if (!rest.empty()) {
    reason = std::string(rest);
  } else {
    // CV_CheckEQ and friends: "(expected: 'A == 1'), where 'A' is 3 must be equal to '1' is 1".
    for (size_t i = 1; i < lines.size(); ++i) {
      if (const std::string_view expected = Quoted(lines[i], "(expected:"); !expected.empty()) {
        reason = "expected " + std::string(expected);
        if (i + 1 < lines.size()) {
          const std::string_view lhs = Quoted(lines[i + 1], "");
          const size_t is = lines[i + 1].rfind(" is ");
          if (!lhs.empty() && is != std::string_view::npos) {
            reason += " (" + std::string(lhs) + " is " + std::string(lines[i + 1].substr(is + 4)) + ")";
          }
        }
        break;
      }
    }
    if (reason.empty()) reason = kind.empty() ? std::string(head) : std::string(kind);
  }
  return function.empty() || function == "handleNode" ? reason : function + ": " + reason;
}

ImportFailure ParseImportError(std::string_view message) {
  ImportFailure failure;
  // "> Node [Clip@ai.onnx]:(onnx_node!NAME) parse error: INNER..."
  const size_t node = message.find("Node [");
  const size_t parse = message.find(") parse error: ", node);
  if (node == std::string_view::npos || parse == std::string_view::npos) {
    failure.reason = ShortenReason(message);
    return failure;
  }
  const std::string_view head = message.substr(node + 6, parse - node - 6);  // "Clip@ai.onnx]:(onnx_node!NAME"
  const size_t at = head.find('@');
  const size_t bracket = head.find("]:(");
  if (bracket == std::string_view::npos) {
    failure.reason = ShortenReason(message);
    return failure;
  }
  failure.op_type = std::string(head.substr(0, std::min(at, bracket)));
  failure.node = StripLayerPrefix(head.substr(bracket + 3));
  failure.reason = ShortenReason(message.substr(parse + 15));
  return failure;
}

std::vector<ImportFailure> ParseDiagnosticLog(std::string_view log) {
  static constexpr std::string_view kProblem = "Potential problem during processing node";
  std::vector<ImportFailure> failures;
  std::set<std::string> seen;
  const std::vector<std::string_view> lines = Lines(log);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.find(kProblem) == std::string_view::npos) continue;
    // "...: [Clip]:(onnx_node!NAME) from domain='ai.onnx'"
    const size_t open = line.find(": [", line.find(kProblem));
    const size_t mid = line.find("]:(", open);
    const size_t end = line.rfind(") from domain=");
    if (open == std::string_view::npos || mid == std::string_view::npos ||
        end == std::string_view::npos || end < mid) {
      continue;
    }
    ImportFailure failure;
    failure.op_type = std::string(line.substr(open + 3, mid - open - 3));
    failure.node = StripLayerPrefix(line.substr(mid + 3, end - mid - 3));
    std::string inner;
    for (size_t k = i + 1; k < lines.size() && lines[k].rfind("[", 0) != 0; ++k) {
      inner += std::string(lines[k]) + "\n";
    }
    failure.reason = ShortenReason(inner);
    if (seen.insert(failure.node).second) failures.push_back(std::move(failure));
  }
  return failures;
}

}  // namespace plaster::engine::opencv_engine
