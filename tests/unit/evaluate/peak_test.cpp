// The machine peaks and the roofline: kernel arithmetic, the roofline's math, the JSON and the
// cache. No speed thresholds: the figures are checked for being measured, positive and finite.
#include "evaluate/peak.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

#include "core/error.h"
#include "engine/registry.h"
#include "evaluate/peak_kernels.h"
#include "evaluate/roofline.h"
#include "support/fixtures.h"

namespace plaster::evaluate {
namespace {

using engine::Precision;
using testing::ErrorOf;
using ::testing::HasSubstr;
using testing::TempDir;

PeakFigure Figure(double value, const char* unit) {
  PeakFigure f;
  f.value = value;
  f.unit = unit;
  f.how = "test";
  return f;
}

PeakFigure Missing(const char* unit) {
  PeakFigure f;
  f.unit = unit;
  f.reason = "not on this machine";
  return f;
}

// fp32 peak 100 GFLOP/s, bf16 unknown, int8 400 GOP/s; memory read 10 GB/s, triad 8 GB/s.
MachinePeak FakePeak() {
  MachinePeak p;
  p.key = {"Test CPU", {"avx2", "fma"}, 4, "0.1.0"};
  p.measured_utc = "2026-01-02T03:04:05Z";
  p.threads = 4;
  PrecisionPeak fp32{Precision::kFp32,
                     {{"avx2_fma", "AVX2 FMA loop", Figure(100e9, "FLOP/s")}},
                     Figure(100e9, "FLOP/s"),
                     Figure(80e9, "FLOP/s")};
  PrecisionPeak bf16{Precision::kBf16,
                     {{"avx512_bf16", "AVX-512 BF16", Missing("FLOP/s")}},
                     Missing("FLOP/s"),
                     Missing("FLOP/s")};
  PrecisionPeak int8{Precision::kInt8, {}, Figure(400e9, "OP/s"), Missing("OP/s")};
  p.precisions = {fp32, bf16, int8};
  p.memory_read = Figure(10e9, "B/s");
  p.memory_triad = Figure(8e9, "B/s");
  p.memory_footprint_bytes = 1 << 20;
  p.notes = {"a note"};
  return p;
}

// ---- roofline --------------------------------------------------------------------------------

TEST(Roofline, ComputeBoundAboveTheBalancePoint) {
  auto r = ComputeRoofline(FakePeak(), Precision::kFp32, 20.0, 50e9);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->peak_flops, 100e9);
  EXPECT_EQ(r->peak_bytes_per_s, 10e9);  // the larger of read and triad
  EXPECT_EQ(r->balance, 10.0);
  EXPECT_EQ(r->intensity, 20.0);
  EXPECT_EQ(r->achieved_flops, 50e9);
  EXPECT_EQ(r->attainable_flops, 100e9);
  EXPECT_EQ(r->fraction, 0.5);
  EXPECT_EQ(r->bound, Bound::kCompute);
}

TEST(Roofline, MemoryBoundBelowTheBalancePoint) {
  auto r = ComputeRoofline(FakePeak(), Precision::kFp32, 2.5, 5e9);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bound, Bound::kMemory);
  EXPECT_EQ(r->attainable_flops, 25e9);  // bandwidth × intensity
  EXPECT_EQ(r->fraction, 0.05);          // of the peak, not of the attainable rate
}

TEST(Roofline, ExactlyAtTheBalancePointIsComputeBound) {
  auto r = ComputeRoofline(FakePeak(), Precision::kFp32, 10.0, 1e9);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bound, Bound::kCompute);
  EXPECT_EQ(r->attainable_flops, 100e9);
  auto below = ComputeRoofline(FakePeak(), Precision::kFp32, std::nextafter(10.0, 0.0), 1e9);
  EXPECT_EQ(below->bound, Bound::kMemory);
}

TEST(Roofline, UsesThePeakOfItsPrecision) {
  auto r = ComputeRoofline(FakePeak(), Precision::kInt8, 100.0, 100e9);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->peak_flops, 400e9);
  EXPECT_EQ(r->balance, 40.0);
  EXPECT_EQ(r->fraction, 0.25);
  EXPECT_EQ(r->bound, Bound::kCompute);
}

