#pragma once
/// The machine's peaks: `plaster peak` measures the highest arithmetic rate of each precision
/// (FP32, BF16, INT8) with register-only loops (peak_kernels.h), the rate a square GEMM reaches
/// through an engine, and the memory bandwidth (read and STREAM triad); the result is cached per
/// machine so that `evaluate` can put every case on a roofline (roofline.h) without measuring
/// again. docs/metrics.md, "Machine peaks and the roofline", says which peak the roofline uses.
///
/// Threading: MeasurePeak starts its own threads and must not run beside other measurements
/// (it would slow them and be slowed by them). Everything else here is a pure function or
/// touches only the cache file.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace plaster::evaluate {

/// One figure: a value with its unit and how it was measured, or unavailable and why.
struct PeakFigure {
  std::optional<double> value;  ///< absent: unavailable
  std::string unit;             ///< "FLOP/s", "OP/s" (integer operations) or "B/s"
  std::string how;              ///< when measured: "AVX-512 FMA loop, 2 threads, best of ..."
  std::string reason;           ///< when unavailable: why
  /// "measured: <how>" or "unavailable: <reason>".
  std::string Source() const;
};

/// One compute kernel's rate (peak_kernels.h), measured or not.
struct KernelPeak {
  std::string kernel;       ///< "avx512_fma"
  std::string description;  ///< "AVX-512 FMA loop"
  PeakFigure rate;
};

/// The peaks of one precision.
struct PrecisionPeak {
  engine::Precision precision = engine::Precision::kFp32;
  /// Every kernel of this precision plaster has, fastest kind first; those this machine cannot
  /// run are unavailable with the reason.
  std::vector<KernelPeak> kernels;
  /// The fastest measured kernel: the hardware's ceiling for this precision, the roofline's peak.
  PeakFigure peak;
  /// A square MatMul through an engine: the ceiling a real library reaches.
  PeakFigure gemm;
};

/// What identifies a machine for the cache: a peak measured under another key is not reused.
struct MachineKey {
  std::string cpu_model;               ///< /proc/cpuinfo "model name", or "unknown"
  std::vector<std::string> cpu_flags;  ///< /proc/cpuinfo "flags", sorted
  int logical_cores = 0;
  std::string plaster_version;
  bool operator==(const MachineKey&) const = default;
};
/// This machine's key (reads /proc/cpuinfo; never throws).
MachineKey CurrentMachineKey();

/// The logical cores this process may run on (its affinity mask), at least 1.
int AvailableCores();

/// Everything `plaster peak` measured.
struct MachinePeak {
  MachineKey key;
  std::string measured_utc;               ///< "2026-11-26T10:04:05Z"
  int threads = 0;                        ///< threads every figure was measured with
  bool quick = false;                     ///< measured with PeakOptions::Quick() (rough)
  std::vector<PrecisionPeak> precisions;  ///< fp32, bf16, int8, in that order
  PeakFigure memory_read;                 ///< B/s reading float64 arrays
  PeakFigure memory_triad;                ///< B/s of a[i] = b[i] + s·c[i], 24 B per element
  uint64_t memory_footprint_bytes = 0;    ///< the arrays' total size
  std::vector<std::string> notes;         ///< what a reader should know ("AMX: unavailable: ...")

  /// The entry for precision; null when not measured (fp16 is not).
  const PrecisionPeak* Find(engine::Precision precision) const;
  /// The precision's peak (FLOP/s, or OP/s for int8); nullopt when unknown.
  std::optional<double> PeakOpsPerSecond(engine::Precision precision) const;
  /// The memory ceiling: the larger of read and triad bandwidth; nullopt when neither is known.
  std::optional<double> PeakBytesPerSecond() const;
};

/// How to measure. The defaults take about 5–10 s on a 2-core machine.
struct PeakOptions {
  int threads = 0;               ///< 0: AvailableCores()
  double kernel_seconds = 0.3;   ///< per compute kernel, split into 5 windows (the best counts)
  uint64_t memory_bytes = 0;     ///< all arrays together; 0: 4× the L3 size, at least 512 MiB,
                                 ///< at most a quarter of the available memory
  int memory_repetitions = 3;    ///< best of
  int64_t gemm_size = 2048;      ///< N of the N×N×N GEMM; 0 skips it
  double gemm_seconds = 1.0;     ///< timed GEMM runs (at least 3) within about this long
  std::string engine = "torch";  ///< the engine that runs the GEMM
  bool quick = false;            ///< recorded in MachinePeak::quick
  /// A rough measurement in about a second: 0.05 s loops, 48 MiB of memory (caches may inflate
  /// the bandwidth), a 512³ GEMM.
  static PeakOptions Quick();
};

/// Measures this machine. Never throws for what the machine lacks (those figures are
/// unavailable with the reason); plaster::Error only for nonsense options (threads < 0).
MachinePeak MeasurePeak(const PeakOptions& options);

/// The JSON of a MachinePeak ("schema": "plaster.peak"; docs/cli.md, `plaster peak`). Every figure
/// is {"value", "unit", "source": "measured"|"unavailable", "how", "reason"}.
nlohmann::ordered_json PeakJson(const MachinePeak& peak);
/// Reads PeakJson's output back. Throws plaster::Error naming the first problem.
MachinePeak PeakFromJson(const nlohmann::ordered_json& json);

/// $XDG_CACHE_HOME/plaster, else $HOME/.cache/plaster; empty when neither is set.
std::filesystem::path DefaultPeakCacheDir();
/// The cache file in dir: dir/peak.json. It holds one entry per (machine key, threads, quick).
std::filesystem::path PeakCacheFile(const std::filesystem::path& dir);

/// The cached peak of this key, thread count and quickness; nullopt when there is none. A
/// missing file is no warning; an unreadable or corrupt one sets *warning (when given) and
/// returns nullopt: a cache never makes a run fail.
std::optional<MachinePeak> LoadCachedPeak(const std::filesystem::path& dir, const MachineKey& key,
                                          int threads, bool quick, std::string* warning = nullptr);
/// Stores peak in dir's cache file (creating dir), replacing the entry with the same key,
/// threads and quickness, and dropping a corrupt file. Throws plaster::Error naming the file
/// when it cannot be written.
void SaveCachedPeak(const std::filesystem::path& dir, const MachinePeak& peak);

}  // namespace plaster::evaluate
