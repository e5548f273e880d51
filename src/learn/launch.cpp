// Note [Launching ranks]: what torchrun does for PyTorch, `plaster learn --nproc N` does for
// itself.
// - Each of this host's N ranks is this binary, run again with the same arguments; the
//   environment says which rank it is (PLASTER_RANK, PLASTER_WORLD_SIZE, PLASTER_LOCAL_RANK,
//   PLASTER_LOCAL_WORLD_SIZE, PLASTER_MASTER, PLASTER_TIMEOUT). Global rank = node rank × N +
//   local rank. With one host and no --master, rank 0 listens on the loopback at a port the
//   launcher found free.
// - Global rank 0 writes the report to stdout; the other ranks' stdout is discarded, and their
//   errors (stderr) name their rank.
// - The ranks get process groups of their own, so a Ctrl-C at the terminal reaches only the
//   launcher, which passes one SIGINT to every rank; they agree to stop in the same step (Note
//   [Data parallelism]) and report what they measured.
// - A rank that dies (killed, or an error) makes the others fail on their own within --timeout:
//   Gloo's sockets close, or its collectives time out. The launcher waits that long, plus a
//   grace period, and then kills what is left, so nothing hangs.

#include "learn/launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "core/interrupt.h"

extern char** environ;

namespace plaster::learn {
namespace {

constexpr double kGraceSeconds = 10;

// A TCP port on the loopback that nothing listens on now (the kernel's pick).
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  PLASTER_CHECK(fd >= 0, "--nproc: cannot open a socket: {}", std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  PLASTER_CHECK(ok, "--nproc: cannot find a free port on the loopback: {}", std::strerror(errno));
  return ntohs(address.sin_port);
}

std::string SelfExecutable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : path.string();
}

struct Rank {
  int global = 0;
  pid_t pid = -1;
  bool done = false;
  int status = 0;
  bool killed = false;  // by the launcher, after another rank failed
};

std::string Describe(int status) {
  if (WIFSIGNALED(status)) {
    const int s = WTERMSIG(status);
    const char* name = sigabbrev_np(s);
    return fmt::format("was killed by signal {} (SIG{})", s, name ? name : "?");
  }
  return fmt::format("failed (exit status {})", WEXITSTATUS(status));
}

bool Failed(int status) {
  // 130: a rank that stopped at Ctrl-C and reported what it measured.
  return WIFSIGNALED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 130);
}

}  // namespace

std::pair<std::string, int> ParseMaster(const std::string& text) {
  const size_t colon = text.rfind(':');
  PLASTER_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < text.size(),
                "--master '{}': expected ADDR:PORT", text);
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  PLASTER_CHECK(end != nullptr && *end == '\0' && port > 0 && port < 65536,
                "--master '{}': '{}' is not a port (1-65535)", text, port_text);
  return {host, static_cast<int>(port)};
}

