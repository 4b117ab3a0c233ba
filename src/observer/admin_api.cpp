// The admin API's JSON documents (nlohmann-json).
#include "admin_api.hpp"
#include "prometheus_text.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <functional>
#include <queue>
#include <sstream>
#include <set>

#include <nlohmann/json.hpp>

#include "troupe/async/ask.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/runtime_stats.hpp"
#include "troupe/core/trace.hpp"
#include "troupe/core/trace_file.hpp"
#include "troupe/fault/supervisor.hpp"
#include "troupe/net/node.hpp"

namespace troupe::observer::detail {
namespace {

using json = nlohmann::json;

answer ok(const json& j) {
  // Names and type names come from programs: never let a stray byte make
  // the document invalid (replaced by U+FFFD).
  return {200, j.dump(-1, ' ', false, json::error_handler_t::replace)};
}
answer fail(int status, std::string why) { return {status, std::move(why)}; }

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

json process_to_json(const process_info& p) {
  return {{"pid", p.pid.to_string()},
          {"id", p.pid.id()},
          {"name", p.name},
          {"kind", p.kind},
          {"status", p.status},
          {"detached", p.detached},
          {"mailbox", p.mailbox},
          {"received", p.received},
          {"handled", p.handled},
          {"memory_bytes", p.memory_bytes}};
}

bool parse_size(const std::string* text, std::size_t fallback, std::size_t& out) {
  if (!text) {
    out = fallback;
    return true;
  }
  const char* end = text->data() + text->size();
  auto [p, ec] = std::from_chars(text->data(), end, out);
  return ec == std::errc() && p == end && !text->empty();
}

}  // namespace

std::uint64_t resolve_pid(runtime& rt, const std::string& text) {
  if (const auto id = parse_local_id(text)) return *id;
  if (text.empty() || text.size() > 256) return 0;
  const pid who = rt.whereis(text);
  return who ? who.id() : 0;
}

answer overview_json(runtime& rt, const admin_options& opts) {
  const runtime_stats s = rt.stats();
  double asleep = 0;
  for (const auto& w : s.workers)
    if (!w.spare) asleep += seconds(w.asleep);
  json j = {{"uptime_seconds", seconds(s.uptime)},
            {"workers", rt.worker_count()},
            {"actors_alive", s.actors_alive},
            {"actors_spawned", s.actors_spawned},
            {"actors_ended",
             {{"normal", s.ended_normal}, {"shutdown", s.ended_shutdown}, {"killed", s.ended_killed},
              {"error", s.ended_error}}},
            {"messages_received", s.messages_received},
            {"messages_handled", s.messages_handled},
            {"messages_queued", s.messages_queued},
            {"dead_letters", s.dead_letters},
            {"long_turns", s.long_turns},
            {"timers_pending", s.timers_pending},
            {"worker_seconds_asleep", asleep},
            {"trace_recorded", s.trace_recorded},
            {"trace_lost", s.trace_lost},
            {"tracing", tracing::active(rt)},
            {"node", opts.node ? json(opts.node->name()) : json(nullptr)}};
  json largest = json::array();
  for (const auto& [who, n] : s.largest_mailboxes) largest.push_back({{"pid", who.to_string()}, {"mailbox", n}});
  j["largest_mailboxes"] = std::move(largest);
  return ok(j);
}

answer processes_json(runtime& rt, const admin_options& opts, const query& q) {
  std::size_t offset = 0, limit = 0;
  if (!parse_size(q.find("offset"), 0, offset)) return fail(400, "offset must be a number");
  if (!parse_size(q.find("limit"), std::min<std::size_t>(100, opts.max_page), limit))
    return fail(400, "limit must be a number");
  if (limit == 0 || limit > opts.max_page)
    return fail(400, "limit must be between 1 and " + std::to_string(opts.max_page));
  if (offset > opts.max_window || limit > opts.max_window - offset)
    return fail(400, "offset + limit must be at most " + std::to_string(opts.max_window) +
                         "; filter by name to find an actor further down");
  const std::string* sort_by = q.find("sort");
  const std::string sort = sort_by ? *sort_by : "id";
  // "first" orders before "second" in the table: the field, largest first
  // (names: named ones first), then by id.
  using row_order = std::function<bool(const process_info&, const process_info&)>;
  auto largest_first = [](auto field) -> row_order {
    return [field](const process_info& a, const process_info& b) {
      return a.*field != b.*field ? a.*field > b.*field : a.pid.id() < b.pid.id();
    };
  };
  row_order first;
  if (sort == "id")
    first = [](const process_info& a, const process_info& b) { return a.pid.id() < b.pid.id(); };
  else if (sort == "mailbox")
    first = largest_first(&process_info::mailbox);
  else if (sort == "handled")
    first = largest_first(&process_info::handled);
  else if (sort == "received")
    first = largest_first(&process_info::received);
  else if (sort == "memory")
    first = largest_first(&process_info::memory_bytes);
  else if (sort == "name")
    first = largest_first(&process_info::name);
  else
    return fail(400, "sort must be id, mailbox, handled, received, memory or name");
  const std::string* name = q.find("name");
  if (name && name->size() > 256) return fail(400, "name is longer than 256 bytes");
  // The best offset + limit rows seen, the worst on top: memory stays
  // bounded by the window, however many actors there are.
  const std::size_t keep = offset + limit;
  std::priority_queue<process_info, std::vector<process_info>, decltype(first)> best(first);
  std::size_t total = 0, matched = 0;
  rt.for_each_process([&](const process_info& p) {
    ++total;
    if (name && !name->empty() && p.name.find(*name) == std::string::npos &&
        p.pid.to_string().find(*name) == std::string::npos)
      return;
    ++matched;
    if (best.size() < keep) {
      best.push(p);
    } else if (first(p, best.top())) {
      best.pop();
      best.push(p);
    }
  });
  std::vector<process_info> rows;
  rows.reserve(best.size());
  while (!best.empty()) {
    rows.push_back(best.top());
    best.pop();
  }
  std::reverse(rows.begin(), rows.end());
  json list = json::array();
  for (std::size_t i = offset; i < rows.size(); ++i) list.push_back(process_to_json(rows[i]));
  return ok({{"total", total},
             {"matched", matched},
             {"offset", offset},
             {"limit", limit},
             {"sort", sort},
             {"processes", std::move(list)}});
}

answer process_json(runtime& rt, std::uint64_t id) {
  process_info p;
  if (id == 0 || !rt.process(id, p)) return fail(404, "no such process alive here");
  json j = process_to_json(p);
  json events = json::array();
  if (tracing::session(rt) != 0)  // what the rings hold, tracing on or stopped since
    for (const auto& e : tracing::last_events_of(rt, p.pid, 32)) events.push_back(json::parse(tracing::to_json(e)));
  j["last_events"] = std::move(events);
  return ok(j);
}

answer schedulers_json(runtime& rt) {
  const runtime_stats s = rt.stats();
  json workers = json::array();
  for (const auto& w : s.workers)
    workers.push_back({{"index", w.index},
                       {"spare", w.spare},
                       {"turns", w.turns},
                       {"steals", w.steals},
                       {"parks", w.parks},
                       {"asleep_seconds", seconds(w.asleep)},
                       {"run_queue", w.run_queue}});
  return ok({{"uptime_seconds", seconds(s.uptime)},
             {"global_queue", s.global_queue},
             {"long_turns", s.long_turns},
             {"workers", std::move(workers)}});
}

answer nodes_json(const admin_options& opts) {
  if (!opts.node) return ok({{"node", nullptr}, {"peers", json::array()}});
  json peers = json::array();
  for (const auto& name : opts.node->connected_nodes())
    peers.push_back({{"name", name}, {"state", std::string(net::to_string(opts.node->state_of(name)))}});
  const auto c = opts.node->stats();
  return ok({{"node", opts.node->name()},
             {"address", opts.node->address().to_string()},
             {"peers", std::move(peers)},
             {"frames_sent", c.frames_out},
             {"frames_received", c.frames_in},
             {"handshakes_refused", c.refused_handshakes},
             {"malformed_frames", c.malformed_frames}});
}

answer dead_letters_json(runtime& rt) {
  json list = json::array();
  for (const auto& d : rt.recent_dead_letters())
    list.push_back({{"sender", d.sender.to_string()},
                    {"receiver", d.receiver.to_string()},
                    {"type", d.type},
                    {"reason", d.reason}});
  return ok({{"count", rt.dead_letter_count()}, {"recent", std::move(list)}});
}

answer trace_json(runtime& rt) {
  if (tracing::session(rt) == 0) return fail(404, "nothing traced: POST /api/trace/start first");
  auto events = tracing::snapshot(rt);
  const auto counts = tracing::counts(rt);
  std::uint64_t lost = counts.overwritten + counts.rate_limited;
  // Bounded: rings of a million events a thread would make gigabytes of JSON.
  constexpr std::size_t max_events = 200000;
  if (events.size() > max_events) {
    lost += events.size() - max_events;
    events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(max_events));
  }
  std::ostringstream out;
  tracing::write_chrome_json(events, out, lost);
  return {200, out.str()};
}

