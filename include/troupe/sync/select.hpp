// select: wait for the first of several channel operations (Go's select,
// Plan 9's alt). Exactly one case happens; when several are ready the
// choice is random (fair: no case starves).
//
//   int which = select(
//       on_recv(keys, [&](std::optional<key> k) { ... }),   // nullopt: closed
//       on_send(out, line, [&](bool sent) { ... }),           // false: closed
//       on_timeout(100ms, [&] { ... }));                      // or on_default(...)
//
//   // in a coroutine (actor): the same cases, without blocking a thread
//   int which = co_await async_select(on_recv(keys, ...), on_send(out, ...));
//
// Returns the argument position of the case that ran. A send case owns its
// value; if another case wins, the value is dropped with the select.
// on_timeout in async_select needs an actor (its runtime's timers).
#pragma once

#include <chrono>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "troupe/core/timer.hpp"
#include "troupe/sync/channel.hpp"

namespace troupe {

// A case receiving from a channel; made by on_recv.
template <class T, class F>
struct recv_case {
  // A channel operation (not a default or a timeout).
  static constexpr bool is_channel_case = true;
  // The channel received from.
  detail::chan_core* channel;
  // Called with the value, or nullopt if the channel is closed.
  F fn;
  // Where the received value lands.
  std::optional<T> slot;
  // The case, type-erased for the select core.
  detail::select_case erase() { return {channel, false, &slot}; }
  // Hands the received value to fn.
  void run(chan_status) { fn(std::move(slot)); }
};

// A case sending a value on a channel; made by on_send.
template <class T, class F>
struct send_case {
  // A channel operation (not a default or a timeout).
  static constexpr bool is_channel_case = true;
  // The channel sent on.
  detail::chan_core* channel;
  // The value to send; dropped with the select if another case wins.
  T value;
  // Called with true if sent, false if the channel is closed.
  F fn;
  // The case, type-erased for the select core.
  detail::select_case erase() { return {channel, true, &value}; }
  // Tells fn whether the value was sent.
  void run(chan_status status) { fn(status == chan_status::ok); }
};

// A case taken when no channel case is ready at once; made by on_default.
template <class F>
struct default_case {
  // Not a channel operation.
  static constexpr bool is_channel_case = false;
  // Not a timeout: the select never waits.
  static constexpr bool is_timeout = false;
  // Called when nothing was ready.
  F fn;
};

// A case taken when no channel case happens in time; made by on_timeout.
template <class F>
struct timeout_case {
  // Not a channel operation.
  static constexpr bool is_channel_case = false;
  // A timeout: the select waits at most `after`.
  static constexpr bool is_timeout = true;
  // How long the select waits for a channel case.
  duration after;
  // Called when the time is up.
  F fn;
};

// Receive from `c`: fn(std::optional<T>) runs if this case wins
// (nullopt: closed and drained).
template <class T, class F>
recv_case<T, F> on_recv(channel<T>& c, F fn) {
  return {c.core(), std::move(fn), std::nullopt};
}
// Send `value` on `c`: fn(bool) runs if this case wins (false: closed).
template <class T, class F>
send_case<T, F> on_send(channel<T>& c, std::type_identity_t<T> value, F fn) {
  return {c.core(), std::move(value), std::move(fn)};
}
// Send `value` on `c`, with nothing to run after.
template <class T>
auto on_send(channel<T>& c, std::type_identity_t<T> value) {
  return on_send(c, std::move(value), [](bool) {});
}
// fn() runs if no channel case is ready at once: the select does not wait.
template <class F>
default_case<F> on_default(F fn) {
  return {std::move(fn)};
}
// fn() runs if no channel case happens within `after`.
template <class F>
timeout_case<F> on_timeout(duration after, F fn) {
  return {after, std::move(fn)};
}

namespace detail {

// The cases of one select, type-erased for the core, and the way back from
// the core's channel-case index to the argument position.
template <class... Cases>
class select_plan {
 public:
  static constexpr int channel_count = (0 + ... + (Cases::is_channel_case ? 1 : 0));
  static constexpr int special_count = static_cast<int>(sizeof...(Cases)) - channel_count;
  static_assert(special_count <= 1, "select: at most one on_default or on_timeout case");

  explicit select_plan(Cases&&... cases) : cases_(std::move(cases)...) {
    int k = 0;
    int position = 0;
    std::apply(
        [&](auto&... c) {
          (
              [&](auto& one) {
                using C = std::decay_t<decltype(one)>;
                if constexpr (C::is_channel_case) {
                  erased_[k] = one.erase();
                  position_of_[k++] = position;
                } else {
                  special_position_ = position;
                  has_default_ = !C::is_timeout;
                  if constexpr (C::is_timeout) timeout_ = one.after;
                }
                ++position;
              }(c),
              ...);
        },
        cases_);
  }
  select_plan(const select_plan&) = delete;

  select_case* cases() noexcept { return erased_; }
  bool has_default() const noexcept { return has_default_; }
  duration timeout() const noexcept { return timeout_; }

  // Runs the handler of what happened; returns its argument position.
  int finish(select_outcome out) {
    const int position = out.index >= 0 ? position_of_[out.index] : special_position_;
    int at = 0;
    std::apply(
        [&](auto&... c) {
          (
              [&](auto& one) {
                if (at++ != position) return;
                using C = std::decay_t<decltype(one)>;
                if constexpr (C::is_channel_case)
                  one.run(out.status);
                else
                  one.fn();
              }(c),
              ...);
        },
        cases_);
    return position;
  }

 private:
  std::tuple<Cases...> cases_;
  select_case erased_[channel_count > 0 ? channel_count : 1];
  int position_of_[channel_count > 0 ? channel_count : 1];
  int special_position_ = -1;
  bool has_default_ = false;
  duration timeout_ = duration::max();
};

template <class... Cases>
class select_awaiter {
 public:
  explicit select_awaiter(Cases&&... cases)
      : plan_(std::move(cases)...),
        op_(plan_.cases(), plan_.channel_count, plan_.has_default() ? duration::zero() : plan_.timeout()) {}
  select_awaiter(const select_awaiter&) = delete;
  bool await_ready() {
    if (op_.ready_now()) return true;
    if (plan_.has_default()) {
      if (op_.ready_under_locks()) return true;
      defaulted_ = true;
      return true;
    }
    return false;
  }
  bool await_suspend(std::coroutine_handle<> h) { return op_.suspend(h); }
  int await_resume() {
    if (defaulted_) return plan_.finish({default_fired, chan_status::would_block});
    return plan_.finish(op_.finish());
  }

 private:
  select_plan<Cases...> plan_;
  coro_select op_;
  bool defaulted_ = false;
};

}  // namespace detail

// Blocking (plain threads). Runs the handler of the case that happened and
// returns its argument position.
template <class... Cases>
int select(Cases... cases) {
  detail::select_plan<Cases...> plan(std::move(cases)...);
  if (!plan.has_default()) detail::check_may_block_on_channel();
  const auto deadline = deadline_after(plan.timeout());
  return plan.finish(
      detail::select_blocking(plan.cases(), plan.channel_count, plan.has_default(), deadline));
}

// For coroutines: co_await runs the handler of the case that happened and
// gives its argument position, without blocking a thread.
template <class... Cases>
auto async_select(Cases... cases) {
  return detail::select_awaiter<Cases...>(std::move(cases)...);
}

}  // namespace troupe
