// trace(): gives every call through it a span of its own: a child of the
// caller's request context, or a new trace at the edge. The callee and all
// continuations made under it see the span as request_context::current().
// `on_span` (optional) is told of each span as the call starts.
#pragma once

#include <functional>
#include <memory>

#include "troupe/async/request_context.hpp"
#include "troupe/async/service.hpp"

namespace troupe {

// The filter trace() makes; copies share `on_span`.
class trace_filter {
 public:
  // Marks the class as a filter.
  using filter_tag = void;
  // `on_span` (may be empty) is told of each new span.
  explicit trace_filter(std::function<void(const request_context&)> on_span = {})
      : on_span_(std::make_shared<std::function<void(const request_context&)>>(std::move(on_span))) {}

  // `next`, with each call run in a new child span.
  template <class Req, class Rep>
  service<Req, Rep> wrap(service<Req, Rep> next) const {
    return service<Req, Rep>([on_span = on_span_, next = std::move(next)](Req request) {
      auto span = request_context::child_of(request_context::current());
      if (*on_span) (*on_span)(*span);
      context_scope scope(std::move(span));
      return next(std::move(request));
    });
  }

 private:
  std::shared_ptr<std::function<void(const request_context&)>> on_span_;
};

// A span per call; see the top of this file.
inline trace_filter trace(std::function<void(const request_context&)> on_span = {}) {
  return trace_filter(std::move(on_span));
}

}  // namespace troupe
