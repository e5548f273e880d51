#include "evaluate/peak_kernels.h"

#include <cerrno>
#include <cstring>
#include <mutex>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

// Note [Peak kernels]
// A peak kernel answers "how many operations per second can this core issue at most", so it must
// be limited by the arithmetic units alone: no loads or stores in the loop, and enough
// independent dependency chains to hide the instruction's latency. An FMA has a latency of about
// 4 cycles and (on server cores) two ports, so at least 8 chains are needed; the AVX-512 loops
// use 16 and the AVX2 loop 12 (it has only 16 ymm registers). AMX's tdp* instructions take 16
// cycles each with a latency near 50, so 4 accumulator tiles fed by 2 A and 2 B tiles cover it.
//
// Each kernel is compiled for its own ISA with __attribute__((target)), so the rest of the build
// stays portable; MeasurePeak only calls one after ComputeKernel::usable said yes (CPUID for the
// instructions, XGETBV for the OS saving the registers, arch_prctl for AMX's tile data), so no
// machine sees SIGILL. Multiplier and addend arrive as arguments, and the accumulators are summed
// and returned, so the compiler can neither fold the loop nor drop it. Operation counts follow
// the usual convention: one multiply-add is 2 operations, for floats (FLOP) and for int8 (OP).

namespace plaster::evaluate {

#if defined(__x86_64__)
namespace {

uint64_t Xcr0() {
  uint32_t eax = 0, edx = 0;
  // xgetbv with ecx = 0; only called after CPUID reported OSXSAVE.
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

bool Bit(uint32_t reg, int bit) { return ((reg >> bit) & 1u) != 0; }

uint16_t ToBf16(float value) {  // round to nearest even; the inputs here are finite
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// Palette 1: tiles 0..7 of 16 rows × 64 bytes (the AMX maximum).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

TileConfig FullTiles() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.colsb[t] = 64;
    config.rows[t] = 16;
  }
  return config;
}

}  // namespace

// Hides the accumulators' equal starting values from the optimizer, which would otherwise merge
// the identical chains into one (and measure latency, not throughput). Emits no instruction.
#define OPAQUE8(a0, a1, a2, a3, a4, a5, a6, a7)                                            \
  __asm__ volatile(""                                                                      \
                   : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), \
                     "+v"(a7))
#define OPAQUE16(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15) \
  OPAQUE8(a0, a1, a2, a3, a4, a5, a6, a7);                                             \
  OPAQUE8(a8, a9, a10, a11, a12, a13, a14, a15)

CpuFeatures DetectCpuFeatures() {
  CpuFeatures f;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return f;
  const bool fma = Bit(ecx, 12), osxsave = Bit(ecx, 27), avx = Bit(ecx, 28);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = Xcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;                 // SSE and AVX state
  const bool zmm_state = ymm_state && (xcr0 & 0xE0) == 0xE0;  // opmask, ZMM_Hi256, Hi16_ZMM
  const bool tile_state = (xcr0 & (3u << 17)) == (3u << 17);  // XTILECFG, XTILEDATA
  uint32_t max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 7) return f;
  uint32_t b7 = 0, c7 = 0, d7 = 0, a71 = 0, b71 = 0, c71 = 0, d71 = 0;
  __cpuid_count(7, 0, eax, b7, c7, d7);
  __cpuid_count(7, 1, a71, b71, c71, d71);
  f.avx2_fma = ymm_state && fma && Bit(b7, 5);
  f.avx512f = zmm_state && Bit(b7, 16);
  const bool bw_vl = f.avx512f && Bit(b7, 30) && Bit(b7, 31);
  f.avx512_vnni = bw_vl && Bit(c7, 11);
  f.avx512_bf16 = bw_vl && Bit(a71, 5);
  f.amx_tile = tile_state && Bit(d7, 24);
  f.amx_bf16 = f.amx_tile && Bit(d7, 22);
  f.amx_int8 = f.amx_tile && Bit(d7, 25);
  return f;
}

