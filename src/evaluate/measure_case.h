#pragma once
/// Measuring one case, inside the child process that `plaster evaluate` starts for it (Note
/// [Case isolation] in isolation.h). The letters are filled in order — P (load, compile, first
/// inference), S (the Size analysis, the process's resident memory), L (single-stream), T
/// (offline, and the server peak under the latency bound) — within the case's budget, and the
/// roofline when the machine's peak is known. A failure half-way keeps what was measured.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "evaluate/accuracy_letter.h"
#include "evaluate/energy_letter.h"
#include "evaluate/sweep.h"

namespace plaster::evaluate {

/// Everything the child needs, passed as JSON on its command line.
struct CaseSpec {
  std::string model;                ///< a path, or "builtin:resnet8"
  std::vector<std::string> shapes;  ///< --shape overrides, "NAME:DxD..."
  CaseConfig config;
  int64_t budget_ns = 0;  ///< the whole case, cold start included
  std::optional<int64_t> latency_bound_ns;
  uint64_t seed = 1;
  nlohmann::json peak;  ///< the machine's peaks (evaluate/peak.h JSON), or null
  CaseData data;        ///< the dataset (A) and the calibration data (int8)
  /// L and T. false: the case measures P, S and A only (plaster optimize's accuracy cases), and
  /// says so in L and T.
  bool timing = true;
  CaseEnergy energy;  ///< E: the sources and the idle baseline (energy_letter.h)
};

nlohmann::json ToJson(const CaseSpec& spec);
/// Throws plaster::Error naming a missing or mistyped field.
CaseSpec CaseSpecFromJson(const nlohmann::json& j);

/// Called as the case moves from one part to the next ("P: cold start", "L: single-stream").
using PhaseCallback = std::function<void(const std::string& phase)>;

/// Called with the record so far each time a letter is done, marked "failed" with the reason
/// "ended during <letter>": if the process dies before the next one, the parent keeps the last
/// snapshot, so a crash in T does not lose P, S and L.
using SnapshotCallback = std::function<void(const nlohmann::ordered_json& partial)>;

/// Measures the case and returns its JSON line (case_record.h). Never throws for a failure of
/// the model or engine: such a case comes back "failed" or "unsupported" with the reason and
/// every figure measured before it. Ctrl-C (InterruptScope) ends it "interrupted".
nlohmann::ordered_json MeasureCase(const CaseSpec& spec, const PhaseCallback& on_phase,
                                   const SnapshotCallback& on_snapshot = nullptr);

/// The process's peak resident set so far, in bytes (getrusage's ru_maxrss).
int64_t PeakRssBytes();

}  // namespace plaster::evaluate
