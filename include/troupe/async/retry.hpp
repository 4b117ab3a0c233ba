// retry(timers, options): sends a failed call again, with exponential
// backoff and full jitter, within a retry budget.
//
// Only failures the `retryable` predicate accepts are retried; by default
// those marked error::retryable() (rejected before the backend acted on
// them: a full concurrency limit, an open circuit). Retrying a request the
// backend may have acted on is the application's call: pass a predicate.
//
// Backoff before retry n (0-based): uniform in [0, min(max, base * 2^n)]
// ("full jitter"), so clients that failed together do not retry together.
//
// Budget (a token bucket, shared by every call through this filter): each
// call deposits `percent` of a token, time adds `min_per_second` tokens a
// second, the balance is capped at `max_balance`, and each retry takes one
// token. With no token left the failure is returned as is: retries cannot
// multiply the load on a backend that is already failing.
// Interrupting the call stops the retries (and the attempt under way).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>

#include "troupe/async/service.hpp"
#include "troupe/async/timer_source.hpp"

namespace troupe {

// The token bucket that bounds retries; see the top of this file.
struct retry_budget {
  // Tokens each call deposits (0.2: one retry per five calls).
  double percent = 0.2;
  // Tokens added per second of time; also the starting balance.
  double min_per_second = 10;
  // Cap on the balance, in tokens.
  double max_balance = 100;
};

// What retry() retries, how often, and how long it waits.
struct retry_options {
  // Retries per call at most, after the first attempt.
  unsigned max_retries = 3;
  // Backoff ceiling before the first retry; doubles with each one.
  duration backoff_base = std::chrono::milliseconds(10);
  // Cap on the backoff ceiling.
  duration backoff_max = std::chrono::seconds(1);
  // The budget shared by every call through the filter.
  retry_budget budget{};
  // Which failures to retry; empty: those marked error::retryable().
  std::function<bool(const error&)> retryable{};  // default: error::retryable()
  // Seed of the jitter; 0: one from the timers.
  std::uint64_t seed = 0;                        // jitter; 0: from the clock
};

// Decisions and counters; thread-safe.
class retry_core {
 public:
  // `timers` gives the clock and the sleeps and must outlive the core.
  retry_core(timer_source& timers, retry_options options);
  // Counts a new call: deposits its share of a token.
  void on_call();
  // True (and a token taken) if failure `e` of attempt `attempt` (0 for the
  // first call) may be retried.
  bool should_retry(const error& e, unsigned attempt);
  // How long to wait before retry `attempt` (0-based): full jitter.
  duration backoff(unsigned attempt);
  // The timers the filter sleeps on.
  timer_source& timers() const noexcept { return timers_; }
  // Retries made so far.
  std::uint64_t retries() const;
  // Retries refused for want of a token.
  std::uint64_t budget_exhausted() const;
  // Tokens in the bucket now.
  double balance() const;

 private:
  void refill_locked(time_point now);
  timer_source& timers_;
  const retry_options options_;
  mutable std::mutex mutex_;
  double balance_;
  time_point refilled_at_;
  std::mt19937_64 jitter_;
  std::uint64_t retries_ = 0;
  std::uint64_t exhausted_ = 0;
};

// The filter retry() makes; copies share one retry_core.
class retry_filter {
 public:
  // Marks the class as a filter.
  using filter_tag = void;
  // `timers` must outlive the filter and its services.
  retry_filter(timer_source& timers, retry_options options = {})
      : core_(std::make_shared<retry_core>(timers, std::move(options))) {}

  // Decisions and counters, for observation and tests.
  const retry_core& core() const noexcept { return *core_; }

  // `next` with retries: a failed call is sent again while allowed.
  template <class Req, class Rep>
  service<Req, Rep> wrap(service<Req, Rep> next) const {
    return service<Req, Rep>([core = core_, next = std::move(next)](Req request) {
      core->on_call();
      return attempt(core, std::move(next), std::move(request), 0);
    });
  }

 private:
  template <class Req, class Rep>
  static future<Rep> attempt(std::shared_ptr<retry_core> core, service<Req, Rep> next, Req request,
                             unsigned n) {
    future<Rep> reply = next(request);
    return reply.rescue([core, next = std::move(next), request = std::move(request),
                         n](const error& e) mutable -> future<Rep> {
      if (!core->should_retry(e, n)) return make_failed<Rep>(e);
      return sleep_for(core->timers(), core->backoff(n))
          .then([core, next = std::move(next), request = std::move(request), n]() mutable {
            return attempt(core, std::move(next), std::move(request), n + 1);
          });
    });
  }
  std::shared_ptr<retry_core> core_;
};

// A retry filter; see the top of this file.
inline retry_filter retry(timer_source& timers, retry_options options = {}) {
  return retry_filter(timers, std::move(options));
}

}  // namespace troupe
