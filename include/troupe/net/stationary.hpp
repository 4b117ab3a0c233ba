// stationary: an object that stays where it was made and is called by
// message (Mozart's stationary objects). The object lives in an actor on
// its home node; a handle names that actor, so calls are serialized with
// each other and never race. The handle is a plain value with a pid inside:
// copy it, send it to another node, and call it there the same way.
//
//   struct account {
//     std::int64_t balance = 0;
//     std::int64_t deposit(std::int64_t x) { return balance += x; }
//     std::int64_t withdraw(std::int64_t x) {
//       if (x > balance) throw std::runtime_error("insufficient funds");
//       return balance -= x;
//     }
//   };
//   // On every node that hosts or calls one (remote calls need the names):
//   net::register_stationary<account, &account::deposit, &account::withdraw>("bank.account");
//
//   auto acct = net::make_stationary<&account::deposit, &account::withdraw>(rt, account{});
//   std::int64_t b = acct.call<&account::deposit>(rt, 10);     // blocks; not from an actor
//   future<std::int64_t> f = acct.async<&account::withdraw>(rt, 5);
//   acct.cast<&account::deposit>(rt, 1);                       // fire and forget
//
// An exception thrown by a method is caught at home (the object lives on)
// and raised in the caller: call() throws troupe::error_exception whose
// error is errc::handler_failed with the exception's what(); async() gives
// that error as the future's failure. A home that is gone or unreachable
// gives receiver_down, noconnection or timeout, never a hang. Arguments and
// results cross nodes by value (serialize.hpp); a method's result type must
// be a wire type when called remotely (void results need nothing).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "troupe/async/ask.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/net/wire_type.hpp"

namespace troupe::net {

namespace detail {

template <auto Method>
struct method_traits;
template <class T, class R, class... Args, R (T::*M)(Args...)>
struct method_traits<M> {
  using object = T;
  using result = std::decay_t<R>;
  using args = std::tuple<std::decay_t<Args>...>;
};
template <class T, class R, class... Args, R (T::*M)(Args...) const>
struct method_traits<M> {
  using object = T;
  using result = std::decay_t<R>;
  using args = std::tuple<std::decay_t<Args>...>;
};

// The message that calls Method: its arguments, by value.
template <auto Method>
struct stationary_call {
  typename method_traits<Method>::args args;
};
// The reply of a method returning void.
struct stationary_done {};

template <auto Method>
using reply_of = std::conditional_t<std::is_void_v<typename method_traits<Method>::result>, stationary_done,
                                    typename method_traits<Method>::result>;

template <auto Method, class T>
auto handler_for(actor& self, std::shared_ptr<T> object) {
  return [&self, object](stationary_call<Method>& call) {
    using R = typename method_traits<Method>::result;
    auto answer = self.make_response_promise();
    try {
      if constexpr (std::is_void_v<R>) {
        std::apply([&](auto&... a) { ((*object).*Method)(std::move(a)...); }, call.args);
        answer.deliver(stationary_done{});
      } else {
        answer.deliver(std::apply([&](auto&... a) -> R { return ((*object).*Method)(std::move(a)...); }, call.args));
      }
    } catch (const std::exception& e) {
      answer.deliver_error(error(errc::handler_failed, e.what()));
    } catch (...) {
      answer.deliver_error(error(errc::handler_failed, "unknown exception"));
    }
  };
}

}  // namespace detail

// A handle to a stationary T: a plain value naming its home actor, to copy,
// compare and send to other nodes.
template <class T>
struct stationary {
  // The actor that owns the object, on its home node.
  troupe::pid home;

  // Calls Method at home without blocking: the future holds its result
  // (stationary_done for void) or its error.
  template <auto Method, class... Args>
  future<detail::reply_of<Method>> async(runtime& rt, Args&&... args) const {
    detail::stationary_call<Method> call{typename detail::method_traits<Method>::args(std::forward<Args>(args)...)};
    return ask<detail::reply_of<Method>>(rt, home, std::move(call));
  }
  // Calls Method and blocks for its result (none for void); throws
  // error_exception on failure. Not from an actor.
  template <auto Method, class... Args>
  auto call(runtime& rt, Args&&... args) const {
    auto result = async<Method>(rt, std::forward<Args>(args)...).get();
    if constexpr (!std::is_same_v<decltype(result), detail::stationary_done>) return result;
  }
  // Calls Method without waiting: its result and any error are dropped.
  template <auto Method, class... Args>
  void cast(runtime& rt, Args&&... args) const {
    rt.send(home, detail::stationary_call<Method>{
                      typename detail::method_traits<Method>::args(std::forward<Args>(args)...)});
  }
  // Equal when they name the same home.
  friend bool operator==(const stationary&, const stationary&) = default;
};

// Spawns the home actor on `rt`, owning `object`, answering Methods.
template <auto... Methods, class T>
stationary<T> make_stationary(runtime& rt, T object) {
  static_assert((std::is_same_v<typename detail::method_traits<Methods>::object, T> && ...),
                "every method must be a member of the object's type");
  auto owned = std::make_shared<T>(std::move(object));
  return {rt.spawn([owned](actor& self) -> behavior { return {detail::handler_for<Methods>(self, owned)...}; })};
}

// Wire names for Methods' calls ("<name>/<index>") and the void reply.
template <class T, auto... Methods>
void register_stationary(const std::string& name) {
  static const bool done_registered = [] {
    register_type<detail::stationary_done>("troupe.stationary_done");
    return true;
  }();
  (void)done_registered;
  std::size_t index = 0;
  (register_type<detail::stationary_call<Methods>>(name + "/" + std::to_string(index++)), ...);
}

}  // namespace troupe::net
