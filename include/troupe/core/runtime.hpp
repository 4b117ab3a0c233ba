// runtime: owns the workers, the timer wheel, the registry and dead letters.
//
//   troupe::runtime rt;                               // one worker per core
//   pid counter = rt.spawn([](actor& self) -> behavior {
//     return {[n = 0](int x) mutable { n += x; return n; }};
//   });
//   rt.send(counter, 5);
//
// Spawn forms (each also takes a leading spawn_options):
//   rt.spawn(f, args...)    f(actor&, args...) returns a behavior (event
//                           actor), a task (coroutine actor) or void (runs once)
//   rt.spawn<C>(args...)    C(args...) with `behavior make_behavior(actor&)`;
//                           the object is the actor's state, handlers may
//                           capture `this` safely
// spawn() returns the new pid at once; the actor's setup (the function,
// or C's constructor and make_behavior) runs in the actor's first turn on
// a worker, before it handles any message (as in Erlang and CAF). Messages
// sent to it meanwhile wait in its mailbox; links and monitors from
// spawn_link/spawn_monitor and the name in spawn_options are in place
// before spawn() returns. Spawning never runs user code on the caller's
// stack, so a chain of actors whose setups spawn the next one is as deep
// as memory allows.
//
// Several runtimes may live in one process. All methods are thread-safe.
// shutdown() (also run by the destructor) stops accepting work, waits for
// spawns under way, lets each running actor finish the message in hand,
// joins the threads and ends every remaining actor with reason `shutdown`.
// Pending timeouts fire at once (a waiting scoped_actor sees errc::timeout).
// Call it from outside the runtime's actors: from one of them it throws
// std::logic_error, since it joins the workers. A scoped_actor must not
// outlive its runtime.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/core/actor.hpp"
#include "troupe/core/behavior.hpp"
#include "troupe/core/config.hpp"
#include "troupe/core/dead_letters.hpp"
#include "troupe/core/fwd.hpp"
#include "troupe/core/task.hpp"

