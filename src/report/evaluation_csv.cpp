// The record as CSV (RFC 4180): one row per case, one column per metric.
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "report/evaluation_headline.h"
#include "report/evaluation_report.h"

namespace plaster::report {
namespace {

std::string Field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void Line(std::ostringstream& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) out << (i == 0 ? "" : ",") << Field(fields[i]);
  out << "\r\n";
}

}  // namespace

std::string ScorecardCsv(const nlohmann::json& record) {
  const eval::Record r = eval::ParseEvaluation(record);
  // The columns: every metric name any case has, in order of first appearance, with the unit
  // of its first appearance.
  std::vector<std::pair<std::string, std::string>> columns;
  for (const auto& c : r.cases) {
    for (const auto& m : c.metrics) {
      const bool seen = std::any_of(columns.begin(), columns.end(),
                                    [&](const auto& col) { return col.first == m.name; });
      if (!seen) columns.emplace_back(m.name, m.unit);
    }
  }
  std::ostringstream out;
  std::vector<std::string> header = {"id",    "engine",  "device", "precision",
                                     "batch", "threads", "status", "reason"};
  for (const auto& [name, unit] : columns) {
    header.push_back(unit.empty() ? name : fmt::format("{} [{}]", name, unit));
  }
  Line(out, header);
  for (const auto& c : r.cases) {
    std::vector<std::string> row = {c.id,
                                    c.engine,
                                    c.device,
                                    c.precision,
                                    std::to_string(c.batch),
                                    std::to_string(c.threads),
                                    c.status,
                                    c.reason.value_or("")};
    for (const auto& col : columns) {
      const eval::Metric* m = c.Find(col.first);
      row.push_back(m == nullptr ? "" : m->raw);
    }
    Line(out, row);
  }
  return out.str();
}

}  // namespace plaster::report
