#pragma once
/// A sweep and its cases. `plaster evaluate --engine torch --batch 1,8 --threads 1,2` expands,
/// like benchdnn expands its problem lists, into one case per combination of engine × device ×
/// precision × batch × threads, in that nesting order (the last list varies fastest). Each case
/// has a stable id that `--resume` and `plaster compare` match on.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace plaster::evaluate {

/// One configuration.
struct CaseConfig {
  std::string engine;
  engine::Device device = engine::Device::kCpu;
  engine::Precision precision = engine::Precision::kFp32;
  int64_t batch = 1;
  int threads = 1;  ///< resolved: never 0
};

/// "torch/cpu/fp32/b8/t2".
std::string CaseId(const CaseConfig& config);

/// The lists as given (already split on commas); each must be non-empty.
struct SweepOptions {
  std::vector<std::string> engines = {"torch"};
  std::vector<std::string> devices = {"cpu"};
  std::vector<std::string> precisions = {"fp32"};
  std::vector<int64_t> batches = {1};
  std::vector<int> threads = {0};  ///< 0: every usable core
};

/// Every combination. Names are checked here (plaster::Error naming the option and listing the
/// valid names); whether an engine *offers* a device or precision is not: such a case is
/// reported "unsupported" with the reason, so a sweep over two engines still runs the rest.
/// `usable_cores` resolves threads 0. Duplicates in a list are an error.
std::vector<CaseConfig> ExpandSweep(const SweepOptions& options, int usable_cores);

/// "cpu" / "cuda" → Device (plaster::Error otherwise).
engine::Device ParseDevice(const std::string& name);
using engine::ParsePrecision;

/// Splits "1,8,32" (spaces allowed) into items; an empty item is an error naming `what`.
std::vector<std::string> SplitList(const std::string& text, const std::string& what);

}  // namespace plaster::evaluate
