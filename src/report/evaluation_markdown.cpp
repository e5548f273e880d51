// The scorecard as GitHub-flavoured Markdown.
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "report/evaluation_headline.h"
#include "report/evaluation_report.h"

namespace plaster::report {
namespace {

using eval::kLetters;

// Record text inside Markdown: every character that could start emphasis, code, a link, raw
// HTML, an entity or a table cell is backslash-escaped (CommonMark allows it before any ASCII
// punctuation); line breaks become spaces, since a table row is one line.
std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '<':
      case '>':
      case '|':
      case '~':
      case '&':
      case '!':
      case '#':
        out += '\\';
        out += c;
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string ScorecardMarkdown(const nlohmann::json& record) {
  const eval::Record r = eval::ParseEvaluation(record);
  const eval::Scorecard s = eval::BuildScorecard(r);
  const auto& ctx = r.context;
  std::ostringstream out;

  out << fmt::format("## plaster evaluate · {}\n\n", Escape(ctx.model_name));
  out << fmt::format("{}, {} logical core{}; {}; plaster {} ({}), started {}\n\n",
                     Escape(ctx.cpu_model), ctx.logical_cores, ctx.logical_cores == 1 ? "" : "s",
                     Escape(ctx.os_name), Escape(ctx.plaster_version), Escape(ctx.plaster_git),
                     Escape(ctx.started_utc));
  if (r.cases.empty()) {
    out << "No cases in the record.\n\n";
  } else {
    out << "| case |";
    for (const auto& title : s.titles) out << ' ' << title << " |";
    out << "\n|---|";
    for (size_t k = 0; k < kLetters.size(); ++k) out << "---|";
    out << '\n';
    for (const auto& row : s.rows) {
      out << "| " << Escape(row.c->id) << " |";
      if (!row.c->Passed()) {
        // A Markdown table cannot span columns: the reason fills the first, the others stay empty.
        out << " **" << Escape(eval::StatusLine(*row.c)) << "** |";
        for (size_t k = 1; k < kLetters.size(); ++k) out << " |";
        out << '\n';
        continue;
      }
      for (const auto& cell : row.cells) {
        const std::string text = Escape(cell.text);
        out << ' ' << (cell.best ? "**" + text + "**" : text) << " |";
      }
      out << '\n';
    }
    out << '\n';
  }
  const bool any_best = std::any_of(s.rows.begin(), s.rows.end(), [](const auto& row) {
    return std::any_of(row.cells.begin(), row.cells.end(), [](const auto& c) { return c.best; });
  });
  if (any_best) out << "**Bold**: the best of its column.\n\n";
  for (const auto& f : s.footnotes) {
    out << fmt::format("- {}: n/a, {}\n", f.letter, Escape(f.reason));
  }
  for (const auto& c : r.cases) {
    for (const auto& w : c.warnings) {
      out << fmt::format("- warning, {}: {}\n", Escape(c.id), Escape(w));
    }
  }
  out << fmt::format("\n**Recommendation**: {}\n", Escape(s.recommendation));
  return out.str();
}

}  // namespace plaster::report
