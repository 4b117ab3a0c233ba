// Temporal assertions (troupe/core/trace_check.hpp): formulas compiled into
// monitors (how: trace_monitor.hpp), the always and bounded-response rules,
// and offline checking.
#include "troupe/core/trace_check.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <sstream>

#include "trace_monitor.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe::tracing {

namespace detail {

namespace {

formula make(op kind, const formula& a, const formula* b = nullptr, std::int64_t bound = 0) {
  auto n = std::make_shared<formula_node>();
  n->kind = kind;
  n->left = formula_access::node(a);
  if (b) n->right = formula_access::node(*b);
  n->bound_ns = bound;
  return formula_access::make(std::move(n));
}

std::string print(const formula_node& n) {
  auto ms = [&] { return std::to_string(static_cast<double>(n.bound_ns) / 1e6) + " ms"; };
  switch (n.kind) {
    case op::atom: return n.name;
    case op::negation: return "!" + print(*n.left);
    case op::conjunction: return "(" + print(*n.left) + " && " + print(*n.right) + ")";
    case op::disjunction: return "(" + print(*n.left) + " || " + print(*n.right) + ")";
    case op::implication: return "(" + print(*n.left) + " -> " + print(*n.right) + ")";
    case op::previously: return "previously(" + print(*n.left) + ")";
    case op::once: return "once(" + print(*n.left) + ")";
    case op::historically: return "historically(" + print(*n.left) + ")";
    case op::since: return "since(" + print(*n.left) + ", " + print(*n.right) + ")";
    case op::once_within: return "once_within(" + ms() + ", " + print(*n.left) + ")";
    case op::historically_within: return "historically_within(" + ms() + ", " + print(*n.left) + ")";
  }
  return "?";
}

}  // namespace
}  // namespace detail

using detail::formula_access;
using detail::formula_monitor;
using detail::formula_node;
using detail::op;

formula::formula(std::string name, std::function<bool(const event&)> test) {
  auto n = std::make_shared<formula_node>();
  n->name = std::move(name);
  n->test = std::move(test);
  node_ = std::move(n);
}

std::string formula::to_string() const { return detail::print(*node_); }

formula kind_is(event_kind kind) {
  return formula(tracing::to_string(kind), [kind](const event& e) { return e.kind == kind; });
}
formula what_is(const std::string& text) {
  return formula("\"" + text + "\"", [text](const event& e) { return e.what.find(text) != std::string::npos; });
}
formula actor_is(std::uint64_t id) {
  return formula("actor " + std::to_string(id), [id](const event& e) { return e.actor == id; });
}
formula send_of(const std::string& type) { return kind_is(event_kind::send) && what_is(type); }
formula begin_of(const std::string& type) { return kind_is(event_kind::begin) && what_is(type); }
formula end_of(const std::string& type) { return kind_is(event_kind::end) && what_is(type); }
formula begin_queued_above(std::int64_t n) {
  return formula("begin(queued > " + std::to_string(n) + ")",
                 [n](const event& e) { return e.kind == event_kind::begin && e.value > n; });
}

formula operator!(const formula& a) { return detail::make(op::negation, a); }
formula operator&&(const formula& a, const formula& b) { return detail::make(op::conjunction, a, &b); }
formula operator||(const formula& a, const formula& b) { return detail::make(op::disjunction, a, &b); }
formula implies(const formula& a, const formula& b) { return detail::make(op::implication, a, &b); }
formula previously(const formula& a) { return detail::make(op::previously, a); }
formula once(const formula& a) { return detail::make(op::once, a); }
formula historically(const formula& a) { return detail::make(op::historically, a); }
formula since(const formula& a, const formula& b) { return detail::make(op::since, a, &b); }
formula once_within(std::chrono::nanoseconds d, const formula& a) {
  return detail::make(op::once_within, a, nullptr, d.count());
}
formula historically_within(std::chrono::nanoseconds d, const formula& a) {
  return detail::make(op::historically_within, a, nullptr, d.count());
}

std::uint64_t same_actor(const event& e) { return e.actor; }

// ---- monitors ---------------------------------------------------------------

namespace {

// "always f".
struct always_state final : rule::state {
  formula_monitor f;

  explicit always_state(const formula& formula) : f(formula) {}

  std::unique_ptr<rule::state> copy() const override {
    auto c = std::make_unique<always_state>(*this);
    c->f = f.fresh();
    return c;
  }

  bool step(const event& e, std::vector<violation>& found) override {
    if (f.advance(e)) return true;
    violation v;
    v.rule = name;
    v.expected = expected;
    v.at = e;
    found.push_back(std::move(v));
    return false;
  }
};

// answered_within: pending triggers by key, oldest first, each with its
// entry in the deadline index (erased when answered, so the index holds
// exactly the triggers waiting: at most max_pending).
struct response_state final : rule::state {
  event_key key;
  std::int64_t bound_ns;
  std::size_t max_pending;
  using deadline_index = std::multimap<std::int64_t, std::uint64_t>;  // deadline -> key
  struct waiting_trigger {
    event e;
    deadline_index::iterator deadline;
  };
  std::map<std::uint64_t, std::deque<waiting_trigger>> pending;
  deadline_index deadlines;
  std::uint64_t dropped_ = 0;
  // Stepped on every event, so a past-time trigger or response keeps its
  // history.
  formula_monitor is_trigger, is_response;

  response_state(const formula& t, const formula& r, event_key k, std::int64_t bound, std::size_t max)
      : key(std::move(k)), bound_ns(bound), max_pending(max), is_trigger(t), is_response(r) {}

