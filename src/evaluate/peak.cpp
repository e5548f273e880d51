#include "evaluate/peak.h"

#include <fmt/format.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <fstream>
#include <memory>
#include <new>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "core/system_info.h"
#include "core/units.h"
#include "engine/registry.h"
#include "evaluate/peak_kernels.h"
#include "model/builder.h"
#include "model/model.h"
#include "plaster/version.h"

namespace plaster::evaluate {
namespace {

using engine::Precision;

constexpr int32_t kOnnxFloat = 1;  // onnx::TensorProto::FLOAT
constexpr double kMiB = 1024.0 * 1024.0;
constexpr int kKernelWindows = 5;  // a compute kernel's time is split into this many windows

// The kernels' results land here, so the compiler must compute them.
std::atomic<double> g_sink{0};

double SecondsSince(int64_t start_ns) { return static_cast<double>(NowNs() - start_ns) * 1e-9; }

const char* UnitOf(Precision precision) {
  return precision == Precision::kInt8 ? "OP/s" : "FLOP/s";
}

PeakFigure Unavailable(std::string unit, std::string reason) {
  PeakFigure f;
  f.unit = std::move(unit);
  f.reason = std::move(reason);
  return f;
}

PeakFigure Measured(double value, std::string unit, std::string how) {
  PeakFigure f;
  f.value = value;
  f.unit = std::move(unit);
  f.how = std::move(how);
  return f;
}

std::string Threads(int n) { return fmt::format("{} thread{}", n, n == 1 ? "" : "s"); }

// Runs fn(thread_index) on n threads released together; returns the seconds from the release
// to the last thread's end.
template <typename Fn>
double RunOnThreads(int n, Fn&& fn) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<int64_t> end_ns(static_cast<size_t>(n), 0);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      fn(t);
      end_ns[static_cast<size_t>(t)] = NowNs();
    });
  }
  while (ready.load() < n) std::this_thread::yield();
  const int64_t start_ns = NowNs();
  go.store(true, std::memory_order_release);
  for (auto& thread : pool) thread.join();
  return static_cast<double>(*std::max_element(end_ns.begin(), end_ns.end()) - start_ns) * 1e-9;
}

// The values each precision's timed loop runs on: they keep every accumulator finite, exact in
// range and free of subnormals (the FMA chains converge to 2; the dot products grow slowly).
std::pair<float, float> TimedValues(const ComputeKernel& kernel) {
  if (std::string(kernel.precision) == "fp32") return {0.5f, 1.0f};
  return {1.0f, 1.0f};
}

PeakFigure MeasureKernel(const ComputeKernel& kernel, int threads, double seconds) {
  const auto [x, y] = TimedValues(kernel);
  // Calibrate a chunk of about 1 ms on one thread; this also warms the core up (AVX-512 and AMX
  // frequency licences, AMX's first-use state allocation).
  uint64_t chunk = 256;
  for (;;) {
    const int64_t start = NowNs();
    g_sink.store(kernel.run(chunk, x, y), std::memory_order_relaxed);
    if (SecondsSince(start) >= 1e-3 || chunk >= (uint64_t{1} << 24)) break;
    chunk *= 2;
  }
  // Best of several short windows: a window in which other work took a core is discarded,
  // where one long window would average it in.
  const auto window_ns = static_cast<int64_t>(seconds / kKernelWindows * 1e9);
  double best = 0, best_elapsed = 0;
  for (int window = 0; window < kKernelWindows; ++window) {
    std::vector<uint64_t> iterations(static_cast<size_t>(threads), 0);
    const double elapsed = RunOnThreads(threads, [&](int t) {
      const int64_t deadline = NowNs() + window_ns;
      double sink = 0;
      uint64_t done = 0;
      do {
        sink += kernel.run(chunk, x, y);
        done += chunk;
      } while (NowNs() < deadline);
      iterations[static_cast<size_t>(t)] = done;
      g_sink.store(sink, std::memory_order_relaxed);
    });
    double total = 0;
    for (uint64_t n : iterations) total += static_cast<double>(n);
    const double rate = total * kernel.ops_per_iteration / elapsed;
    if (rate > best) {
      best = rate;
      best_elapsed = elapsed;
    }
  }
  const char* unit = std::string(kernel.precision) == "int8" ? "OP/s" : "FLOP/s";
  return Measured(best, unit,
                  fmt::format("{}, {}, best of {} windows of {:.3f} s", kernel.description,
                              Threads(threads), kKernelWindows, best_elapsed));
}

