#pragma once
/// `plaster optimize`: the configuration to deploy. It searches engine × device × precision ×
/// batch × threads for the most throughput whose single-stream p99 latency meets the bound and
/// whose accuracy, on the user's data, stays within the allowed drop from fp32; it prunes what
/// cannot win (Note [The optimizer's search] in optimize.cpp), prints the Pareto front of
/// accuracy against throughput, recommends one configuration and can write it out as a model to
/// deploy (export.h). Every case runs in its own process, as in `plaster evaluate`, and the
/// record is an evaluation record (docs/json-evaluation.md) with an "optimization" part.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "evaluate/accuracy_letter.h"
#include "optimize/search.h"
#include "power/source.h"
#include "evaluate/sweep.h"

namespace plaster::optimize {

struct OptimizeOptions {
  std::string model;  ///< a path, or "builtin:resnet8"
  std::vector<std::string> shapes;
  /// The search space. An empty precision list means every precision the engine offers on the
  /// device; it must include fp32, the accuracy reference. Batches are tried in ascending order.
  evaluate::SweepOptions space{{"torch"}, {"cpu"}, {}, {1, 2, 4, 8, 16, 32, 64}, {0}};
  std::optional<int64_t> latency_bound_ns;
  int64_t budget_ns = 300'000'000'000;  ///< the whole search, accuracy included
  uint64_t seed = 1;
  std::string jsonl_path;  ///< the record, one line per finished case
  std::vector<std::string> command_line;
  evaluate::CaseData data;  ///< the dataset (required) and int8 calibration
  /// The batch of the accuracy cases; 0: the largest candidate batch up to 32.
  int64_t accuracy_batch = 0;
  /// What the recommendation maximises (search.h): throughput, or inferences per joule.
  Objective objective = Objective::kThroughput;
  /// E in every timed case (Note [Energy in evaluate]): the sources, the sampling interval, and
  /// the idle baseline measured before the search.
  power::SourceOptions power_sources;
  double sample_interval_s = 0.01;
  double idle_s = 2.0;
};

struct OptimizeResult {
  nlohmann::ordered_json record;  ///< the document form, with "optimization"
  bool interrupted = false;
};

/// Runs the search. plaster::Error for bad options (no --data, no fp32, an unknown engine, a
/// batch list out of order) or an unreadable model, before any case runs. `log` gets one line
/// per finished case and per ladder that stops.
OptimizeResult Optimize(const OptimizeOptions& options, std::ostream& log);

/// Where the calibration cache of a search whose record is `jsonl_path` lives.
std::string CalibrationCachePath(const std::string& jsonl_path);

}  // namespace plaster::optimize
