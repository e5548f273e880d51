#pragma once
/// The Sampler: reads every power source in the background, and turns readings into energy over
/// a measurement window (the E letter). docs/metrics.md defines the figures.
///
/// Threading: one thread per polled source, so a slow source (an IPMI command takes a second)
/// never delays a fast one (RAPL every 10 ms). Each thread appends to its source's Trace under a
/// mutex; Window copies what it needs under the same mutex.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "power/source.h"

namespace plaster::power {

/// One source's figures over one window.
struct SourceEnergy {
  std::string source;       ///< PowerSource::name
  std::string description;  ///< PowerSource::description
  bool estimated = false;
  WindowEnergy window;
  double interval_s = 0;  ///< the sampling interval this source was read at
  /// The idle baseline: average power with plaster idle, and over how long it was measured.
  std::optional<double> idle_watts;
  double idle_seconds = 0;
  /// Gross and net of idle (joules; nullopt when the window's energy is not known).
  std::optional<double> gross_joules, net_joules;
  /// ± joules on gross and net (Note [Energy uncertainty] in sampler.cpp), and what they cover.
  double gross_uncertainty_joules = 0, net_uncertainty_joules = 0;
  std::string uncertainty_basis;

  std::optional<double> AverageWatts() const;
};

/// Per-inference attribution of a window's energy (exact arithmetic; nullopt figures stay so).
struct InferenceEnergy {
  int64_t inferences = 0;
  std::optional<double> joules_per_inference;      ///< gross
  std::optional<double> net_joules_per_inference;  ///< net of idle
  std::optional<double> inferences_per_joule;      ///< gross: inferences/s per W
  std::optional<double> net_inferences_per_joule;
};
InferenceEnergy Attribute(const SourceEnergy& energy, int64_t inferences);

/// The idle baseline of a source: average watts over a window in which plaster ran nothing.
struct IdleBaseline {
  std::string source;
  double watts = 0;
  double seconds = 0;
  double uncertainty_watts = 0;
};

/// The figures of one window given its trace, the source's accuracy and the idle baseline.
/// Pure (the unit tests give synthetic traces).
SourceEnergy EnergyOf(const PowerSource& source, const Trace& trace, int64_t start_ns,
                      int64_t end_ns, double interval_s, const std::optional<IdleBaseline>& idle);

/// The source the scorecard uses, out of several measuring one window: a sensor before the
/// estimate, then the smaller relative uncertainty, then discovery order (RAPL, hwmon, NVML, a
/// meter). nullopt when no source knows the window's energy. `reason` says why, in words.
std::optional<size_t> ChooseBest(const std::vector<SourceEnergy>& energies, std::string* reason);

class Sampler {
 public:
  /// interval_s: how often to read each source (at least each source's min_interval_s).
  Sampler(std::vector<std::unique_ptr<PowerSource>> sources, double interval_s);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  /// Reads every polled source once, then starts their threads. A source whose first Read
  /// throws is dropped, its reason kept in dropped().
  void Start();
  void Stop();

  const std::vector<std::unique_ptr<PowerSource>>& sources() const { return sources_; }
  const std::vector<Unavailable>& dropped() const { return dropped_; }

  /// Waits duration_ns with plaster doing nothing and returns each source's average watts over
  /// that stretch (a source whose energy is unknown there is left out).
  std::vector<IdleBaseline> MeasureIdle(int64_t duration_ns);

  /// Every source's figures over [start_ns, end_ns] (Clock ns), idle subtracted where a baseline
  /// for the source is given. Waits (up to two intervals) for a reading after end_ns.
  std::vector<SourceEnergy> Window(int64_t start_ns, int64_t end_ns,
                                   const std::vector<IdleBaseline>& idle);

  /// A copy of one source's trace so far (tests, the raw dump).
  Trace TraceOf(size_t source) const;

 private:
  struct Polled;
  void Poll(size_t index);

  std::vector<std::unique_ptr<PowerSource>> sources_;
  double interval_s_;
  std::vector<std::unique_ptr<Polled>> polled_;  ///< one per source
  std::vector<Unavailable> dropped_;
  std::atomic<bool> stop_{false};
  std::mutex stop_mutex_;  ///< with stop_wake_: the threads sleep on it, so Stop wakes them
  std::condition_variable stop_wake_;
  bool started_ = false;
};

}  // namespace plaster::power
