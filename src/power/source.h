#pragma once
/// Power sources: everything on this machine that says how much energy it uses (DESIGN.md,
/// "PowerSource"), found by DiscoverSources and read by the Sampler (sampler.h).
///
/// Each source has domains (trace.h) and a Read() stamped with NowNs(), the clock latencies use.
/// A source is measured (a sensor: RAPL, hwmon, NVML, an external meter) or estimated (the CPU's
/// TDP share scaled by utilisation; Note [The TDP estimate] in estimate.cpp). Each states its
/// own accuracy, which the Sampler combines with what the window adds (Note [Energy
/// uncertainty] in sampler.cpp).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "power/trace.h"

namespace plaster::power {

class PowerSource {
 public:
  virtual ~PowerSource() = default;

  /// A short name, unique on the machine: "rapl", "hwmon:amdgpu", "nvml:0", "command", "file",
  /// "estimate".
  virtual std::string name() const = 0;
  /// Where the figures come from, for people: a path, a device name, the command.
  virtual std::string description() const = 0;
  virtual const std::vector<Domain>& domains() const = 0;
  virtual bool estimated() const { return false; }
  /// The sensor's own accuracy as a fraction of what it reads (0.05: ±5%), and its basis.
  virtual double relative_accuracy() const = 0;
  virtual std::string accuracy_basis() const = 0;
  /// How often it is worth reading (the Sampler never reads faster than this).
  virtual double min_interval_s() const { return 0.0; }
  /// A reading of every domain now (NaN for a domain that failed this time). Throws
  /// plaster::Error when the source as a whole fails.
  virtual Reading Read() = 0;
  /// A source that logs on its own (--power-file) is not polled: it gives its readings
  /// afterwards, through Logged.
  virtual bool logs() const { return false; }
  /// The readings around [start_ns, end_ns] (Clock ns), for a source that logs(). Throws
  /// plaster::Error when the log cannot be read.
  virtual Trace Logged(int64_t /*start_ns*/, int64_t /*end_ns*/) { return Trace(domains()); }
};

/// What the user said about sources (the --power-* and --sysfs-root options).
struct SourceOptions {
  std::string root;  ///< prefixes every /sys and /proc path (--sysfs-root; tests give a fake tree)
  std::optional<double> tdp_w;  ///< --tdp: the CPU package's TDP, for the estimate
  std::string command;           ///< --power-cmd: prints watts
  double command_interval_s = 1.0;
  std::string file;              ///< --power-file: timestamped watts, aligned afterwards
  std::optional<int> gpu;        ///< --gpu: the NVML device index (default: every GPU)
  std::string nvml_library = "libnvidia-ml.so.1";
  std::vector<int> cpus;  ///< the CPUs the estimate covers (default: this process's affinity)
  bool estimate = true;  ///< add the TDP estimate (always listed; used when nothing measures)
};

/// A source that exists but cannot be read, and why ("intel-rapl:0/energy_uj: permission
/// denied (root only since Linux 5.10)").
struct Unavailable {
  std::string name;
  std::string reason;
};

struct Discovery {
  std::vector<std::unique_ptr<PowerSource>> sources;  ///< measured ones first, the estimate last
  std::vector<Unavailable> unavailable;
};

/// Finds every source. Throws plaster::Error for options that cannot work (--power-cmd that
/// does not print a number, --power-file that does not exist, --tdp <= 0).
Discovery DiscoverSources(const SourceOptions& options);

// The kinds, each in its own file; each appends what it finds.
void DiscoverPowercap(const SourceOptions& options, Discovery& found);  // powercap.cpp (RAPL)
void DiscoverHwmon(const SourceOptions& options, Discovery& found);     // hwmon.cpp
void DiscoverNvml(const SourceOptions& options, Discovery& found);      // nvml.cpp
void DiscoverExternal(const SourceOptions& options, Discovery& found);  // external.cpp
void DiscoverEstimate(const SourceOptions& options, Discovery& found);  // estimate.cpp

}  // namespace plaster::power