std::string RequestAmx() {
  static std::once_flag once;
  static std::string reason;
  std::call_once(once, [] {
    if (!DetectCpuFeatures().amx_tile) {
      reason = "the CPU has no AMX (or the OS does not enable its tile state)";
      return;
    }
    constexpr int kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023;
    constexpr unsigned long kXfeatureXtiledata = 18;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) {
      reason = std::string("arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA) refused: ") +
               std::strerror(errno) + " (Linux 5.16 or later grants it)";
      return;
    }
    unsigned long permitted = 0;
    if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &permitted) != 0 ||
        ((permitted >> kXfeatureXtiledata) & 1u) == 0) {
      reason = "arch_prctl(ARCH_GET_XCOMP_PERM) does not list XTILEDATA after the request";
    }
  });
  return reason;
}

__attribute__((target("avx512f"))) double Fp32FmaAvx512(uint64_t iterations, float x, float y) {
  const __m512 vx = _mm512_set1_ps(x), vy = _mm512_set1_ps(y);
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  __m512 a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
  OPAQUE16(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
  for (uint64_t i = 0; i < iterations; ++i) {
    a0 = _mm512_fmadd_ps(a0, vx, vy);
    a1 = _mm512_fmadd_ps(a1, vx, vy);
    a2 = _mm512_fmadd_ps(a2, vx, vy);
    a3 = _mm512_fmadd_ps(a3, vx, vy);
    a4 = _mm512_fmadd_ps(a4, vx, vy);
    a5 = _mm512_fmadd_ps(a5, vx, vy);
    a6 = _mm512_fmadd_ps(a6, vx, vy);
    a7 = _mm512_fmadd_ps(a7, vx, vy);
    a8 = _mm512_fmadd_ps(a8, vx, vy);
    a9 = _mm512_fmadd_ps(a9, vx, vy);
    a10 = _mm512_fmadd_ps(a10, vx, vy);
    a11 = _mm512_fmadd_ps(a11, vx, vy);
    a12 = _mm512_fmadd_ps(a12, vx, vy);
    a13 = _mm512_fmadd_ps(a13, vx, vy);
    a14 = _mm512_fmadd_ps(a14, vx, vy);
    a15 = _mm512_fmadd_ps(a15, vx, vy);
  }
  const __m512 sum =
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                  _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7))),
                    _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)),
                                  _mm512_add_ps(_mm512_add_ps(a12, a13), _mm512_add_ps(a14, a15))));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  double total = 0;
  for (float v : lanes) total += v;
  return total;
}

