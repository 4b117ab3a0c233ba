// timer_handle: cancels a timer made by send_after / send_interval.
//
// Timers live on the runtime's hierarchical timing wheel (one thread per
// runtime, not one per timer). cancel() is idempotent and safe from any
// thread, even after the runtime is gone. Cancellation semantics: once
// cancel() returns, the timer fires no more; a message that already fired
// is already in the target's mailbox and stays there.
#pragma once

#include <chrono>
#include <memory>

namespace troupe {

// Timeouts, delays and periods: the steady clock's duration.
using duration = std::chrono::steady_clock::duration;
// A point in time on the steady clock (a deadline).
using time_point = std::chrono::steady_clock::time_point;

// Passed as a timeout: wait without a deadline.
inline constexpr duration infinite = duration::max();
// Passed as a request timeout: use config::default_request_timeout.
inline constexpr duration default_timeout = duration(-1);

// now + d on the steady clock, saturating: `infinite` (or any huge d) is
// no deadline (time_point::max()).
inline time_point deadline_after(duration d) {
  if (d == duration::max()) return time_point::max();  // no clock read for "never"
  const auto now = std::chrono::steady_clock::now();
  if (d >= time_point::max() - now) return time_point::max();
  return now + d;
}

namespace detail {
struct timer_entry;
}

// A timer made by send_after, send_interval or call_after (see above);
// copies share the timer. Default-constructed: no timer.
class timer_handle {
 public:
  timer_handle() = default;
  // Internal: made by the runtime.
  explicit timer_handle(std::shared_ptr<detail::timer_entry> entry) : entry_(std::move(entry)) {}
  // True if this call stopped the timer before it fired (for a periodic
  // timer: before its next firing); false if it had fired or was cancelled.
  bool cancel() noexcept;
  // True until the timer fired (one-shot) or was cancelled.
  bool active() const noexcept;

 private:
  std::shared_ptr<detail::timer_entry> entry_;
};

}  // namespace troupe
