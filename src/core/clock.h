#pragma once
/// The one clock every measurement uses (latencies, schedules, progress; later power readings):
/// std::chrono::steady_clock, monotonic and unaffected by wall-clock changes. Times are int64
/// nanoseconds; a run keeps its own origin and stores times relative to it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace plaster {

using Clock = std::chrono::steady_clock;

/// Nanoseconds on Clock since its (arbitrary) epoch. Thread-safe; about 20–40 ns per call.
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

/// Waits until NowNs() >= deadline_ns, or until *stop becomes true (checked at least every
/// 10 ms; stop may be null). Sleeps while the deadline is far, then spins the last stretch,
/// so it wakes within a few microseconds of the deadline on an idle core. Returns false when
/// stopped early.
bool WaitUntilNs(int64_t deadline_ns, const std::atomic<bool>* stop = nullptr);

/// Parses a duration with a unit: "30s", "2m", "500ms", "250us", "1.5s", "100ns", "1h".
/// Throws plaster::Error naming what (e.g. "--budget") for anything else, for a negative value,
/// or for one past 24 hours.
int64_t ParseDurationNs(std::string_view text, std::string_view what);

/// A duration for people, three significant digits: 1234567 -> "1.23 ms", 2.5e10 -> "25.0 s".
std::string FormatDurationNs(double ns);

}  // namespace plaster
