#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "report/compare.h"
#include "report/evaluation_record.h"

namespace plaster::cli {
namespace {

// "5%", "5" and "0.5%" are percentages; the result is a fraction (0.05).
double ParseThreshold(const std::string& text) {
  std::string number = text;
  if (!number.empty() && number.back() == '%') number.pop_back();
  double percent = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), percent);
  PLASTER_CHECK(error == std::errc() && end == number.data() + number.size() && !number.empty(),
                "--threshold '{}': expected a percentage such as 5%", text);
  PLASTER_CHECK(std::isfinite(percent) && percent >= 0 && percent <= 1000,
                "--threshold '{}': must be between 0% and 1000%", text);
  return percent / 100;
}

}  // namespace

CLI::App* AddCompareCommand(CLI::App& app, CompareCommandOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "compare two evaluation records (A the base, B the new run) case by case and metric by "
      "metric; exit status 1 when B has a significant regression");
  cmd->add_option("a", o->a, "the base record (plaster evaluate's .json or .jsonl)")->required();
  cmd->add_option("b", o->b, "the record to judge against it")->required();
  o->threshold = fmt::format("{:g}%", 100 * o->settings.threshold);
  cmd->add_option("--threshold", o->threshold,
                  "smallest change that counts, as a percentage of A (significant also needs "
                  "p < alpha)")
      ->capture_default_str();
  cmd->add_option("--alpha", o->settings.alpha,
                  "significance level of each test (two-sided); intervals are at 1 - alpha")
      ->capture_default_str();
  cmd->add_option("--iterations", o->settings.bootstrap_iterations,
                  "bootstrap replicates for tail percentiles")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{100}, int64_t{1000000}));
  cmd->add_option("--seed", o->settings.seed, "seed of the bootstrap")->capture_default_str();
  auto* json = cmd->add_flag("--json", o->json,
                             "write the comparison as JSON (plaster.comparison, docs/cli.md)");
  cmd->add_flag("--markdown", o->markdown, "write the comparison as Markdown")->excludes(json);
  return cmd;
}

int RunCompare(const CompareCommandOptions& o) {
  report::CompareOptions settings = o.settings;
  settings.threshold = ParseThreshold(o.threshold);
  PLASTER_CHECK(settings.alpha > 0 && settings.alpha < 1, "--alpha {}: must be between 0 and 1",
                settings.alpha);
  const nlohmann::json a = report::LoadEvaluationRecord(o.a);
  const nlohmann::json b = report::LoadEvaluationRecord(o.b);
  const report::Comparison comparison = report::CompareRecords(a, b, o.a, o.b, settings);
  if (o.json) {
    std::cout << report::ComparisonJson(comparison).dump(2) << "\n";
  } else if (o.markdown) {
    report::PrintComparisonMarkdown(comparison, std::cout);
  } else {
    report::PrintComparisonText(comparison, std::cout);
  }
  return comparison.regressed() ? 1 : 0;
}

}  // namespace plaster::cli