// ---- memory ---------------------------------------------------------------------------------

// The last-level cache in bytes, from sysfs (cpu0's highest cache level); 0 when unknown.
uint64_t LastLevelCacheBytes() {
  uint64_t best = 0;
  int best_level = 0;
  for (int index = 0; index < 16; ++index) {
    const std::string base = fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}/", index);
    std::ifstream level_file(base + "level"), size_file(base + "size");
    int level = 0;
    std::string size;
    if (!(level_file >> level) || !(size_file >> size) || size.empty()) continue;
    uint64_t bytes = 0;
    try {
      bytes = std::stoull(size);
    } catch (const std::exception&) {
      continue;
    }
    if (size.back() == 'K') bytes <<= 10;
    if (size.back() == 'M') bytes <<= 20;
    if (level >= best_level) {
      best_level = level;
      best = bytes;
    }
  }
  return best;
}

// MemAvailable from /proc/meminfo in bytes; 0 when unknown.
uint64_t AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib << 10;
  }
  return 0;
}

struct Footprint {
  uint64_t bytes = 0;
  std::string note;  // when it had to be smaller than the rule asks
};

// Note [Memory footprint]: 4× the last-level cache and at least 512 MiB, so that nearly every
// access misses the caches; at most a quarter of the available memory, so that the measurement
// never pushes the machine into reclaim. When that cap wins, the note says the caches may
// inflate the figure.
Footprint ChooseFootprint(uint64_t requested) {
  const uint64_t llc = LastLevelCacheBytes();
  if (requested > 0) {
    if (requested >= 2 * llc) return {requested, ""};
    return {requested, fmt::format("memory: arrays of {} in all, less than twice the last-level "
                                   "cache ({}): caches may inflate the bandwidth",
                                   FormatBytes(requested), FormatBytes(llc))};
  }
  const uint64_t want = std::max<uint64_t>(4 * llc, uint64_t{512} << 20);
  const uint64_t available = AvailableMemoryBytes();
  if (available > 0 && want > available / 4) {
    const uint64_t capped = available / 4;
    return {capped, fmt::format("memory: arrays of {} in all, capped at a quarter of the available "
                                "memory; the last-level cache is {}, so caches may inflate the "
                                "bandwidth",
                                FormatBytes(capped), FormatBytes(llc))};
  }
  return {want, ""};
}

struct MemoryResult {
  PeakFigure read;
  PeakFigure triad;
};

MemoryResult MeasureMemory(uint64_t footprint, int threads, int repetitions) {
  const uint64_t n = footprint / 3 / sizeof(double);
  std::unique_ptr<double[]> a(new (std::nothrow) double[n]);
  std::unique_ptr<double[]> b(new (std::nothrow) double[n]);
  std::unique_ptr<double[]> c(new (std::nothrow) double[n]);
  if (!a || !b || !c || n < static_cast<uint64_t>(threads) * 64) {
    const std::string why = fmt::format("could not allocate 3 arrays of {}", FormatBytes(n * 8));
    return {Unavailable("B/s", why), Unavailable("B/s", why)};
  }
  auto slice = [&](int t) {
    const uint64_t per = n / static_cast<uint64_t>(threads);
    const uint64_t begin = per * static_cast<uint64_t>(t);
    const uint64_t end = t + 1 == threads ? n : begin + per;
    return std::pair<uint64_t, uint64_t>{begin, end};
  };
  // First touch by the thread that will use each slice: pages land where they are read.
  RunOnThreads(threads, [&](int t) {
    const auto [begin, end] = slice(t);
    for (uint64_t i = begin; i < end; ++i) {
      a[i] = 0.0;
      b[i] = 1.0;
      c[i] = 2.0;
    }
  });
  double best_read = 1e300, best_triad = 1e300;
  for (int rep = 0; rep < repetitions; ++rep) {
    std::vector<double> sums(static_cast<size_t>(threads), 0);
    best_read = std::min(best_read, RunOnThreads(threads, [&](int t) {
                           const auto [begin, end] = slice(t);
                           sums[static_cast<size_t>(t)] = SumDoubles(
                               a.get() + begin, b.get() + begin, c.get() + begin, end - begin);
                         }));
    double total = 0;
    for (double s : sums) total += s;
    g_sink.store(total, std::memory_order_relaxed);
    best_triad =
        std::min(best_triad, RunOnThreads(threads, [&](int t) {
                   const auto [begin, end] = slice(t);
                   Triad(a.get() + begin, b.get() + begin, c.get() + begin, 3.0, end - begin);
                 }));
    g_sink.store(a[n / 2], std::memory_order_relaxed);
  }
  const double bytes = 3.0 * static_cast<double>(n) * sizeof(double);
  const std::string arrays =
      fmt::format("3 float64 arrays of {:.0f} MiB", static_cast<double>(n) * 8 / kMiB);
  return {Measured(bytes / best_read, "B/s",
                   fmt::format("read (sum) of {} side by side, {}, best of {}", arrays,
                               Threads(threads), repetitions)),
          Measured(bytes / best_triad, "B/s",
                   fmt::format("STREAM triad a = b + s·c over {} (24 B per element, as STREAM "
                               "counts), {}, best of {}",
                               arrays, Threads(threads), repetitions))};
}