answer kill(runtime& rt, const std::string& which) {
  process_info p;
  const std::uint64_t id = resolve_pid(rt, which);
  if (id == 0 || !rt.process(id, p)) return fail(404, "no such process alive here");
  rt.log(log_level::warning, log_component::core,
         "observer: killing " + p.pid.to_string() + (p.name.empty() ? "" : " (" + p.name + ")") +
             " at the admin API's request");
  rt.send_exit(p.pid, exit_reason::kill());
  return ok({{"killed", p.pid.to_string()}});
}

answer trace_start(runtime& rt, std::uint64_t& ours, const std::string& actor, bool with_spawned, bool replace) {
  // A session someone else started (the program's own, a flight recorder,
  // `troupe trace`) is not ours to change unless asked: start() would swap
  // its filter and, with other rings, what it recorded.
  if (tracing::active(rt) && tracing::session(rt) != ours && !replace)
    return fail(409, "tracing started elsewhere is running (session " + std::to_string(tracing::session(rt)) +
                         "); add replace=1 to take it over");
  tracing::options how;  // default rings: a default session started elsewhere keeps what it recorded
  how.filter.max_events_per_second = 100000;  // a busy runtime traced from a browser stays up
  if (!actor.empty()) {
    process_info p;
    const std::uint64_t id = resolve_pid(rt, actor);
    if (id == 0 || !rt.process(id, p)) return fail(404, "no such process alive here");
    how.filter.actors = {p.pid};
    how.filter.with_spawned = with_spawned;
  }
  rt.log(log_level::info, log_component::core,
         "observer: tracing " + (actor.empty() ? std::string("everything") : actor) + " at the admin API's request");
  ours = tracing::start(rt, how);
  return ok({{"tracing", true}, {"session", ours}});
}

