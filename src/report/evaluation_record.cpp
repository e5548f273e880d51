#include "report/evaluation_record.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "core/error.h"

namespace plaster::report {
namespace {

using nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("{}: cannot read the file ({})", path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) Fail("{}: cannot read the file", path);
  return text.str();
}

// The library's message without its prefix and position ("syntax error while parsing ...").
std::string ParseDetail(const json::parse_error& e) {
  std::string_view what = e.what();
  const size_t column = what.find("column ");
  if (column != std::string_view::npos) {
    const size_t colon = what.find(": ", column);
    if (colon != std::string_view::npos) return std::string(what.substr(colon + 2));
  }
  return std::string(what);
}

// The 1-based line of byte offset `byte` (nlohmann's 1-based position of the last byte read).
int64_t LineOf(std::string_view text, size_t byte) {
  const size_t end = std::min(text.size(), byte > 0 ? byte - 1 : 0);
  int64_t line = 1;
  for (size_t k = 0; k < end; ++k) line += text[k] == '\n' ? 1 : 0;
  return line;
}

// The schema and its version; `where` is "a.json" or "a.jsonl:1".
void CheckSchema(const json& object, const std::string& where) {
  const auto schema = object.find("schema");
  if (schema == object.end() || !schema->is_string()) {
    Fail("{}: no \"schema\" (not a plaster evaluation record)", where);
  }
  if (schema->get<std::string>() != kEvaluationSchema) {
    Fail("{}: schema is \"{}\", expected \"{}\"", where, schema->get<std::string>(),
         kEvaluationSchema);
  }
  const auto version = object.find("schema_version");
  if (version == object.end() || !version->is_number_integer()) {
    Fail("{}: no integer \"schema_version\"", where);
  }
  if (version->get<int64_t>() > kEvaluationSchemaVersion) {
    Fail("{}: schema_version {} is newer than this plaster reads ({}); use a newer plaster", where,
         version->get<int64_t>(), kEvaluationSchemaVersion);
  }
}

json NoRecommendation(const char* why) { return json{{"case", nullptr}, {"reason", why}}; }

json FromLines(const std::string& path, std::string_view text) {
  json record;
  json cases = json::array();
  bool have_context = false;
  int64_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = fmt::format("{}:{}", path, line_number);
    json value;
    try {
      value = json::parse(line);
    } catch (const json::parse_error& e) {
      Fail("{}: not valid JSON: {}", where, ParseDetail(e));
    }
    if (!value.is_object()) Fail("{}: a line must be a JSON object", where);
    const auto kind = value.find("kind");
    if (kind == value.end() || !kind->is_string()) Fail("{}: the line has no \"kind\"", where);
    const std::string k = kind->get<std::string>();
    if (k == "context") {
      if (have_context) Fail("{}: a second context line", where);
      CheckSchema(value, where);
      value.erase("kind");
      record["schema"] = value["schema"];
      record["schema_version"] = value["schema_version"];
      record["context"] = std::move(value);
      have_context = true;
    } else if (k == "case") {
      if (!have_context) Fail("{}: a case line before the context line", where);
      value.erase("kind");
      cases.push_back(std::move(value));
    }
    // Other kinds are skipped (see the header).
  }
  if (!have_context) Fail("{}: no context line (an empty or truncated record?)", path);
  record["cases"] = std::move(cases);
  record["recommendation"] = NoRecommendation("not recorded (JSON Lines)");
  return record;
}

json FromDocument(const std::string& path, const std::string& text) {
  json record;
  try {
    record = json::parse(text);
  } catch (const json::parse_error& e) {
    Fail("{}:{}: not valid JSON: {}", path, LineOf(text, e.byte), ParseDetail(e));
  }
  if (!record.is_object()) Fail("{}: not a JSON object", path);
  CheckSchema(record, path);
  if (!record.contains("context") || !record["context"].is_object()) {
    Fail("{}: no \"context\" object", path);
  }
  record["context"].erase("kind");
  if (!record.contains("cases") || !record["cases"].is_array()) {
    Fail("{}: no \"cases\" array", path);
  }
  for (json& c : record["cases"]) {
    if (!c.is_object()) Fail("{}: a case is not a JSON object", path);
    c.erase("kind");
  }
  if (!record.contains("recommendation")) {
    record["recommendation"] = NoRecommendation("not recorded");
  }
  return record;
}

}  // namespace

json LoadEvaluationRecord(const std::string& path) {
  const std::string text = ReadFile(path);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) Fail("{}: the file is empty", path);
  // JSON Lines when the first non-blank line is, alone, an object with "kind".
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line = std::string_view(text).substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      const json first = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (first.is_object() && first.contains("kind")) return FromLines(path, text);
      break;
    }
    start = end + 1;
  }
  return FromDocument(path, text);
}

}  // namespace plaster::report
