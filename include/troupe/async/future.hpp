// future<T> and promise<T>: composable asynchronous values (Finagle's model).
//
//   promise<int> p;
//   future<std::string> f = p.get_future()
//       .map([](int n) { return n * 2; })                  // value -> value
//       .then([&](int n) { return lookup(n); })            // value -> future
//       .handle([](const error&) { return std::string("default"); });
//   p.set_value(21);
//
// A future is pending, or complete with a value or a failure (an `error`,
// which may carry an exception: errc::exception). Futures are shared
// handles: copies see the same outcome, and any number of continuations may
// be attached. A promise is set at most once; a second set_value throws
// error_exception(already_satisfied) (try_set_value returns false). When the
// last promise handle goes without a value the future fails with
// errc::broken_promise, so no future waits forever for a promise that is
// gone.
//
// Where continuations run:
//   - attached inside an actor (a handler, a coroutine, a continuation):
//     in that actor's context, between its messages, never concurrently
//     with its handlers. If the actor has ended by then, the continuation is
//     dropped and the futures it would have completed fail (broken_promise).
//   - attached elsewhere: on the thread that completes the future, or on the
//     executor given to via(). Chains never recurse deeply: continuations
//     that become ready while one runs are queued and run after it
//     (a per-thread trampoline), so long synchronous chains cannot overflow
//     the stack.
// Continuations of a future already complete run at once (in order).
//
// Interrupts: f.interrupt(why) tells the producer that the consumer no
// longer wants the value. The producer sees it through the handler it set
// with promise::on_interrupt; a future made by map/then/... passes it on
// to the future it currently waits for. A future that is already complete
// ignores it. An interrupt does not complete the future by itself: the
// producer decides (usually: fail it with `why`).
//
// Blocking: get(), outcome() and wait_for() block the calling thread and are
// refused (std::logic_error) on an actor's thread; use co_await or a
// continuation there.
#pragma once

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "troupe/async/detail/future_state.hpp"
#include "troupe/async/timer_source.hpp"
#include "troupe/core/actor.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/timer.hpp"

namespace troupe {

template <class T>
class future;
template <class T>
class promise;
class runtime;

template <class T>
struct is_future : std::false_type {};
template <class T>
struct is_future<future<T>> : std::true_type {};

namespace detail {

template <class T, class F>
struct node_of final : callback_node {
  explicit node_of(F f) : fn(std::move(f)) {}
  void run(state_base& source) noexcept override {
    fn(static_cast<state<T>&>(source).get());
    delete this;
  }
  F fn;
};

// Attaches fn(const result<T>&) to `s`, in the caller's context (or on
// `exec`); `internal` plumbing runs inline wherever the state completes.
template <class T, class F>
void attach(state<T>& s, F fn, troupe::executor* exec, bool internal) {
  auto* node = new node_of<T, F>(std::move(fn));
  if (internal)
    node->plumbing = true;
  else
    capture_context(*node, exec);
  s.add_callback(node);
}

template <class F, class T>
struct map_result {
  using type = std::invoke_result_t<F&, const T&>;
};
template <class F>
struct map_result<F, void> {
  using type = std::invoke_result_t<F&>;
};

// Calls f with the value (nothing for void) and sets `out` from what it
// returns or throws.
template <class U, class F, class T>
void complete_with(promise<U>& out, F& f, const result<T>& r) noexcept;

// `out` follows the future make() returns (then, rescue); an exception
// from make() fails it.
template <class U, class Make>
void become_result_of(promise<U>& out, Make make);

[[noreturn]] void throw_no_state();
// The runtime of the actor running on this thread; std::logic_error off
// an actor.
runtime& current_runtime();
void check_may_block();

}  // namespace detail

// A shared handle to a value that may not be there yet (see the top).
template <class T>
class [[nodiscard]] future {
 public:
  // What the future holds when it succeeds.
  using value_type = T;

  future() = default;
  // Over an existing shared state; for the library's plumbing.
  explicit future(detail::state_ref<T> s) noexcept : s_(std::move(s)) {}
  // A request made by an actor as a future (continuations run in that
  // actor). Interrupting it forgets the request and fails the future.
  future(request_handle<T>&& request);

  // Whether the future has a state (a default or moved-from one has not).
  bool valid() const noexcept { return static_cast<bool>(s_); }
  // Whether the future is complete. Never blocks.
  bool is_ready() const noexcept { return s_ && s_->ready(); }
  // The outcome if complete, else nullptr. Never blocks.
  const result<T>* poll() const noexcept { return is_ready() ? &s_->get() : nullptr; }

