// breaker(timers, options): a circuit breaker with failure accrual.
//
//   closed     calls pass; `failures_to_open` failures in a row open it
//   open       calls fail at once with errc::circuit_open (retryable: the
//              backend never saw them) for `open_for`, doubled after each
//              failed probe up to `max_open_for`
//   half-open  one probe call passes (the others fail fast); its success
//              closes the circuit, its failure opens it again
// Which failures count is the `counts_as_failure` predicate's choice (by
// default every failure but errc::interrupted, which the caller chose).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "troupe/async/service.hpp"
#include "troupe/async/timer_source.hpp"

namespace troupe {

struct breaker_options {
  unsigned failures_to_open = 5;
  duration open_for = std::chrono::seconds(5);
  duration max_open_for = std::chrono::seconds(60);
  std::function<bool(const error&)> counts_as_failure;
};

enum class breaker_state { closed, open, half_open };

// The state machine; thread-safe. Exposed for observation and tests.
class breaker_core {
 public:
  breaker_core(timer_source& timers, breaker_options options);
  // Whether a call may go ahead now; a half-open circuit lets one through.
  bool allow();
  void on_success();
  void on_failure(const error& e);
  breaker_state state() const;
  std::uint64_t rejected() const;
  std::uint64_t times_opened() const;
  error rejection() const;

 private:
  void open_locked(time_point now);
  timer_source& timers_;
  const breaker_options options_;
  mutable std::mutex mutex_;
  breaker_state state_ = breaker_state::closed;
  unsigned consecutive_failures_ = 0;
  time_point reopen_at_{};
  duration current_open_for_;
  bool probe_in_flight_ = false;
  std::uint64_t rejected_ = 0;
  std::uint64_t opened_ = 0;
};

class breaker_filter {
 public:
  using filter_tag = void;
  breaker_filter(timer_source& timers, breaker_options options = {})
      : core_(std::make_shared<breaker_core>(timers, std::move(options))) {}

  const breaker_core& core() const noexcept { return *core_; }

  template <class Req, class Rep>
  service<Req, Rep> wrap(service<Req, Rep> next) const {
    return service<Req, Rep>([core = core_, next = std::move(next)](Req request) -> future<Rep> {
      if (!core->allow()) return make_failed<Rep>(core->rejection());
      future<Rep> reply = next(std::move(request));
      detail::on_complete(reply, [core](const result<Rep>& r) {
        if (r)
          core->on_success();
        else
          core->on_failure(r.error());
      });
      return reply;
    });
  }

 private:
  std::shared_ptr<breaker_core> core_;
};

inline breaker_filter breaker(timer_source& timers, breaker_options options = {}) {
  return breaker_filter(timers, std::move(options));
}

}  // namespace troupe
