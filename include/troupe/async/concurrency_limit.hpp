// concurrency_limit(n): at most n calls in flight through this filter; one
// more is rejected at once with errc::overloaded, marked retryable (it was
// never sent). Back pressure instead of an unbounded queue.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "troupe/async/service.hpp"

namespace troupe {

// The filter concurrency_limit() makes; copies share one count.
class concurrency_limit_filter {
 public:
  // Marks the class as a filter.
  using filter_tag = void;
  // Lets at most `max_in_flight` calls be in flight at once.
  explicit concurrency_limit_filter(std::size_t max_in_flight)
      : state_(std::make_shared<counter>(max_in_flight)) {}

  // Calls in flight now.
  std::size_t in_flight() const noexcept { return state_->in_flight.load(std::memory_order_relaxed); }
  // Calls rejected with errc::overloaded so far.
  std::uint64_t rejected() const noexcept { return state_->rejected.load(std::memory_order_relaxed); }

  // `next` behind the limit: a call over it fails at once.
  template <class Req, class Rep>
  service<Req, Rep> wrap(service<Req, Rep> next) const {
    return service<Req, Rep>([st = state_, next = std::move(next)](Req request) -> future<Rep> {
      if (!st->try_enter()) return make_failed<Rep>(st->rejection());
      future<Rep> reply;
      try {
        reply = next(std::move(request));
      } catch (...) {
        st->leave();
        throw;
      }
      detail::on_complete(reply, [st](const result<Rep>&) { st->leave(); });
      return reply;
    });
  }

 private:
  struct counter {
    explicit counter(std::size_t max) : limit(max) {}
    bool try_enter() noexcept {
      if (in_flight.fetch_add(1, std::memory_order_acq_rel) < limit) return true;
      in_flight.fetch_sub(1, std::memory_order_acq_rel);
      rejected.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    void leave() noexcept { in_flight.fetch_sub(1, std::memory_order_acq_rel); }
    error rejection() const {
      return error(errc::overloaded, "concurrency limit " + std::to_string(limit) + " reached")
          .mark_retryable();
    }
    const std::size_t limit;
    std::atomic<std::size_t> in_flight{0};
    std::atomic<std::uint64_t> rejected{0};
  };
  std::shared_ptr<counter> state_;
};

// At most `max_in_flight` calls in flight; see the top of this file.
inline concurrency_limit_filter concurrency_limit(std::size_t max_in_flight) {
  return concurrency_limit_filter(max_in_flight);
}

}  // namespace troupe