// ---- GEMM through an engine -----------------------------------------------------------------

// y = a·b with b constant, as a model's weights are: the engine may pack (and quantize) b once.
model::Model MatMulModel(int64_t n) {
  model::ModelBuilder b("peak_matmul");
  b.Input("a", kOnnxFloat, {n, n});
  std::vector<float> weights(static_cast<size_t>(n * n));
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = 1.0f / static_cast<float>(1 + (i % 5));
  b.Initializer("b", {n, n}, weights);
  b.Node("MatMul", {"a", "b"}, {"y"}, "matmul");
  b.Output("y", kOnnxFloat, {n, n});
  return model::Model::FromBytes(b.Serialize(), "peak MatMul");
}

PeakFigure MeasureGemm(Precision precision, const PeakOptions& o, int threads) {
  const char* unit = UnitOf(precision);
  if (o.gemm_size <= 0) return Unavailable(unit, "GEMM skipped (size 0)");
  try {
    const engine::Engine& eng = engine::FindEngine(o.engine);
    const auto offered = eng.precisions(engine::Device::kCpu);
    if (std::find(offered.begin(), offered.end(), precision) == offered.end()) {
      return Unavailable(unit, fmt::format("the {} engine does not offer {} on this CPU",
                                           eng.name(), engine::PrecisionName(precision)));
    }
    const int64_t n = o.gemm_size;
    const model::Model m = MatMulModel(n);
    engine::SessionOptions so;
    so.precision = precision;
    so.threads = threads;
    std::unique_ptr<engine::Session> session = eng.Compile(m, so);
    const engine::PrecisionReport report = session->precision_report();
    if (!report.kept.empty()) {
      return Unavailable(unit, fmt::format("the {} engine ran the MatMul in fp32: {}", eng.name(),
                                           report.kept[0].reason));
    }
    std::vector<engine::HostTensor> inputs;
    engine::HostTensor a(kOnnxFloat, {n, n});
    float* data = a.mutable_data_as<float>();
    for (int64_t i = 0; i < n * n; ++i) data[i] = 1.0f / static_cast<float>(1 + (i % 7));
    inputs.push_back(std::move(a));
    session->Run(inputs);  // warm-up: allocations, the library's thread pool, packing
    const int64_t start = NowNs();
    double best = 1e300;
    int runs = 0;
    while (runs < 3 || (SecondsSince(start) < o.gemm_seconds && runs < 1000)) {
      const int64_t run_start = NowNs();
      session->Run(inputs);
      best = std::min(best, SecondsSince(run_start));
      ++runs;
    }
    const double flops =
        2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
    return Measured(flops / best, unit,
                    fmt::format("MatMul {}×{}×{} (constant weights{}) through the {} engine, best "
                                "of {} runs, {}",
                                n, n, n,
                                precision == Precision::kInt8 ? ", the input quantized per run"
                                                              : "",
                                eng.name(), runs, Threads(threads)));
  } catch (const Error& e) {
    return Unavailable(unit, e.what());
  }
}

// The 1-minute load average (/proc/loadavg); 0 when unknown.
double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  in >> load;
  return in ? load : 0.0;
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

std::string PeakFigure::Source() const {
  return value ? "measured: " + how : "unavailable: " + reason;
}

