// The terminal and Markdown renderings of a comparison (the JSON one is in compare.cpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "core/table.h"
#include "core/units.h"
#include "report/compare.h"

namespace plaster::report {
namespace {

using nlohmann::json;
using Align = TextTable::Align;

// A recorded value with its unit: "12.35 ms", "23,454,912", "true", "-" (null).
std::string FormatValue(const json& value, const std::string& unit) {
  if (value.is_null()) return "-";
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_number()) return "?";
  const double v = value.get<double>();
  std::string text;
  if (value.is_number_integer() || (std::abs(v) >= 1e4 && v == std::round(v))) {
    text = fmt::format("{:.0f}", v);
    // Thousands separators for long integers.
    const size_t digits_start = text[0] == '-' ? 1 : 0;
    for (int at = static_cast<int>(text.size()) - 3; at > static_cast<int>(digits_start); at -= 3) {
      text.insert(static_cast<size_t>(at), ",");
    }
  } else if (std::abs(v) >= 1e6 && !unit.empty() && unit != "count" && unit != "ratio") {
    return FormatSi(v, unit);  // 6.01e10 FLOP/s -> "60.1 GFLOP/s"
  } else {
    text = fmt::format("{:.4g}", v);
  }
  if (unit.empty() || unit == "count" || unit == "bool" || unit == "ratio") return text;
  if (unit == "%") return text + "%";
  return text + " " + unit;
}

std::string FormatChange(const MetricComparison& m) {
  const auto change = m.change();
  if (!change) return "-";
  return fmt::format("{:+.1f}%", 100 * *change);
}

std::string FormatRatio(double r) { return fmt::format("{:.3f}", r); }

std::string FormatInterval(const MetricComparison& m) {
  if (!m.test || !m.test->ratio_estimate) return "-";
  const stats::Interval& i = m.test->ratio_interval;
  return fmt::format("{} [{}, {}]", FormatRatio(*m.test->ratio_estimate),
                     i.lower ? FormatRatio(*i.lower) : "open",
                     i.upper ? FormatRatio(*i.upper) : "open");
}

std::string FormatP(const MetricComparison& m) {
  if (!m.test) return "-";
  if (m.test->p_value < 0.001) return "<0.001";
  return fmt::format("{:.3f}", m.test->p_value);
}

std::string TestName(const MetricComparison& m) {
  if (!m.test) return "-";
  if (m.test->method == "bootstrap") return "bootstrap";
  return "MW";
}

// Latency and throughput move faster or slower; other objectives better or worse.
std::string VerdictText(const MetricComparison& m) {
  const bool speed = m.letter == "L" || m.letter == "T";
  switch (m.verdict) {
    case MetricVerdict::kImproved:
      return speed ? "faster" : "better";
    case MetricVerdict::kRegressed:
      return speed ? "SLOWER" : "WORSE";
    case MetricVerdict::kNoChange:
      return m.reason.empty() ? "no significant change" : "no significant change: " + m.reason;
    case MetricVerdict::kNotTested:
    case MetricVerdict::kNoObjective:
    case MetricVerdict::kNotComparable:
      return m.reason;
  }
  return "?";
}

std::string Describe(const std::string& path, const json& context) {
  std::string text = path;
  if (context.contains("model") && context["model"].is_object()) {
    text += fmt::format(": {}", context["model"].value("name", std::string("?")));
  }
  if (context.contains("started_utc") && context["started_utc"].is_string()) {
    text += fmt::format(", started {}", context["started_utc"].get<std::string>());
  }
  if (context.contains("plaster") && context["plaster"].is_object()) {
    text += fmt::format(", plaster {} (git {})", context["plaster"].value("version", "?"),
                        context["plaster"].value("git", "?"));
  }
  return text;
}

std::string Settings(const CompareOptions& o) {
  return fmt::format(
      "two-sided, α {:g}, threshold {:g}%, intervals at {:g}%; centres: Mann–Whitney U (MW) with "
      "the Hodges–Lehmann ratio; tails (p90 and up, max): percentile bootstrap ({} replicates, "
      "seed {})",
      o.alpha, 100 * o.threshold, 100 * (1 - o.alpha), o.bootstrap_iterations, o.seed);
}

std::string GeomeanText(const Geomean& g) {
  if (!g.ratio) return "- (no tested metrics)";
  return fmt::format("{} ({:+.1f}%) over {} metrics", FormatRatio(*g.ratio), 100 * (*g.ratio - 1),
                     g.count);
}

std::string ResultText(const Comparison& c) {
  if (!c.regressed()) return "no significant regression (exit status 0)";
  std::string list;
  int shown = 0;
  for (const CaseComparison& cc : c.cases) {
    for (const MetricComparison& m : cc.metrics) {
      if (m.verdict != MetricVerdict::kRegressed) continue;
      if (shown++ < 5)
        list += fmt::format("{}{} {} {}", shown > 1 ? "; " : "", cc.id, m.name, FormatChange(m));
    }
  }
  if (shown > 5) list += fmt::format("; and {} more", shown - 5);
  std::string text;
  if (c.regressions > 0) {
    text = fmt::format("{} significant regression{}: {}", c.regressions,
                       c.regressions == 1 ? "" : "s", list);
  }
  if (!c.stopped_passing.empty()) {
    std::string ids;
    for (const auto& id : c.stopped_passing) ids += (ids.empty() ? "" : ", ") + id;
    text += fmt::format("{}{} case{} stopped passing: {}", text.empty() ? "" : "; ",
                        c.stopped_passing.size(), c.stopped_passing.size() == 1 ? "" : "s", ids);
  }
  return text + " (exit status 1)";
}

std::string CaseTitle(const CaseComparison& cc) {
  if (cc.status_a == cc.status_b) return fmt::format("{} ({})", cc.id, cc.status_a);
  return fmt::format("{} (status {} → {})", cc.id, cc.status_a, cc.status_b);
}

std::string CountsText(const Comparison& c) {
  return fmt::format(
      "{} tested: {} regressed, {} improved, {} no significant change; {} without a test",
      c.regressions + c.improvements + c.unchanged, c.regressions, c.improvements, c.unchanged,
      c.untested);
}

}  // namespace

