#pragma once
/// `plaster evaluate`: a sweep of cases, each measured in its own process within its share of the
/// budget, appended to a JSON Lines record as it finishes (docs/json-evaluation.md), resumable,
/// and summed up in one record with a recommendation.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "evaluate/accuracy_letter.h"
#include "evaluate/measure_case.h"
#include "evaluate/sweep.h"

namespace plaster::evaluate {

inline constexpr int kEvaluationSchemaVersion = 1;

struct EvaluateOptions {
  std::string model;  ///< a path, or "builtin:resnet8"
  std::vector<std::string> shapes;
  SweepOptions sweep;
  int64_t budget_ns = 120'000'000'000;  ///< the whole sweep
  std::optional<int64_t> latency_bound_ns;
  uint64_t seed = 1;
  std::string jsonl_path;  ///< the record, one line per finished case
  bool resume = false;     ///< keep the finished cases already in jsonl_path
  std::vector<std::string> command_line;
  /// Where the machine's peaks are cached (evaluate/peak.h); empty: no roofline.
  std::string peak_cache_dir;
  /// A thread count without a cached peak is measured (about 5 s, out of the budget) when the
  /// budget is at least this long; otherwise its cases have no roofline, and the record says why.
  int64_t measure_peak_min_budget_ns = 60'000'000'000;
  bool progress = false;    ///< draw a progress bar on stderr (a terminal)
  CaseData data;            ///< the dataset (A) and int8 calibration data, for every case
  /// E (Note [Energy in evaluate] in energy_letter.cpp): the power sources, how often they are
  /// read, and how long the idle baseline is measured before the first case.
  power::SourceOptions power_sources;
  double sample_interval_s = 0.01;
  double idle_s = 2.0;
  bool energy = true;  ///< false: E is unavailable ("not asked for")
};

struct EvaluationResult {
  nlohmann::ordered_json record;  ///< the document form
  bool interrupted = false;
  int failed = 0;  ///< cases that ended failed
};

/// Runs the sweep. Throws plaster::Error for bad options, an unreadable model (checked once up
/// front, so a typo does not become n failed cases), or a --resume record of another model.
/// `log` gets one line per finished case when there is no progress bar.
EvaluationResult Evaluate(const EvaluateOptions& options, std::ostream& log);

/// The context block: plaster, command line, machine, OS, libraries, sweep, seed, peak.
nlohmann::ordered_json EvaluationContext(const EvaluateOptions& options,
                                         const std::vector<CaseConfig>& cases);

/// The recommendation over finished cases: with a bound, the most offline samples/s among cases
/// whose single-stream p99 meets it; without one, the lowest p99 latency (the reason names the
/// highest-throughput case too). Cases in `emulated` (a precision the engine only emulates:
/// Engine::Emulates) are never recommended: their speed is not their precision's.
nlohmann::ordered_json Recommend(const nlohmann::ordered_json& cases,
                                 std::optional<int64_t> latency_bound_ns,
                                 const std::set<std::string>& emulated = {});

/// Runs one case in its own process (Note [Case isolation] in isolation.h), killed past
/// `timeout_ns`, and returns its record line: the child's last line, or, when it died, the last
/// snapshot it left (the letters measured so far; or an empty record) marked failed, or
/// interrupted after a Ctrl-C, with the reason.
nlohmann::ordered_json RunCaseInChild(const CaseSpec& spec, int64_t timeout_ns,
                                      const std::function<void(const std::string&)>& on_phase,
                                      const std::function<void()>& on_tick);

/// The JSON Lines record: appended and flushed (fsync) line by line, so a case measured is a
/// case kept.
class JsonlWriter {
 public:
  JsonlWriter(const std::string& path, bool append);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;
  void Write(const nlohmann::ordered_json& line);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

/// A case line's metric `name` when it has a numeric value; else nullptr.
const nlohmann::ordered_json* FindMetric(const nlohmann::ordered_json& c, const std::string& name);

/// Child side of Note [Case isolation]: reads the spec, measures, prints the case line.
int RunCaseChild(const std::string& spec_json);

}  // namespace plaster::evaluate