  std::unique_ptr<rule::state> copy() const override {
    auto c = std::make_unique<response_state>(*this);
    c->pending.clear();
    c->deadlines.clear();
    c->dropped_ = 0;
    c->is_trigger = is_trigger.fresh();
    c->is_response = is_response.fresh();
    return c;
  }

  // Every trigger whose deadline is before now_ns: a violation each. The
  // one reported is the one whose deadline passed (found by its index
  // entry): with events slightly out of time order, the oldest trigger of
  // a key need not have its earliest deadline.
  bool expire(std::int64_t now_ns, const event* current, std::vector<violation>& found) {
    bool none = true;
    while (!deadlines.empty() && deadlines.begin()->first < now_ns) {
      const auto due = deadlines.begin();
      auto it = pending.find(due->second);
      auto& queue = it->second;
      auto late = std::find_if(queue.begin(), queue.end(),
                               [&](const waiting_trigger& w) { return w.deadline == due; });
      violation v;
      v.rule = name;
      v.expected = expected;
      v.trigger = late->e;
      if (current) v.at = *current;
      found.push_back(std::move(v));
      none = false;
      deadlines.erase(due);
      queue.erase(late);
      if (queue.empty()) pending.erase(it);
    }
    return none;
  }

  bool step(const event& e, std::vector<violation>& found) override {
    const bool triggered = is_trigger.advance(e);
    const bool responded = is_response.advance(e);
    // Late triggers first: a response that comes after a deadline answers
    // the next trigger of its key, not the one it was too late for.
    const bool ok = expire(e.time_ns, &e, found);
    if (responded) {
      auto it = pending.find(key(e));
      if (it != pending.end()) {
        deadlines.erase(it->second.front().deadline);
        it->second.pop_front();
        if (it->second.empty()) pending.erase(it);
      }
    }
    if (triggered) {
      if (deadlines.size() >= max_pending) {
        ++dropped_;
      } else {
        // In the queue first, then indexed: if indexing throws, nothing
        // is left half-added (the index must only name queued triggers).
        const std::uint64_t k = key(e);
        auto& queue = pending[k];
        queue.push_back({e, deadlines.end()});
        try {
          queue.back().deadline = deadlines.emplace(e.time_ns + bound_ns, k);
        } catch (...) {
          queue.pop_back();
          if (queue.empty()) pending.erase(k);
          throw;
        }
      }
    }
    return ok;
  }

  bool finish(std::int64_t now_ns, std::vector<violation>& found) override {
    return expire(now_ns, nullptr, found);
  }
  std::uint64_t dropped() const override { return dropped_; }
};

}  // namespace

rule::rule(std::string name, const formula& f) {
  auto s = std::make_unique<always_state>(f);
  s->name = std::move(name);
  s->expected = "always " + f.to_string();
  state_ = std::move(s);
}
rule::rule(std::unique_ptr<state> s) : state_(std::move(s)) {}
rule::~rule() = default;
rule::rule(const rule& other) : state_(other.state_->copy()) {}
rule& rule::operator=(const rule& other) {
  if (this != &other) state_ = other.state_->copy();
  return *this;
}
rule::rule(rule&&) noexcept = default;
rule& rule::operator=(rule&&) noexcept = default;
const std::string& rule::name() const noexcept { return state_->name; }
bool rule::step(const event& e, std::vector<violation>& found) { return state_->step(e, found); }
bool rule::finish(std::int64_t now_ns, std::vector<violation>& found) { return state_->finish(now_ns, found); }
std::uint64_t rule::dropped() const noexcept { return state_->dropped(); }

rule answered_within(std::string name, const formula& trigger, const formula& response, event_key key,
                     std::chrono::nanoseconds d, std::size_t max_pending) {
  auto s = std::make_unique<response_state>(trigger, response, std::move(key), d.count(), max_pending);
  s->name = std::move(name);
  s->expected = "after " + trigger.to_string() + ", " + response.to_string() + " within " +
                std::to_string(static_cast<double>(d.count()) / 1e6) + " ms";
  return rule(std::move(s));
}

std::vector<violation> check(const std::vector<event>& events, const std::vector<rule>& rules,
                             std::size_t window) {
  std::vector<rule> monitors(rules.begin(), rules.end());  // fresh copies
  std::vector<violation> found;
  std::deque<event> recent;
  auto attach_from = [&](std::size_t first) {
    for (std::size_t i = first; i < found.size(); ++i) found[i].window.assign(recent.begin(), recent.end());
  };
  for (const event& e : events) {
    const std::size_t before = found.size();
    for (auto& m : monitors) m.step(e, found);
    attach_from(before);
    recent.push_back(e);
    if (recent.size() > window) recent.pop_front();
  }
  const std::int64_t end = events.empty() ? 0 : events.back().time_ns;
  const std::size_t before = found.size();
  for (auto& m : monitors) m.finish(end, found);
  attach_from(before);
  return found;
}

std::string to_string(const violation& v) {
  std::string out = "rule \"" + v.rule + "\" broken (expected " + v.expected + ")";
  if (v.trigger.time_ns != 0) out += "; unanswered: " + tracing::to_string(v.trigger);
  if (v.at.time_ns != 0) out += "; at: " + tracing::to_string(v.at);
  if (!v.window.empty()) {
    out += "; before it:";
    for (auto& e : v.window) out += " | " + tracing::to_string(e);
  }
  return out;
}

}  // namespace troupe::tracing
