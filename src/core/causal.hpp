// causal: the trace a thread's code belongs to, carried by messages.
//
// A request's trace (async's request_context, an HTTP traceparent) rides on
// every message sent while it is current: the envelope gets the trace id
// and a span id of its own (the send), and the receiver's handler runs with
// that trace and span current, so what it sends in turn is a child of it,
// on this node or, through the net layer's frames, on another. Tracing
// records the ids on send and begin events; the export draws the tree.
//
// Invariants: `current_causal` is zero between turns on every worker and
// I/O thread (dispatch and context_scope restore what they replaced); a
// message is stamped once, by its first deliver (a forward keeps it). Cost
// when no trace is current: one thread-local load and branch per send and
// per dispatch.
#pragma once

#include <cstdint>

namespace troupe::detail {

struct causal_ids {
  std::uint64_t trace = 0;  // 0: no trace
  std::uint64_t span = 0;   // the running code's span
};

inline thread_local causal_ids current_causal{};

// A fresh nonzero span id (random: from the seed in a simulation).
std::uint64_t new_span_id() noexcept;

// The library's own bookkeeping sent from inside a request's handling (a
// node telling its janitor of an export) is not part of the request: its
// sends carry no trace while this lives.
class untraced_scope {
 public:
  untraced_scope() noexcept : saved_(current_causal) { current_causal = {}; }
  ~untraced_scope() { current_causal = saved_; }
  untraced_scope(const untraced_scope&) = delete;
  untraced_scope& operator=(const untraced_scope&) = delete;

 private:
  causal_ids saved_;
};

}  // namespace troupe::detail
