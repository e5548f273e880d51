#pragma once
/// Ctrl-C as a request to stop measuring, not to die: while an InterruptScope lives, SIGINT sets
/// a flag that long-running loops poll (StopRequested), so they end cleanly and report what they
/// measured, marked "interrupted". A second SIGINT in the same scope kills the process as usual.

#include <atomic>

namespace plaster {

/// True once SIGINT arrived inside an InterruptScope (or RequestStop was called). Async-signal
/// safe to set, cheap to poll from any thread.
bool StopRequested();

/// The flag itself, for waits that poll it (see WaitUntilNs).
const std::atomic<bool>* StopFlag();

/// Sets the flag, as SIGINT does (tests use it).
void RequestStop();

/// Installs the SIGINT handler and clears the flag; the destructor restores the previous
/// handler. Not nestable; one per process at a time.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
};

}  // namespace plaster
