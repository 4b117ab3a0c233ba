// executor: where continuations attached outside any actor may run.
//
//   thread_pool pool(4);
//   fetch().via(pool).map(parse);      // parse runs on one of the 4 threads
//
// Inside an actor, continuations always run in that actor (future.hpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "troupe/core/pid.hpp"

namespace troupe {

class runtime;

// Runs work posted to it, on threads of its own choosing.
class executor {
 public:
  virtual ~executor() = default;
  // Any thread. Runs `work` later, exactly once, unless the executor is
  // destroyed first (then `work` is destroyed unrun).
  virtual void post(std::function<void()> work) = 0;
};

// A fixed set of plain threads with one FIFO queue. The destructor runs
// what is queued, then joins.
class thread_pool final : public executor {
 public:
  // Starts `threads` threads (at least one).
  explicit thread_pool(unsigned threads);
  ~thread_pool() override;
  void post(std::function<void()> work) override;

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Runs work on a runtime's worker threads, spread over `lanes` helper
// actors (default: one per worker). Work in one lane runs in order; lanes
// run in parallel. Work posted after the runtime shut down is dropped.
class runtime_executor final : public executor {
 public:
  // Spawns the lane actors in `rt`; 0 lanes: one per worker thread.
  explicit runtime_executor(runtime& rt, unsigned lanes = 0);
  ~runtime_executor() override;
  void post(std::function<void()> work) override;

 private:
  runtime& rt_;
  std::vector<pid> lanes_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace troupe