  // Blocking (not on an actor's thread): the outcome; the value, or the
  // failure thrown (its exception, or error_exception).
  result<T> outcome() const {
    wait();
    return s_->get();
  }
  // Blocking (not on an actor's thread): the value, or the failure thrown.
  T get() const {
    wait();
    const result<T>& r = s_->get();
    if (!r) r.error().raise();
    if constexpr (!std::is_void_v<T>) return *r;
  }
  // Blocking (not on an actor's thread): waits until complete.
  void wait() const {
    if (!s_) detail::throw_no_state();
    s_->wait();
  }
  // False if still pending after `timeout`.
  bool wait_for(duration timeout) const {
    if (!s_) detail::throw_no_state();
    return s_->wait_until(deadline_after(timeout));
  }

  // value -> U: a future of what f returns. A failure passes through; an
  // exception from f fails the result.
  template <class F>
  auto map(F f) const {
    using U = typename detail::map_result<F, T>::type;
    promise<U> out;
    future<U> next = out.get_future();
    next.s_->forward_interrupts_fresh(state());
    detail::attach(*state(),
                   [out = std::move(out), f = std::move(f)](const result<T>& r) mutable {
                     if (!r)
                       out.try_set_error(r.error());
                     else
                       detail::complete_with(out, f, r);
                   },
                   nullptr, false);
    return next;
  }

  // value -> future<U> (flat map): the future f returns becomes the result.
  template <class F>
  auto then(F f) const {
    using inner = typename detail::map_result<F, T>::type;
    static_assert(is_future<inner>::value, "then(f): f must return a future; use map()");
    using U = typename inner::value_type;
    promise<U> out;
    future<U> next = out.get_future();
    next.s_->forward_interrupts_fresh(state());
    detail::attach(*state(),
                   [out = std::move(out), f = std::move(f)](const result<T>& r) mutable {
                     if (!r) {
                       out.try_set_error(r.error());
                       return;
                     }
                     detail::become_result_of(out, [&] {
                       if constexpr (std::is_void_v<T>)
                         return f();
                       else
                         return f(*r);
                     });
                   },
                   nullptr, false);
    return next;
  }

  // error -> future<T>: recovers from a failure with another future (a
  // value passes through). f may rethrow or return a failed future.
  template <class F>
  future<T> rescue(F f) const {
    promise<T> out;
    future<T> next = out.get_future();
    next.s_->forward_interrupts_fresh(state());
    detail::attach(*state(),
                   [out = std::move(out), f = std::move(f)](const result<T>& r) mutable {
                     if (r) {
                       out.try_set_result(r);
                       return;
                     }
                     detail::become_result_of(out, [&] { return f(r.error()); });
                   },
                   nullptr, false);
    return next;
  }

  // error -> T: recovers from a failure with a value.
  template <class F>
  future<T> handle(F f) const {
    promise<T> out;
    future<T> next = out.get_future();
    next.s_->forward_interrupts_fresh(state());
    detail::attach(*state(),
                   [out = std::move(out), f = std::move(f)](const result<T>& r) mutable {
                     if (r) {
                       out.try_set_result(r);
                       return;
                     }
                     try {
                       if constexpr (std::is_void_v<T>) {
                         f(r.error());
                         out.try_set_value();
                       } else {
                         out.try_set_value(f(r.error()));
                       }
                     } catch (...) {
                       out.try_set_error(error::from_exception(std::current_exception()));
                     }
                   },
                   nullptr, false);
    return next;
  }

  // Runs f() whatever the outcome; the result has the same outcome (or f's
  // exception, if f throws).
  template <class F>
  future<T> ensure(F f) const {
    promise<T> out;
    future<T> next = out.get_future();
    next.s_->forward_interrupts_fresh(state());
    detail::attach(*state(),
                   [out = std::move(out), f = std::move(f)](const result<T>& r) mutable {
                     try {
                       f();
                     } catch (...) {
                       out.try_set_error(error::from_exception(std::current_exception()));
                       return;
                     }
                     out.try_set_result(r);
                   },
                   nullptr, false);
    return next;
  }

  // Side effect on completion: f(const result<T>&). Returns *this. An
  // exception from f has nowhere to go and is dropped.
  template <class F>
  const future& respond(F f) const {
    detail::attach(*state(),
                   [f = std::move(f)](const result<T>& r) mutable {
                     try {
                       f(r);
                     } catch (...) {
                     }
                   },
                   nullptr, false);
    return *this;
  }

