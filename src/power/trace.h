#pragma once
/// A power source's readings over time, and the energy they give over a window (the E letter;
/// docs/metrics.md defines each figure). Pure: no clock, no files; the Sampler fills traces and
/// the unit tests build them from synthetic power curves.
///
/// Note [Energy from readings]
/// A domain is read in one of two ways:
///  - an energy counter (RAPL's energy_uj, NVML's total energy, hwmon's energy*_input): the
///    energy over a window is the counter's value at its end minus its value at its start. A
///    counter that goes down wrapped: its range (RAPL's max_energy_range_uj) is added, so a
///    trace stores the counter unwrapped. The value at an instant between two readings is
///    interpolated linearly (the power was constant between them, as far as anyone can know).
///  - instantaneous power (hwmon's power*_input, NVML's power usage, an external meter): the
///    energy is the integral of the piecewise-linear curve through the readings (trapezoids),
///    cut at the window's ends.
/// Either way a window needs a reading at or before its start and one at or after its end;
/// otherwise the energy is not known and the window says why rather than claim 0 J. A window
/// shorter than the sensor's update period is flagged: its two ends may fall in one update, so
/// its figure is the neighbouring updates' average power, not its own.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace plaster::power {

enum class Quantity {
  kEnergy,  ///< a cumulative counter, in joules
  kPower,   ///< an instantaneous reading, in watts
};
const char* QuantityName(Quantity q);

/// One thing a source measures: a package, a DRAM, a GPU, a wall socket.
struct Domain {
  std::string name;  ///< "package-0", "dram", "GPU 0 (NVIDIA H100 80GB HBM3)", "wall"
  Quantity quantity = Quantity::kEnergy;
  /// Summed into the source's total. Sub-domains counted inside another (RAPL's core and uncore
  /// are inside its package) are shown but not added twice.
  bool in_total = true;
  double wrap_j = 0;  ///< an energy counter's range: it wraps to 0 there (0: never wraps)
  double update_period_s = 0.001;  ///< how often the sensor itself updates
};

/// The values of every domain at one instant (Clock nanoseconds, core/clock.h). NaN: the
/// domain could not be read this time.
struct Reading {
  int64_t t_ns = 0;
  std::vector<double> values;
};

/// Energy over [start, end] for one domain.
struct DomainEnergy {
  std::string domain;
  std::optional<double> joules;  ///< nullopt: not known (see `problem`)
  std::string problem;           ///< why not, or a flag on a known figure ("shorter than ...")
  int readings = 0;              ///< readings inside the window
};

struct WindowEnergy {
  int64_t start_ns = 0, end_ns = 0;
  std::vector<DomainEnergy> domains;
  std::optional<double> total_joules;  ///< the in_total domains, when every one is known
  /// The window is shorter than the slowest counted sensor's update period (or than two
  /// readings' spacing): its figure is an average over a longer stretch.
  bool too_short = false;
  std::string note;  ///< why total is unknown, or what too_short means here

  double seconds() const { return static_cast<double>(end_ns - start_ns) / 1e9; }
  /// Average power over the window (nullopt when the energy is not known).
  std::optional<double> AverageWatts() const;
};

/// Readings of one source's domains, in time order.
class Trace {
 public:
  explicit Trace(std::vector<Domain> domains);

  const std::vector<Domain>& domains() const { return domains_; }
  const std::vector<Reading>& readings() const { return readings_; }

  /// Appends a reading (t_ns not before the last one; values one per domain, raw as read:
  /// wrapped counters are unwrapped here).
  void Add(Reading reading);

  /// The energy over [start_ns, end_ns] (Note [Energy from readings]).
  WindowEnergy Energy(int64_t start_ns, int64_t end_ns) const;

  /// The largest gap between consecutive readings (0 with fewer than two).
  int64_t MaxSpacingNs() const;

 private:
  std::optional<double> DomainJoules(size_t d, int64_t start_ns, int64_t end_ns,
                                     std::string& problem) const;

  std::vector<Domain> domains_;
  std::vector<Reading> readings_;  ///< counters unwrapped
  std::vector<double> last_raw_;   ///< each counter's last raw value (NaN before the first)
  std::vector<double> wrap_offset_;
};

}  // namespace plaster::power