namespace troupe {

namespace detail {

// How an actor starts: exactly one of the two is set, or neither for a
// function that ran to completion during setup.
struct actor_start {
  behavior initial;
  task coroutine;
};

struct actor_body {
  virtual ~actor_body() = default;
  virtual actor_start start(actor& self) = 0;
};

template <class F, class... Args>
struct function_body final : actor_body {
  template <class G, class... As>
  explicit function_body(G&& g, As&&... as) : fn(std::forward<G>(g)), args(std::forward<As>(as)...) {}
  actor_start start(actor& self) override {
    using R = std::invoke_result_t<F&, actor&, Args&...>;
    auto call = [&](auto&... a) -> R { return fn(self, a...); };
    if constexpr (std::is_same_v<R, behavior>) {
      return {std::apply(call, args), {}};
    } else if constexpr (std::is_same_v<R, task>) {
      return {{}, std::apply(call, args)};
    } else {
      static_assert(std::is_void_v<R>, "an actor function returns behavior, task or void");
      std::apply(call, args);
      return {};
    }
  }
  F fn;
  std::tuple<Args...> args;
};

template <class>
inline constexpr bool always_false = false;
template <class R>
inline constexpr bool actor_result = std::is_same_v<R, behavior> || std::is_same_v<R, task> || std::is_void_v<R>;

// The body of rt.spawn(fn, args...), or a compile error that says what an
// actor function must look like (instead of pages of invoke_result).
template <class F, class... Args>
std::unique_ptr<actor_body> make_function_body(F&& fn, Args&&... args) {
  using Fn = std::decay_t<F>;
  if constexpr (!std::is_invocable_v<Fn&, actor&, std::decay_t<Args>&...>) {
    static_assert(always_false<Fn>,
                  "troupe: spawn(fn, args...) calls fn(actor& self, args...): fn's first parameter must be "
                  "`actor&` and spawn must pass every other parameter fn takes, in order, e.g. "
                  "rt.spawn([](actor& self, int start) -> behavior { ... }, 5)");
    return nullptr;
  } else if constexpr (!actor_result<std::invoke_result_t<Fn&, actor&, std::decay_t<Args>&...>>) {
    static_assert(always_false<Fn>,
                  "troupe: an actor function returns `behavior` (an event actor: its handlers), `task` (a "
                  "coroutine actor) or void (it runs once); declare the return type, e.g. "
                  "[](actor& self) -> behavior { return {[](int x) { return x + 1; }}; }");
    return nullptr;
  } else {
    return std::make_unique<function_body<Fn, std::decay_t<Args>...>>(std::forward<F>(fn),
                                                                       std::forward<Args>(args)...);
  }
}

// Who watches a child from its first instant (spawn_link, spawn_monitor).
struct spawn_watch {
  pid parent;
  bool link = false;
  std::uint64_t monitor_ref = 0;
};

template <class C>
struct class_body final : actor_body {
  template <class... As>
  explicit class_body(As&&... as) : state(std::forward<As>(as)...) {}
  actor_start start(actor& self) override { return {state.make_behavior(self), {}}; }
  C state;
};

// The body of rt.spawn<C>(args...), or a compile error that says why not.
template <class C, class... Args>
std::unique_ptr<actor_body> make_class_body(Args&&... args) {
  if constexpr (!std::is_constructible_v<C, Args&&...>) {
    static_assert(always_false<C>,
                  "troupe: spawn<C>(args...) constructs the actor's state as C(args...): C has no "
                  "constructor taking these arguments");
    return nullptr;
  } else {
    return std::make_unique<class_body<C>>(std::forward<Args>(args)...);
  }
}

}  // namespace detail

// An actor system (see the top of this file): its workers, timers,
// registry and dead letters.
class runtime {
 public:
  // Throws std::invalid_argument naming the bad field (0 workers, ...).
  explicit runtime(config cfg = {});
  // A runtime driven by troupe::testing's simulation: no threads, virtual
  // time (see troupe/testing/simulation.hpp). cfg.workers is ignored.
  runtime(config cfg, detail::sim_hooks& hooks);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Spawns an actor from fn(actor&, args...), which returns a behavior, a
  // task or void.
  template <class F, class... Args>
    requires(!detail::actor_class<std::decay_t<F>> &&
             !std::is_same_v<std::decay_t<F>, spawn_options>)
  pid spawn(F&& fn, Args&&... args) {
    return spawn(spawn_options{}, std::forward<F>(fn), std::forward<Args>(args)...);
  }
  // The same with spawn_options first.
  template <class F, class... Args>
    requires(!detail::actor_class<std::decay_t<F>>)
  pid spawn(const spawn_options& options, F&& fn, Args&&... args) {
    return spawn_body(options, detail::make_function_body(std::forward<F>(fn), std::forward<Args>(args)...));
  }
  // Spawns an actor of class C, made as C(args...).
  template <detail::actor_class C, class... Args>
    requires(!detail::leads_with_options<Args...>)
  pid spawn(Args&&... args) {
    return spawn_body(spawn_options{}, detail::make_class_body<C>(std::forward<Args>(args)...));
  }
  // The same with spawn_options first.
  template <detail::actor_class C, class... Args>
  pid spawn(const spawn_options& options, Args&&... args) {
    return spawn_body(options, detail::make_class_body<C>(std::forward<Args>(args)...));
  }

  // Sends from outside any actor (the message has no sender).
  template <class T>
  send_status send(const pid& to, T&& msg) {
    return send_message(to, detail::make_message(std::forward<T>(msg)));
  }
  // Sends `msg` to `to` once, after `delay`, from outside any actor; the
  // handle cancels it.
  template <class T>
  timer_handle send_after(duration delay, const pid& to, T&& msg) {
    return schedule_send(delay, duration::zero(), to, detail::make_message(std::forward<T>(msg)),
                         nullptr);
  }
  // Sends a copy of `msg` to `to` every `period` until the handle is
  // cancelled.
  template <class T>
  timer_handle send_interval(duration period, const pid& to, T msg) {
    auto factory = [m = std::move(msg)] { return detail::make_message(m); };
    return schedule_send(period, period, to, nullptr, std::move(factory));
  }