  // The same outcome, or errc::timeout if none within `timeout`; on timeout
  // this future is interrupted with the timeout error (the work is
  // cancelled if its producer listens).
  future<T> within(timer_source& timers, duration timeout) const;
  // The same, on `rt`'s timers.
  future<T> within(runtime& rt, duration timeout) const;
  // Inside an actor: on its runtime's timers.
  future<T> within(duration timeout) const;

  // The same outcome, with continuations attached off-actor to the result
  // running on `exec`.
  future<T> via(executor& exec) const {
    promise<T> out;
    future<T> next = out.get_future();
    next.s_->forward_interrupts_fresh(state());
    detail::attach(*state(),
                   [out = std::move(out)](const result<T>& r) mutable { out.try_set_result(r); },
                   &exec, false);
    return next;
  }

  // Tells the producer the value is no longer wanted (see the top).
  void interrupt(error why = error(errc::interrupted)) const {
    if (s_) s_->interrupt(why);
  }

  // co_await f -> result<T>. In a coroutine actor the coroutine resumes in
  // its actor; elsewhere on the completing thread.
  auto operator co_await() const noexcept {
    struct awaiter {
      future f;
      bool await_ready() const noexcept { return f.is_ready(); }
      void await_suspend(std::coroutine_handle<> h) const {
        detail::attach(*f.state(), [h](const result<T>&) { h.resume(); }, nullptr, false);
      }
      result<T> await_resume() const { return f.s_->get(); }
    };
    return awaiter{*this};
  }

  // The shared state, for the library's plumbing; std::logic_error if empty.
  detail::state<T>* state() const {
    if (!s_) detail::throw_no_state();
    return s_.get();
  }

