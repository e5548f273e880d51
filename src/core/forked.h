#pragma once
/// Note [Forked calls]: a function run in a child process (fork, no exec), for work that may crash
/// or hang inside a library plaster does not control (an engine on a conformance case, OpenCV's
/// diagnostic import). The child's return value comes back through a pipe; its stderr goes to a
/// temporary file, so what it wrote before dying is kept. A child past the timeout is killed.
/// The parent's state is untouched by whatever the child does. The child should do little besides
/// the call: it is a copy of one thread of a process that may have others.

#include <chrono>
#include <functional>
#include <string>

namespace plaster {

struct ForkedOutcome {
  bool started = false;     ///< false: fork, pipe or the temporary file failed (why in `err`)
  bool timed_out = false;   ///< killed at the timeout
  int signal = 0;           ///< ended by this signal (0: none)
  int exit_code = 0;        ///< when it exited
  std::string result;       ///< what the function returned (empty when it did not return)
  std::string err;          ///< everything the child wrote to stderr
  /// The last non-empty line of `err`, at most 300 characters.
  std::string LastErrorLine() const;
  /// "SIGSEGV", or "signal N" when the name is unknown; empty without a signal.
  std::string SignalName() const;
};

/// Runs body in a child process and waits for it, at most `timeout`. A body that throws ends the
/// child with exit status 1 (the exception's message in `err`).
ForkedOutcome RunForked(const std::function<std::string()>& body, std::chrono::milliseconds timeout);

}  // namespace plaster