MachineKey CurrentMachineKey() {
  const SystemInfo sys = ReadSystemInfo();
  MachineKey key;
  key.cpu_model = sys.cpu_model;
  key.cpu_flags = sys.all_cpu_flags;
  key.logical_cores = sys.logical_cores;
  key.plaster_version = kVersion;
  return key;
}

int AvailableCores() { return UsableCores(); }

PeakOptions PeakOptions::Quick() {
  PeakOptions o;
  o.kernel_seconds = 0.05;
  o.memory_bytes = uint64_t{48} << 20;
  o.memory_repetitions = 2;
  o.gemm_size = 512;
  o.gemm_seconds = 0.1;
  o.quick = true;
  return o;
}

const PrecisionPeak* MachinePeak::Find(Precision precision) const {
  for (const auto& p : precisions) {
    if (p.precision == precision) return &p;
  }
  return nullptr;
}

std::optional<double> MachinePeak::PeakOpsPerSecond(Precision precision) const {
  const PrecisionPeak* p = Find(precision);
  return p ? p->peak.value : std::nullopt;
}

std::optional<double> MachinePeak::PeakBytesPerSecond() const {
  if (memory_read.value && memory_triad.value) {
    return std::max(*memory_read.value, *memory_triad.value);
  }
  return memory_read.value ? memory_read.value : memory_triad.value;
}

MachinePeak MeasurePeak(const PeakOptions& o) {
  PLASTER_CHECK(o.threads >= 0, "peak: threads must be 0 (all cores) or more, not {}", o.threads);
  MachinePeak peak;
  peak.key = CurrentMachineKey();
  peak.measured_utc = UtcNow();
  peak.threads = o.threads > 0 ? o.threads : AvailableCores();
  peak.quick = o.quick;
  if (peak.threads > AvailableCores()) {
    peak.notes.push_back(fmt::format("{} threads on {} available cores: the threads share cores",
                                     peak.threads, AvailableCores()));
  }

  const double load = LoadAverage();
  if (load >= 0.5) {
    peak.notes.push_back(
        fmt::format("the load average was {:.2f} before measuring: other work "
                    "shared the cores, so the figures may be low",
                    load));
  }

  const CpuFeatures features = DetectCpuFeatures();
  const std::string amx = RequestAmx();
  if (features.amx_tile && !amx.empty()) peak.notes.push_back("AMX: unavailable: " + amx);

  for (Precision precision : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    PrecisionPeak p;
    p.precision = precision;
    const std::string name = engine::PrecisionName(precision);
    for (const ComputeKernel& kernel : ComputeKernels()) {
      if (name != kernel.precision) continue;
      KernelPeak k{kernel.name, kernel.description, {}};
      std::string reason;
      if (kernel.usable(features, &reason)) {
        k.rate = MeasureKernel(kernel, peak.threads, o.kernel_seconds);
      } else {
        k.rate = Unavailable(UnitOf(precision), reason);
      }
      if (k.rate.value && (!p.peak.value || *k.rate.value > *p.peak.value)) p.peak = k.rate;
      p.kernels.push_back(std::move(k));
    }
    if (!p.peak.value) {
      p.peak =
          Unavailable(UnitOf(precision),
                      fmt::format("no {} kernel runs on this CPU (needs AVX2 or better)", name));
    }
    p.gemm = MeasureGemm(precision, o, peak.threads);
    if (p.gemm.value && p.peak.value && *p.gemm.value > *p.peak.value) {
      peak.notes.push_back(
          fmt::format("{}: the GEMM beat the loops' peak, so the loops were slowed "
                      "(by other work?); --refresh measures again",
                      name));
    }
    peak.precisions.push_back(std::move(p));
  }
  peak.notes.push_back(
      "int8 rates are integer operations (OP/s): one u8×s8 multiply-add counts 2, as for FLOPs");

  const Footprint footprint = ChooseFootprint(o.memory_bytes);
  peak.memory_footprint_bytes = footprint.bytes;
  if (!footprint.note.empty()) peak.notes.push_back(footprint.note);
  const MemoryResult memory =
      MeasureMemory(footprint.bytes, peak.threads, std::max(1, o.memory_repetitions));
  peak.memory_read = memory.read;
  peak.memory_triad = memory.triad;
  return peak;
}

}  // namespace plaster::evaluate
