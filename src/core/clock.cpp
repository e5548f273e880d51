#include "core/clock.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "core/error.h"

namespace plaster {
namespace {

// Tells the core we are spinning (saves power, frees the sibling hyper-thread).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

bool WaitUntilNs(int64_t deadline_ns, const std::atomic<bool>* stop) {
  // Note [Waiting for a deadline]: a sleep on Linux overshoots by 50–100 µs (timer slack and the
  // scheduler), more on a busy machine; a schedule that lets queries arrive that late would add
  // the harness's wake-up delay to every latency. So sleep only while the deadline is more than
  // kSpinNs away, in steps of at most 10 ms (to notice *stop; every wake-up on a busy machine
  // is another chance to be late), then spin. The spin never yields:
  // on a busy machine sched_yield hands the core to another runnable thread for the rest of its
  // time slice (milliseconds), and the deadline is missed by that much.
  constexpr int64_t kSpinNs = 200'000;
  for (;;) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) return false;
    const int64_t left = deadline_ns - NowNs();
    if (left <= 0) return true;
    if (left > kSpinNs) {
      std::this_thread::sleep_for(
          std::chrono::nanoseconds(std::min<int64_t>(left - kSpinNs, 10'000'000)));
    } else {
      CpuRelax();
    }
  }
}

int64_t ParseDurationNs(std::string_view text, std::string_view what) {
  const std::string s(text);
  PLASTER_CHECK(!s.empty(), "{}: empty duration (expected e.g. 30s, 2m, 500ms)", what);
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  PLASTER_CHECK(end != s.c_str() && errno == 0 && std::isfinite(value),
                "{} '{}': not a duration (expected a number and a unit: 30s, 2m, 500ms)", what, s);
  const std::string unit(end);
  double scale = 0;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "m" || unit == "min")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  PLASTER_CHECK(scale > 0, "{} '{}': unknown unit '{}' (use ns, us, ms, s, m or h)", what, s,
                unit.empty() ? std::string("none") : unit);
  PLASTER_CHECK(value >= 0, "{} '{}': a duration cannot be negative", what, s);
  const double ns = value * scale;
  PLASTER_CHECK(ns <= 24 * 3600e9, "{} '{}': longer than 24 hours", what, s);
  return static_cast<int64_t>(std::llround(ns));
}

std::string FormatDurationNs(double ns) {
  if (ns == 0) return "0 ns";
  const char* unit = "ns";
  double v = ns;
  if (std::fabs(ns) >= 999.5e6) {
    v = ns / 1e9;
    unit = "s";
  } else if (std::fabs(ns) >= 999.5e3) {
    v = ns / 1e6;
    unit = "ms";
  } else if (std::fabs(ns) >= 999.5) {
    v = ns / 1e3;
    unit = "us";
  }
  const double m = std::fabs(v);
  const char* format = m >= 99.95 ? "{:.0f} {}" : m >= 9.995 ? "{:.1f} {}" : "{:.2f} {}";
  return fmt::format(fmt::runtime(format), v, unit);
}

}  // namespace plaster
