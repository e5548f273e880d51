#pragma once
/// What machine a measurement ran on: CPU model and flags, cores, memory, OS and kernel, the CPU
/// frequency governor. Read from /proc, /sys and uname(2); a field that cannot be read is empty
/// or nullopt with the reason, never a guess. The root is a parameter so tests can point it at a
/// fake tree.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace plaster {

struct SystemInfo {
  std::string cpu_model;               ///< "Intel(R) Xeon(R) Processor"; "unknown" if unreadable
  std::vector<std::string> cpu_flags;  ///< the ISA flags that matter for ML kernels, sorted
  std::vector<std::string> all_cpu_flags;  ///< every flag of /proc/cpuinfo, sorted
  int logical_cores = 1;               ///< online logical CPUs this process may use
  std::optional<int64_t> memory_bytes;  ///< MemTotal
  std::optional<std::string> governor;  ///< cpu0's cpufreq scaling governor
  std::string governor_reason;          ///< why governor is unknown
  std::string os_name;                  ///< PRETTY_NAME from os-release
  std::string kernel;                   ///< "Linux 6.1.0-18-amd64 #1 SMP ... x86_64"
};

/// Reads the machine. `root` prefixes every /proc and /sys path ("" for the real machine).
SystemInfo ReadSystemInfo(const std::string& root = "");

/// The logical CPUs this process may run on (its affinity mask; at least 1).
int UsableCores();

/// The flags worth recording: SIMD and matrix extensions (sse4_2, avx, avx2, fma, f16c,
/// avx512*, amx*, ...) out of a /proc/cpuinfo "flags" line.
std::vector<std::string> InterestingCpuFlags(const std::string& flags_line);

}  // namespace plaster
