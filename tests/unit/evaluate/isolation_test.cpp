// Note [Case isolation]: children that exit, crash, hang, talk, or are asked to stop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "evaluate/isolation.h"

namespace plaster::evaluate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ChildOutcome Sh(const std::string& script, int64_t timeout_ns = 30'000'000'000,
                std::vector<std::string>* phases = nullptr,
                const std::atomic<bool>* stop = nullptr, int64_t grace_ns = 5'000'000'000) {
  return RunChild({"/bin/sh", "-c", script}, timeout_ns,
                  [&](const std::string& p) {
                    if (phases) phases->push_back(p);
                  },
                  stop, grace_ns);
}

TEST(Isolation, CapturesStdoutPhasesAndTheLastErrorLine) {
  std::vector<std::string> phases;
  const ChildOutcome c = Sh(
      "echo '@phase P: cold start' >&2; echo first >&2; echo '@phase L: single-stream' >&2; "
      "echo line1; echo '{\"id\": 1}'; echo 'the last words' >&2",
      30'000'000'000, &phases);
  EXPECT_TRUE(c.started);
  EXPECT_TRUE(c.exited);
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_EQ(c.stdout_text, "line1\n{\"id\": 1}\n");
  EXPECT_THAT(phases, ElementsAre("P: cold start", "L: single-stream"));
  EXPECT_EQ(c.last_error_line, "the last words");
  EXPECT_EQ(c.Describe(), "exit status 0");
}

TEST(Isolation, ExitStatusAndSignalsAreReported) {
  EXPECT_EQ(Sh("exit 3").Describe(), "exit status 3");
  const ChildOutcome killed = Sh("kill -9 $$");
  EXPECT_FALSE(killed.exited);
  EXPECT_EQ(killed.signal, 9);
  EXPECT_EQ(killed.Describe(), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(Sh("kill -ABRT $$").Describe(), "killed by signal 6 (SIGABRT)");
}

TEST(Isolation, AHangIsKilledAtTheTimeLimit) {
  const ChildOutcome c = Sh("echo started >&2; sleep 30", 300'000'000);
  EXPECT_TRUE(c.timed_out);
  EXPECT_EQ(c.signal, 9);
  EXPECT_LT(c.wall_ns, 10'000'000'000);
  EXPECT_THAT(c.Describe(), HasSubstr("timed out after"));
  EXPECT_EQ(c.last_error_line, "started");
}

TEST(Isolation, AStopSendsOneSigintThenKillsAfterTheGrace) {
  std::atomic<bool> stop{true};
  // A child that reports the SIGINT and exits cleanly.
  ChildOutcome c = Sh("trap 'echo got-int; exit 0' INT; while true; do sleep 0.05; done",
                      30'000'000'000, nullptr, &stop);
  EXPECT_TRUE(c.stopped);
  EXPECT_TRUE(c.exited);
  EXPECT_EQ(c.stdout_text, "got-int\n");
  // A child that ignores it is killed after the grace period.
  c = Sh("trap '' INT; sleep 30", 30'000'000'000, nullptr, &stop, 300'000'000);
  EXPECT_TRUE(c.stopped);
  EXPECT_EQ(c.signal, 9);
}

TEST(Isolation, TicksKeepComingWhileTheChildIsSilent) {
  int ticks = 0;
  const ChildOutcome c = RunChild({"/bin/sh", "-c", "sleep 1.6"}, 30'000'000'000, nullptr,
                                  nullptr, 5'000'000'000, [&] { ++ticks; });
  EXPECT_TRUE(c.exited);
  EXPECT_GE(ticks, 2);  // about every 0.5 s
}

TEST(Isolation, AMissingProgramIsAnExitStatus) {
  const ChildOutcome c = RunChild({"/nonexistent/plaster"}, 5'000'000'000, nullptr, nullptr);
  EXPECT_TRUE(c.exited);
  EXPECT_EQ(c.exit_code, 127);
  EXPECT_EQ(c.last_error_line, "exec failed");
}

}  // namespace
}  // namespace plaster::evaluate
