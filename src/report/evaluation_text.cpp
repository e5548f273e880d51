// The terminal scorecard. Its own column layout rather than TextTable: the best cells are bold
// (escape sequences have no width) and a case that did not pass spans the letter columns.
#include <fmt/format.h>

#include <algorithm>

#include "report/evaluation_headline.h"
#include "report/evaluation_report.h"

namespace plaster::report {
namespace {

using eval::kLetters;

constexpr const char* kBold = "\033[1m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kReset = "\033[0m";

// Terminal columns: UTF-8 code points ("·" and "–" are one column each).
size_t Width(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string Pad(const std::string& text, size_t width) {
  const size_t w = Width(text);
  return w >= width ? text : text + std::string(width - w, ' ');
}

// A cell's text as printed without color: the best one carries a '*'.
std::string Plain(const eval::Cell& cell, bool color) {
  return cell.best && !color ? cell.text + "*" : cell.text;
}

}  // namespace

void PrintScorecard(const nlohmann::json& record, std::ostream& out, bool color) {
  const eval::Record r = eval::ParseEvaluation(record);
  const eval::Scorecard s = eval::BuildScorecard(r);
  const auto& ctx = r.context;

  out << fmt::format("plaster evaluate · {} · {}, {} logical core{}\n", ctx.model_name,
                     ctx.cpu_model, ctx.logical_cores, ctx.logical_cores == 1 ? "" : "s");
  if (r.cases.empty()) {
    out << "\n  no cases in the record\n";
  } else {
    std::array<size_t, 8> width{};  // the case id, then the seven letters
    width[0] = Width("case");
    for (size_t k = 0; k < kLetters.size(); ++k) width[k + 1] = Width(s.titles[k]);
    for (const auto& row : s.rows) {
      width[0] = std::max(width[0], Width(row.c->id));
      if (!row.c->Passed()) continue;
      for (size_t k = 0; k < kLetters.size(); ++k) {
        width[k + 1] = std::max(width[k + 1], Width(Plain(row.cells[k], color)));
      }
    }
    auto finish = [&](std::string line) {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << '\n';
    };
    std::string header = "\n  " + Pad("case", width[0]);
    for (size_t k = 0; k < kLetters.size(); ++k) header += "  " + Pad(s.titles[k], width[k + 1]);
    finish(color ? kBold + header + kReset : header);
    for (const auto& row : s.rows) {
      std::string line = "  " + Pad(row.c->id, width[0]);
      if (!row.c->Passed()) {
        finish(line + "  " + eval::StatusLine(*row.c));
        continue;
      }
      for (size_t k = 0; k < kLetters.size(); ++k) {
        const eval::Cell& cell = row.cells[k];
        const std::string text = Pad(Plain(cell, color), width[k + 1]);
        line += "  ";
        if (color && cell.best) {
          line += kBold + cell.text + kReset + text.substr(cell.text.size());
        } else if (color && !cell.available) {
          line += kDim + cell.text + kReset + text.substr(cell.text.size());
        } else {
          line += text;
        }
      }
      finish(line);
    }
  }

  const bool any_best = std::any_of(s.rows.begin(), s.rows.end(), [](const auto& row) {
    return std::any_of(row.cells.begin(), row.cells.end(), [](const auto& c) { return c.best; });
  });
  // A cell from the TDP estimate ends in "est." (Note [Energy in evaluate]): say what that means.
  const bool any_estimate = std::any_of(s.rows.begin(), s.rows.end(), [](const auto& row) {
    return row.cells.size() > 5 && row.cells[5].text.find(" est.") != std::string::npos;
  });
  // The P score is plaster's own scale: say where it comes from.
  const bool any_score = std::any_of(s.rows.begin(), s.rows.end(), [](const auto& row) {
    return row.c != nullptr && row.c->Number("p.score").has_value();
  });
  if (any_best || any_estimate || any_score || !s.footnotes.empty()) out << '\n';
  if (any_best) {
    out << (color ? fmt::format("  {}bold{}: the best of its column\n", kBold, kReset)
                  : std::string("  *: the best of its column\n"));
  }
  if (any_estimate) {
    out << "  est.: estimated from the CPUs' TDP share and busy time, ±50% or more: no power "
           "sensor here (plaster power --list says why)\n";
  }
  if (any_score) {
    out << "  P score: 0-100 from imports as given, nodes and op types run, ONNX conformance, cold "
           "start and its memory, precisions (docs/metrics.md; each part in the record)\n";
  }
  char previous = 0;
  for (size_t i = 0; i < s.footnotes.size(); ++i) {
    const auto& f = s.footnotes[i];
    out << fmt::format("  {:<3}  {}  {}\n", i == 0 ? "n/a" : "",
                       f.letter == previous ? ' ' : f.letter, f.reason);
    previous = f.letter;
  }
  bool first_warning = true;
  for (const auto& c : r.cases) {
    for (const auto& w : c.warnings) {
      if (first_warning) out << '\n';
      out << fmt::format("  {:<7}  {}: {}\n", first_warning ? "warning" : "", c.id, w);
      first_warning = false;
    }
  }
  out << "\nRecommendation: " << s.recommendation << '\n';
}

}  // namespace plaster::report
