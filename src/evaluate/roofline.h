#pragma once
/// The roofline of one case: where a model at one batch sits against the machine's ceilings
/// (docs/metrics.md, "Machine peaks and the roofline"). Pure functions.

#include <nlohmann/json.hpp>
#include <optional>

#include "engine/engine.h"
#include "evaluate/peak.h"

namespace plaster::evaluate {

enum class Bound { kCompute, kMemory };
/// "compute" or "memory".
const char* BoundName(Bound bound);

struct Roofline {
  engine::Precision precision = engine::Precision::kFp32;
  double peak_flops = 0;          ///< the precision's peak, FLOP/s (OP/s for int8)
  double peak_bytes_per_s = 0;    ///< the memory ceiling, B/s
  double balance = 0;             ///< peak_flops / peak_bytes_per_s, FLOP/B: the ridge point
  double intensity = 0;           ///< the model's FLOP/B at this batch (Size analysis)
  double achieved_flops = 0;      ///< the case's FLOP/s
  double attainable_flops = 0;    ///< min(peak_flops, peak_bytes_per_s × intensity)
  double fraction = 0;            ///< achieved_flops / peak_flops
  Bound bound = Bound::kCompute;  ///< compute when intensity >= balance, else memory
};

/// The roofline of a case with the given arithmetic intensity (FLOP/B, ≥ 0) and achieved
/// FLOP/s (≥ 0) at precision; nullopt when the machine's peak for that precision or its memory
/// bandwidth is unknown. Negative or non-finite arguments are a bug.
std::optional<Roofline> ComputeRoofline(const MachinePeak& peak, engine::Precision precision,
                                        double intensity_flop_per_byte, double achieved_flops);

/// The evaluation record's "roofline" object (docs/json-evaluation.md): precision, peak_flops,
/// peak_bytes_per_s, balance, intensity, achieved_flops, fraction, bound.
nlohmann::ordered_json RooflineJson(const Roofline& roofline);

}  // namespace plaster::evaluate
