// Actors and futures: ask an actor from anywhere, expose an actor as a
// service, serve a service with a pool of actors.
//
//   future<int> n = ask<int>(rt, counter, add{5});         // from any thread
//   service<query, answer> db = actor_service<query, answer>(rt, db_pid);
//   service<job, done> pool = serve_with_actors<job, done>(rt, 4, worker_fn);
//
// Inside an actor, ask() is self.request() as a future: its continuations
// run in that actor. Elsewhere a short-lived helper actor makes the request
// (so every failure a request can have comes back: timeout, receiver_down,
// no_handler, ...), and continuations run on the thread that completes it.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/async/future.hpp"
#include "troupe/async/load_balancer.hpp"
#include "troupe/async/service.hpp"
#include "troupe/core/context.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe {

namespace detail {
// The helper actor's behavior: it only waits for its one reply.
struct ask_helper_idle {};
}  // namespace detail

// Asks `to` with `msg`; the future holds its reply of type R, or the
// request's failure (timeout, receiver_down, no_handler, ...).
template <class R, class T>
future<R> ask(runtime& rt, const pid& to, T&& msg, duration timeout = default_timeout) {
  if (actor* self = current_actor())
    return future<R>(self->request<R>(to, std::forward<T>(msg), timeout));
  promise<R> out;
  future<R> reply = out.get_future();
  rt.spawn([out, to, msg = std::decay_t<T>(std::forward<T>(msg)), timeout](
               actor& self) mutable -> behavior {
    future<R> answer = self.request<R>(to, std::move(msg), timeout);
    out.become(answer);
    answer.respond([&self](const result<R>&) { self.quit(); });  // runs in self
    return behavior{[](detail::ask_helper_idle) {}};
  });
  return reply;  // if the spawn was refused (shutdown), `out` broke
}

// An actor as a service: each call is a request to `target`.
template <class Req, class Rep>
service<Req, Rep> actor_service(runtime& rt, pid target, duration timeout = default_timeout) {
  return service<Req, Rep>([&rt, target = std::move(target), timeout](Req request) {
    return ask<Rep>(rt, target, std::move(request), timeout);
  });
}

// A service served by `n` actors spawned from `fn` (an actor function whose
// behavior answers Req with Rep), balanced by least outstanding calls. The
// actors are killed when the last copy of the service goes.
template <class Req, class Rep, class F>
service<Req, Rep> serve_with_actors(runtime& rt, unsigned n, F fn,
                                    duration timeout = default_timeout) {
  struct pool {
    runtime& rt;
    std::vector<pid> actors;
    ~pool() {
      for (auto& p : actors) rt.send_exit(p, exit_reason::shutdown());
    }
  };
  auto owned = std::make_shared<pool>(pool{rt, {}});
  std::vector<service<Req, Rep>> backends;
  for (unsigned i = 0; i < n; ++i) {
    owned->actors.push_back(rt.spawn(fn));
    backends.push_back(actor_service<Req, Rep>(rt, owned->actors.back(), timeout));
  }
  auto balanced = load_balance(std::move(backends), balance::least_outstanding);
  return service<Req, Rep>(
      [owned, balanced](Req request) { return balanced(std::move(request)); });
}

}  // namespace troupe