answer trace_stop(runtime& rt, std::uint64_t& ours) {
  if (!tracing::active(rt)) return ok({{"tracing", false}});
  if (tracing::session(rt) != ours)
    return fail(409, "this tracing was started elsewhere (session " + std::to_string(tracing::session(rt)) +
                         "); stop it there");
  tracing::stop(rt);
  return ok({{"tracing", false}});
}

namespace {

// A supervisor's subtree; `budget` bounds the nodes visited over the
// whole tree (a tree is a program's, but a loop of names must not hang).
json subtree(runtime& rt, const pid& sup, int depth, std::size_t& budget) {
  json node = {{"pid", sup.to_string()}, {"kind", "supervisor"}};
  process_info p;
  if (rt.process(sup.id(), p)) node["name"] = p.name;
  if (depth > 16 || budget == 0) {
    node["truncated"] = true;
    return node;
  }
  auto answer = ask<std::vector<child_info>>(rt, sup, which_children{}, std::chrono::seconds(1)).outcome();
  if (!answer) {
    node["error"] = answer.error().message();
    return node;
  }
  json children = json::array();
  for (const auto& c : *answer) {
    if (budget == 0) {
      node["truncated"] = true;
      break;
    }
    --budget;
    json child;
    if (c.kind == child_kind::supervisor && c.child)
      child = subtree(rt, c.child, depth + 1, budget);
    else
      child = {{"pid", c.child ? c.child.to_string() : ""},
               {"kind", c.kind == child_kind::supervisor ? "supervisor" : "worker"}};
    child["id"] = c.id;
    child["running"] = static_cast<bool>(c.child);
    child["restarts"] = c.restarts;
    child["last_exit"] = c.last_exit;
    if (c.child && c.kind == child_kind::worker && rt.process(c.child.id(), p)) {
      child["name"] = p.name;
      child["mailbox"] = p.mailbox;
      child["handled"] = p.handled;
    }
    children.push_back(std::move(child));
  }
  node["children"] = std::move(children);
  return node;
}

}  // namespace

