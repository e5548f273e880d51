// plaster learn --nproc (Note [Data parallelism], Note [Launching ranks]) on the classifiers
// fixture: two ranks on the loopback follow one process's loss curve at the same global batch
// and end with bit-identical weights; a rank killed with SIGKILL ends the other with an error
// within the timeout; Ctrl-C stops both after the same step with a report; bad input is one line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fixtures.h"

namespace plaster {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

const std::string kDir = PLASTER_CLASSIFIERS_DIR;

testing::CommandResult Plaster(const std::string& args) {
  return testing::RunCommand(std::string(PLASTER_BIN) + " " + args);
}

std::string MlpArgs(int batch = 64) {
  return "learn " + kDir + "/mlp_init.onnx --data " + kDir + "/mlp_train.npz --val " + kDir +
         "/mlp_val.npz --batch " + std::to_string(batch) + " --lr 0.1 --epochs 2 --limit 4000 --val-limit 500 --seed 3 "
         "--json";
}

std::vector<std::string> CnnArgs(int epochs) {
  return {PLASTER_BIN, "learn", kDir + "/cnn_init.onnx", "--data", kDir + "/cnn_train.npz",
          "--val", kDir + "/cnn_val.npz", "--batch", "32", "--epochs", std::to_string(epochs),
          "--nproc", "2", "--json"};
}

TEST(DataParallel, TwoRanksFollowOneProcessAtTheSameGlobalBatch) {
  const auto one = Plaster(MlpArgs() + " --threads 1");
  const auto two = Plaster(MlpArgs() + " --nproc 2");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const auto a = nlohmann::json::parse(one.out), b = nlohmann::json::parse(two.out);
  EXPECT_TRUE(a["parallel"].is_null());
  ASSERT_FALSE(b["parallel"].is_null()) << two.out;
  EXPECT_EQ(b["parallel"]["ranks"], 2);
  EXPECT_EQ(b["parallel"]["batch_per_rank"], 32);
  EXPECT_EQ(b["parallel"]["weights_identical"], true);
  EXPECT_EQ(b["parallel"]["rank_samples_per_s"].size(), 2u);
  EXPECT_EQ(b["batch"], 64);
  EXPECT_EQ(b["steps_per_epoch"], a["steps_per_epoch"]);
  ASSERT_EQ(a["epochs"].size(), 2u);
  ASSERT_EQ(b["epochs"].size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    // The same samples in the same steps; only the order of float additions differs.
    const double la = a["epochs"][e]["loss"].get<double>(), lb = b["epochs"][e]["loss"].get<double>();
    EXPECT_NEAR(lb, la, 1e-5 * la) << "epoch " << e + 1;
    EXPECT_NEAR(b["epochs"][e]["top1"]["value"].get<double>(),
                a["epochs"][e]["top1"]["value"].get<double>(), 0.0041)  // 2 of 500 on a tie
        << "epoch " << e + 1;
  }
  // Rank 0 alone reports; the other rank's progress lines are not repeated.
  EXPECT_EQ(two.err.find("epoch 1/2"), two.err.rfind("epoch 1/2")) << two.err;
}

// Starts argv with stdout and stderr in files; returns the pid.
pid_t Start(const std::vector<std::string>& argv, const std::string& out, const std::string& err) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(out.c_str(), "w", stdout) || !freopen(err.c_str(), "w", stderr)) _exit(127);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Waits until `path` contains `text`, up to `seconds`.
bool WaitForText(const std::string& path, const std::string& text, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (testing::Slurp(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The child of `parent` whose environment says PLASTER_RANK=`rank`; -1 if none.
pid_t RankPid(pid_t parent, int rank) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = testing::Slurp(entry.path() / "stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    int ppid = 0;
    char state = 0;
    if (sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2 || ppid != parent) continue;
    const std::string env = testing::Slurp(entry.path() / "environ");
    if (env.find("PLASTER_RANK=" + std::to_string(rank) + '\0') != std::string::npos) {
      return static_cast<pid_t>(std::stoi(name));
    }
  }
  return -1;
}

// Waits for pid to end, up to `seconds`; its wait status, or nullopt (then it is killed).
std::optional<int> WaitFor(pid_t pid, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return std::nullopt;
}

TEST(DataParallel, AKilledRankEndsTheOtherWithAnErrorWithinTheTimeout) {
  TempDir dir;
  const std::string out = (dir.path() / "out").string(), err = (dir.path() / "err").string();
  const pid_t launcher = Start(CnnArgs(40), out, err);
  ASSERT_TRUE(WaitForText(err, "epoch 1/40", 120)) << testing::Slurp(err);
  const pid_t rank1 = RankPid(launcher, 1);
  ASSERT_GT(rank1, 0);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(rank1, SIGKILL), 0);
  const std::optional<int> status = WaitFor(launcher, 30);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  ASSERT_TRUE(status.has_value()) << "still running 30 s after rank 1 was killed";
  EXPECT_LT(seconds, 30.0);
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  const std::string text = testing::Slurp(err);
  EXPECT_THAT(text, HasSubstr("rank 0 of 2: data parallel: lost the other ranks"));
  EXPECT_THAT(text, HasSubstr("rank 1 of 2 (pid " + std::to_string(rank1) +
                              ") was killed by signal 9 (SIGKILL)"));
}

TEST(DataParallel, AHungRankTimesOutAndIsKilled) {
  // SIGSTOP: the rank's sockets stay open, so only --timeout can tell.
  TempDir dir;
  const std::string out = (dir.path() / "out").string(), err = (dir.path() / "err").string();
  std::vector<std::string> args = CnnArgs(40);
  args.insert(args.end(), {"--timeout", "3"});
  const pid_t launcher = Start(args, out, err);
  ASSERT_TRUE(WaitForText(err, "epoch 1/40", 120)) << testing::Slurp(err);
  const pid_t rank1 = RankPid(launcher, 1);
  ASSERT_GT(rank1, 0);
  ASSERT_EQ(kill(rank1, SIGSTOP), 0);
  const std::optional<int> status = WaitFor(launcher, 60);  // 3 s + 10 s grace, and slack
  ASSERT_TRUE(status.has_value()) << "still running 60 s after rank 1 stopped";
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  const std::string text = testing::Slurp(err);
  EXPECT_THAT(text, HasSubstr("did not answer within --timeout 3 s"));
  EXPECT_THAT(text, HasSubstr("rank 1 of 2 (pid " + std::to_string(rank1) +
                              ") had not ended 13 s after another rank failed, and was killed"));
}

TEST(DataParallel, CtrlCStopsEveryRankAfterTheSameStepAndReports) {
  TempDir dir;
  const std::string out = (dir.path() / "out").string(), err = (dir.path() / "err").string();
  const pid_t launcher = Start(CnnArgs(40), out, err);
  ASSERT_TRUE(WaitForText(err, "epoch 1/40", 120)) << testing::Slurp(err);
  ASSERT_EQ(kill(launcher, SIGINT), 0);
  const std::optional<int> status = WaitFor(launcher, 60);
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status)) << testing::Slurp(err);
  EXPECT_EQ(WEXITSTATUS(*status), 130) << testing::Slurp(err);
  const auto j = nlohmann::json::parse(testing::Slurp(out));
  EXPECT_EQ(j["interrupted"], true);
  EXPECT_EQ(j["parallel"]["weights_identical"], true);  // both stopped after the same step
  EXPECT_GE(j["epochs"].size(), 1u);
}

