#include "core/interrupt.h"

#include <atomic>
#include <csignal>

namespace plaster {
namespace {

// A lock-free atomic: a signal handler may write it, and other threads read it without a race.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);
struct sigaction g_previous;

void OnSigint(int) {
  if (g_stop) {
    // The second Ctrl-C: the user wants out now.
    sigaction(SIGINT, &g_previous, nullptr);
    std::raise(SIGINT);
    return;
  }
  g_stop = true;
}

}  // namespace

bool StopRequested() { return g_stop; }
const std::atomic<bool>* StopFlag() { return &g_stop; }
void RequestStop() { g_stop = true; }

InterruptScope::InterruptScope() {
  g_stop = false;
  struct sigaction action {};
  action.sa_handler = OnSigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous);
}

InterruptScope::~InterruptScope() { sigaction(SIGINT, &g_previous, nullptr); }

}  // namespace plaster
