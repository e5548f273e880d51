#include "evaluate/roofline.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace plaster::evaluate {

const char* BoundName(Bound bound) { return bound == Bound::kCompute ? "compute" : "memory"; }

std::optional<Roofline> ComputeRoofline(const MachinePeak& peak, engine::Precision precision,
                                        double intensity_flop_per_byte, double achieved_flops) {
  PLASTER_ASSERT(std::isfinite(intensity_flop_per_byte) && intensity_flop_per_byte >= 0);
  PLASTER_ASSERT(std::isfinite(achieved_flops) && achieved_flops >= 0);
  const std::optional<double> flops = peak.PeakOpsPerSecond(precision);
  const std::optional<double> bytes = peak.PeakBytesPerSecond();
  if (!flops || !bytes || *flops <= 0 || *bytes <= 0) return std::nullopt;
  Roofline r;
  r.precision = precision;
  r.peak_flops = *flops;
  r.peak_bytes_per_s = *bytes;
  r.balance = *flops / *bytes;
  r.intensity = intensity_flop_per_byte;
  r.achieved_flops = achieved_flops;
  r.attainable_flops = std::min(*flops, *bytes * intensity_flop_per_byte);
  r.fraction = achieved_flops / *flops;
  r.bound = intensity_flop_per_byte >= r.balance ? Bound::kCompute : Bound::kMemory;
  return r;
}

nlohmann::ordered_json RooflineJson(const Roofline& r) {
  nlohmann::ordered_json j;
  j["precision"] = engine::PrecisionName(r.precision);
  j["peak_flops"] = r.peak_flops;
  j["peak_bytes_per_s"] = r.peak_bytes_per_s;
  j["balance"] = r.balance;
  j["intensity"] = r.intensity;
  j["achieved_flops"] = r.achieved_flops;
  j["fraction"] = r.fraction;
  j["bound"] = BoundName(r.bound);
  return j;
}

}  // namespace plaster::evaluate
