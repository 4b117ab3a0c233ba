// Supervisors: actors whose only job is to start children and restart them
// when they fail, after OTP's `supervisor`.
//
//   auto sup = spawn_supervisor(rt, {.strategy = strategy::one_for_one,
//                                    .intensity = 3, .period = 5s},
//                               {child_spec::of("db", make_db),
//                                child_spec::of("cache", make_cache)
//                                    .with_restart(restart_policy::transient)});
//
// Children start in order, each linked to the supervisor before it runs;
// the supervisor traps exits. When a child ends:
//   permanent  is always restarted; transient only after an abnormal exit
//              (not normal, not shutdown); temporary never
//   one_for_one   restarts that child
//   one_for_all   stops the others (in reverse start order), restarts all
//   rest_for_one  stops the children started after it, restarts those
// More than `intensity` restarts within `period` ends the supervisor with
// reason `shutdown` after stopping its children; its own supervisor then
// counts a restart of it (escalation up the tree).
// Stopping a child: `brutal_kill` sends kill; otherwise shutdown, then kill
// if the child has not ended within its shutdown timeout. A supervisor
// stops its children in reverse start order when it ends.
// Supervisors nest (child_spec::supervisor); a dynamic supervisor starts
// and stops children at run time (start_child / terminate_child). Every
// restart decision is logged.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/core/actor.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe {

// When a child is restarted (see above).
enum class restart_policy { permanent, transient, temporary };
// Whether a child is a worker or a nested supervisor.
enum class child_kind { worker, supervisor };
// Which children restart when one ends (see above).
enum class strategy { one_for_one, one_for_all, rest_for_one };

// A supervisor's restart strategy and intensity.
struct supervisor_flags {
  // Which children restart when one ends.
  troupe::strategy strategy = strategy::one_for_one;
  // Restarts allowed within `period`; one more ends the supervisor.
  int intensity = 3;                           // restarts allowed ...
  // The window `intensity` counts restarts in.
  duration period = std::chrono::seconds(5);   // ... within this window
};

// How a supervisor starts, restarts and stops one child: an id, a start
// function, the restart policy and the shutdown time.
struct child_spec {
  // The child's name within its supervisor (logs, which_children).
  std::string id;
  // Starts the child, linked to the supervisor (use sup.spawn_link).
  std::function<pid(actor& sup)> start;
  // When the child is restarted.
  restart_policy restart = restart_policy::permanent;
  // How long a stop waits after `shutdown` before it sends kill.
  duration shutdown_timeout = std::chrono::seconds(5);
  // Stop the child with kill at once, without `shutdown` first.
  bool brutal_kill = false;
  // worker, or supervisor for a nested one.
  child_kind kind = child_kind::worker;

  // A worker spawned from fn(actor&, args...) like runtime::spawn.
  template <class F, class... Args>
    requires(!std::is_same_v<std::decay_t<F>, spawn_options>)
  static child_spec of(std::string id, F fn, Args... args) {
    return of(std::move(id), spawn_options{}, std::move(fn), std::move(args)...);
  }
  // The same with spawn_options: `detached` gives a child that blocks or
  // computes for long a thread of its own; a mailbox bound; a name, which
  // each restart registers again.
  template <class F, class... Args>
  static child_spec of(std::string id, spawn_options options, F fn, Args... args) {
    child_spec spec;
    spec.id = std::move(id);
    spec.start = [options = std::move(options), fn = std::move(fn), ... args = std::move(args)](actor& sup) {
      return sup.spawn_link(options, fn, args...);
    };
    return spec;
  }
  // A nested supervisor.
  static child_spec supervisor(std::string id, supervisor_flags flags,
                               std::vector<child_spec> children);

  // This spec with restart policy `policy`.
  child_spec with_restart(restart_policy policy) && {
    restart = policy;
    return std::move(*this);
  }
  // This spec, stopped with shutdown and then kill after `timeout`
  // (clears brutal_kill).
  child_spec with_shutdown(duration timeout) && {
    shutdown_timeout = timeout;
    brutal_kill = false;
    return std::move(*this);
  }
  // This spec, stopped with kill at once.
  child_spec with_brutal_kill() && {
    brutal_kill = true;
    return std::move(*this);
  }
};

// Requests a supervisor answers.
struct which_children {};            // -> std::vector<child_info>
// Counts a supervisor's children; the answer is a child_counts.
struct count_children {};            // -> child_counts
// Adds a child from `spec` and starts it; kept only if it started.
struct start_child {                 // -> pid (null if it failed to start)
  // The child to add.
  child_spec spec;
};
// Stops a running child; answered once it has ended.
struct terminate_child {             // -> bool (false: no such child)
  // The child's current pid.
  pid child;
};

// One child, as which_children lists it.
struct child_info {
  // Its spec's id.
  std::string id;
  // Its pid; null while not running.
  pid child;  // null while not running
  // Worker or nested supervisor.
  child_kind kind;
  // Times it was restarted since the supervisor started (the observer's
  // tree shows them).
  std::uint64_t restarts = 0;
  // How its last run ended ("error: boom", "killed"); empty if it never did.
  std::string last_exit{};
};
// A supervisor's children, counted (the answer to count_children).
struct child_counts {
  // Child specs, running or not.
  int specs = 0;
  // Children running now.
  int active = 0;
  // Specs of nested supervisors, running or not.
  int supervisors = 0;
  // Specs of workers, running or not.
  int workers = 0;
};

// Spawns a supervisor that starts `children` in order (see above).
pid spawn_supervisor(runtime& rt, supervisor_flags flags, std::vector<child_spec> children);
// Starts with no children; add them with start_child (one_for_one only).
pid spawn_dynamic_supervisor(runtime& rt, supervisor_flags flags = {});

}  // namespace troupe