TEST(Roofline, UnknownWithoutThePrecisionsPeakOrTheBandwidth) {
  EXPECT_FALSE(ComputeRoofline(FakePeak(), Precision::kBf16, 10, 1e9));  // unavailable
  EXPECT_FALSE(ComputeRoofline(FakePeak(), Precision::kFp16, 10, 1e9));  // never measured
  MachinePeak no_memory = FakePeak();
  no_memory.memory_read = Missing("B/s");
  no_memory.memory_triad = Missing("B/s");
  EXPECT_FALSE(ComputeRoofline(no_memory, Precision::kFp32, 10, 1e9));
  MachinePeak triad_only = FakePeak();
  triad_only.memory_read = Missing("B/s");
  EXPECT_EQ(ComputeRoofline(triad_only, Precision::kFp32, 10, 1e9)->peak_bytes_per_s, 8e9);
}

TEST(Roofline, JsonIsTheRecordsRooflineObject) {
  auto r = ComputeRoofline(FakePeak(), Precision::kFp32, 2.5, 5e9);
  const auto j = RooflineJson(*r);
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  EXPECT_THAT(keys, ::testing::ElementsAre("precision", "peak_flops", "peak_bytes_per_s", "balance",
                                           "intensity", "achieved_flops", "fraction", "bound"));
  EXPECT_EQ(j["precision"], "fp32");
  EXPECT_EQ(j["balance"], 10.0);
  EXPECT_EQ(j["fraction"], 0.05);
  EXPECT_EQ(j["bound"], "memory");
}

// ---- kernels ---------------------------------------------------------------------------------

