#include "core/units.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <limits>

namespace plaster {

std::string FormatCount(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  const size_t lead = digits.size() % 3;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (i % 3) == lead % 3) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr std::array<const char*, 6> kUnits = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < kUnits.size()) {
    value /= 1024.0;
    ++unit;
  }
  // Three significant digits, like FormatSi.
  const char* format = value >= 100.0 ? "{:.0f} {}" : value >= 10.0 ? "{:.1f} {}" : "{:.2f} {}";
  return fmt::format(fmt::runtime(format), value, kUnits[unit]);
}

std::string FormatSi(double value, std::string_view unit) {
  static constexpr std::array<const char*, 7> kPrefixes = {"", "k", "M", "G", "T", "P", "E"};
  auto join = [&](double v, const char* format, const char* prefix) {
    std::string suffix = std::string(prefix) + std::string(unit);
    return fmt::format(fmt::runtime(format), v) + (suffix.empty() ? "" : " " + suffix);
  };
  if (value == 0.0) return join(0.0, "{:.0f}", "");
  double magnitude = std::fabs(value);
  size_t prefix = 0;
  while (magnitude >= 999.5 && prefix + 1 < kPrefixes.size()) {
    magnitude /= 1000.0;
    value /= 1000.0;
    ++prefix;
  }
  const char* format = magnitude >= 99.95 ? "{:.0f}" : magnitude >= 9.995 ? "{:.1f}" : "{:.2f}";
  return join(value, format, kPrefixes[prefix]);
}

std::string FormatSiSmall(double value, std::string_view unit) {
  static constexpr std::array<const char*, 3> kPrefixes = {"m", "µ", "n"};
  double magnitude = std::fabs(value);
  if (value == 0.0 || magnitude >= 0.9995) return FormatSi(value, unit);
  size_t prefix = 0;
  magnitude *= 1000.0;
  value *= 1000.0;
  while (magnitude < 0.9995 && prefix + 1 < kPrefixes.size()) {
    magnitude *= 1000.0;
    value *= 1000.0;
    ++prefix;
  }
  const char* format = magnitude >= 99.95 ? "{:.0f} {}{}" : magnitude >= 9.995 ? "{:.1f} {}{}" : "{:.2f} {}{}";
  return fmt::format(fmt::runtime(format), value, kPrefixes[prefix], unit);
}

bool CheckedMul(int64_t a, int64_t b, int64_t* out) {
  if (a < 0 || b < 0) return false;
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

}  // namespace plaster
