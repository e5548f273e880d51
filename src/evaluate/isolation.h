#pragma once
/// Note [Case isolation]: every case of an evaluation runs in a child process (the same binary,
/// `plaster evaluate-case`), so a crash, an abort, an out-of-memory kill or a hang in one engine
/// or configuration ends that case "failed" with the reason, and the sweep goes on. The child
/// gets its own process group: a Ctrl-C at the terminal reaches only the parent, which passes one
/// SIGINT on (the child then stops measuring and reports what it has), and kills the child if it
/// does not end within a grace period. A child past its time limit is killed with SIGKILL.
///
/// Protocol: the child writes a snapshot of its record to stdout, one line, each time it begins a
/// letter, and its final record as the last line; when it dies, the parent keeps the last complete
/// snapshot (the letters measured so far) and marks the case failed. stderr lines that start
/// with kPhasePrefix announce what it is measuring (for the progress bar); other stderr lines are
/// kept, and the last one is the reason given when the child dies.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace plaster::evaluate {

inline constexpr const char* kPhasePrefix = "@phase ";

struct ChildOutcome {
  bool started = false;    ///< false: fork/exec failed (reason in last_error_line)
  bool exited = false;     ///< ended by exit(); exit_code is set
  int exit_code = 0;
  int signal = 0;          ///< ended by this signal (0: none)
  bool timed_out = false;  ///< killed by us at the time limit
  bool stopped = false;    ///< a stop was requested while it ran
  std::string stdout_text;
  std::string last_error_line;  ///< the last stderr line that was not a phase
  int64_t wall_ns = 0;

  /// "exit status 3", "killed by signal 9 (SIGKILL)", "timed out after 12.0 s (killed)".
  std::string Describe() const;
};

/// Runs argv (argv[0] is the program path) to completion or until timeout_ns, calling on_phase
/// for each phase line (from this thread). When *stop becomes true, the child gets one SIGINT,
/// and SIGKILL after stop_grace_ns. on_tick (when set) is called about twice a second while the
/// child runs, from this thread (to keep a progress display's clock moving).
ChildOutcome RunChild(const std::vector<std::string>& argv, int64_t timeout_ns,
                      const std::function<void(const std::string&)>& on_phase,
                      const std::atomic<bool>* stop, int64_t stop_grace_ns = 15'000'000'000,
                      const std::function<void()>& on_tick = nullptr);

/// The running binary's own path (/proc/self/exe resolved), to start `plaster evaluate-case`.
std::string SelfExecutable();

}  // namespace plaster::evaluate
