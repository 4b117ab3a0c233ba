// trace_service: fetch a trace from a running node (troupe/core/trace.hpp
// records; this carries a window of it across the network).
//
//   // On node b (a net::node serves it by default, node_options::serve_traces):
//   // the actor registered as "troupe.trace".
//   // From node a, or `troupe trace b@host --connect HOST:PORT --for 5s -o trace.json`:
//   auto reply = net::fetch_trace(rt_a, node_a, "b@127.0.0.1", {.duration_ms = 5000}).get();
//   std::ofstream("trace.json") << reply.json;
//
// The service records for the requested time and answers with that window
// as Chrome trace-event JSON (at most `max_bytes`: the oldest events are
// left out first, and counted in `lost`). If the node was already
// recording, its own filter and rings stay as they are and the answer is
// the events of the window; otherwise the request's filter is used, and
// recording stops again once no request waits. Any node that holds the
// cookie may ask (a connected node has full power over this one anyway).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "troupe/async/future.hpp"
#include "troupe/core/pid.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/trace.hpp"

namespace troupe::net {

class node;

// What to record and for how long.
struct trace_request {
  // How long to record, in milliseconds (1 to 600,000).
  std::int64_t duration_ms = 1000;
  // Which kinds (tracing::kind_bit()s); all but the scheduler's steps by
  // default (tracing::default_kinds).
  std::uint32_t kinds = tracing::default_kinds;
  // At most this many events per second (0: no limit).
  std::uint64_t max_events_per_second = 0;
  // The largest answer, in bytes (at most 15 MiB: under a node link's
  // default frame limit).
  std::uint64_t max_bytes = 8u << 20;
  // Only the events of these actors of the traced node: registered names,
  // or pids by their ids as a trace shows them ("<0.12.0>" or "12"); empty:
  // every actor. At most 64, and a name not registered there is an error.
  std::vector<std::string> actors{};
  // With `actors`: also the actors they spawn while recording.
  bool with_spawned = false;
  // Only sends, begins and ends of message types whose names contain one
  // of these (at most 64); empty: any.
  std::vector<std::string> message_types{};
  // How `trace_reply::json` is written: "chrome" (trace-event JSON, for
  // Perfetto UI) or "jsonl" (JSON lines with every field, for
  // tracing::read_jsonl and `troupe trace check`).
  std::string format = "chrome";
};

// The window, exported.
struct trace_reply {
  // The window: Chrome trace-event JSON (tracing::write_chrome_json) or
  // JSON lines (tracing::write_jsonl), as the request's `format` asked.
  std::string json;
  // Events in `json`.
  std::uint64_t events = 0;
  // Events recorded but not in `json`: overwritten in a full ring, dropped
  // by the rate limit, or left out to keep under max_bytes.
  std::uint64_t lost = 0;
};

// The name the service is registered under on its node.
inline constexpr const char* trace_service_name = "troupe.trace";

// Registers the wire types above (every node that asks or answers).
void register_trace_types();
// Spawns the service on `rt` and registers it as trace_service_name; a
// null pid if that name is taken.
troupe::pid serve_traces(runtime& rt);
// Asks `node_name` (connected to `from`, whose runtime is `rt`) for a
// trace; the future fails with the request's error (timeout: duration
// plus 10 s; no_handler or receiver_down from a node that does not serve).
future<trace_reply> fetch_trace(runtime& rt, node& from, const std::string& node_name,
                                const trace_request& what);

}  // namespace troupe::net
