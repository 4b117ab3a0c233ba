// channel<T>: Go's channels (and Plan 9's Channel) for threads and
// coroutines alike.
//
//   channel<int> jobs(16);                 // buffered; channel<int> c; is unbuffered
//   jobs.send(7);                          // blocks while full; errc::closed once closed
//   std::optional<int> j = jobs.recv();    // blocks while empty; nullopt: closed and drained
//   jobs.close();                          // receivers drain what is buffered, then see closed
//
//   // in a coroutine actor (or any coroutine): waits without blocking a thread
//   result<void> sent = co_await jobs.async_send(8);
//   std::optional<int> got = co_await jobs.async_recv();
//
// Capacity 0 is unbuffered: a send completes when a receiver takes the
// value. Blocking calls are for plain threads: on an actor's thread they
// throw std::logic_error (they would stall a worker); coroutines co_await.
// A coroutine actor is resumed in its own context (between its messages).
// A channel is a shared handle: copies are the same channel.
// select over several channels: troupe/sync/select.hpp.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "troupe/core/error.hpp"
#include "troupe/sync/detail/channel_core.hpp"

namespace troupe {

using detail::chan_status;  // ok, would_block, closed

// What try_recv found.
template <class T>
struct received {
  // ok: `value` holds one; would_block: none ready; closed: closed and drained.
  chan_status status = chan_status::would_block;
  // The value received when status is ok.
  std::optional<T> value;
  // Whether a value was received.
  explicit operator bool() const noexcept { return status == chan_status::ok; }
};

namespace detail {
template <class T>
inline const element_ops element_ops_of = {
    sizeof(T), alignof(T),
    [](void* dst, void* src) { ::new (dst) T(std::move(*static_cast<T*>(src))); },
    [](void* p) { static_cast<T*>(p)->~T(); },
    [](void* dst, void* src) { static_cast<std::optional<T>*>(dst)->emplace(std::move(*static_cast<T*>(src))); },
};
void check_may_block_on_channel();
}  // namespace detail

// A channel of T: a shared handle, buffered up to its capacity (see above).
template <class T>
class channel {
  // Values move under the channel's lock, after a waiter was chosen: a
  // throwing move there could not be undone.
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "channel<T>: T must be nothrow move constructible");

 public:
  using value_type = T;

  // Holds up to `capacity` values unreceived; 0: unbuffered.
  explicit channel(std::size_t capacity = 0)
      : core_(detail::make_channel(detail::element_ops_of<T>, capacity)) {}

  // Blocking (plain threads only).
  result<void> send(T value) {
    detail::check_may_block_on_channel();
    detail::select_case c{core_.get(), true, &value};
    auto out = detail::select_blocking(&c, 1, false, std::chrono::steady_clock::time_point::max());
    if (out.status == chan_status::closed) return error(errc::closed, "send on a closed channel");
    return {};
  }
  // Waits for a value; nullopt once closed and drained.
  std::optional<T> recv() {
    detail::check_may_block_on_channel();
    std::optional<T> slot;
    detail::select_case c{core_.get(), false, &slot};
    detail::select_blocking(&c, 1, false, std::chrono::steady_clock::time_point::max());
    return slot;
  }

  // Never block (any thread). The value is moved only if it was sent.
  chan_status try_send(T&& value) {
    detail::select_case c{core_.get(), true, &value};
    return detail::select_blocking(&c, 1, true, {}).status;
  }
  // Sends a copy of `value`.
  chan_status try_send(const T& value) {
    T copy(value);
    return try_send(std::move(copy));
  }
  // A value if one is ready now, else why not.
  received<T> try_recv() {
    received<T> r;
    detail::select_case c{core_.get(), false, &r.value};
    r.status = detail::select_blocking(&c, 1, true, {}).status;
    return r;
  }

  // Closes the channel (idempotent): blocked and later senders get
  // errc::closed; receivers get what is buffered, then nullopt.
  void close() { detail::chan_close(*core_); }
  // Whether close() was called.
  bool is_closed() const { return detail::chan_is_closed(*core_); }
  // Values buffered now.
  std::size_t size() const { return detail::chan_size(*core_); }
  // The capacity it was made with.
  std::size_t capacity() const noexcept { return detail::chan_capacity(*core_); }

  // Awaitables: co_await ch.async_send(v) -> result<void>,
  // co_await ch.async_recv() -> std::optional<T>.
  auto async_send(T value);
  // co_await: the next value, or nullopt once closed and drained.
  auto async_recv();

  // The shared core, for select (select.hpp).
  detail::chan_core* core() const noexcept { return core_.get(); }

 private:
  std::shared_ptr<detail::chan_core> core_;
};

namespace detail {

template <class T>
class send_awaiter {
 public:
  send_awaiter(chan_core* ch, T value)
      : value_(std::move(value)), case_{ch, true, &value_}, op_(&case_, 1, std::chrono::steady_clock::duration::max()) {}
  send_awaiter(const send_awaiter&) = delete;
  bool await_ready() { return op_.ready_now(); }
  bool await_suspend(std::coroutine_handle<> h) { return op_.suspend(h); }
  result<void> await_resume() {
    if (op_.finish().status == chan_status::closed)
      return error(errc::closed, "send on a closed channel");
    return {};
  }

 private:
  T value_;
  select_case case_;
  coro_select op_;
};

template <class T>
class recv_awaiter {
 public:
  explicit recv_awaiter(chan_core* ch)
      : case_{ch, false, &slot_}, op_(&case_, 1, std::chrono::steady_clock::duration::max()) {}
  recv_awaiter(const recv_awaiter&) = delete;
  bool await_ready() { return op_.ready_now(); }
  bool await_suspend(std::coroutine_handle<> h) { return op_.suspend(h); }
  std::optional<T> await_resume() {
    op_.finish();
    return std::move(slot_);
  }

 private:
  std::optional<T> slot_;
  select_case case_;
  coro_select op_;
};

}  // namespace detail

template <class T>
auto channel<T>::async_send(T value) {
  return detail::send_awaiter<T>(core_.get(), std::move(value));
}
template <class T>
auto channel<T>::async_recv() {
  return detail::recv_awaiter<T>(core_.get());
}

}  // namespace troupe
