// The admin server's JSON documents, each built from what the runtime (and
// node) say now. Private to src/observer; admin.cpp routes to them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "troupe/observer/admin.hpp"

namespace troupe::observer::detail {

// A parsed query string: name=value pairs, percent-decoded.
struct query {
  std::vector<std::pair<std::string, std::string>> params;
  const std::string* find(const std::string& name) const;
};
// "%3C0.4.0%3E" -> "<0.4.0>" (and, in a query, '+' -> ' '); nullopt if an
// escape is malformed.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space = true);
// Splits "a=1&b=x%20y"; nullopt if an escape is malformed.
std::optional<query> parse_query(std::string_view text);
// "<0.42.0>", "42" -> 42; nullopt for anything else (a name, a remote pid).
std::optional<std::uint64_t> parse_local_id(std::string_view text);
// "<0.42.0>", "42" -> 42; a registered name -> its actor's id; 0 if none.
std::uint64_t resolve_pid(runtime& rt, const std::string& text);

// A document, or an HTTP status and the reason for it.
struct answer {
  int status = 200;
  std::string body;  // JSON text, or the error's reason (plain text)
};

answer overview_json(runtime& rt, const admin_options& opts);
answer processes_json(runtime& rt, const admin_options& opts, const query& q);
answer process_json(runtime& rt, std::uint64_t id);
answer schedulers_json(runtime& rt);
answer nodes_json(const admin_options& opts);
answer dead_letters_json(runtime& rt);
// The trace rings now, the newest 200,000 events, as Chrome trace-event
// JSON (404 if never traced).
answer trace_json(runtime& rt);
// Ends `which` (pid text or name) with reason kill, logged.
answer kill(runtime& rt, const std::string& which);
// Tracing on for one actor (`actor` not empty) or everything; `ours` is the
// session this server started, updated. 409 while a session someone else
// started runs, unless `replace`.
answer trace_start(runtime& rt, std::uint64_t& ours, const std::string& actor, bool with_spawned, bool replace);
// Tracing off, if the running session is ours (409 otherwise).
answer trace_stop(runtime& rt, std::uint64_t& ours);
// Blocking: asks each supervisor for its children (collector thread only).
answer tree_json(runtime& rt, const admin_options& opts);
// /metrics' supervisor figures as last rendered, and when.
struct restart_cache {
  std::string text;
  std::chrono::steady_clock::time_point at{};
};
// Each child's restarts in the text format (empty when no supervisors are
// shown), from `cache` when it is under 10 s old; else the trees are asked
// again (blocking, 250 ms at most per supervisor: collector thread only),
// so a stuck supervisor cannot hold every scrape.
std::string supervisor_metrics(runtime& rt, const admin_options& opts, restart_cache& cache);

}  // namespace troupe::observer::detail