const ComputeKernel* Kernel(const std::string& name) {
  for (const auto& k : ComputeKernels()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

TEST(PeakKernels, CountsAreTheDocumentedOnes) {
  const std::map<std::string, double> expected = {
      {"avx512_fma", 16 * 16 * 2},       {"avx2_fma", 12 * 8 * 2},
      {"avx512_bf16", 16 * 32 * 2},      {"amx_bf16", 4 * 16 * 16 * 32 * 2},
      {"avx512_vnni", 16 * 64 * 2},      {"avx2_int8", 8 * 32 * 2},
      {"amx_int8", 4 * 16 * 16 * 64 * 2}};
  ASSERT_EQ(ComputeKernels().size(), expected.size());
  for (const auto& [name, ops] : expected) {
    ASSERT_NE(Kernel(name), nullptr) << name;
    EXPECT_EQ(Kernel(name)->ops_per_iteration, ops) << name;
  }
}

// One iteration from zero adds exactly one product per counted multiply-add to the sum: with
// x·y = 1 the result is ops_per_iteration / 2. This ties each count to what the loop computes.
TEST(PeakKernels, OneIterationComputesWhatItCounts) {
  const CpuFeatures features = DetectCpuFeatures();
  int ran = 0;
  for (const auto& k : ComputeKernels()) {
    std::string reason;
    if (!k.usable(features, &reason)) {
      EXPECT_FALSE(reason.empty()) << k.name;
      continue;
    }
    const bool fma = std::string(k.precision) == "fp32";
    // FMA: acc·x + y from 0 is y; dot products: x·y per product.
    EXPECT_EQ(k.run(1, fma ? 0.0f : 1.0f, 1.0f), k.ops_per_iteration / 2) << k.name;
    ++ran;
  }
  if (ran == 0) GTEST_SKIP() << "no kernel runs on this CPU";
}

TEST(PeakKernels, SeveralIterationsGiveTheClosedForm) {
  const CpuFeatures features = DetectCpuFeatures();
  // name → (iterations, x, y, expected sum).
  struct Case {
    const char* name;
    uint64_t n;
    float x, y;
    double expected;
  };
  const Case cases[] = {
      {"avx512_fma", 3, 2.0f, 1.0f, 256 * 7.0},       // 1, 3, 7 in each of 16×16 lanes
      {"avx2_fma", 10, 1.0f, 0.5f, 96 * 5.0},         // n·y in each of 12×8 lanes
      {"avx512_bf16", 3, 1.0f, 2.0f, 256 * 12.0},     // 2 pairs · 1·2 per step, 16×16 lanes
      {"amx_bf16", 3, 1.0f, 2.0f, 1024 * 192.0},      // 32 pairs · 2 per step, 4 tiles of 256
      {"avx512_vnni", 5, 3.0f, -2.0f, 256 * -120.0},  // 4 products · −6 per step
      {"avx2_int8", 5, 3.0f, -2.0f, 64 * -120.0},     // 4 products · −6 per step, 8×8 lanes
      {"amx_int8", 2, 3.0f, -2.0f, 1024 * -768.0},    // 64 products · −6 per step
  };
  int ran = 0;
  for (const Case& c : cases) {
    const ComputeKernel* k = Kernel(c.name);
    ASSERT_NE(k, nullptr) << c.name;
    std::string reason;
    if (!k->usable(features, &reason)) continue;
    EXPECT_EQ(k->run(c.n, c.x, c.y), c.expected) << c.name;
    EXPECT_EQ(k->run(0, c.x, c.y), 0.0) << c.name;
    ++ran;
  }
  if (ran == 0) GTEST_SKIP() << "no kernel runs on this CPU";
}

TEST(PeakKernels, MemoryLoopsAreExact) {
  std::vector<double> b(13), c(13), a(13, -1.0);
  for (size_t i = 0; i < b.size(); ++i) {
    b[i] = static_cast<double>(i);
    c[i] = 0.5 * static_cast<double>(i);
  }
  EXPECT_EQ(SumDoubles(b.data(), c.data(), a.data(), 13), 78.0 + 39.0 - 13.0);
  EXPECT_EQ(SumDoubles(b.data(), c.data(), a.data(), 0), 0.0);
  EXPECT_EQ(SumDoubles(b.data(), c.data(), a.data(), 5), 10.0 + 5.0 - 5.0);  // n is respected
  Triad(a.data(), b.data(), c.data(), 4.0, 12);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(a[i], 3.0 * static_cast<double>(i)) << i;
  EXPECT_EQ(a[12], -1.0);  // n is respected
}

// CPUID's bits agree with what Linux read from the same CPUID (the kernel hides a feature whose
// state it does not save, as XGETBV does here).
TEST(PeakKernels, FeaturesAgreeWithProcCpuinfo) {
  const auto flags = CurrentMachineKey().cpu_flags;
  if (flags.empty()) GTEST_SKIP() << "no /proc/cpuinfo flags";
  auto has = [&](const char* flag) {
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
  };
  const CpuFeatures f = DetectCpuFeatures();
  EXPECT_EQ(f.avx2_fma, has("avx2") && has("fma"));
  EXPECT_EQ(f.avx512f, has("avx512f"));
  EXPECT_EQ(f.avx512_bf16, has("avx512_bf16"));
  EXPECT_EQ(f.avx512_vnni, has("avx512_vnni"));
  EXPECT_EQ(f.amx_tile, has("amx_tile"));
  EXPECT_EQ(f.amx_bf16, has("amx_bf16"));
  EXPECT_EQ(f.amx_int8, has("amx_int8"));
}

TEST(PeakKernels, AmxRequestIsConsistent) {
  const std::string reason = RequestAmx();
  EXPECT_EQ(reason, RequestAmx());  // decided once
  if (!DetectCpuFeatures().amx_tile) {
    EXPECT_THAT(reason, HasSubstr("no AMX"));
  }
}

// ---- measuring -------------------------------------------------------------------------------

PeakOptions Tiny() {
  PeakOptions o;
  o.threads = 1;
  o.kernel_seconds = 0.01;
  o.memory_bytes = 3 << 20;
  o.memory_repetitions = 1;
  o.gemm_size = 32;
  o.gemm_seconds = 0.01;
  return o;
}

bool PositiveFinite(const PeakFigure& f) {
  return f.value && std::isfinite(*f.value) && *f.value > 0;
}

TEST(MeasurePeak, MeasuresWhatTheCpuHas) {
  const MachinePeak p = MeasurePeak(Tiny());
  const CpuFeatures features = DetectCpuFeatures();
  EXPECT_EQ(p.threads, 1);
  EXPECT_EQ(p.key, CurrentMachineKey());
  ASSERT_EQ(p.precisions.size(), 3u);
  EXPECT_EQ(p.precisions[0].precision, Precision::kFp32);
  EXPECT_EQ(p.precisions[1].precision, Precision::kBf16);
  EXPECT_EQ(p.precisions[2].precision, Precision::kInt8);
  for (const auto& precision : p.precisions) {
    double best = 0;
    for (const auto& k : precision.kernels) {
      std::string reason;
      SCOPED_TRACE(k.kernel);
      if (Kernel(k.kernel)->usable(features, &reason)) {
        EXPECT_TRUE(PositiveFinite(k.rate)) << k.rate.Source();
        EXPECT_THAT(k.rate.how, HasSubstr("1 thread"));
        best = std::max(best, k.rate.value.value_or(0));
      } else {
        EXPECT_FALSE(k.rate.value.has_value());
        EXPECT_EQ(k.rate.reason, reason);
      }
      EXPECT_EQ(k.rate.unit, precision.precision == Precision::kInt8 ? "OP/s" : "FLOP/s");
    }
    if (best > 0) {
      EXPECT_EQ(precision.peak.value, best);
    } else {
      EXPECT_FALSE(precision.peak.value.has_value());
    }
  }
  if (features.avx2_fma) {
    EXPECT_TRUE(PositiveFinite(p.precisions[0].peak));
    EXPECT_TRUE(PositiveFinite(p.precisions[2].peak));
  }
  // GEMM: each precision through the torch engine where it offers it, else unavailable with the
  // reason.
  for (const auto& precision : p.precisions) {
    const PeakFigure& gemm = precision.gemm;
    EXPECT_TRUE(PositiveFinite(gemm) || !gemm.reason.empty()) << gemm.Source();
    if (gemm.value) {
      EXPECT_THAT(gemm.how, HasSubstr("MatMul 32×32×32"));
    }
  }
  const auto offered = engine::FindEngine("torch").precisions(engine::Device::kCpu);
  if (std::find(offered.begin(), offered.end(), Precision::kInt8) == offered.end()) {
    EXPECT_THAT(p.precisions[2].gemm.reason, HasSubstr("does not offer int8"));
  } else {
    EXPECT_TRUE(PositiveFinite(p.precisions[2].gemm)) << p.precisions[2].gemm.Source();
    EXPECT_THAT(p.precisions[2].gemm.how, HasSubstr("constant weights"));
  }
  EXPECT_TRUE(PositiveFinite(p.memory_read)) << p.memory_read.Source();
  EXPECT_TRUE(PositiveFinite(p.memory_triad)) << p.memory_triad.Source();
  EXPECT_EQ(p.memory_footprint_bytes, 3u << 20);
  EXPECT_TRUE(p.PeakBytesPerSecond().has_value());
}

TEST(MeasurePeak, RefusesNegativeThreads) {
  PeakOptions o = Tiny();
  o.threads = -1;
  EXPECT_THAT(ErrorOf([&] { MeasurePeak(o); }), HasSubstr("threads"));
}

// ---- JSON and the cache ----------------------------------------------------------------------

TEST(PeakJson, RoundTrips) {
  const MachinePeak p = FakePeak();
  const auto j = PeakJson(p);
  EXPECT_EQ(j["schema"], "plaster.peak");
  EXPECT_EQ(j["precisions"]["fp32"]["peak"]["source"], "measured");
  EXPECT_EQ(j["precisions"]["bf16"]["peak"]["source"], "unavailable");
  EXPECT_EQ(j["precisions"]["bf16"]["peak"]["value"], nullptr);
  EXPECT_EQ(j["precisions"]["bf16"]["peak"]["reason"], "not on this machine");
  EXPECT_EQ(j["precisions"]["int8"]["peak"]["unit"], "OP/s");
  EXPECT_EQ(j["balance_flop_per_byte"]["fp32"], 10.0);
  EXPECT_EQ(j["balance_flop_per_byte"]["bf16"], nullptr);
  EXPECT_EQ(PeakJson(PeakFromJson(j)), j);
}

TEST(PeakJson, RefusesAnotherSchema) {
  auto j = PeakJson(FakePeak());
  j["schema"] = "plaster.evaluation";
  EXPECT_THAT(ErrorOf([&] { PeakFromJson(j); }), HasSubstr("'schema'"));
  j = PeakJson(FakePeak());
  j["precisions"]["fp32"].erase("gemm");
  EXPECT_THAT(ErrorOf([&] { PeakFromJson(j); }), HasSubstr("peak record"));
}

TEST(PeakCache, RoundTrip) {
  TempDir dir;
  const MachinePeak p = FakePeak();
  std::string warning;
  EXPECT_FALSE(LoadCachedPeak(dir.path(), p.key, 4, false, &warning));
  EXPECT_EQ(warning, "");  // no file yet: no warning
  SaveCachedPeak(dir / "sub", p);
  auto loaded = LoadCachedPeak(dir / "sub", p.key, 4, false, &warning);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(warning, "");
  EXPECT_EQ(PeakJson(*loaded), PeakJson(p));
}

TEST(PeakCache, KeyThreadsOrQuicknessMismatchIsAMiss) {
  TempDir dir;
  const MachinePeak p = FakePeak();
  SaveCachedPeak(dir.path(), p);
  MachineKey other = p.key;
  other.cpu_model = "Another CPU";
  EXPECT_FALSE(LoadCachedPeak(dir.path(), other, 4, false));
  other = p.key;
  other.plaster_version = "0.2.0";
  EXPECT_FALSE(LoadCachedPeak(dir.path(), other, 4, false));
  other = p.key;
  other.cpu_flags.push_back("avx512f");
  EXPECT_FALSE(LoadCachedPeak(dir.path(), other, 4, false));
  other = p.key;
  other.logical_cores = 8;
  EXPECT_FALSE(LoadCachedPeak(dir.path(), other, 4, false));
  EXPECT_FALSE(LoadCachedPeak(dir.path(), p.key, 2, false));
  EXPECT_FALSE(LoadCachedPeak(dir.path(), p.key, 4, true));
  EXPECT_TRUE(LoadCachedPeak(dir.path(), p.key, 4, false));
}

TEST(PeakCache, KeepsOneEntryPerMachineAndThreads) {
  TempDir dir;
  MachinePeak a = FakePeak();
  MachinePeak b = FakePeak();
  b.threads = 1;
  b.memory_read = Figure(5e9, "B/s");
  SaveCachedPeak(dir.path(), a);
  SaveCachedPeak(dir.path(), b);
  a.measured_utc = "2026-02-02T00:00:00Z";
  SaveCachedPeak(dir.path(), a);  // replaces the first entry
  std::ifstream in(PeakCacheFile(dir.path()));
  const auto j = nlohmann::ordered_json::parse(in);
  EXPECT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(LoadCachedPeak(dir.path(), a.key, 4, false)->measured_utc, "2026-02-02T00:00:00Z");
  EXPECT_EQ(LoadCachedPeak(dir.path(), a.key, 1, false)->memory_read.value, 5e9);
}

TEST(PeakCache, CorruptFileIsAWarningNotAnError) {
  TempDir dir;
  testing::WriteFile(PeakCacheFile(dir.path()), "{\"schema\": \"plaster.peak_cache\", trunc");
  std::string warning;
  EXPECT_FALSE(LoadCachedPeak(dir.path(), FakePeak().key, 4, false, &warning));
  EXPECT_THAT(warning, HasSubstr("ignoring the peak cache"));
  EXPECT_THAT(warning, HasSubstr(PeakCacheFile(dir.path()).string()));
  EXPECT_EQ(warning.find('\n'), std::string::npos);
  // A valid JSON file of the wrong shape is corrupt too.
  testing::WriteFile(PeakCacheFile(dir.path()), R"({"schema": "plaster.peak_cache",
                                                   "schema_version": 1, "entries": [{}]})");
  warning.clear();
  EXPECT_FALSE(LoadCachedPeak(dir.path(), FakePeak().key, 4, false, &warning));
  EXPECT_THAT(warning, HasSubstr("ignoring the peak cache"));
  // Saving replaces the corrupt file.
  SaveCachedPeak(dir.path(), FakePeak());
  warning.clear();
  EXPECT_TRUE(LoadCachedPeak(dir.path(), FakePeak().key, 4, false, &warning));
  EXPECT_EQ(warning, "");
}

TEST(PeakCache, UnwritableFolderIsAnErrorNamingIt) {
  TempDir dir;
  testing::WriteFile(dir / "file", "x");  // a file where the folder should be
  EXPECT_THAT(ErrorOf([&] { SaveCachedPeak(dir / "file", FakePeak()); }),
              HasSubstr((dir / "file").string()));
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(PeakCache, DefaultFolderFollowsXdg) {
  ScopedEnv home("HOME", "/home/someone");
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/var/cache/me");
    EXPECT_EQ(DefaultPeakCacheDir(), "/var/cache/me/plaster");
  }
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "relative/ignored");
    EXPECT_EQ(DefaultPeakCacheDir(), "/home/someone/.cache/plaster");
  }
  ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
  EXPECT_EQ(DefaultPeakCacheDir(), "/home/someone/.cache/plaster");
  ScopedEnv no_home("HOME", nullptr);
  EXPECT_EQ(DefaultPeakCacheDir(), "");
}

}  // namespace
}  // namespace plaster::evaluate
