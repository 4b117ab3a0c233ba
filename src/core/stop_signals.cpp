#include "troupe/core/stop_signals.hpp"

#include <pthread.h>

#include <atomic>
#include <thread>

namespace troupe {
namespace {

// Written by the handler: lock-free atomics are async-signal-safe.
// ordering: the count's increment is release and its loads acquire, so a
// waiter that sees a count also sees the signal stored before it.
std::atomic<std::uint64_t> signals_seen{0};
std::atomic<int> last_signal{0};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

extern "C" void count_stop_signal(int sig) {
  last_signal.store(sig, std::memory_order_relaxed);
  signals_seen.fetch_add(1, std::memory_order_release);
}

// Installs the counting handler for `sig`, unless the process was started
// with it ignored (a background job's SIGINT): that choice is kept.
void take(int sig, struct sigaction& old) {
  struct sigaction counting {};
  counting.sa_handler = count_stop_signal;
  sigemptyset(&counting.sa_mask);
  counting.sa_flags = SA_RESTART;
  sigaction(sig, &counting, &old);
  if (old.sa_handler == SIG_IGN) sigaction(sig, &old, nullptr);
}

sigset_t both_stop_signals() {
  sigset_t both;
  sigemptyset(&both);
  sigaddset(&both, SIGINT);
  sigaddset(&both, SIGTERM);
  return both;
}

}  // namespace

stop_signals::stop_signals() : start_(signals_seen.load(std::memory_order_acquire)) {
  take(SIGINT, old_int_);
  take(SIGTERM, old_term_);
  const sigset_t both = both_stop_signals();
  pthread_sigmask(SIG_UNBLOCK, &both, &old_mask_);
}

stop_signals::~stop_signals() {
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

std::uint64_t stop_signals::received() const noexcept {
  return signals_seen.load(std::memory_order_acquire) - start_;
}

int stop_signals::last() const noexcept { return received() ? last_signal.load(std::memory_order_relaxed) : 0; }

bool stop_signals::wait_past(std::uint64_t seen, std::chrono::milliseconds timeout) const {
  // Polled: a handler may do nothing that wakes a waiter portably, and a
  // stop is not a latency path (20 ms).
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (received() > seen) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(20)));
  }
}

int stop_signals::wait() const {
  while (!wait_past(0, std::chrono::hours(1))) {
  }
  return last();
}

void block_stop_signals() {
  const sigset_t both = both_stop_signals();
  pthread_sigmask(SIG_BLOCK, &both, nullptr);
}

int wait_for_stop_signal() { return stop_signals().wait(); }

}  // namespace troupe
