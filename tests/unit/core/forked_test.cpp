// core/forked.h: a function run in a child process, whatever becomes of it.
#include "core/forked.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace plaster {
namespace {

using namespace std::chrono_literals;

TEST(Forked, ReturnsTheResultAndTheChildsStderr) {
  int in_parent = 1;
  const ForkedOutcome o = RunForked(
      [&] {
        in_parent = 2;  // the child's copy only
        std::fputs("first\nsecond words\n", stderr);
        return std::string("result\0with a NUL", 17);
      },
      10s);
  EXPECT_TRUE(o.started);
  EXPECT_EQ(o.result, std::string("result\0with a NUL", 17));
  EXPECT_EQ(o.err, "first\nsecond words\n");
  EXPECT_EQ(o.LastErrorLine(), "second words");
  EXPECT_EQ(o.signal, 0);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(in_parent, 1);
}

TEST(Forked, ACrashKeepsWhatWasWrittenBeforeIt) {
  const ForkedOutcome o = RunForked(
      [] {
        std::fputs("about to fall over\n", stderr);
        std::raise(SIGSEGV);
        return std::string("never");
      },
      10s);
  EXPECT_EQ(o.signal, SIGSEGV);
  EXPECT_EQ(o.SignalName(), "SIGSEGV");
  EXPECT_EQ(o.result, "");
  EXPECT_EQ(o.LastErrorLine(), "about to fall over");
}

TEST(Forked, AHangIsKilledAtTheTimeoutAndAThrowIsExitStatusOne) {
  const ForkedOutcome hung = RunForked(
      [] {
        std::this_thread::sleep_for(60s);
        return std::string();
      },
      200ms);
  EXPECT_TRUE(hung.timed_out);
  EXPECT_EQ(hung.signal, 0);
  const ForkedOutcome threw =
      RunForked([]() -> std::string { throw std::runtime_error("no good"); }, 10s);
  EXPECT_EQ(threw.exit_code, 1);
  EXPECT_EQ(threw.LastErrorLine(), "no good");
}

}  // namespace
}  // namespace plaster