__attribute__((target("avx2,fma"))) double Fp32FmaAvx2(uint64_t iterations, float x, float y) {
  const __m256 vx = _mm256_set1_ps(x), vy = _mm256_set1_ps(y);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  __m256 a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  __asm__ volatile(""
                   : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7),
                     "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
  for (uint64_t i = 0; i < iterations; ++i) {
    a0 = _mm256_fmadd_ps(a0, vx, vy);
    a1 = _mm256_fmadd_ps(a1, vx, vy);
    a2 = _mm256_fmadd_ps(a2, vx, vy);
    a3 = _mm256_fmadd_ps(a3, vx, vy);
    a4 = _mm256_fmadd_ps(a4, vx, vy);
    a5 = _mm256_fmadd_ps(a5, vx, vy);
    a6 = _mm256_fmadd_ps(a6, vx, vy);
    a7 = _mm256_fmadd_ps(a7, vx, vy);
    a8 = _mm256_fmadd_ps(a8, vx, vy);
    a9 = _mm256_fmadd_ps(a9, vx, vy);
    a10 = _mm256_fmadd_ps(a10, vx, vy);
    a11 = _mm256_fmadd_ps(a11, vx, vy);
  }
  const __m256 sum =
      _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                  _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7))),
                    _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  double total = 0;
  for (float v : lanes) total += v;
  return total;
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) double Bf16DotAvx512(
    uint64_t iterations, float x, float y) {
  const __m512bh vx = _mm512_cvtne2ps_pbh(_mm512_set1_ps(x), _mm512_set1_ps(x));
  const __m512bh vy = _mm512_cvtne2ps_pbh(_mm512_set1_ps(y), _mm512_set1_ps(y));
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  __m512 a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
  OPAQUE16(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
  for (uint64_t i = 0; i < iterations; ++i) {
    a0 = _mm512_dpbf16_ps(a0, vx, vy);
    a1 = _mm512_dpbf16_ps(a1, vx, vy);
    a2 = _mm512_dpbf16_ps(a2, vx, vy);
    a3 = _mm512_dpbf16_ps(a3, vx, vy);
    a4 = _mm512_dpbf16_ps(a4, vx, vy);
    a5 = _mm512_dpbf16_ps(a5, vx, vy);
    a6 = _mm512_dpbf16_ps(a6, vx, vy);
    a7 = _mm512_dpbf16_ps(a7, vx, vy);
    a8 = _mm512_dpbf16_ps(a8, vx, vy);
    a9 = _mm512_dpbf16_ps(a9, vx, vy);
    a10 = _mm512_dpbf16_ps(a10, vx, vy);
    a11 = _mm512_dpbf16_ps(a11, vx, vy);
    a12 = _mm512_dpbf16_ps(a12, vx, vy);
    a13 = _mm512_dpbf16_ps(a13, vx, vy);
    a14 = _mm512_dpbf16_ps(a14, vx, vy);
    a15 = _mm512_dpbf16_ps(a15, vx, vy);
  }
  const __m512 sum =
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                  _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7))),
                    _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)),
                                  _mm512_add_ps(_mm512_add_ps(a12, a13), _mm512_add_ps(a14, a15))));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  double total = 0;
  for (float v : lanes) total += v;
  return total;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) double Int8DotVnni512(uint64_t iterations,
                                                                             float x, float y) {
  const __m512i vx = _mm512_set1_epi8(static_cast<char>(static_cast<uint8_t>(x)));
  const __m512i vy = _mm512_set1_epi8(static_cast<char>(static_cast<int8_t>(y)));
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
  __m512i a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
  OPAQUE16(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
  for (uint64_t i = 0; i < iterations; ++i) {
    a0 = _mm512_dpbusd_epi32(a0, vx, vy);
    a1 = _mm512_dpbusd_epi32(a1, vx, vy);
    a2 = _mm512_dpbusd_epi32(a2, vx, vy);
    a3 = _mm512_dpbusd_epi32(a3, vx, vy);
    a4 = _mm512_dpbusd_epi32(a4, vx, vy);
    a5 = _mm512_dpbusd_epi32(a5, vx, vy);
    a6 = _mm512_dpbusd_epi32(a6, vx, vy);
    a7 = _mm512_dpbusd_epi32(a7, vx, vy);
    a8 = _mm512_dpbusd_epi32(a8, vx, vy);
    a9 = _mm512_dpbusd_epi32(a9, vx, vy);
    a10 = _mm512_dpbusd_epi32(a10, vx, vy);
    a11 = _mm512_dpbusd_epi32(a11, vx, vy);
    a12 = _mm512_dpbusd_epi32(a12, vx, vy);
    a13 = _mm512_dpbusd_epi32(a13, vx, vy);
    a14 = _mm512_dpbusd_epi32(a14, vx, vy);
    a15 = _mm512_dpbusd_epi32(a15, vx, vy);
  }
  const __m512i all[16] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15};
  double total = 0;
  for (const __m512i& v : all) {
    alignas(64) int32_t lanes[16];
    _mm512_store_si512(lanes, v);
    for (int32_t lane : lanes) total += lane;
  }
  return total;
}

// u8×s8 pairs → s16 (vpmaddubsw), s16 pairs → s32 (vpmaddwd by 1), accumulate (vpaddd): the
// three-instruction int8 dot product of CPUs without VNNI. Written as assembly because with
// intrinsics the compiler rightly hoists the loop-invariant product out of the loop.
static __attribute__((target("avx2"))) inline __m256i Avx2DotStep(__m256i acc, __m256i x, __m256i y,
                                                                  __m256i ones) {
  __m256i product;
  __asm__(
      "vpmaddubsw %[y], %[x], %[p]\n\t"
      "vpmaddwd %[ones], %[p], %[p]\n\t"
      "vpaddd %[p], %[acc], %[acc]"
      : [acc] "+x"(acc), [p] "=&x"(product)
      : [x] "x"(x), [y] "x"(y), [ones] "x"(ones));
  return acc;
}