void PrintComparisonText(const Comparison& c, std::ostream& out) {
  out << "plaster compare · A → B\n";
  out << fmt::format("  {:<6}  {}\n", "A", Describe(c.path_a, c.context_a));
  out << fmt::format("  {:<6}  {}\n", "B", Describe(c.path_b, c.context_b));
  out << fmt::format("  {:<6}  {}\n", "test", Settings(c.options));
  const std::string ci_header = fmt::format("B/A [{:g}% CI]", 100 * (1 - c.options.alpha));
  for (const CaseComparison& cc : c.cases) {
    out << "\n" << CaseTitle(cc) << "\n";
    TextTable table({"metric", "A", "B", "change", ci_header, "test", "p", "verdict"},
                    {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight,
                     Align::kLeft, Align::kRight, Align::kLeft});
    for (const MetricComparison& m : cc.metrics) {
      table.AddRow({m.name, FormatValue(m.a, m.unit), FormatValue(m.b, m.unit), FormatChange(m),
                    FormatInterval(m), TestName(m), FormatP(m), VerdictText(m)});
    }
    table.Print(out);
    if (!cc.only_in_a.empty()) {
      out << fmt::format("  only in A: {}\n", fmt::join(cc.only_in_a, ", "));
    }
    if (!cc.only_in_b.empty()) {
      out << fmt::format("  only in B: {}\n", fmt::join(cc.only_in_b, ", "));
    }
  }
  out << "\nSummary\n";
  auto line = [&](const char* label, const std::string& text) {
    out << fmt::format("  {:<22}  {}\n", label, text);
  };
  line("metrics", CountsText(c));
  line("geomean latency B/A", GeomeanText(c.latency));
  line("geomean as time", GeomeanText(c.as_time) + " (throughput inverted: > 1 is slower)");
  if (!c.only_in_a.empty())
    line("cases only in A", fmt::format("{}", fmt::join(c.only_in_a, ", ")));
  if (!c.only_in_b.empty())
    line("cases only in B", fmt::format("{}", fmt::join(c.only_in_b, ", ")));
  out << "\nResult: " << ResultText(c) << "\n";
}

void PrintComparisonMarkdown(const Comparison& c, std::ostream& out) {
  out << "## plaster compare\n\n";
  out << fmt::format("- **A**: {}\n- **B**: {}\n- **test**: {}\n", Describe(c.path_a, c.context_a),
                     Describe(c.path_b, c.context_b), Settings(c.options));
  for (const CaseComparison& cc : c.cases) {
    out << fmt::format("\n### {}\n\n", CaseTitle(cc));
    out << fmt::format("| metric | A | B | change | B/A [{:g}% CI] | test | p | verdict |\n",
                       100 * (1 - c.options.alpha));
    out << "|---|--:|--:|--:|--:|---|--:|---|\n";
    for (const MetricComparison& m : cc.metrics) {
      const bool bold = m.verdict == MetricVerdict::kRegressed;
      out << fmt::format("| `{}` | {} | {} | {} | {} | {} | {} | {} |\n", m.name,
                         FormatValue(m.a, m.unit), FormatValue(m.b, m.unit), FormatChange(m),
                         FormatInterval(m), TestName(m), FormatP(m),
                         bold ? "**" + VerdictText(m) + "**" : VerdictText(m));
    }
    if (!cc.only_in_a.empty())
      out << fmt::format("\nOnly in A: {}\n", fmt::join(cc.only_in_a, ", "));
    if (!cc.only_in_b.empty())
      out << fmt::format("\nOnly in B: {}\n", fmt::join(cc.only_in_b, ", "));
  }
  out << fmt::format("\n**Summary**: {}. Geometric mean of latency B/A: {}; as time: {}.\n",
                     CountsText(c), GeomeanText(c.latency), GeomeanText(c.as_time));
  if (!c.only_in_a.empty())
    out << fmt::format("\nCases only in A: {}\n", fmt::join(c.only_in_a, ", "));
  if (!c.only_in_b.empty())
    out << fmt::format("\nCases only in B: {}\n", fmt::join(c.only_in_b, ", "));
  out << fmt::format("\n**Result**: {}\n", ResultText(c));
}

}  // namespace plaster::report
