#include "evaluate/isolation.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/clock.h"

namespace plaster::evaluate {

std::string ChildOutcome::Describe() const {
  if (!started) return "could not start: " + last_error_line;
  const double s = static_cast<double>(wall_ns) / 1e9;
  if (timed_out) return fmt::format("timed out after {:.1f} s (killed)", s);
  if (signal != 0) {
    const char* name = sigabbrev_np(signal);
    return fmt::format("killed by signal {} (SIG{})", signal, name ? name : "?");
  }
  return fmt::format("exit status {}", exit_code);
}

std::string SelfExecutable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : path.string();
}

namespace {

// Splits complete lines off the front of buffer.
template <typename F>
void TakeLines(std::string& buffer, F&& line) {
  size_t at;
  while ((at = buffer.find('\n')) != std::string::npos) {
    line(buffer.substr(0, at));
    buffer.erase(0, at + 1);
  }
}

}  // namespace

ChildOutcome RunChild(const std::vector<std::string>& argv, int64_t timeout_ns,
                      const std::function<void(const std::string&)>& on_phase,
                      const std::atomic<bool>* stop, int64_t stop_grace_ns,
                      const std::function<void()>& on_tick) {
  ChildOutcome out;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    out.last_error_line = std::strerror(errno);
    return out;
  }
  const int64_t start = NowNs();
  const pid_t pid = fork();
  if (pid < 0) {
    out.last_error_line = std::strerror(errno);
    return out;
  }
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    setpgid(0, 0);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    execv(args[0], args.data());
    const char msg[] = "exec failed\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so a SIGINT sent before the child ran is not lost
  out.started = true;
  close(out_pipe[1]);
  close(err_pipe[1]);
  std::array<pollfd, 2> fds = {pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
  std::string err_buffer;
  int open_fds = 2;
  int64_t stop_sent_ns = 0;
  int64_t last_tick_ns = start;
  bool killed = false;
  int status = 0;
  bool reaped = false;
  auto handle_err_line = [&](const std::string& line) {
    if (line.rfind(kPhasePrefix, 0) == 0) {
      if (on_phase) on_phase(line.substr(std::strlen(kPhasePrefix)));
    } else if (!line.empty()) {
      out.last_error_line = line;
    }
  };
  while (!reaped) {
    if (open_fds > 0) {
      poll(fds.data(), fds.size(), 100);
      for (auto& f : fds) {
        if (f.fd < 0 || (f.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        char buf[65536];
        const ssize_t n = read(f.fd, buf, sizeof(buf));
        if (n > 0) {
          if (f.fd == out_pipe[0]) {
            out.stdout_text.append(buf, static_cast<size_t>(n));
          } else {
            err_buffer.append(buf, static_cast<size_t>(n));
            TakeLines(err_buffer, handle_err_line);
          }
        } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
          close(f.fd);
          f.fd = -1;
          --open_fds;
        }
      }
    } else {
      usleep(20'000);
    }
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid && open_fds == 0) reaped = true;
    if (w == pid && !reaped) {
      // Exited, but a grandchild may hold the pipes; drain what is there and stop waiting.
      for (auto& f : fds) {
        if (f.fd >= 0) {
          char buf[65536];
          const int flags = fcntl(f.fd, F_GETFL);
          fcntl(f.fd, F_SETFL, flags | O_NONBLOCK);
          ssize_t n;
          while ((n = read(f.fd, buf, sizeof(buf))) > 0) {
            (f.fd == out_pipe[0] ? out.stdout_text : err_buffer).append(buf,
                                                                       static_cast<size_t>(n));
          }
          close(f.fd);
          f.fd = -1;
        }
      }
      reaped = true;
    }
    if (reaped) break;
    const int64_t now = NowNs();
    if (on_tick && now - last_tick_ns >= 500'000'000) {
      on_tick();
      last_tick_ns = now;
    }
    if (!killed && now - start > timeout_ns) {
      kill(-pid, SIGKILL);
      out.timed_out = true;
      killed = true;
    }
    if (stop != nullptr && stop->load() && !killed) {
      if (stop_sent_ns == 0) {
        kill(pid, SIGINT);
        stop_sent_ns = now;
        out.stopped = true;
      } else if (now - stop_sent_ns > stop_grace_ns) {
        kill(-pid, SIGKILL);
        killed = true;
      }
    }
  }
  if (!err_buffer.empty()) handle_err_line(err_buffer);
  out.wall_ns = NowNs() - start;
  if (WIFEXITED(status)) {
    out.exited = true;
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  return out;
}

}  // namespace plaster::evaluate