TEST(DataParallel, TwoHostsMeetAtTheMaster) {
  // Two "hosts" on the loopback: one plaster learn per node rank, one rank each, meeting at
  // --master; node 0 holds global rank 0 and prints the report.
  TempDir dir;
  const std::string args = MlpArgs() + " --nnodes 2 --master 127.0.0.1:" +
                           std::to_string(29400 + getpid() % 500);
  const std::string out0 = (dir.path() / "out0").string(), out1 = (dir.path() / "out1").string();
  const auto r = testing::RunCommand(
      "(" + std::string(PLASTER_BIN) + " " + args + " --node-rank 1 > " + out1 + " & " +
      PLASTER_BIN + " " + args + " --node-rank 0 > " + out0 + "; s0=$?; wait $!; s1=$?; " +
      "exit $((s0 + s1)))");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(testing::Slurp(out0));
  EXPECT_EQ(j["parallel"]["ranks"], 2);
  EXPECT_EQ(j["parallel"]["weights_identical"], true);
  EXPECT_EQ(j["parallel"]["batch_per_rank"], 32);
  EXPECT_TRUE(testing::Slurp(out1).empty());  // global rank 1 does not report
}

TEST(DataParallel, BadInputIsOneLineNamingIt) {
  const auto uneven = Plaster(MlpArgs(63) + " --nproc 2");
  EXPECT_EQ(uneven.exit_code, 2);
  EXPECT_THAT(uneven.err, HasSubstr("--batch 63: the global batch must split evenly over the 2 "
                                    "ranks"));
  const auto hosts = Plaster(MlpArgs() + " --nnodes 2");
  EXPECT_EQ(hosts.exit_code, 2);
  EXPECT_THAT(hosts.err, HasSubstr("--nnodes 2: every host needs --master ADDR:PORT"));
  const auto master = Plaster(MlpArgs() + " --nproc 2 --master localhost:http");
  EXPECT_EQ(master.exit_code, 2);
  EXPECT_THAT(master.err, HasSubstr("--master 'localhost:http': 'http' is not a port"));
  const auto node = Plaster(MlpArgs() + " --nnodes 2 --node-rank 2 --master 127.0.0.1:1234");
  EXPECT_EQ(node.exit_code, 2);
  EXPECT_THAT(node.err, HasSubstr("--node-rank 2: must be below --nnodes (2)"));
}

}  // namespace
}  // namespace plaster
