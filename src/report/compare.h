#pragma once
/// `plaster compare A B`: two evaluation records (docs/json-evaluation.md), case by case and
/// metric by metric, with a statistical test wherever both sides kept their raw samples.
/// docs/metrics.md ("Comparing runs") defines the tests, the verdict rule and the geometric means;
/// docs/cli.md shows the output and the JSON ("plaster.comparison").

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/stats.h"

namespace plaster::report {

/// The settings of a comparison. Each default lives here and feeds `--help`.
struct CompareOptions {
  double alpha = 0.05;      ///< a test is significant when p < alpha; CIs are at 1 − alpha
  double threshold = 0.05;  ///< and the change |B/A − 1| is at least this (0.05: 5%)
  int64_t bootstrap_iterations = 2000;
  uint64_t seed = 1;  ///< the bootstrap's
};

/// What became of one metric.
enum class MetricVerdict {
  kImproved,       ///< significant, in the "better" direction
  kRegressed,      ///< significant, in the worse direction: makes `plaster compare` exit 1
  kNoChange,       ///< tested; not significant, below the threshold, or no clear direction
  kNotTested,      ///< numbers on both sides but raw samples not on both: "changed by x%" only
  kNoObjective,    ///< "better" is null: neither direction is better
  kNotComparable,  ///< no number on a side (unavailable, missing, not numeric, or A is 0)
};
const char* MetricVerdictName(MetricVerdict verdict);

/// The test behind a verdict.
struct MetricTest {
  std::string method;  ///< "mann-whitney" or "bootstrap"
  double p_value = 1;
  int64_t n_a = 0;  ///< samples a side
  int64_t n_b = 0;
  /// Mann–Whitney: the common-language effect size P(B > A) + ½P(B = A); bootstrap: nullopt.
  std::optional<double> effect;
  /// Mann–Whitney: the Hodges–Lehmann ratio B/A; bootstrap: the ratio of the percentile (nullopt
  /// when a sample holds a value ≤ 0, so no ratio is defined).
  std::optional<double> ratio_estimate;
  stats::Interval ratio_interval;    ///< of that ratio, at 1 − alpha
  std::optional<double> percentile;  ///< bootstrap: the level tested (1 for the maximum)
};

/// One metric of one case, A against B.
struct MetricComparison {
  std::string name;
  std::string letter;
  std::string label;
  std::string unit;
  std::string better;  ///< "lower", "higher", or "" (not an objective)
  nlohmann::json a;    ///< the values as recorded (a number, or null, bool, string)
  nlohmann::json b;
  std::optional<double> ratio;  ///< B/A, when both are numbers and A is not 0
  std::optional<MetricTest> test;
  MetricVerdict verdict = MetricVerdict::kNotComparable;
  std::string reason;  ///< why no test or no number (empty when tested)
  /// The change B/A − 1 (nullopt without a ratio).
  std::optional<double> change() const;
};

/// One case present in both records.
struct CaseComparison {
  std::string id;
  std::string status_a;
  std::string status_b;
  std::vector<MetricComparison> metrics;  ///< in A's order
  std::vector<std::string> only_in_a;     ///< metric names
  std::vector<std::string> only_in_b;
};

/// A geometric mean of ratios.
struct Geomean {
  int64_t count = 0;
  std::optional<double> ratio;  ///< nullopt when count is 0
};

/// The whole comparison.
struct Comparison {
  std::string path_a;
  std::string path_b;
  nlohmann::json context_a;  ///< the records' contexts
  nlohmann::json context_b;
  CompareOptions options;
  std::vector<CaseComparison> cases;   ///< matched by id, in A's order
  std::vector<std::string> only_in_a;  ///< case ids
  std::vector<std::string> only_in_b;
  /// Note [Comparison geometric means]: over the tested metrics (a test ran, both values > 0).
  /// `as_time`: every ratio oriented so that > 1 is worse (B/A for "lower is better", A/B for
  /// "higher is better", i.e. throughput as time per sample); `latency`: B/A over the tested L
  /// metrics whose lower is better.
  Geomean as_time;
  Geomean latency;
  int64_t regressions = 0;
  int64_t improvements = 0;
  int64_t unchanged = 0;  ///< tested, no significant change
  int64_t untested = 0;   ///< everything else
  /// Cases that passed in A and did not in B (failed, unsupported, skipped, interrupted): a
  /// regression too, whatever their metrics say.
  std::vector<std::string> stopped_passing;
  bool regressed() const { return regressions > 0 || !stopped_passing.empty(); }
};

/// For the name of a tail metric ("latency.p90" and higher, "latency.p99.9", "latency.max"), the
/// percentile level in (0, 1] it names (1 for max); nullopt for centres (mean, p50, t.offline, any
/// other name).
std::optional<double> TailLevel(std::string_view name);

/// Compares two records in document form (LoadEvaluationRecord). Throws plaster::Error, naming the
/// file, case and metric, on malformed input: a case without a string id, an id twice in one
/// record, a metric without a name or twice in a case, a metric's unit differing between A and B,
/// a "samples" key that the case's samples lack or that is not an array of numbers.
Comparison CompareRecords(const nlohmann::json& a, const nlohmann::json& b,
                          const std::string& path_a, const std::string& path_b,
                          const CompareOptions& options);

/// The terminal report: a header, one table per case, the summary and the result line.
void PrintComparisonText(const Comparison& comparison, std::ostream& out);
/// The same as GitHub-flavoured Markdown (for a pull-request comment).
void PrintComparisonMarkdown(const Comparison& comparison, std::ostream& out);
/// The JSON record ("plaster.comparison", docs/cli.md).
nlohmann::json ComparisonJson(const Comparison& comparison);

/// The comparison's JSON schema name and version.
inline constexpr const char* kComparisonSchema = "plaster.comparison";
inline constexpr int kComparisonSchemaVersion = 1;

}  // namespace plaster::report
