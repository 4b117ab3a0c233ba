// timer_source: the clock and timers that futures and filters read.
//
// Time-dependent code (within(), timeout, retry backoff, circuit breaker)
// takes a timer_source, so tests drive it with manual_timers: virtual time
// that moves only when the test says, and no sleeps.
//
//   manual_timers clock;
//   auto f = slow.within(clock, 100ms);
//   clock.advance(100ms);            // fires due timers on this thread
//   assert(f.poll()->error() == errc::timeout);
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "troupe/core/timer.hpp"

namespace troupe {

class runtime;

// The clock and timers of time-dependent code: real, a runtime's, or manual.
class timer_source {
 public:
  // A scheduled call; cancel() is idempotent and true if it stopped the
  // call before it ran.
  struct pending_call {
    virtual ~pending_call() = default;
    // Stops the call if it has not run; true if this stopped it.
    virtual bool cancel() noexcept = 0;
  };

  virtual ~timer_source() = default;
  // The current time on this source's clock.
  virtual time_point now() const = 0;
  // Runs fn once after `delay` (on the timer's thread). fn must not throw.
  virtual std::shared_ptr<pending_call> call_after(duration delay, std::function<void()> fn) = 0;
  // A seed for what a filter randomizes (retry jitter): from the runtime's
  // random() for runtime_timers (a simulation's seed replays it), fixed for
  // manual_timers, troupe::random_u64() otherwise.
  virtual std::uint64_t random();
};

// A runtime's timing wheel (virtual time under a simulation). A cheap view
// over the runtime. Filters (timeout, retry, breaker) keep a reference to
// the timer_source they are given: keep the runtime_timers object alive as
// long as the services made with them (within(rt, d) needs no such care).
class runtime_timers final : public timer_source {
 public:
  // A view over `rt`, which must outlive it.
  explicit runtime_timers(runtime& rt) noexcept : rt_(rt) {}
  time_point now() const override;
  std::shared_ptr<pending_call> call_after(duration delay, std::function<void()> fn) override;
  std::uint64_t random() override;

 private:
  runtime& rt_;
};

// Virtual time for tests. Thread-safe; calls run on the thread that calls
// advance(), in deadline order (ties: in the order they were scheduled).
class manual_timers final : public timer_source {
 public:
  manual_timers() = default;
  std::uint64_t random() override;  // the same sequence every run
  time_point now() const override;
  std::shared_ptr<pending_call> call_after(duration delay, std::function<void()> fn) override;
  // Moves time forward by `step`, running every call due by then.
  void advance(duration step);
  // Calls scheduled and not yet run or cancelled.
  std::size_t pending() const;

 private:
  struct entry;
  mutable std::mutex mutex_;
  time_point now_{};
  std::uint64_t next_seq_ = 0;
  std::map<std::pair<time_point, std::uint64_t>, std::shared_ptr<entry>> due_;
  std::uint64_t random_state_ = 0x853C49E6748FEA9BULL;
};

}  // namespace troupe