int LaunchRanks(const LaunchOptions& o, const std::vector<std::string>& argv, std::ostream& err) {
  PLASTER_CHECK(o.nproc >= 1, "--nproc {}: must be at least 1", o.nproc);
  PLASTER_CHECK(o.nnodes >= 1, "--nnodes {}: must be at least 1", o.nnodes);
  PLASTER_CHECK(o.node_rank >= 0 && o.node_rank < o.nnodes,
                "--node-rank {}: must be below --nnodes ({})", o.node_rank, o.nnodes);
  PLASTER_CHECK(o.nnodes == 1 || !o.master.empty(),
                "--nnodes {}: every host needs --master ADDR:PORT (global rank 0's host)",
                o.nnodes);
  std::string master = o.master;
  if (master.empty()) master = fmt::format("127.0.0.1:{}", FreeLoopbackPort());
  ParseMaster(master);  // checked before anything starts
  const int world = o.nproc * o.nnodes;

  // The ranks' environment: ours without stale PLASTER_* places, plus theirs.
  std::vector<std::string> base;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool ours = false;
    for (const char* v : {kRankVariable, kWorldVariable, kLocalRankVariable, kLocalWorldVariable,
                          kMasterVariable, kTimeoutVariable}) {
      ours = ours || entry.rfind(std::string(v) + "=", 0) == 0;
    }
    if (!ours) base.push_back(entry);
  }
  const std::string program = SelfExecutable();
  std::vector<char*> args;
  args.push_back(const_cast<char*>(program.c_str()));
  for (size_t k = 1; k < argv.size(); ++k) args.push_back(const_cast<char*>(argv[k].c_str()));
  args.push_back(nullptr);
  const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  PLASTER_CHECK(null_fd >= 0, "--nproc: cannot open /dev/null: {}", std::strerror(errno));

  InterruptScope interrupt;
  std::vector<Rank> ranks;
  for (int local = 0; local < o.nproc; ++local) {
    Rank r;
    r.global = o.node_rank * o.nproc + local;
    std::vector<std::string> env = base;
    env.push_back(fmt::format("{}={}", kRankVariable, r.global));
    env.push_back(fmt::format("{}={}", kWorldVariable, world));
    env.push_back(fmt::format("{}={}", kLocalRankVariable, local));
    env.push_back(fmt::format("{}={}", kLocalWorldVariable, o.nproc));
    env.push_back(fmt::format("{}={}", kMasterVariable, master));
    env.push_back(fmt::format("{}={}", kTimeoutVariable, o.timeout_s));
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    r.pid = fork();
    if (r.pid < 0) {
      for (const Rank& started : ranks) kill(started.pid, SIGKILL);
      Fail("--nproc: cannot start rank {}: {}", r.global, std::strerror(errno));
    }
    if (r.pid == 0) {  // only async-signal-safe calls until exec
      setpgid(0, 0);
      signal(SIGINT, SIG_DFL);
      if (r.global != 0) dup2(null_fd, STDOUT_FILENO);
      execve(args[0], args.data(), envp.data());
      const char msg[] = "plaster: error: cannot start a rank (exec failed)\n";
      ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
      (void)ignored;
      _exit(127);
    }
    setpgid(r.pid, r.pid);
    ranks.push_back(r);
  }
  close(null_fd);

  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> deadline;  // set when a rank has failed
  bool forwarded = false;
  size_t running = ranks.size();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (Rank& r : ranks) {
        if (r.pid != pid || r.done) continue;
        r.done = true;
        r.status = status;
        --running;
        if (Failed(status) && !deadline) {
          deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(o.timeout_s +
                                                                      kGraceSeconds));
        }
      }
      continue;
    }
    if (StopRequested() && !forwarded) {
      forwarded = true;
      for (const Rank& r : ranks) {
        if (!r.done) kill(r.pid, SIGINT);
      }
    }
    if (deadline && Clock::now() > *deadline) {
      for (Rank& r : ranks) {
        if (r.done) continue;
        kill(r.pid, SIGKILL);
        r.killed = true;
      }
      deadline = Clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int first_status = 0;
  bool failed = false;
  for (const Rank& r : ranks) {
    if (r.global == o.node_rank * o.nproc) first_status = WEXITSTATUS(r.status);
    if (Failed(r.status)) {
      failed = true;
      // Status 2: the rank said why itself, in one line naming its rank.
      if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2) continue;
      err << fmt::format(
          "plaster: error: rank {} of {} (pid {}) {}\n", r.global, world, r.pid,
          r.killed ? fmt::format("had not ended {:g} s after another rank failed, and was killed",
                                 o.timeout_s + kGraceSeconds)
                   : Describe(r.status));
    }
  }
  return failed ? 2 : first_status;
}

std::optional<engine::ParallelOptions> RankFromEnvironment(int* local_world) {
  const char* rank = std::getenv(kRankVariable);
  if (rank == nullptr) return std::nullopt;
  auto number = [](const char* name) {
    const char* text = std::getenv(name);
    char* end = nullptr;
    const double v = text ? std::strtod(text, &end) : 0;
    PLASTER_CHECK(text != nullptr && end != text && *end == '\0',
                  "{}: expected a number (set by plaster learn --nproc), got '{}'", name,
                  text ? text : "");
    return v;
  };
  engine::ParallelOptions p;
  p.rank = static_cast<int>(number(kRankVariable));
  p.world = static_cast<int>(number(kWorldVariable));
  p.timeout_s = number(kTimeoutVariable);
  const char* master = std::getenv(kMasterVariable);
  PLASTER_CHECK(master != nullptr, "{}: not set (set by plaster learn --nproc)", kMasterVariable);
  std::tie(p.master_address, p.master_port) = ParseMaster(master);
  if (local_world != nullptr) *local_world = static_cast<int>(number(kLocalWorldVariable));
  return p;
}

}  // namespace plaster::learn
