#pragma once
/// One case's record as it is filled in (docs/json-evaluation.md, "A case"): the letters' states,
/// the metrics, the raw samples behind them, the peak-search curves, the size breakdown and the
/// roofline. The measuring child fills it letter by letter; when something fails half-way, what
/// was measured stays and the case ends "failed" with the reason. The parent uses the same type
/// for cases that never reach a child (unsupported, skipped) or whose child died.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "evaluate/sweep.h"

namespace plaster::evaluate {

/// "passed", "failed", "unsupported", "skipped", "interrupted".
enum class CaseStatus { kPassed, kFailed, kUnsupported, kSkipped, kInterrupted };
const char* CaseStatusName(CaseStatus status);

/// The seven letters, in PLASTER order.
inline constexpr const char* kLetters[] = {"P", "L", "A", "S", "T", "E", "R"};

enum class Better { kLower, kHigher, kNone };

/// One figure. Set `value` for measured or estimated figures; `Unavailable` for the others.
struct Metric {
  std::string name;    ///< "latency.p99"
  std::string letter;  ///< "L"
  std::string label;   ///< "p99 latency"
  nlohmann::ordered_json value;  ///< number, bool or string; null when unavailable
  std::string unit;
  Better better = Better::kNone;
  std::string source = "measured";  ///< measured | estimated | unavailable
  std::string how;                  ///< where it came from
  std::string reason;               ///< unavailable: why
  std::optional<double> lower, upper;  ///< the interval, with its coverage
  double coverage = 0;
  bool has_interval = false;
  std::string samples;  ///< key of the raw samples behind it, or empty
};

/// A metric as the record writes it.
nlohmann::ordered_json MetricJson(const Metric& m);

class CaseRecord {
 public:
  explicit CaseRecord(CaseConfig config);

  const CaseConfig& config() const { return config_; }
  std::string id() const { return CaseId(config_); }

  /// A letter's state: "measured", "estimated", "unavailable" or "failed" (with a reason for the
  /// last two). Letters never set are written "unavailable" with `default_reason`.
  void SetLetter(const std::string& letter, const std::string& status,
                 const std::string& reason = "");
  bool HasLetter(const std::string& letter) const;
  void Add(Metric metric);
  /// An unavailable metric: value null, the reason said.
  void AddUnavailable(const std::string& name, const std::string& letter, const std::string& label,
                      const std::string& unit, Better better, const std::string& reason);
  void SetSamples(const std::string& key, std::vector<double> values);
  void SetCurve(const std::string& key, nlohmann::ordered_json points);
  void SetSizeByOp(nlohmann::ordered_json rows) { size_by_op_ = std::move(rows); }
  void SetRoofline(nlohmann::ordered_json roofline) { roofline_ = std::move(roofline); }
  /// E's windows, each with every source's figures (energy_letter.h).
  void SetEnergy(nlohmann::ordered_json windows) { energy_ = std::move(windows); }
  void Warn(std::string warning) { warnings_.push_back(std::move(warning)); }

  /// The JSON line ({"kind": "case", ...}). Letters not set become "unavailable" with the
  /// reason `default_reason(letter)`.
  nlohmann::ordered_json ToJson(CaseStatus status, const std::string& reason, double budget_s,
                                double elapsed_s) const;

  /// Why a letter is not measured by this version of plaster (A without data), or "" for the
  /// others.
  static std::string NotYetMeasured(const std::string& letter);

 private:
  CaseConfig config_;
  std::vector<std::pair<std::string, nlohmann::ordered_json>> letters_;
  std::vector<Metric> metrics_;
  nlohmann::ordered_json samples_ = nlohmann::ordered_json::object();
  nlohmann::ordered_json curves_ = nlohmann::ordered_json::object();
  nlohmann::ordered_json size_by_op_ = nlohmann::ordered_json::array();
  nlohmann::ordered_json roofline_;
  nlohmann::ordered_json energy_;
  std::vector<std::string> warnings_;
};

}  // namespace plaster::evaluate