__attribute__((target("avx2"))) double Int8DotAvx2(uint64_t iterations, float x, float y) {
  const __m256i vx = _mm256_set1_epi8(static_cast<char>(static_cast<uint8_t>(x)));
  const __m256i vy = _mm256_set1_epi8(static_cast<char>(static_cast<int8_t>(y)));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
  __m256i a7 = a0;
  __asm__ volatile(""
                   : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6),
                     "+x"(a7));
  for (uint64_t i = 0; i < iterations; ++i) {
    a0 = Avx2DotStep(a0, vx, vy, ones);
    a1 = Avx2DotStep(a1, vx, vy, ones);
    a2 = Avx2DotStep(a2, vx, vy, ones);
    a3 = Avx2DotStep(a3, vx, vy, ones);
    a4 = Avx2DotStep(a4, vx, vy, ones);
    a5 = Avx2DotStep(a5, vx, vy, ones);
    a6 = Avx2DotStep(a6, vx, vy, ones);
    a7 = Avx2DotStep(a7, vx, vy, ones);
  }
  const __m256i all[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
  double total = 0;
  for (const __m256i& v : all) {
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
    for (int32_t lane : lanes) total += lane;
  }
  return total;
}

__attribute__((target("amx-tile,amx-bf16"))) double Bf16Amx(uint64_t iterations, float x, float y) {
  const TileConfig config = FullTiles();
  alignas(64) uint16_t a[16 * 32], b[16 * 32];
  for (auto& v : a) v = ToBf16(x);
  for (auto& v : b) v = ToBf16(y);
  alignas(64) float c[4][16 * 16];
  _tile_loadconfig(&config);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, a, 64);
  _tile_loadd(5, a, 64);
  _tile_loadd(6, b, 64);
  _tile_loadd(7, b, 64);
  for (uint64_t i = 0; i < iterations; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, c[0], 64);
  _tile_stored(1, c[1], 64);
  _tile_stored(2, c[2], 64);
  _tile_stored(3, c[3], 64);
  _tile_release();
  double total = 0;
  for (const auto& tile : c) {
    for (float v : tile) total += v;
  }
  return total;
}

__attribute__((target("amx-tile,amx-int8"))) double Int8Amx(uint64_t iterations, float x, float y) {
  const TileConfig config = FullTiles();
  alignas(64) uint8_t a[16 * 64];
  alignas(64) int8_t b[16 * 64];
  for (auto& v : a) v = static_cast<uint8_t>(x);
  for (auto& v : b) v = static_cast<int8_t>(y);
  alignas(64) int32_t c[4][16 * 16];
  _tile_loadconfig(&config);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, a, 64);
  _tile_loadd(5, a, 64);
  _tile_loadd(6, b, 64);
  _tile_loadd(7, b, 64);
  for (uint64_t i = 0; i < iterations; ++i) {
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  _tile_stored(0, c[0], 64);
  _tile_stored(1, c[1], 64);
  _tile_stored(2, c[2], 64);
  _tile_stored(3, c[3], 64);
  _tile_release();
  double total = 0;
  for (const auto& tile : c) {
    for (int32_t v : tile) total += v;
  }
  return total;
}

#else  // not x86-64: no kernels; DetectCpuFeatures reports nothing, so none is ever called.

CpuFeatures DetectCpuFeatures() { return {}; }
std::string RequestAmx() { return "AMX exists only on x86-64"; }
double Fp32FmaAvx512(uint64_t, float, float) { return 0; }
double Fp32FmaAvx2(uint64_t, float, float) { return 0; }
double Bf16DotAvx512(uint64_t, float, float) { return 0; }
double Bf16Amx(uint64_t, float, float) { return 0; }
double Int8DotVnni512(uint64_t, float, float) { return 0; }
double Int8DotAvx2(uint64_t, float, float) { return 0; }
double Int8Amx(uint64_t, float, float) { return 0; }

