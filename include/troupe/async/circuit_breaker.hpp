// breaker(timers, options): a circuit breaker with failure accrual.
//
//   closed     calls pass; `failures_to_open` failures in a row open it
//   open       calls fail at once with errc::circuit_open (retryable: the
//              backend never saw them) for `open_for`, doubled after each
//              failed probe up to `max_open_for`
//   half-open  one probe call passes (the others fail fast); its success
//              closes the circuit, its failure opens it again. A probe
//              with no outcome after the current open period counts as
//              lost: another probe may go.
// Only outcomes of calls admitted in the current state count: a slow call
// from before the circuit opened cannot close it, or reopen it, later.
// Which failures count is the `counts_as_failure` predicate's choice (by
// default every failure but errc::interrupted, which the caller chose).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "troupe/async/service.hpp"
#include "troupe/async/timer_source.hpp"

namespace troupe {

// When a breaker opens and for how long.
struct breaker_options {
  // Failures in a row that open a closed circuit.
  unsigned failures_to_open = 5;
  // How long the circuit first stays open before a probe may go.
  duration open_for = std::chrono::seconds(5);
  // Cap on the open period, which doubles after each failed probe.
  duration max_open_for = std::chrono::seconds(60);
  // Whether a failure counts; empty: all but errc::interrupted.
  std::function<bool(const error&)> counts_as_failure{};
};

// Where a breaker is: calls pass, fail fast, or one probe goes.
enum class breaker_state { closed, open, half_open };

// A call let through: which state period admitted it, and whether it is
// the half-open probe.
struct breaker_ticket {
  // The state period that admitted the call; bumped on every change.
  std::uint64_t generation = 0;
  // Whether the call is the half-open probe.
  bool probe = false;
};

// The state machine; thread-safe. Exposed for observation and tests.
class breaker_core {
 public:
  // Starts closed; `timers` gives the clock and must outlive the core.
  breaker_core(timer_source& timers, breaker_options options);
  // A ticket if a call may go ahead now (a half-open circuit lets one
  // probe through), else nothing: fail fast.
  std::optional<breaker_ticket> admit();
  // Reports a call admitted with `ticket` as succeeded.
  void on_success(const breaker_ticket& ticket);
  // Reports a call admitted with `ticket` as failed with `e`.
  void on_failure(const breaker_ticket& ticket, const error& e);
  // The current state.
  breaker_state state() const;
  // Calls failed fast so far.
  std::uint64_t rejected() const;
  // How often the circuit has opened.
  std::uint64_t times_opened() const;
  // The error a failed-fast call gets: errc::circuit_open, retryable.
  error rejection() const;

 private:
  void open_locked(time_point now);
  void move_to_locked(breaker_state next);
  timer_source& timers_;
  const breaker_options options_;
  mutable std::mutex mutex_;
  breaker_state state_ = breaker_state::closed;
  std::uint64_t generation_ = 0;  // bumped on every change of state
  unsigned consecutive_failures_ = 0;
  time_point reopen_at_{};
  duration current_open_for_;
  bool probe_in_flight_ = false;
  time_point probe_started_{};
  std::uint64_t rejected_ = 0;
  std::uint64_t opened_ = 0;
};

// The filter breaker() makes; copies share one breaker_core.
class breaker_filter {
 public:
  // Marks the class as a filter.
  using filter_tag = void;
  // A closed breaker; `timers` must outlive the filter and its services.
  breaker_filter(timer_source& timers, breaker_options options = {})
      : core_(std::make_shared<breaker_core>(timers, std::move(options))) {}

  // The shared state machine, for observation and tests.
  const breaker_core& core() const noexcept { return *core_; }

  // `next` behind this breaker: calls it only when admitted.
  template <class Req, class Rep>
  service<Req, Rep> wrap(service<Req, Rep> next) const {
    return service<Req, Rep>([core = core_, next = std::move(next)](Req request) -> future<Rep> {
      const std::optional<breaker_ticket> ticket = core->admit();
      if (!ticket) return make_failed<Rep>(core->rejection());
      future<Rep> reply = next(std::move(request));
      detail::on_complete(reply, [core, t = *ticket](const result<Rep>& r) {
        if (r)
          core->on_success(t);
        else
          core->on_failure(t, r.error());
      });
      return reply;
    });
  }

 private:
  std::shared_ptr<breaker_core> core_;
};

// A circuit breaker filter; see the top of this file.
inline breaker_filter breaker(timer_source& timers, breaker_options options = {}) {
  return breaker_filter(timers, std::move(options));
}

}  // namespace troupe