  // Runs fn once after `delay` on the runtime's timer thread (virtual time
  // in a simulation). Keep it short and non-blocking, and do not throw: it
  // shares the thread with every timer. A pending callback runs at
  // shutdown rather than never (as timeouts do).
  timer_handle call_after(duration delay, std::function<void()> fn);

  // Registry. A name maps to one live actor; the name is released when the
  // actor ends. register_name fails (false) if the name is taken, the
  // actor is dead, or it is a remote actor (names are per node).
  bool register_name(const std::string& name, const pid& who);
  // Frees `name`; false if it was not registered.
  bool unregister_name(const std::string& name);
  // The actor registered under `name`.
  pid whereis(const std::string& name) const;  // null pid when unknown

  // Observability.
  // User messages queued, not counting the one being handled: an actor in
  // a long handler with nothing queued reads 0. Least-loaded routing over
  // actors that take long per message should count what it sent and what
  // came back (the services layer's p2c balancer does) rather than this.
  std::size_t mailbox_size(const pid& who) const;
  // Messages that could not be delivered since the runtime started.
  std::uint64_t dead_letter_count() const noexcept;
  // The latest dead letters, oldest first (config::dead_letter_history
  // at most).
  std::vector<dead_letter> recent_dead_letters() const;
  // Actors spawned and not yet ended.
  std::size_t live_actors() const noexcept;
  // Turns that ran longer than config::long_turn_warning (each is logged).
  std::uint64_t long_turn_count() const noexcept;
  // Counters for the runtime and each worker (runtime_stats.hpp). Any
  // thread; it walks every live actor to sum their mailboxes' counters.
  runtime_stats stats() const;
  // Calls `visit` once for each live actor, described (runtime_stats.hpp),
  // in no particular order; actors spawned or ended meanwhile may be
  // missed or seen. `visit` runs on the calling thread with no lock held.
  void for_each_process(const std::function<void(const process_info&)>& visit) const;
  // The live actor of this runtime with that id (as in <0.ID.0>); false if
  // none is alive here.
  bool process(std::uint64_t id, process_info& out) const;
  // A random 64-bit number: from the simulation's seed when this runtime is
  // simulated (troupe::testing), else from a per-thread generator. The
  // library's own jitter, sampling and ids use it, so a seed replays them.
  std::uint64_t random() const;
  // Regular worker threads (config::workers); spare workers not counted.
  unsigned worker_count() const noexcept;
  // Whether the actor of `p`, one of this runtime's, has not ended yet
  // (Erlang's is_process_alive): false for a null pid. Not for remote
  // pids (their node knows): monitor one instead.
  bool is_alive(const pid& p) const noexcept;
  // The config this runtime was made with.
  const config& settings() const noexcept;
  // Logging (log.hpp). A record of the program's (log_component::user),
  // from the actor running on this thread if any.
  void log(log_level level, std::string_view text) const;
  // A record from one of troupe's components, or about another actor.
  void log(log_level level, log_component component, std::string_view text, const pid& source = {}) const;
  // Whether a record at `level` from `component` would be written: skip
  // building its text when not.
  bool logs(log_level level, log_component component = log_component::user) const noexcept;
  // Changes a component's threshold while running (log_level::off: none).
  void set_log_level(log_component component, log_level level) noexcept;
  // The node name records carry (net::node sets it).
  void set_log_node(std::string name);
  // The runtime's clock, which timers and timeouts read: steady_clock, or
  // the simulation's virtual clock.
  time_point now() const;

