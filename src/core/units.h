#pragma once
/// Formatting numbers for people: counts with thousands separators, bytes in binary units,
/// rates and counts with SI prefixes. Pure functions; no locale is consulted.

#include <cstdint>
#include <string>
#include <string_view>

namespace plaster {

/// 25530472 -> "25,530,472".
std::string FormatCount(uint64_t value);

/// Binary units: 1536 -> "1.50 KiB", 102107136 -> "97.4 MiB"; below 1 KiB: "512 B".
std::string FormatBytes(uint64_t bytes);

/// SI prefixes with three significant digits: (4.089e9, "MAC") -> "4.09 GMAC"; (0, "FLOP") -> "0
/// FLOP".
std::string FormatSi(double value, std::string_view unit);
/// FormatSi, and below 1 with the m, µ and n prefixes: (0.00234, "J") -> "2.34 mJ".
std::string FormatSiSmall(double value, std::string_view unit);

/// Multiplies non-negative 64-bit values; returns false (and leaves *out unchanged) on overflow.
bool CheckedMul(int64_t a, int64_t b, int64_t* out);

}  // namespace plaster
