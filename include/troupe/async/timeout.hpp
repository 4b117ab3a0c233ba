// timeout(timers, d): fails a call with errc::timeout after `d` and
// interrupts it (so a backend that listens stops working on it).
#pragma once

#include <memory>

#include "troupe/async/service.hpp"
#include "troupe/async/timer_source.hpp"

namespace troupe {

// The filter timeout() makes.
class timeout_filter {
 public:
  // Marks the class as a filter.
  using filter_tag = void;
  // `timers` must outlive the services made from this filter.
  timeout_filter(timer_source& timers, duration limit) : timers_(&timers), limit_(limit) {}

  // `next`, with each call failed and interrupted after the limit.
  template <class Req, class Rep>
  service<Req, Rep> wrap(service<Req, Rep> next) const {
    return service<Req, Rep>(
        [timers = timers_, limit = limit_, next = std::move(next)](Req request) {
          return next(std::move(request)).within(*timers, limit);
        });
  }

 private:
  timer_source* timers_;
  duration limit_;
};

// Fails calls with no outcome within `limit`; see the top of this file.
inline timeout_filter timeout(timer_source& timers, duration limit) { return {timers, limit}; }

}  // namespace troupe
