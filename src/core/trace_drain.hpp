// trace_drain: reads a runtime's new events in time order while its threads
// go on recording (for tracing::checker and tracing::file_sink). Private
// to src/core.
//
// Each take() reads what every ring gained since the last one (a cursor per
// ring: tracer::drain; what a ring overwrote first is counted as missed)
// and returns, in time order, the events stamped at least `settle_ns`
// before it; the younger ones wait for the next take, since a thread stamps
// an event before it writes it (and may wait for a lock in between): an
// event read now may be younger than one another thread writes next.
// Nothing is returned twice, and nothing written is skipped unless its ring
// overwrote it first.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <iterator>
#include <limits>
#include <vector>

#include "runtime_impl.hpp"
#include "tracer.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe::detail {

class trace_drain {
 public:
  static constexpr std::int64_t settle_ns = 20'000'000;

  // Reads what `rt` records from now on.
  explicit trace_drain(runtime& rt) : rt_(rt), cursor_(rt.impl().trace_state().cursor_now()) {}

  // The settled events since the last take (all of them if `everything`),
  // oldest first; `bound` is set to the time up to which nothing more will
  // come (deadlines up to it may be judged).
  std::vector<tracing::event> take(bool everything, std::int64_t& bound) {
    bound = everything ? std::numeric_limits<std::int64_t>::max() : steady_ns() - settle_ns;
    std::uint64_t lost = 0;
    auto events = rt_.impl().trace_state().drain(cursor_, lost);
    missed_.fetch_add(lost, std::memory_order_relaxed);
    events.insert(events.end(), std::make_move_iterator(held_.begin()), std::make_move_iterator(held_.end()));
    held_.clear();
    std::stable_sort(events.begin(), events.end(),
                     [](const tracing::event& a, const tracing::event& b) { return a.time_ns < b.time_ns; });
    auto young = std::find_if(events.begin(), events.end(), [&](const tracing::event& e) { return e.time_ns > bound; });
    held_.assign(std::make_move_iterator(young), std::make_move_iterator(events.end()));
    events.erase(young, events.end());
    return events;
  }

  // Events overwritten before they were read.
  std::uint64_t missed() const noexcept { return missed_.load(std::memory_order_relaxed); }

 private:
  runtime& rt_;
  tracer::cursor cursor_;
  std::vector<tracing::event> held_;
  std::atomic<std::uint64_t> missed_{0};
};

// When a drain looks (the checker's and the sink's thread): every period,
// or at once when poll() asks, which waits for that look; after stop(),
// one last look and run() returns.
class look_schedule {
 public:
  explicit look_schedule(std::chrono::milliseconds period) : period_(period) {}

  // On the drain's thread: look(false) each time, look(true) at the end.
  template <class Look>
  void run(Look look) {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      wake_.wait_for(lock, period_, [&] { return stopping_ || requests_ != done_; });
      if (stopping_) break;
      const std::uint64_t asked = requests_;
      lock.unlock();
      look(false);
      lock.lock();
      done_ = asked;
      wake_.notify_all();
    }
    lock.unlock();
    look(true);
  }

  // Ends run() (after its last look).
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
  }

  // Asks for a look now and waits for it (or for stop()).
  void poll() {
    std::unique_lock lock(mu_);
    const std::uint64_t ticket = ++requests_;
    wake_.notify_all();
    wake_.wait(lock, [&] { return stopping_ || done_ >= ticket; });
  }

 private:
  const std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t requests_ = 0, done_ = 0;
};

}  // namespace troupe::detail