#endif

namespace {

bool Need(bool present, const char* what, std::string* reason) {
  if (!present) *reason = std::string("the CPU has no ") + what + " (or the OS does not enable it)";
  return present;
}

bool AmxUsable(bool present, const char* what, std::string* reason) {
  if (!Need(present, what, reason)) return false;
  const std::string why = RequestAmx();
  if (!why.empty()) *reason = "AMX unavailable: " + why;
  return why.empty();
}

}  // namespace

const std::vector<ComputeKernel>& ComputeKernels() {
  static const std::vector<ComputeKernel> kernels = {
      {"avx512_fma", "AVX-512 FMA loop", "fp32", 16 * 16 * 2, &Fp32FmaAvx512,
       [](const CpuFeatures& f, std::string* r) { return Need(f.avx512f, "AVX-512", r); }},
      {"avx2_fma", "AVX2 FMA loop", "fp32", 12 * 8 * 2, &Fp32FmaAvx2,
       [](const CpuFeatures& f, std::string* r) { return Need(f.avx2_fma, "AVX2 with FMA", r); }},
      {"amx_bf16", "AMX TDPBF16PS loop", "bf16", 4 * 16 * 16 * 32 * 2, &Bf16Amx,
       [](const CpuFeatures& f, std::string* r) { return AmxUsable(f.amx_bf16, "AMX-BF16", r); }},
      {"avx512_bf16", "AVX-512 BF16 VDPBF16PS loop", "bf16", 16 * 64, &Bf16DotAvx512,
       [](const CpuFeatures& f, std::string* r) { return Need(f.avx512_bf16, "AVX512_BF16", r); }},
      {"amx_int8", "AMX TDPBUSD loop", "int8", 4 * 16 * 16 * 64 * 2, &Int8Amx,
       [](const CpuFeatures& f, std::string* r) { return AmxUsable(f.amx_int8, "AMX-INT8", r); }},
      {"avx512_vnni", "AVX-512 VNNI VPDPBUSD loop", "int8", 16 * 128, &Int8DotVnni512,
       [](const CpuFeatures& f, std::string* r) { return Need(f.avx512_vnni, "AVX512_VNNI", r); }},
      {"avx2_int8", "AVX2 VPMADDUBSW+VPMADDWD loop", "int8", 8 * 64, &Int8DotAvx2,
       [](const CpuFeatures& f, std::string* r) { return Need(f.avx2_fma, "AVX2", r); }},
  };
  return kernels;
}

double SumDoubles(const double* a, const double* b, const double* c, uint64_t n) {
  uint64_t i = 0;
#if defined(__x86_64__)
  // SSE2 (every x86-64 has it), four partial sums of two lanes, so neither the adds' latency nor
  // the count of load instructions limits the loop before the memory does. The three arrays are
  // read side by side, as the triad reads its two: one core reaches a third more bandwidth from
  // three streams than from one (the prefetchers keep more lines in flight).
  __m128d s0 = _mm_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  for (; i + 4 <= n; i += 4) {
    s0 = _mm_add_pd(s0, _mm_loadu_pd(a + i));
    s1 = _mm_add_pd(s1, _mm_loadu_pd(b + i));
    s2 = _mm_add_pd(s2, _mm_loadu_pd(c + i));
    s3 = _mm_add_pd(s3, _mm_loadu_pd(a + i + 2));
    s0 = _mm_add_pd(s0, _mm_loadu_pd(b + i + 2));
    s1 = _mm_add_pd(s1, _mm_loadu_pd(c + i + 2));
  }
  alignas(16) double lanes[2];
  _mm_store_pd(lanes, _mm_add_pd(_mm_add_pd(s0, s1), _mm_add_pd(s2, s3)));
  double total = lanes[0] + lanes[1];
#else
  double total = 0;
#endif
  for (; i < n; ++i) total += a[i] + b[i] + c[i];
  return total;
}

void Triad(double* a, const double* b, const double* c, double s, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

}  // namespace plaster::evaluate
