#pragma once
/// The compute and memory loops behind `plaster peak` (Note [Peak kernels] in peak_kernels.cpp).
///
/// Each compute kernel runs a fixed number of iterations of independent multiply-add chains in
/// registers (or AMX tiles), returns a sum of its accumulators (so the compiler cannot drop the
/// work, and a test can check the arithmetic), and counts its operations exactly: ops_per_iteration
/// below. Kernels use instructions the build's baseline lacks; they are compiled with per-function
/// target attributes and may only be called when DetectCpuFeatures() says the CPU (and, for AMX,
/// RequestAmx()) allows it. Calling one otherwise is a bug and dies with SIGILL.
///
/// Threading: kernels are pure functions of their arguments and may run on any number of threads
/// at once. RequestAmx() changes process-wide state and is safe to call from several threads.

#include <cstdint>
#include <string>
#include <vector>

namespace plaster::evaluate {

/// What this CPU and OS let plaster execute (CPUID and XGETBV, not /proc/cpuinfo: the OS must
/// also save the registers). All false on a non-x86 build.
struct CpuFeatures {
  bool avx2_fma = false;     ///< AVX2 and FMA3, ymm state enabled
  bool avx512f = false;      ///< AVX-512 Foundation, zmm state enabled
  bool avx512_bf16 = false;  ///< vdpbf16ps
  bool avx512_vnni = false;  ///< vpdpbusd on zmm
  bool amx_tile = false;     ///< AMX tiles; the OS enabled XTILECFG/XTILEDATA in XCR0
  bool amx_bf16 = false;     ///< tdpbf16ps
  bool amx_int8 = false;     ///< tdpbusd
};
CpuFeatures DetectCpuFeatures();

/// Asks Linux for permission to use the AMX tile data state (arch_prctl ARCH_REQ_XCOMP_PERM,
/// XFEATURE_XTILEDATA), once per process. Returns "" when AMX may be used, else why not
/// ("the CPU has no AMX", "arch_prctl(ARCH_REQ_XCOMP_PERM) refused: Invalid argument").
std::string RequestAmx();

/// One compute kernel: what it runs, what it counts, and its loop.
struct ComputeKernel {
  const char* name;         ///< stable key: "avx512_fma"
  const char* description;  ///< for people: "AVX-512 FMA loop"
  const char* precision;    ///< "fp32", "bf16" or "int8"
  /// Operations one iteration performs: FLOPs (1 multiply-add = 2) for fp32 and bf16, integer
  /// operations (1 u8×s8 product + its accumulation = 2) for int8.
  double ops_per_iteration;
  /// Runs iterations, returns the sum of every accumulator lane. The timed run passes values
  /// that keep the accumulators finite and in range; tests pass small exact ones.
  double (*run)(uint64_t iterations, float a, float b);
  /// Whether this machine can run it; *reason says why not.
  bool (*usable)(const CpuFeatures& features, std::string* reason);
};

/// Every compute kernel this build has, fastest first within a precision.
const std::vector<ComputeKernel>& ComputeKernels();

// The kernels themselves, for tests. Each returns the sum over its accumulators after
// `iterations` steps from zero. Let x = a, y = b, as the precision allows (bf16: rounded to
// bfloat16; int8: a as uint8, b as int8, both truncated toward zero):
//  - FMA (fp32): every lane does acc = acc·x + y, so each lane ends at y·(x^n − 1)/(x − 1)
//    (n·y for x = 1); 16 chains of 16 lanes (AVX-512) or 12 chains of 8 lanes (AVX2).
//  - dot products (bf16, int8): every lane adds x·y for each product per step.
double Fp32FmaAvx512(uint64_t iterations, float x, float y);  ///< 16 zmm chains: 512 FLOP/iter
double Fp32FmaAvx2(uint64_t iterations, float x, float y);    ///< 12 ymm chains: 192 FLOP/iter
/// 16 zmm chains of vdpbf16ps: each adds 32 bf16 products into 16 fp32 lanes (64 FLOP).
double Bf16DotAvx512(uint64_t iterations, float x, float y);
/// 4 AMX accumulator tiles of tdpbf16ps, 16×16 fp32 += 16×32 bf16 · 32×16 bf16 (16,384 FLOP).
double Bf16Amx(uint64_t iterations, float x, float y);
/// 16 zmm chains of vpdpbusd: each adds 64 u8×s8 products into 16 int32 lanes (128 OP).
double Int8DotVnni512(uint64_t iterations, float x, float y);
/// 8 ymm chains of vpmaddubsw + vpmaddwd + vpaddd: 32 u8×s8 products each (64 OP). Saturates
/// at int16 in the first step, as the instruction does: keep x·y·2 ≤ 32767.
double Int8DotAvx2(uint64_t iterations, float x, float y);
/// 4 AMX accumulator tiles of tdpbusd, 16×16 int32 += 16×64 u8 · 64×16 s8 (32,768 OP).
double Int8Amx(uint64_t iterations, float x, float y);

/// Memory bandwidth loops over float64 arrays (STREAM's element type). Each returns a value
/// depending on every element read, so the loads cannot be dropped.
/// Read: the sum of a[i] + b[i] + c[i] for i in [0, n), the three arrays read side by side.
double SumDoubles(const double* a, const double* b, const double* c, uint64_t n);
/// Triad: a[i] = b[i] + s·c[i] for i in [0, n). STREAM counts 24 bytes per element.
void Triad(double* a, const double* b, const double* c, double s, uint64_t n);

}  // namespace plaster::evaluate
