// spin_lock: a test-and-test-and-set lock for critical sections of a few
// instructions (the scheduler's global queue). A std::mutex there went to
// the kernel thousands of times a second under fan-in; spinning costs less
// than a futex round trip when the holder is running. After a bounded spin
// it yields, so a preempted holder is not starved.
//
// Memory orders: lock() acquires and unlock() releases; the test loop reads
// relaxed and only the exchange synchronizes.
#pragma once

#include <atomic>
#include <thread>

#include "cpu_relax.hpp"

namespace troupe::detail {

class spin_lock {
 public:
  void lock() noexcept {
    for (unsigned spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        cpu_relax();
        if (++spins > 64) {
          std::this_thread::yield();
          spins = 0;
        }
      }
    }
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace troupe::detail
