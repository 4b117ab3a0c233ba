// behavior: a set of typed handlers, one per message type.
//
//   behavior{
//     [&](const ping& p) { self.reply(pong{p.n}); },   // reply explicitly
//     [](const add& a) { return a.x + a.y; },          // or return the reply
//     [&](const stop&) { self.quit(); },
//   }.after(5s, [&] { /* no message for 5 s */ });
//
// A handler takes its message by const&, & (it may move from it) or value.
// A handler that returns a value answers the request it is handling. The
// first handler whose type matches runs; a message no handler takes goes to
// dead letters (and a request gets errc::no_handler back).
// State machines: `self.become(next)` installs another behavior for the next
// message; the running handler finishes first.
// Composition: `a.or_else(b)` tries a's handlers first, then b's (a socket
// actor's user handlers before the socket's own, say).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "troupe/core/message.hpp"
#include "troupe/core/timer.hpp"

namespace troupe {
class actor;

namespace detail {

// What a handler takes and returns. `valid` is false for anything that is
// not a callable with exactly one parameter of a known type (a generic
// lambda, two parameters): behavior's constructor says so in words.
template <class R, class A>
struct one_parameter {
  static constexpr bool valid = true;
  using result = R;
  using arg = std::decay_t<A>;
  // A handler taking `T&` may modify the message in place; any other form
  // (value, const&, &&) receives it as an rvalue, so move-only types work.
  static constexpr bool wants_lvalue =
      std::is_lvalue_reference_v<A> && !std::is_const_v<std::remove_reference_t<A>>;
};
template <class M>
struct call_operator_traits {
  static constexpr bool valid = false;
};
template <class C, class R, class A>
struct call_operator_traits<R (C::*)(A) const> : one_parameter<R, A> {};
template <class C, class R, class A>
struct call_operator_traits<R (C::*)(A)> : one_parameter<R, A> {};
template <class C, class R, class A>
struct call_operator_traits<R (C::*)(A) const noexcept> : one_parameter<R, A> {};
template <class C, class R, class A>
struct call_operator_traits<R (C::*)(A) noexcept> : one_parameter<R, A> {};

template <class F, class = void>
struct handler_traits {
  static constexpr bool valid = false;
};
template <class F>
struct handler_traits<F, std::void_t<decltype(&std::decay_t<F>::operator())>>
    : call_operator_traits<decltype(&std::decay_t<F>::operator())> {};
template <class R, class A>
struct handler_traits<R (*)(A)> : one_parameter<R, A> {};
template <class R, class A>
struct handler_traits<R (*)(A) noexcept> : one_parameter<R, A> {};

// Sends a handler's return value as the reply to the current request.
void reply_with(actor& self, message* reply);

class behavior_impl;
struct handler_slot {
  type_key key;
  void (*invoke)(behavior_impl& impl, actor& self, message& msg);
};

class behavior_impl {
 public:
  behavior_impl(const handler_slot* slots, std::size_t count) noexcept
      : slots_(slots), count_(count) {}
  virtual ~behavior_impl() {
    if (fallback) fallback->release();
  }

  const handler_slot* find(type_key key) const noexcept {
    for (std::size_t i = 0; i < count_; ++i)
      if (slots_[i].key == key) return &slots_[i];
    return nullptr;
  }
  // The behavior consulted when this one has no handler (behavior::or_else);
  // this one owns a reference to it.
  behavior_impl* fallback = nullptr;
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Set by behavior::after; most behaviors have none, so it is allocated
  // only when used (idle actors stay small).
  struct idle_handler {
    duration timeout;
    std::function<void()> run;
  };
  std::unique_ptr<idle_handler> idle;

 private:
  std::atomic<int> refs_{1};
  const handler_slot* slots_;
  std::size_t count_;
};

template <class... Fs>
class behavior_of final : public behavior_impl {
 public:
  explicit behavior_of(Fs... fs) : behavior_impl(table, sizeof...(Fs)), fns_(std::move(fs)...) {}

 private:
  template <std::size_t I>
  static void invoke(behavior_impl& impl, actor& self, message& msg) {
    auto& fn = std::get<I>(static_cast<behavior_of&>(impl).fns_);
    using traits = handler_traits<std::tuple_element_t<I, std::tuple<Fs...>>>;
    auto& value = msg.as<typename traits::arg>();
    auto call = [&]() -> decltype(auto) {
      if constexpr (traits::wants_lvalue)
        return fn(value);
      else
        return fn(std::move(value));
    };
    if constexpr (std::is_void_v<typename traits::result>) {
      call();
    } else {
      reply_with(self, make_message(call()));
    }
  }
  template <std::size_t... Is>
  static constexpr auto make_table(std::index_sequence<Is...>) {
    return std::array<handler_slot, sizeof...(Fs)>{
        handler_slot{type_key_of<typename handler_traits<Fs>::arg>, &invoke<Is>}...};
  }
  static constexpr auto table_array = make_table(std::index_sequence_for<Fs...>{});
  static constexpr const handler_slot* table = table_array.data();

  std::tuple<Fs...> fns_;
};

}  // namespace detail

// An actor's handlers, one per message type it takes: each a callable with
// one parameter, the message; what it returns answers a request. Cheap to
// copy (shared); `become` swaps an actor's behavior.
class behavior {
 public:
  behavior() = default;
  // One handler per message type, e.g. {[](int x) { return x + 1; }}.
  template <class... Fs>
    requires(sizeof...(Fs) > 0 && (!std::is_same_v<std::decay_t<Fs>, behavior> && ...))
  behavior(Fs&&... handlers) : impl_(make(std::forward<Fs>(handlers)...)) {}
  // Shares `other`'s handlers (a reference count, no copy).
  behavior(const behavior& other) noexcept : impl_(other.impl_) {
    if (impl_) impl_->add_ref();
  }
  // Takes `other`'s handlers; `other` is left empty.
  behavior(behavior&& other) noexcept : impl_(std::exchange(other.impl_, nullptr)) {}
  // Shares `other`'s handlers, dropping this one's.
  behavior& operator=(behavior other) noexcept {
    std::swap(impl_, other.impl_);
    return *this;
  }
  ~behavior() {
    if (impl_) impl_->release();
  }

  // Runs `on_idle` when no message arrives for `timeout` while this behavior
  // is active (Erlang's `after`, CAF's `after`). Re-armed after each message.
  behavior&& after(duration timeout, std::function<void()> on_idle) &&;
  // Messages no handler of this behavior takes go to `fallback`'s handlers.
  // Appends to the end of the chain when this behavior already has one.
  behavior&& or_else(behavior fallback) &&;

  // False when it has no handlers (default-constructed or moved from).
  explicit operator bool() const noexcept { return impl_ != nullptr; }
  // Internal: the shared handler table; null when empty.
  detail::behavior_impl* impl() const noexcept { return impl_; }

 private:
  template <class... Fs>
  static detail::behavior_impl* make(Fs&&... handlers) {
    if constexpr (!(detail::handler_traits<std::decay_t<Fs>>::valid && ...)) {
      static_assert((detail::handler_traits<std::decay_t<Fs>>::valid && ...),
                    "troupe: each handler of a behavior takes exactly one parameter, whose type is the "
                    "message it handles, e.g. [](const order& o) { ... } or [](int x) { return x + 1; }; "
                    "a generic (auto) parameter, two parameters or none cannot be matched to a message");
      return nullptr;
    } else {
      return new detail::behavior_of<std::decay_t<Fs>...>(std::forward<Fs>(handlers)...);
    }
  }

  detail::behavior_impl* impl_ = nullptr;
};

}  // namespace troupe
