#pragma once
/// Internal to src/report: the evaluation record (docs/json-evaluation.md) read into plain structs,
/// and the scorecard every rendering shows (one headline figure per PLASTER letter and case).
///
/// ParseEvaluation is the only place that touches the JSON of a record; it checks every field the
/// renderers read and throws plaster::Error naming the field and the case ("evaluation record:
/// case 'torch/cpu/fp32/b1/t2' (cases[0]): field 'metrics[3].value' is a string, expected a
/// number or null"). No nlohmann exception escapes it.

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plaster::report::eval {

/// The seven letters, in scorecard order.
inline constexpr std::array<char, 7> kLetters = {'P', 'L', 'A', 'S', 'T', 'E', 'R'};

/// Whether a smaller or a larger value of a metric is better (or neither).
enum class Better { kNone, kLower, kHigher };

struct Interval {
  std::optional<double> lower, upper;
  double coverage = 0;
};

/// One metric of a case. value is one of number, bool, string or null in the record.
struct Metric {
  std::string name, letter, label, unit, source, how, reason;
  std::optional<double> number;  ///< the value when it is a number (bools are not numbers here)
  std::string raw;               ///< the value as written in CSV: "" for null, "true", "3.5", "x"
  Better better = Better::kNone;
  std::optional<Interval> interval;

  /// A number that was measured or estimated (an unavailable figure has none).
  bool HasNumber() const { return number.has_value() && source != "unavailable"; }
};

struct CurvePoint {
  double rate_qps = 0;
  int64_t batch = 1, sessions = 1;
  double samples_per_s = 0, latency_ms = 0;
  bool passed = false;
};

struct OpSize {
  std::string op_type;
  int64_t nodes = 0;
  std::optional<double> flops;  ///< null when no cost formula counted the op
  double parameters = 0;
};

struct Roofline {
  std::string precision, bound;
  double peak_flops = 0, peak_bytes_per_s = 0, balance = 0, intensity = 0, achieved_flops = 0,
         fraction = 0;
};

/// The state of one letter in a case: measured | estimated | unavailable | failed, and why.
struct LetterState {
  std::string status, reason;
};

struct Case {
  std::string id, engine, device, precision, status;
  std::optional<std::string> reason;
  int64_t batch = 1, threads = 1;
  double budget_s = 0, elapsed_s = 0;
  std::array<LetterState, 7> letters;  ///< in kLetters order
  std::vector<Metric> metrics;
  std::map<std::string, std::vector<double>> samples;
  std::vector<CurvePoint> server, offline;
  std::vector<OpSize> size_by_op;
  std::optional<Roofline> roofline;
  std::vector<std::string> warnings;

  bool Passed() const { return status == "passed"; }
  /// The metric called name, or nullptr.
  const Metric* Find(std::string_view name) const;
  /// Its number when it has one (HasNumber), else nullopt.
  std::optional<double> Number(std::string_view name) const;
};

struct Context {
  std::string plaster_version, plaster_git, started_utc;
  std::vector<std::string> command_line;
  int64_t seed = 0;
  std::string model_name, model_producer;
  std::optional<int64_t> model_file_bytes, model_opset;
  std::string cpu_model;
  std::vector<std::string> cpu_flags;
  int64_t logical_cores = 1;
  std::optional<int64_t> memory_bytes;
  std::optional<std::string> governor;
  std::string governor_reason;
  std::string os_name, kernel;
  std::vector<std::pair<std::string, std::string>> libraries;  ///< in the record's order
  std::vector<std::string> engines, devices, precisions;
  std::vector<int64_t> batches, threads;
  double budget_s = 0;
  std::optional<double> latency_bound_ms;
  bool has_peak = false;
  std::string peak_reason;
};

struct Record {
  Context context;
  std::vector<Case> cases;
  std::optional<std::string> recommended;  ///< the recommended case's id, or none
  std::string recommendation_reason;
};

/// Reads a record in the document form ({schema, schema_version, context, cases, recommendation}).
/// Throws plaster::Error naming the first bad field (and its case); never any other exception.
Record ParseEvaluation(const nlohmann::json& record);

/// One cell of the scorecard.
struct Cell {
  std::string text;             ///< "64.1 / 71.2 ms", or "n/a"
  bool available = false;       ///< false: text is "n/a" and a footnote says why
  std::optional<double> value;  ///< the figure the column is ranked on
  Better better = Better::kNone;
  bool best = false;  ///< the best value of its column (ties included; needs 2 values)
  std::optional<double>
      score;  ///< value against the column's best: 1 is the best, (0, 1] for radar
};

struct Row {
  const Case* c = nullptr;
  std::array<Cell, 7> cells;  ///< in kLetters order; meaningful only when c->Passed()
};

/// Why a letter shows "n/a", said once for all the cases that share the reason.
struct Footnote {
  char letter = 'P';
  std::string reason;
};

struct Scorecard {
  std::array<std::string, 7> titles;  ///< "P score · cold start · nodes", ...
  std::vector<Row> rows;              ///< one per case, in the record's order
  std::vector<Footnote> footnotes;
  std::string recommendation;  ///< "torch/cpu/fp32/b8/t2: fastest ..." or "none: ..."
};

/// The headline figures of every case; the Scorecard points into record, which must outlive it.
Scorecard BuildScorecard(const Record& record);

/// "FAILED: killed by signal 9" for a case that did not pass.
std::string StatusLine(const Case& c);

/// Three significant digits (four for numbers of four digits), no exponent: 0.0123 -> "0.0123",
/// 64.01 -> "64.0", 99.96 -> "100", 1840.2 -> "1840"; from 100,000 with SI prefixes: "5.88 M".
std::string Figure(double value);

/// Figure without trailing zeros, for axes and settings: 8.00 -> "8", 0.250 -> "0.25",
/// 2000000 -> "2 M".
std::string Compact(double value);

/// Bytes in binary units ("312 MiB"); a negative or absurdly large figure in SI units.
std::string Bytes(double bytes);

/// A metric's value with its unit, for people: "71.2 ms", "312 MiB", "8.17 GFLOP", "true", "n/a".
std::string MetricText(const Metric& m);

}  // namespace plaster::report::eval
