// request_context: values that follow a request through nested calls, such
// as a trace id (Finagle's Contexts and Trace).
//
//   with_context(request_context::new_trace(), [&] {
//     client(req);   // every future continuation and service call made
//   });              // from here sees the same trace id
//
// The context is per thread while code runs, and every future continuation
// captures the context current when it was attached and runs inside it, so
// it flows through map/then chains, filters and services, across threads
// and executors, and into actors' continuations. It rides on actor
// messages too: a message sent while a context is current carries its
// trace id and a span of its own, on this node or to another, and its
// handler runs with that span as current() (a child of the sender's).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace troupe {

// One span of a request's trace; shared read-only once made.
class request_context {
 public:
  // The trace: the same for every span of one request tree.
  std::uint64_t trace_id = 0;   // same for every span of one request tree
  // This call's span.
  std::uint64_t span_id = 0;    // this call
  // The caller's span; 0 at the root.
  std::uint64_t parent_id = 0;  // the caller's span (0 at the root)

  // The context of the code running on this thread (null if none).
  static std::shared_ptr<const request_context> current() noexcept;
  // A root: a new trace id and span id.
  static std::shared_ptr<const request_context> new_trace();
  // A child span of `parent` (a new root if parent is null).
  static std::shared_ptr<const request_context> child_of(
      const std::shared_ptr<const request_context>& parent);
  // "trace=... span=... parent=..." in hex, for logs.
  std::string to_string() const;
};

// Installs a context for the lifetime of the scope (nests).
class context_scope {
 public:
  // Makes `ctx` current until the scope ends, then restores the previous one.
  explicit context_scope(std::shared_ptr<const request_context> ctx) noexcept;
  ~context_scope();
  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;

 private:
  std::shared_ptr<const request_context> saved_;
  std::uint64_t saved_trace_, saved_span_;  // the thread's trace ids before (a message's)
};

// Runs fn() with `ctx` as the current context; returns what fn returns.
template <class F>
decltype(auto) with_context(std::shared_ptr<const request_context> ctx, F&& fn) {
  context_scope scope(std::move(ctx));
  return std::forward<F>(fn)();
}

namespace detail {
// Swaps the thread's current context with `ctx` (used around continuations).
void swap_request_context(std::shared_ptr<const request_context>& ctx) noexcept;
}  // namespace detail

}  // namespace troupe
