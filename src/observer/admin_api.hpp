// The admin server's JSON documents, each built from what the runtime (and
// node) say now. Private to src/observer; admin.cpp routes to them.
#pragma once

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
// "%3C0.4.0%3E" -> "<0.4.0>" (and '+' -> ' '); nullopt if an escape is malformed.
std::optional<std::string> percent_decode(std::string_view in);
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
// The trace rings now, as Chrome trace-event JSON (404 if never traced).
answer trace_json(runtime& rt);
// Blocking: asks each supervisor for its children (collector thread only).
answer tree_json(runtime& rt, const admin_options& opts);
// Blocking, as tree_json: each child's restarts in the text format (empty
// when no supervisors are shown).
std::string supervisor_metrics(runtime& rt, const admin_options& opts);

}  // namespace troupe::observer::detail
