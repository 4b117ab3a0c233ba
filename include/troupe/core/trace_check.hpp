// Temporal assertions over a trace (troupe/core/trace.hpp): rules stated in
// past-time temporal logic, with metric (time-bounded) operators, compiled
// into monitors that check an event stream one event at a time, in
// constant memory per rule: offline over a snapshot, or online while the
// runtime runs (tracing::checker).
//
//   using namespace troupe::tracing;
//   // A worker never handles a `job` unless a `job` was sent within 50 ms before.
//   formula handled = kind_is(event_kind::begin) && what_is("docs::job");
//   formula sent = kind_is(event_kind::send) && what_is("docs::job");
//   rule fresh{"jobs are fresh", implies(handled, once_within(50ms, sent))};
//   // Every query handled by the db is answered (its handling ends) within 10 ms.
//   rule answered = answered_within("db answers in 10 ms", begin_of("query"), end_of("query"),
//                                   same_actor, 10ms);
//   auto broken = check(tracing::snapshot(rt), {fresh, answered});  // offline
//
// Semantics. A rule holds over a stream when its formula holds at every
// event (an "always" around it). At event i:
//   atom p            p(e_i)
//   !a, a && b, a || b, implies(a, b)
//   previously(a)     a held at event i-1 (false at the first event)
//   once(a)           a held at some event j <= i
//   historically(a)   a held at every event j <= i
//   since(a, b)       b held at some j <= i, and a at every event after j up to i
//   once_within(d, a)         a held at some j <= i with t_i - t_j <= d
//   historically_within(d, a) a held at every j <= i with t_i - t_j <= d
// A monitor keeps one bit (and, for the metric operators, one time) per
// subformula (Havelund and Rosu's algorithm for past-time LTL): no history.
//
// answered_within(name, trigger, response, key, d) is the bounded-response
// pattern ("eventually within d", which past-time logic cannot say): after
// a trigger event, an event satisfying `response` with the same key must
// come within d; a violation is reported at the first event past the
// deadline (or by finish()), and a response answers the oldest trigger of
// its key still in time. At most `max_pending` triggers wait at once; more
// are counted as dropped, never kept without bound.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "troupe/core/trace.hpp"

namespace troupe {
class runtime;
}

namespace troupe::tracing {

namespace detail {
struct formula_node;
struct formula_access;
}

// A past-time temporal formula over events (see above). A value; cheap to copy.
class formula {
 public:
  // An atom: `test` on the event; `name` is how reports print it.
  formula(std::string name, std::function<bool(const event&)> test);
  // How the formula prints ("once(begin)", ...).
  std::string to_string() const;

 private:
  explicit formula(std::shared_ptr<const detail::formula_node> node) : node_(std::move(node)) {}
  std::shared_ptr<const detail::formula_node> node_;
  friend struct detail::formula_access;
};

// Atoms.
// The event is of `kind`.
formula kind_is(event_kind kind);
// The event's `what` (message type, reason, mark name) contains `text`.
formula what_is(const std::string& text);
// The event happened in actor `id` (its `actor` field).
formula actor_is(std::uint64_t id);
// A send, begin or end of a message whose type contains `type`.
formula send_of(const std::string& type);
// The begin of handling a message whose type contains `type`.
formula begin_of(const std::string& type);
// The end of handling a message whose type contains `type`.
formula end_of(const std::string& type);
// The begin of a handling with more than `n` messages still queued behind
// it (the mailbox's length).
formula begin_queued_above(std::int64_t n);

// Connectives. Not a.
formula operator!(const formula& a);
// a and b.
formula operator&&(const formula& a, const formula& b);
// a or b.
formula operator||(const formula& a, const formula& b);
// a -> b.
formula implies(const formula& a, const formula& b);

// Past-time operators. a held at the previous event.
formula previously(const formula& a);
// a held at some event so far.
formula once(const formula& a);
// a held at every event so far.
formula historically(const formula& a);
// b held at some event, and a at every event after it.
formula since(const formula& a, const formula& b);
// Metric operators (bounds in the events' clock). a held within d before.
formula once_within(std::chrono::nanoseconds d, const formula& a);
// a held at every event within d before.
formula historically_within(std::chrono::nanoseconds d, const formula& a);

// Which instance of a keyed pattern an event belongs to.
using event_key = std::function<std::uint64_t(const event&)>;
// The actor an event happened in.
std::uint64_t same_actor(const event& e);

// A violation: which rule, at which event, and the events before it that
// the checker still had (the most recent `window` of them).
struct violation {
  // The rule's name.
  std::string rule;
  // What was expected ("always: ...", "answered within 10 ms").
  std::string expected;
  // The event at which it was found.
  event at;
  // For answered_within: the trigger that got no answer in time.
  event trigger;
  // The events just before (oldest first), to see how it came about.
  std::vector<event> window;
};

// One checked rule: a formula that must always hold, or a bounded
// response. Each rule is a monitor with its own state: copy a rule to
// check it again from the start.
class rule {
 public:
  // "always f".
  rule(std::string name, const formula& f);
  ~rule();
  // A fresh monitor of the same rule (its state starts over).
  rule(const rule&);
  // Becomes a fresh monitor of `other`'s rule.
  rule& operator=(const rule&);
  // Takes over `other`'s monitor, state and all.
  rule(rule&&) noexcept;
  // Takes over `other`'s monitor, state and all.
  rule& operator=(rule&&) noexcept;

