// Energy from synthetic traces with known truth (issue 8's target: within 0.5%): constant and
// stepped power, read as a counter and as samples; counter wrap-around; windows the readings do
// not cover; sub-domains kept out of the total.
#include "power/trace.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

namespace plaster::power {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;

// The exact energy of a piecewise-constant power curve over [a, b] (ns), by fine summation.
double TrueJoules(const std::function<double(double)>& watts, int64_t a, int64_t b) {
  double j = 0;
  const int64_t step = 10'000;  // 10 µs
  for (int64_t t = a; t < b; t += step) {
    j += watts(static_cast<double>(t) / 1e9) * static_cast<double>(std::min(step, b - t)) / 1e9;
  }
  return j;
}

// A counter in µJ, as RAPL's energy_uj: the truth integrated and floored to 1 µJ, wrapping at
// range_j (0: never), read every `every` ns with jitter of up to a quarter of it.
Trace CounterTrace(const std::function<double(double)>& watts, int64_t until, int64_t every,
                   double range_j, bool in_total = true) {
  Domain d{"package-0", Quantity::kEnergy, in_total, range_j, 0.001};
  Trace trace({d});
  double energy = 0;
  int64_t t = 0;
  uint64_t jitter = 12345;
  while (t <= until) {
    double raw = std::floor(energy * 1e6) / 1e6;
    if (range_j > 0) raw = std::fmod(raw, range_j);
    trace.Add({t, {raw}});
    jitter = jitter * 6364136223846793005ULL + 1442695040888963407ULL;
    const int64_t next = t + every + static_cast<int64_t>((jitter >> 33) % (every / 4 + 1));
    energy += TrueJoules(watts, t, next);
    t = next;
  }
  return trace;
}

Trace PowerTrace(const std::function<double(double)>& watts, int64_t until, int64_t every) {
  Domain d{"wall", Quantity::kPower, true, 0, 0.01};
  Trace trace({d});
  for (int64_t t = 0; t <= until; t += every) trace.Add({t, {watts(static_cast<double>(t) / 1e9)}});
  return trace;
}

double Stepped(double s) { return s < 2 ? 20.0 : s < 5 ? 80.0 : 35.0; }

TEST(Trace, ConstantPowerFromACounterIsWithinHalfAPercent) {
  auto watts = [](double) { return 50.0; };
  const Trace trace = CounterTrace(watts, 10 * kS, 10 * kMs, 0);
  const int64_t a = 123 * kMs, b = 7456 * kMs;
  const WindowEnergy w = trace.Energy(a, b);
  ASSERT_TRUE(w.total_joules);
  EXPECT_NEAR(*w.total_joules, 50.0 * 7.333, 50.0 * 7.333 * 0.005);
  EXPECT_NEAR(*w.AverageWatts(), 50.0, 0.25);
  EXPECT_FALSE(w.too_short);
}

TEST(Trace, SteppedPowerFromACounterIsWithinHalfAPercent) {
  const Trace trace = CounterTrace(Stepped, 10 * kS, 10 * kMs, 0);
  for (auto [a, b] : {std::pair<int64_t, int64_t>{500 * kMs, 9500 * kMs}, {1990 * kMs, 2010 * kMs + 5 * kS}}) {
    const double truth = TrueJoules(Stepped, a, b);
    const WindowEnergy w = trace.Energy(a, b);
    ASSERT_TRUE(w.total_joules);
    EXPECT_NEAR(*w.total_joules, truth, truth * 0.005) << a << ".." << b;
  }
}

TEST(Trace, SteppedPowerFromSamplesIsWithinHalfAPercent) {
  const Trace trace = PowerTrace(Stepped, 10 * kS, 10 * kMs);
  const int64_t a = 777 * kMs, b = 8888 * kMs;
  const double truth = TrueJoules(Stepped, a, b);
  const WindowEnergy w = trace.Energy(a, b);
  ASSERT_TRUE(w.total_joules);
  EXPECT_NEAR(*w.total_joules, truth, truth * 0.005);
}

TEST(Trace, ACounterThatWrapsMidWindowIsUnwrapped) {
  // 2^32 µJ wraps every 21.5 s at 200 W: three wraps in 70 s, read once a second.
  const double range = 4294.967296;
  auto watts = [](double) { return 200.0; };
  const Trace trace = CounterTrace(watts, 70 * kS, kS, range);
  int wraps = 0;
  const WindowEnergy w = trace.Energy(2 * kS, 68 * kS);
  ASSERT_TRUE(w.total_joules);
  EXPECT_NEAR(*w.total_joules, 200.0 * 66, 200.0 * 66 * 0.005);
  for (size_t i = 1; i < trace.readings().size(); ++i) {
    wraps += trace.readings()[i].values[0] > range ? 1 : 0;
  }
  EXPECT_GT(wraps, 0) << "the trace never wrapped: the test tests nothing";
}

TEST(Trace, AWindowTheReadingsDoNotCoverIsUnknownNotZero) {
  const Trace trace = CounterTrace([](double) { return 10.0; }, 1 * kS, 10 * kMs, 0);
  const WindowEnergy w = trace.Energy(500 * kMs, 3 * kS);
  EXPECT_FALSE(w.total_joules);
  EXPECT_NE(w.note.find("before the window ended"), std::string::npos) << w.note;
  EXPECT_FALSE(Trace({Domain{}}).Energy(0, kS).total_joules);
}

TEST(Trace, AWindowShorterThanTheUpdatePeriodIsFlagged) {
  const Trace trace = CounterTrace([](double) { return 10.0; }, 1 * kS, 10 * kMs, 0);
  const WindowEnergy w = trace.Energy(100 * kMs, 100 * kMs + 500'000);  // 0.5 ms < 1 ms
  ASSERT_TRUE(w.total_joules);
  EXPECT_TRUE(w.too_short);
  EXPECT_NE(w.note.find("update period"), std::string::npos) << w.note;
  const auto& r = trace.readings();  // two readings ≥ 10 ms apart, and nothing between
  const WindowEnergy between = trace.Energy(r[10].t_ns + kMs, r[11].t_ns - kMs);
  EXPECT_TRUE(between.too_short) << between.note;
}

TEST(Trace, SubDomainsAreShownButNotAddedAndGapsAreSkipped) {
  Trace trace({Domain{"package-0", Quantity::kEnergy, true, 0, 0.001},
               Domain{"package-0/core", Quantity::kEnergy, false, 0, 0.001},
               Domain{"package-0/dram", Quantity::kEnergy, true, 0, 0.001}});
  for (int i = 0; i <= 10; ++i) {
    const double t = i;
    trace.Add({i * kS, {30 * t, 20 * t, i == 5 ? std::nan("") : 5 * t}});
  }
  const WindowEnergy w = trace.Energy(kS, 9 * kS);
  ASSERT_TRUE(w.total_joules);
  EXPECT_DOUBLE_EQ(*w.total_joules, 8 * 30.0 + 8 * 5.0);
  EXPECT_DOUBLE_EQ(*w.domains[1].joules, 8 * 20.0);
  EXPECT_EQ(w.domains[2].readings, 6);  // the NaN one is not a reading
}

}  // namespace
}  // namespace plaster::power
