#pragma once
// Helpers for the engine tests: deterministic weights, and whether the torch engine offers a
// precision on this CPU (tests of bf16 and int8 skip, saying why, where it does not).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/registry.h"

namespace plaster::testing {

// A smooth pattern that is nowhere zero and differs per seed (so per tensor).
inline std::vector<float> Pattern(int64_t n, float seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) v[static_cast<size_t>(k)] = 0.3f * std::sin(seed + 0.7f * k);
  return v;
}

inline bool TorchOffers(engine::Precision precision) {
  const auto offered = engine::FindEngine("torch").precisions(engine::Device::kCpu);
  return std::find(offered.begin(), offered.end(), precision) != offered.end();
}

}  // namespace plaster::testing