  // Stops the runtime as described at the top of this file; the destructor
  // runs it too.
  void shutdown();

  // Sends an exit signal from outside any actor (`kill` is untrappable).
  void send_exit(const pid& target, exit_reason reason);

  // Internal: the implementation, for troupe's other layers.
  detail::runtime_impl& impl() noexcept { return *impl_; }

  // Internal (actor::spawn_link / spawn_monitor): the child starts with a
  // link to `parent`, or monitored by it under `ref`.
  template <class F, class... Args>
  pid spawn_watched(const spawn_options& options, const pid& parent, bool link, monitor_ref ref,
                    F&& fn, Args&&... args) {
    return spawn_body(options, detail::make_function_body(std::forward<F>(fn), std::forward<Args>(args)...),
                      detail::spawn_watch{parent, link, ref.id});
  }

 private:
  pid spawn_body(const spawn_options& options, std::unique_ptr<detail::actor_body> body,
                 detail::spawn_watch watch = {});
  send_status send_message(const pid& to, detail::message* msg);
  timer_handle schedule_send(duration delay, duration period, const pid& to,
                             detail::message* once, std::function<detail::message*()> factory);
  std::unique_ptr<detail::runtime_impl> impl_;
};

// actor::spawn: spawns fn(actor&, args...) in this actor's runtime.
template <class F, class... Args>
  requires(!detail::actor_class<std::decay_t<F>> && !std::is_same_v<std::decay_t<F>, spawn_options>)
pid actor::spawn(F&& fn, Args&&... args) {
  return system().spawn(std::forward<F>(fn), std::forward<Args>(args)...);
}

// The same with spawn_options first.
template <class F, class... Args>
  requires(!detail::actor_class<std::decay_t<F>>)
pid actor::spawn(const spawn_options& options, F&& fn, Args&&... args) {
  return system().spawn(options, std::forward<F>(fn), std::forward<Args>(args)...);
}

// actor::spawn<C>: an actor of class C in this actor's runtime.
template <detail::actor_class C, class... Args>
  requires(!detail::leads_with_options<Args...>)
pid actor::spawn(Args&&... args) {
  return system().template spawn<C>(std::forward<Args>(args)...);
}

// The same with spawn_options first.
template <detail::actor_class C, class... Args>
pid actor::spawn(const spawn_options& options, Args&&... args) {
  return system().template spawn<C>(options, std::forward<Args>(args)...);
}

// actor::spawn_link: a child linked to this actor before it runs.
template <class F, class... Args>
  requires(!std::is_same_v<std::decay_t<F>, spawn_options>)
pid actor::spawn_link(F&& fn, Args&&... args) {
  return spawn_watched(spawn_options{}, true, monitor_ref{}, std::forward<F>(fn),
                       std::forward<Args>(args)...);
}

// The same with spawn_options first.
template <class F, class... Args>
pid actor::spawn_link(const spawn_options& options, F&& fn, Args&&... args) {
  return spawn_watched(options, true, monitor_ref{}, std::forward<F>(fn), std::forward<Args>(args)...);
}

template <class F, class... Args>
std::pair<troupe::pid, monitor_ref> actor::spawn_monitor(F&& fn, Args&&... args) {
  monitor_ref ref = next_monitor_ref();
  troupe::pid child =
      spawn_watched(spawn_options{}, false, ref, std::forward<F>(fn), std::forward<Args>(args)...);
  return {child, ref};
}

template <class F, class... Args>
pid actor::spawn_watched(const spawn_options& options, bool link, monitor_ref ref, F&& fn,
                         Args&&... args) {
  // The parent's side is recorded after the child exists; a signal the
  // child sent meanwhile waits in this actor's mailbox, handled later.
  troupe::pid child = system().spawn_watched(options, pid(), link, ref, std::forward<F>(fn),
                                             std::forward<Args>(args)...);
  watch_spawned(child, link, ref);
  return child;
}

}  // namespace troupe
