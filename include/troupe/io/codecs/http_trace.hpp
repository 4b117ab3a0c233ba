// W3C Trace Context over HTTP: the `traceparent` header in and out.
//
//   auto app = http::trace_context() | troupe::stats_filter(counters) | routes;
//
// trace_context() runs each request's service call in a span whose parent
// is the request's traceparent (a new trace when it has none), so the
// actors, futures and nodes the call reaches carry that trace
// (request_context, and messages: see troupe/core/trace.hpp). A client
// connection's client_codec writes a traceparent on every request sent
// while a trace is current and that has none of its own.
//
// troupe's trace ids are 64 bits: an incoming 128-bit trace-id keeps its
// low half (its high half when the low one is zero: an id is never 0), and
// is written back with a zero high half, so ids that troupe made, and
// 64-bit ones from B3/Zipkin systems, round-trip; 128-bit ids from
// elsewhere leave changed. troupe records every request it traces, so the
// flags it writes are always 01 (sampled), whatever came in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "troupe/async/request_context.hpp"
#include "troupe/async/service.hpp"
#include "troupe/io/codecs/http.hpp"

namespace troupe::io::http {

// The trace and parent span of a `traceparent` value
// ("00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>"), or nullopt
// when it is not one (wrong length, version ff, all-zero ids, bad hex).
std::optional<request_context> parse_traceparent(std::string_view value);
// The `traceparent` value for a call made in `ctx` (its span is the parent).
std::string traceparent_of(const request_context& ctx);

// The filter trace_context() makes.
class trace_context_filter {
 public:
  // Marks the class as a filter.
  using filter_tag = void;

  // `next`, each call in a child span of the request's traceparent (or of a
  // new trace).
  service<request, response> wrap(service<request, response> next) const {
    return service<request, response>([next = std::move(next)](request req) {
      std::shared_ptr<const request_context> parent;
      if (const std::string* header = req.find_header("traceparent"))
        if (auto incoming = parse_traceparent(*header)) parent = std::make_shared<request_context>(*incoming);
      context_scope scope(request_context::child_of(parent));
      return next(std::move(req));
    });
  }
};

// A span per request, continuing the caller's trace; see the top of this file.
inline trace_context_filter trace_context() { return {}; }

}  // namespace troupe::io::http
