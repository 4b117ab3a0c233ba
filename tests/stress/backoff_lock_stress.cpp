// backoff_lock (the channels' lock): threads hammer one lock, with lock()
// and try_lock() mixed; a plain counter guarded by it must come out exact
// and no two holders may ever overlap. Under TSan a lock that fails to
// order its critical sections shows up as a race on the counter.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/backoff_lock.hpp"
#include "stress_scale.hpp"

using troupe::detail::backoff_lock;

TEST(backoff_lock_stress, holders_never_overlap_and_no_increment_is_lost) {
  const long per_thread = troupe::stress::scaled(200'000, 5'000);
  constexpr int threads = 4;
  backoff_lock lock;
  long counter = 0;  // guarded by lock
  std::atomic<bool> inside{false};
  std::atomic<long> overlaps{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (long i = 0; i < per_thread; ++i) {
        if ((i + t) % 3 == 0) {
          while (!lock.try_lock()) std::this_thread::yield();
        } else {
          lock.lock();
        }
        if (inside.exchange(true, std::memory_order_relaxed)) overlaps.fetch_add(1);
        ++counter;
        inside.store(false, std::memory_order_relaxed);
        lock.unlock();
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(counter, threads * per_thread);
}
