#pragma once
/// Renderings of the Size analysis: the console report and the JSON record (schema in
/// docs/json-size.md; bump kSizeSchemaVersion on any incompatible change).

#include <nlohmann/json.hpp>
#include <ostream>

#include "model/size_analysis.h"

namespace plaster::report {

inline constexpr int kSizeSchemaVersion = 1;

struct SizeTextOptions {
  int top = 10;  ///< rows in the per-node table (by MACs, then FLOPs); 0 hides it
};

/// The human-readable report.
void PrintSizeText(const model::SizeReport& report, const SizeTextOptions& options,
                   std::ostream& out);

/// The JSON record: every figure, every node.
nlohmann::ordered_json SizeJson(const model::SizeReport& report);

}  // namespace plaster::report
