// context: which actor a thread is running, and running code inside an actor
// from outside its handlers.
//
//   if (actor* self = troupe::current_actor()) ...   // inside a handler
//   troupe::run_in(target, [](actor& self) { ... }); // from any thread
//
// Code given to run_in runs in the target's context: on whichever thread
// owns the actor then, between two of its messages, never concurrently with
// its handlers. It travels in the system lane (never bounded or dropped),
// so it runs before queued user messages. This is how futures (troupe/async)
// bring continuations home to the actor that attached them.
#pragma once

#include <cstdint>

#include <new>
#include <string>
#include <utility>

#include "troupe/core/message.hpp"
#include "troupe/core/pid.hpp"

namespace troupe {

class actor;

// The actor whose handler, setup, coroutine or context task runs on this
// thread right now; nullptr on any other thread (or between turns).
actor* current_actor() noexcept;
// True if `who` is the actor running on this thread (cheaper than
// comparing current_actor()->pid()).
bool is_current_actor(const pid& who) noexcept;
// A random 64-bit number for jitter, sampling and ids. Inside an actor of
// a simulated runtime it comes from the simulation's seed (the run replays
// exactly); elsewhere from a per-thread generator seeded from the system.
std::uint64_t random_u64() noexcept;

namespace detail {

// True while an actor's turn or setup runs on this thread, even inside an
// outside_actor_scope (blocking here would stall the actor).
bool on_actor_thread() noexcept;

// Runs code that is not the current actor's own (a continuation attached
// outside any actor, completing here): current_actor() is null inside, so
// what it attaches is not tied to this actor.
class outside_actor_scope {
 public:
  outside_actor_scope() noexcept;
  ~outside_actor_scope();
  outside_actor_scope(const outside_actor_scope&) = delete;
  outside_actor_scope& operator=(const outside_actor_scope&) = delete;

 private:
  bool saved_;
};

// Made per hand-off, often freed on another thread: from the pool. A task
// is its own envelope (one allocation per hand-off); deleting it unrun (its
// target died) is how its owner learns that it will never run.
struct context_task : message, pool_allocated {
  using pool_allocated::operator new;
  using pool_allocated::operator delete;
  context_task() noexcept : message(type_key_of<context_task>) { kind = message_kind::context_task; }
  virtual void run(actor& self) = 0;
  void* payload() noexcept final { return this; }
  std::string type_name() const final { return "continuation"; }
};

// Any thread. Takes ownership; false (task destroyed unrun) when `target`
// is null or dead: its destructor is the place to report that.
bool post_task(const pid& target, context_task* task);

template <class F>
struct context_task_of final : context_task {
  explicit context_task_of(F f) : fn(std::move(f)) {}
  void run(actor& self) override { fn(self); }
  F fn;
};

}  // namespace detail

// Any thread: runs fn(actor&) in target's context. False when target is
// dead (fn is destroyed without running). An exception from fn ends the
// target, as from a handler.
template <class F>
bool run_in(const pid& target, F fn) {
  return detail::post_task(target, new detail::context_task_of<F>(std::move(fn)));
}

}  // namespace troupe