 private:
  template <class>
  friend class future;
  template <class>
  friend class promise;
  detail::state_ref<T> s_;
};

// The writable side. Copies share the state; the future fails with
// errc::broken_promise when the last copy goes unset.
template <class T>
class promise {
 public:
  promise() : s_(new detail::state<T>) { s_->promises.store(1, std::memory_order_relaxed); }
  // Another holder of the same state.
  promise(const promise& o) noexcept : s_(o.s_) {
    if (s_) s_->add_promise();
  }
  // Takes over `o`'s state; `o` is left empty.
  promise(promise&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  // Holds `o`'s state instead; the old one loses a holder.
  promise& operator=(promise o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~promise() {
    if (s_) s_->release_promise();
  }

  // A future of this promise's state; may be called any number of times.
  future<T> get_future() const {
    if (!s_) detail::throw_no_state();  // a moved-from promise
    s_->add_ref();
    return future<T>(detail::state_ref<T>(s_));
  }
  // Whether the promise has been set.
  bool is_ready() const noexcept { return s_->ready(); }

  // Throw error_exception(already_satisfied) if already set.
  template <class... Args>
  void set_value(Args&&... args) {
    if (!try_set_value(std::forward<Args>(args)...)) already_set();
  }
  // Fails the future with `e`; throws if already set, as set_value does.
  void set_error(error e) {
    if (!try_set_error(std::move(e))) already_set();
  }
  // Fails the future with `e` (errc::exception); throws if already set.
  void set_exception(std::exception_ptr e) { set_error(error::from_exception(std::move(e))); }
  // Completes the future with `r`, a value or a failure; throws if already set.
  void set_result(const result<T>& r) {
    if (!try_set_result(r)) already_set();
  }

  // False if already set.
  // The value is built before the promise is claimed: if T's constructor
  // throws, the exception reaches the caller and the promise stays unset.
  template <class... Args>
  bool try_set_value(Args&&... args) {
    if constexpr (std::is_void_v<T>) {
      static_assert(sizeof...(Args) == 0);
      return s_->set();
    } else {
      return s_->set(T(std::forward<Args>(args)...));
    }
  }
  // Fails the future with `e`; false if already set.
  bool try_set_error(error e) noexcept { return s_->set(std::move(e)); }
  // Completes the future with `r`; false if already set.
  bool try_set_result(const result<T>& r) noexcept { return s_->set(r); }

  // Completes this promise with whatever `source` completes with, and
  // passes interrupts on to it (Finagle's become).
  void become(future<T> source) {
    if (!source.valid()) {
      try_set_error(error(errc::broken_promise, "became an empty future"));
      return;
    }
    s_->forward_interrupts(source.state());
    detail::attach(*source.state(),
                   [out = *this](const result<T>& r) mutable { out.try_set_result(r); }, nullptr,
                   true);
  }

  // fn(const error&) runs once, on the interrupting thread, when the
  // consumer interrupts (at once if it already did). It must not own a copy
  // of this promise (that would keep the promise from ever breaking); use
  // weak() to complete it from the handler.
  template <class F>
  void on_interrupt(F fn) {
    s_->set_interrupt_handler(std::make_unique<detail::interrupt_handler_of<F>>(std::move(fn)));
  }

  // A handle that can set the value but does not count as a promise
  // holder (it does not keep the future from breaking).
  class weak_handle {
   public:
    // Refers to `s` without holding the promise.
    explicit weak_handle(detail::state<T>* s) noexcept : s_((s->add_ref(), s)) {}
    // Fails the future with `e`; false if already set.
    bool try_set_error(error e) const noexcept { return s_->set(std::move(e)); }
    // Completes the future with `r`; false if already set.
    bool try_set_result(const result<T>& r) const noexcept { return s_->set(r); }
    // Whether the future has been set.
    bool is_ready() const noexcept { return s_->ready(); }

   private:
    detail::state_ref<T> s_;
  };
  // A weak handle to this promise's state, e.g. for on_interrupt().
  weak_handle weak() const { return weak_handle(s_); }

 private:
  [[noreturn]] static void already_set() {
    throw error_exception(error(errc::already_satisfied, "promise already set"));
  }
  detail::state<T>* s_;
};

// Ready-made futures.
template <class T, class... Args>
future<T> make_value(Args&&... args) {
  promise<T> p;
  p.set_value(std::forward<Args>(args)...);
  return p.get_future();
}
// A future<void> already complete.
inline future<void> make_done() { return make_value<void>(); }
// A future already failed with `e`.
template <class T>
future<T> make_failed(error e) {
  promise<T> p;
  p.set_error(std::move(e));
  return p.get_future();
}

namespace detail {

template <class U, class F, class T>
void complete_with(promise<U>& out, F& f, const result<T>& r) noexcept {
  try {
    if constexpr (std::is_void_v<T>) {
      if constexpr (std::is_void_v<U>) {
        f();
        out.try_set_value();
      } else {
        out.try_set_value(f());
      }
    } else {
      if constexpr (std::is_void_v<U>) {
        f(*r);
        out.try_set_value();
      } else {
        out.try_set_value(f(*r));
      }
    }
  } catch (...) {
    out.try_set_error(error::from_exception(std::current_exception()));
  }
}

template <class U, class Make>
void become_result_of(promise<U>& out, Make make) {
  future<U> produced;
  try {
    produced = make();
  } catch (...) {
    out.try_set_error(error::from_exception(std::current_exception()));
    return;
  }
  out.become(std::move(produced));
}

// Interrupting a request future forgets the request in its actor.
void cancel_request_in(const troupe::pid& requester, std::uint64_t id);

}  // namespace detail

template <class T>
future<T>::future(request_handle<T>&& request) {
  promise<T> out;
  s_ = out.get_future().s_;
  actor& self = request.self();
  const std::uint64_t id = request.id();
  out.on_interrupt([weak = out.weak(), who = self.pid(), id](const error& why) {
    weak.try_set_error(why);
    detail::cancel_request_in(who, id);
  });
  if constexpr (std::is_void_v<T>) {
    static_assert(!std::is_void_v<T>, "a request future needs a reply type: request<R>(...)");
  } else {
    std::move(request).then([out](T value) mutable { out.try_set_value(std::move(value)); },
                            [out](error e) mutable { out.try_set_error(std::move(e)); });
  }
}

// A future that completes after `delay` on `timers`. Interrupting it
// cancels the timer and fails it with the interrupt.
future<void> sleep_for(timer_source& timers, duration delay);

template <class T>
future<T> future<T>::within(timer_source& timers, duration timeout) const {
  promise<T> out;
  future<T> next = out.get_future();
  next.s_->forward_interrupts_fresh(s_.get());
  // The timer holds the source and a weak handle; the source's callback
  // cancels the timer. Whichever comes first completes the result.
  auto call = timers.call_after(timeout, [weak = out.weak(), source = *this]() {
    error why(errc::timeout, "no outcome within the deadline");
    if (weak.try_set_error(why)) source.interrupt(why);
  });
  detail::attach(*state(),
                 [out = std::move(out), call = std::move(call)](const result<T>& r) mutable {
                   call->cancel();
                   out.try_set_result(r);
                 },
                 nullptr, true);
  return next;
}

template <class T>
future<T> future<T>::within(runtime& rt, duration timeout) const {
  runtime_timers timers(rt);
  return within(timers, timeout);
}

template <class T>
future<T> future<T>::within(duration timeout) const {
  return within(detail::current_runtime(), timeout);
}

}  // namespace troupe