namespace {

json trees(runtime& rt, const admin_options& opts) {
  json roots = json::array();
  std::size_t budget = 10000;
  for (const auto& name : opts.supervisors) {
    const pid sup = rt.whereis(name);
    if (!sup) {
      roots.push_back({{"name", name}, {"kind", "supervisor"}, {"error", "not running"}});
      continue;
    }
    json root = subtree(rt, sup, 0, budget);
    root["name"] = name;
    roots.push_back(std::move(root));
  }
  return roots;
}

// Each child's restarts as troupe_supervisor_child_restarts_total{supervisor,child}:
// the supervisor by registered name (a root) or pid. Asks with a short
// timeout and looks up nothing else. A series is written once (two roots
// may share a subtree, a dynamic supervisor may reuse an id).
void restart_samples(runtime& rt, const pid& sup, const std::string& label, int depth, std::size_t& budget,
                     std::set<std::pair<std::string, std::string>>& seen, std::string& out) {
  if (depth > 16 || budget == 0) return;
  auto kids = ask<std::vector<child_info>>(rt, sup, which_children{}, std::chrono::milliseconds(250)).outcome();
  if (!kids) return;
  for (const auto& c : *kids) {
    if (budget == 0) return;
    --budget;
    if (seen.emplace(label, c.id).second)
      write_sample(out, "troupe_supervisor_child_restarts_total", {{"supervisor", label}, {"child", c.id}},
                   static_cast<double>(c.restarts));
    if (c.kind == child_kind::supervisor && c.child)
      restart_samples(rt, c.child, c.child.to_string(), depth + 1, budget, seen, out);
  }
}

}  // namespace

answer tree_json(runtime& rt, const admin_options& opts) { return ok({{"supervisors", trees(rt, opts)}}); }

std::string supervisor_metrics(runtime& rt, const admin_options& opts, restart_cache& cache) {
  if (opts.supervisors.empty()) return {};
  const auto now = std::chrono::steady_clock::now();
  if (!cache.text.empty() && now - cache.at < std::chrono::seconds(10)) return cache.text;
  std::string out;
  write_head(out, "troupe_supervisor_child_restarts_total",
             "Restarts of each child of the supervision trees shown (admin_options::supervisors).", "counter");
  std::set<std::pair<std::string, std::string>> seen;
  std::size_t budget = 10000;
  for (const auto& name : opts.supervisors)
    if (const pid sup = rt.whereis(name)) restart_samples(rt, sup, name, 0, budget, seen, out);
  cache.text = out;
  cache.at = now;
  return out;
}

}  // namespace troupe::observer::detail
