#pragma once
/// Reading an evaluation record (docs/json-evaluation.md) back: `plaster compare` and
/// `plaster report` take either form, the one document or JSON Lines.

#include <nlohmann/json.hpp>
#include <string>

namespace plaster::report {

/// The schema name and the newest schema_version this build reads.
inline constexpr const char* kEvaluationSchema = "plaster.evaluation";
inline constexpr int kEvaluationSchemaVersion = 1;

/// Reads `path` in either form and returns the document form: {"schema", "schema_version",
/// "context", "cases", "recommendation"} (the "kind" keys of JSON Lines are dropped). The form is
/// told by the content, not the name: a first line that is an object with "kind" is JSON Lines.
/// JSON Lines carries no recommendation; it gets {"case": null, "reason": "not recorded (JSON
/// Lines)"}. Blank lines are skipped; lines of an unknown kind are skipped (a later plaster may add
/// kinds without a schema bump).
/// Throws plaster::Error naming the file (and the line, for JSON Lines and for bad JSON) on: a
/// missing or unreadable file; bad JSON; a schema other than "plaster.evaluation"; a
/// schema_version that is not an integer or newer than kEvaluationSchemaVersion; a missing context;
/// a case line before the context line, or a second context line; a line without "kind"; cases
/// that are not an array of objects.
nlohmann::json LoadEvaluationRecord(const std::string& path);

}  // namespace plaster::report
