#include "core/forked.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>

#include <fmt/format.h>

namespace plaster {
namespace {

std::string ReadAll(std::FILE* file) {
  std::string text;
  std::rewind(file);
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  return text;
}

void WriteAll(int fd, const std::string& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

std::string ForkedOutcome::LastErrorLine() const {
  std::string text = err;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const size_t start = text.rfind('\n');
  std::string last = start == std::string::npos ? text : text.substr(start + 1);
  if (last.size() > 300) last = last.substr(0, 300) + "...";
  return last;
}

std::string ForkedOutcome::SignalName() const {
  if (signal == 0) return "";
  const char* name = sigabbrev_np(signal);
  return name ? std::string("SIG") + name : fmt::format("signal {}", signal);
}

ForkedOutcome RunForked(const std::function<std::string()>& body, std::chrono::milliseconds timeout) {
  ForkedOutcome out;
  std::FILE* err = std::tmpfile();
  int fds[2];
  if (err == nullptr || ::pipe(fds) != 0) {
    out.err = fmt::format("could not start a child process: {}", std::strerror(errno));
    if (err != nullptr) std::fclose(err);
    return out;
  }
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    ::dup2(::fileno(err), STDERR_FILENO);
    int status = 0;
    try {
      WriteAll(fds[1], body());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      status = 1;
    } catch (...) {
      status = 1;
    }
    std::fflush(nullptr);
    ::_exit(status);
  }
  ::close(fds[1]);
  if (child < 0) {
    out.err = fmt::format("could not start a child process: {}", std::strerror(errno));
    ::close(fds[0]);
    std::fclose(err);
    return out;
  }
  out.started = true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      out.timed_out = true;
      ::kill(child, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;  // the deadline ends it
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is done, or died
    out.result.append(buffer, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status) && !out.timed_out) out.signal = WTERMSIG(status);
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  out.err = ReadAll(err);
  std::fclose(err);
  return out;
}

}  // namespace plaster
