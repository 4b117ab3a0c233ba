// The monitors behind temporal assertions (troupe/core/trace_check.hpp):
// a formula's tree, its flattened monitor, and the state every rule kind
// implements. Private to src/core (trace_check.cpp, trace_patterns.cpp,
// trace_spec.cpp).
//
// Compiling. A formula is a tree; a monitor flattens it in post-order, so
// each node's operands come before it. Monitor state per node: `now` and
// `pre` (its value at this event and at the previous one) and, for the
// metric operators, one time. At each event the nodes are evaluated in
// order from the operands' `now` and their own `pre` (Havelund and Rosu);
// then `pre` becomes `now`. Memory is fixed by the formula's size, whatever
// the stream's length.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "troupe/core/trace_check.hpp"

namespace troupe::tracing {

namespace detail {

enum class op { atom, negation, conjunction, disjunction, implication, previously, once, historically, since,
                once_within, historically_within };

struct formula_node {
  op kind = op::atom;
  std::string name;  // atoms
  std::function<bool(const event&)> test;
  std::shared_ptr<const formula_node> left, right;
  std::int64_t bound_ns = 0;
};

struct formula_access {
  static const std::shared_ptr<const formula_node>& node(const formula& f) { return f.node_; }
  static formula make(std::shared_ptr<const formula_node> n) { return formula(std::move(n)); }
};


// One formula, flattened, with its bits: its value at each event.
struct formula_monitor {
  struct slot {
    const formula_node* node;
    int left = -1, right = -1;  // operand slots
    bool now = false, pre = false;
    bool seen = false;        // metric: `when` is set
    std::int64_t when = 0;    // once_within: last time the operand held; historically_within: last time it did not
  };
  std::shared_ptr<const formula_node> root;  // keeps the nodes alive
  std::vector<slot> slots;
  bool first = true;

  explicit formula_monitor(const formula& f) : root(formula_access::node(f)) { flatten(root.get()); }

  int flatten(const formula_node* n) {
    slot s{n};
    if (n->left) s.left = flatten(n->left.get());
    if (n->right) s.right = flatten(n->right.get());
    slots.push_back(s);
    return static_cast<int>(slots.size()) - 1;
  }

  // The same formula, from the start of a stream.
  formula_monitor fresh() const {
    formula_monitor c = *this;
    for (auto& s : c.slots) {
      s.now = s.pre = s.seen = false;
      s.when = 0;
    }
    c.first = true;
    return c;
  }

  // The formula's value at e (the next event of the stream).
  bool advance(const event& e) {
    for (auto& s : slots) {
      const bool a = s.left >= 0 && slots[static_cast<std::size_t>(s.left)].now;
      const bool b = s.right >= 0 && slots[static_cast<std::size_t>(s.right)].now;
      switch (s.node->kind) {
        case op::atom: s.now = s.node->test(e); break;
        case op::negation: s.now = !a; break;
        case op::conjunction: s.now = a && b; break;
        case op::disjunction: s.now = a || b; break;
        case op::implication: s.now = !a || b; break;
        case op::previously: s.now = !first && slots[static_cast<std::size_t>(s.left)].pre; break;
        case op::once: s.now = a || (!first && s.pre); break;
        case op::historically: s.now = a && (first || s.pre); break;
        case op::since: s.now = b || (a && !first && s.pre); break;
        case op::once_within:
          if (a) {
            s.seen = true;
            s.when = e.time_ns;
          }
          s.now = s.seen && e.time_ns - s.when <= s.node->bound_ns;
          break;
        case op::historically_within:
          if (!a) {
            s.seen = true;
            s.when = e.time_ns;
          }
          s.now = !s.seen || e.time_ns - s.when > s.node->bound_ns;
          break;
      }
    }
    for (auto& s : slots) s.pre = s.now;
    first = false;
    return slots.back().now;
  }
};

}  // namespace detail

struct rule::state {
  std::string name;
  std::string expected;
  virtual ~state() = default;
  virtual std::unique_ptr<state> copy() const = 0;
  virtual bool step(const event& e, std::vector<violation>& found) = 0;
  virtual bool finish(std::int64_t, std::vector<violation>&) { return true; }
  virtual std::uint64_t dropped() const { return 0; }
};


}  // namespace troupe::tracing
