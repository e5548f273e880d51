#pragma once
/// The P letter's score (docs/metrics.md, "P — Programmability"): how much friction an engine puts
/// between a model and a deployment, from parts that are each measured and shown: whether the
/// model imports as given, the share of its nodes and op types the engine runs natively, the
/// engine's pass rate on ONNX's backend suite, the cold start and its memory, and the precisions
/// the engine offers. Comparable across engines: every part is an absolute scale.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace plaster::evaluate {

/// What `plaster conformance` measured for one engine, over the default suites.
struct ConformanceSummary {
  std::string description;  ///< the engine's description (its versions) when it ran
  int passed = 0;
  int cases = 0;
  std::string when;  ///< UTC, ISO 8601
  double pass_rate() const { return cases ? static_cast<double>(passed) / cases : 0; }
};

/// The cache file `plaster conformance` writes in the cache folder (the peak's):
/// dir/conformance.json, one entry per engine.
std::filesystem::path ConformanceCacheFile(const std::filesystem::path& dir);
/// Records one engine's result; other engines' entries are kept. plaster::Error when the file
/// cannot be written.
void SaveConformance(const std::filesystem::path& dir, const std::string& engine,
                     const ConformanceSummary& summary);
/// The engine's entry, when there is one measured on the same engine description (versions).
std::optional<ConformanceSummary> LoadConformance(const std::filesystem::path& dir,
                                                  const engine::Engine& engine);

struct ProgrammabilityInputs {
  bool imports = false;        ///< the engine runs the model as given
  std::string changes;         ///< when it does not: what would have to change
  int nodes = 0, nodes_supported = 0;
  int op_types = 0, op_types_supported = 0;  ///< distinct op types; supported: every node of it
  std::optional<ConformanceSummary> conformance;
  std::string conformance_missing;  ///< why there is no conformance figure
  std::optional<double> cold_start_ms;
  std::optional<double> cold_start_rss_bytes;
  std::vector<std::string> precisions;  ///< offered natively on the device
  std::vector<std::string> emulated;    ///< offered, but emulated
};

struct ScorePart {
  std::string name;    ///< "imports"
  double weight = 0;   ///< points at full marks
  std::optional<double> value;  ///< 0..1; empty when not measured (its weight is left out)
  std::string shown;   ///< "yes", "120 of 155 nodes", "743 ms"
};

struct ProgrammabilityScore {
  double score = 0;      ///< 0..100, over the parts measured, rescaled
  double measured_weight = 0;  ///< the weights of the parts measured (100 when all were)
  std::vector<ScorePart> parts;
  /// "25×1 (imports) + 20×0.77 (nodes) + ... = 72.3 of 85, ×100/85 = 85.1"
  std::string Formula() const;
};

/// The score's parts, weights and scales (Note [The P score] in programmability.cpp).
ProgrammabilityScore ScoreProgrammability(const ProgrammabilityInputs& in);

/// The op-type counts of a support report: distinct op types, and those whose every node is
/// supported.
std::pair<int, int> OpTypeCoverage(const engine::SupportReport& report);

}  // namespace plaster::evaluate