  // The rule's name.
  const std::string& name() const noexcept;
  // Feeds one event (in time order); true if the rule holds at it. Each
  // violation found is appended to `found` (a bounded response may find
  // several overdue triggers at one event).
  bool step(const event& e, std::vector<violation>& found);
  // The end of the stream: each bounded response still waiting past its
  // deadline as of `now_ns` is appended to `found`. True if none.
  bool finish(std::int64_t now_ns, std::vector<violation>& found);
  // Triggers a bounded response could not keep (max_pending).
  std::uint64_t dropped() const noexcept;

  struct state;

 private:
  explicit rule(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
  friend rule answered_within(std::string, const formula&, const formula&, event_key, std::chrono::nanoseconds,
                              std::size_t);
  friend rule held_at_most(std::string, const formula&, const formula&, event_key, std::chrono::nanoseconds,
                           std::size_t);
  friend rule at_most_within(std::string, std::size_t, const formula&, event_key, std::chrono::nanoseconds,
                             std::size_t);
};

// The bounded-response rule (see the top of this file).
rule answered_within(std::string name, const formula& trigger, const formula& response, event_key key,
                     std::chrono::nanoseconds d, std::size_t max_pending = 100'000);

// A condition must not last longer than `d`: for each key, the condition
// starts at an event satisfying `starts` and ends at one satisfying `ends`
// (with the same key); a violation is reported at the first event more
// than `d` after a start not yet ended (or by finish()). "No actor's
// mailbox stays above 100 for longer than 50 ms":
//   held_at_most("mailbox", begin_queued_above(100), !begin_queued_above(100) && kind_is(event_kind::begin),
//                same_actor, 50ms);
// At most `max_keys` conditions are open at once; more are dropped.
rule held_at_most(std::string name, const formula& starts, const formula& ends, event_key key,
                  std::chrono::nanoseconds d, std::size_t max_keys = 100'000);

// At most `n` events satisfying `counted`, for each key, in any window of
// `d`: the (n+1)th within `d` of the first is a violation. "A supervisor
// never restarts a child more than 3 times in 5 s":
//   at_most_within("restarts", 3, kind_is(event_kind::restart), same_actor, 5s);
// Keeps at most n times per key, and at most `max_keys` keys.
rule at_most_within(std::string name, std::size_t n, const formula& counted, event_key key,
                    std::chrono::nanoseconds d, std::size_t max_keys = 100'000);

// Checks `events` (time order, as snapshot() gives them) against fresh
// copies of `rules`; every violation, with up to `window` events before it.
std::vector<violation> check(const std::vector<event>& events, const std::vector<rule>& rules,
                             std::size_t window = 16);

// One line per violation: the rule, what was expected, the event, and the
// window.
std::string to_string(const violation& v);

// Checks rules online: a thread of its own takes the events recorded since
// its last look every `period` (tracing must be on) and feeds them to the
// rules; `on_violation` runs on that thread for each violation (log it,
// crash an actor, fail a test; not poll(), which would wait for itself).
// Events overwritten before it looked are counted in missed(), not
// checked. Stops when destroyed; destroy it before its runtime.
class checker {
 public:
  // Starts checking `rules` on `rt` every `period`; `on_violation` runs
  // on the checker's thread.
  checker(runtime& rt, std::vector<rule> rules, std::function<void(const violation&)> on_violation,
          std::chrono::milliseconds period = std::chrono::milliseconds(10));
  ~checker();
  checker(const checker&) = delete;
  checker& operator=(const checker&) = delete;
  // Events checked so far.
  std::uint64_t checked() const noexcept;
  // Violations found so far.
  std::uint64_t violations() const noexcept;
  // Events overwritten in their rings before the checker read them.
  std::uint64_t missed() const noexcept;
  // Looks now (and waits for that look), rather than at the next period.
  void poll();

  struct state;

 private:
  std::shared_ptr<state> state_;
  std::thread thread_;
};

}  // namespace troupe::tracing
