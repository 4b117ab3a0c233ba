// Coroutine actors: an actor body written as a C++20 coroutine.
//
//   rt.spawn([](actor& self) -> task {
//     auto job = co_await self.receive<start>();            // waits, no worker blocked
//     auto r = co_await self.request<int>(worker, job->n, 1s);
//     auto next = co_await self.receive<ping, stop>(500ms);  // selective, with timeout
//     if (!next) ...  // next.error() == errc::timeout
//   });
//
// Selective receive: messages of other types stay queued in their order and
// are seen by later receives. Each message type has its own queue, so taking
// the oldest match costs O(number of types asked for), whatever the backlog;
// a reply to a request never scans user messages at all (it arrives in the
// system lane, keyed by request id).
// The received message becomes "current": self.reply() and self.sender()
// refer to it until the next receive.
// The coroutine's frame is owned by its actor: when the actor ends (killed,
// or at runtime shutdown) the frame is destroyed at its suspension point.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "troupe/core/actor.hpp"
#include "troupe/core/receive.hpp"

namespace troupe {

// What a coroutine actor's body returns (see above); the actor owns
// its frame.
class [[nodiscard]] task {
 public:
  // The coroutine's promise, used by the compiler.
  struct promise_type {
    // The task that owns the new coroutine.
    task get_return_object() noexcept {
      return task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    // Starts suspended: the body runs in the actor's first turn.
    std::suspend_always initial_suspend() noexcept { return {}; }
    // Stays suspended at the end, so that the actor sees it done and frees
    // the frame.
    std::suspend_always final_suspend() noexcept { return {}; }
    // The body returned: the actor ends (normal, or its quit() reason).
    void return_void() noexcept {}
    // Keeps what escaped the body; the actor ends with reason error.
    void unhandled_exception() noexcept { failure = std::current_exception(); }
    // The exception that escaped the body; null if none.
    std::exception_ptr failure;
  };

  task() = default;
  // Takes over `other`'s coroutine; `other` becomes empty.
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  // Swaps coroutines with `other`, whose destructor frees this one's.
  task& operator=(task&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  ~task() {
    if (handle_) handle_.destroy();
  }
  // Gives up the coroutine handle; the caller destroys the frame.
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, nullptr); }
  // Whether it holds a coroutine.
  explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

 private:
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

// Implemented by the actor cell (src/core/coroutine.cpp). coro_wait returns
// false when there is nothing to wait for (a zero timeout).
message* coro_take(actor& self, const type_key* keys, std::size_t count);
bool coro_wait(actor& self, const type_key* keys, std::size_t count, duration timeout,
               std::coroutine_handle<> waiter, message** slot);
void coro_make_current(actor& self, message* msg);

template <class... Ts>
class receive_awaiter {
  using rx = received<Ts...>;

 public:
  receive_awaiter(actor& self, duration timeout) : self_(self), timeout_(timeout) {}
  bool await_ready() {
    got_ = coro_take(self_, rx::keys, rx::count);
    return got_ != nullptr;
  }
  bool await_suspend(std::coroutine_handle<> waiter) {
    return coro_wait(self_, rx::keys, rx::count, timeout_, waiter, &got_);
  }
  result<typename rx::value_type> await_resume() {
    if (!got_) return error(errc::timeout);
    coro_make_current(self_, got_);
    return rx::take(*got_);
  }

 private:
  actor& self_;
  duration timeout_;
  message* got_ = nullptr;
};

template <class R>
class request_awaiter {
  struct resume_on_reply final : reply_handler {
    resume_on_reply(request_awaiter& a, std::coroutine_handle<> h) : awaiter(a), waiter(h) {}
    void on_reply(actor&, message& reply) override {
      awaiter.outcome_.emplace(take_reply<R>(reply));
      waiter.resume();
    }
    void on_error(actor&, error err) override {
      awaiter.outcome_.emplace(std::move(err));
      waiter.resume();
    }
    request_awaiter& awaiter;
    std::coroutine_handle<> waiter;
  };

 public:
  explicit request_awaiter(request_handle<R> handle) : handle_(handle) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> waiter) {
    handle_.self().set_reply_handler(handle_.id(),
                                     std::make_unique<resume_on_reply>(*this, waiter));
  }
  result<R> await_resume() { return std::move(*outcome_); }

 private:
  request_handle<R> handle_;
  std::optional<result<R>> outcome_;
};

}  // namespace detail

template <class... Ts>
auto actor::receive(duration timeout) {
  return detail::receive_awaiter<Ts...>(*this, timeout);
}

// co_await on a request: suspends until the reply or the error, as a
// result<R>.
template <class R>
auto operator co_await(request_handle<R>&& handle) {
  static_assert(!std::is_void_v<R>, "co_await self.request<R>(...): name the reply type R");
  return detail::request_awaiter<R>(handle);
}

}  // namespace troupe
