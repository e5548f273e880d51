// The clock module: duration parsing and formatting, waiting for a deadline, Ctrl-C as a flag.
#include "core/clock.h"

#include <gtest/gtest.h>

#include <csignal>

#include "core/interrupt.h"
#include "support/fixtures.h"

namespace plaster {
namespace {

using testing::ErrorOf;

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(ParseDurationNs("30s", "--budget"), 30'000'000'000);
  EXPECT_EQ(ParseDurationNs("2m", "--budget"), 120'000'000'000);
  EXPECT_EQ(ParseDurationNs("500ms", "--budget"), 500'000'000);
  EXPECT_EQ(ParseDurationNs("1.5s", "--budget"), 1'500'000'000);
  EXPECT_EQ(ParseDurationNs("250us", "--budget"), 250'000);
  EXPECT_EQ(ParseDurationNs("7ms", "--latency-bound"), 7'000'000);
  EXPECT_EQ(ParseDurationNs("0s", "--budget"), 0);
}

TEST(Duration, RefusesNonsense) {
  EXPECT_EQ(ErrorOf([] { ParseDurationNs("30", "--budget"); }),
            "--budget '30': unknown unit 'none' (use ns, us, ms, s, m or h)");
  EXPECT_EQ(ErrorOf([] { ParseDurationNs("fast", "--budget"); }),
            "--budget 'fast': not a duration (expected a number and a unit: 30s, 2m, 500ms)");
  EXPECT_EQ(ErrorOf([] { ParseDurationNs("-1s", "--budget"); }),
            "--budget '-1s': a duration cannot be negative");
  EXPECT_EQ(ErrorOf([] { ParseDurationNs("3d", "--budget"); }),
            "--budget '3d': unknown unit 'd' (use ns, us, ms, s, m or h)");
  EXPECT_EQ(ErrorOf([] { ParseDurationNs("25h", "--budget"); }),
            "--budget '25h': longer than 24 hours");
  EXPECT_EQ(ErrorOf([] { ParseDurationNs("", "--budget"); }),
            "--budget: empty duration (expected e.g. 30s, 2m, 500ms)");
  EXPECT_EQ(ErrorOf([] { ParseDurationNs("nans", "--budget"); }),
            "--budget 'nans': not a duration (expected a number and a unit: 30s, 2m, 500ms)");
}

TEST(Duration, Formats) {
  EXPECT_EQ(FormatDurationNs(1234567), "1.23 ms");
  EXPECT_EQ(FormatDurationNs(2.5e10), "25.0 s");
  EXPECT_EQ(FormatDurationNs(850), "850 ns");
  EXPECT_EQ(FormatDurationNs(12345), "12.3 us");
  EXPECT_EQ(FormatDurationNs(0), "0 ns");
}

TEST(Clock, WaitsUntilTheDeadline) {
  const int64_t deadline = NowNs() + 3'000'000;
  EXPECT_TRUE(WaitUntilNs(deadline));
  EXPECT_GE(NowNs(), deadline);
  std::atomic<bool> stop{true};
  EXPECT_FALSE(WaitUntilNs(NowNs() + 10'000'000'000, &stop));  // returns at once when stopped
}

TEST(Interrupt, SigintSetsTheFlagInsideAScope) {
  {
    InterruptScope scope;
    EXPECT_FALSE(StopRequested());
    std::raise(SIGINT);
    EXPECT_TRUE(StopRequested());
    EXPECT_TRUE(StopFlag()->load());
  }
  InterruptScope again;  // a new scope starts clear
  EXPECT_FALSE(StopRequested());
}

}  // namespace
}  // namespace plaster
