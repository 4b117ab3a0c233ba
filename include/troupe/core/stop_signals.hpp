// stop_signals: SIGINT and SIGTERM, the way a terminal or a service manager
// asks a process to stop, turned into something a thread can wait for.
//
//   int main() {
//     troupe::block_stop_signals();               // optional: see below
//     troupe::runtime rt;
//     ... start the service ...
//     int sig = troupe::wait_for_stop_signal();   // SIGINT or SIGTERM
//     ... stop it in order ...
//   }
//
// While a stop_signals exists, both signals run a handler that only counts
// them (async-signal-safe: lock-free atomics; a signal the process was
// started with ignored stays ignored), and the constructing
// thread has them unblocked, so they arrive even where main() blocked them
// before starting threads. The destructor restores the handlers and the
// mask it found. Instances nest (the innermost's handlers are in place);
// one process-wide count serves them all.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>

namespace troupe {

// Counts SIGINT and SIGTERM while it exists (see above); wait for one
// with wait_past().
class stop_signals {
 public:
  stop_signals();
  ~stop_signals();
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  // Signals received since this object was made.
  std::uint64_t received() const noexcept;
  // The last one received (SIGINT or SIGTERM), 0 if none.
  int last() const noexcept;
  // Waits up to `timeout` for received() to pass `seen`; true if it has.
  bool wait_past(std::uint64_t seen, std::chrono::milliseconds timeout) const;
  // Blocks until one has been received since this object was made; returns it.
  int wait() const;

 private:
  std::uint64_t start_;
  struct sigaction old_int_{}, old_term_{};
  sigset_t old_mask_{};
};

// Blocks the calling thread until SIGINT or SIGTERM arrives; returns it.
int wait_for_stop_signal();

// Optional, first thing in main(), before any thread starts (threads
// inherit the mask): SIGINT and SIGTERM then stay pending until a
// stop_signals takes them, instead of ending the process while it starts.
void block_stop_signals();

}  // namespace troupe
