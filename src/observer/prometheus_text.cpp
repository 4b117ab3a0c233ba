// The runtime's (and a node's) metrics in the Prometheus text format, and
// the format's writing rules.
#include "prometheus_text.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "troupe/async/stats.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/runtime_stats.hpp"
#include "troupe/net/node.hpp"

namespace troupe::observer {
namespace {

void escape_into(std::string& out, const std::string& text, bool quotes) {
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quotes)
      out += "\\\"";
    else
      out += c;
  }
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// One family with a single unlabelled sample.
void single(std::string& out, const std::string& name, const std::string& help, const char* type, double v) {
  write_head(out, name, help, type);
  write_sample(out, name, {}, v);
}

}  // namespace

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // The shortest text that reads back as v: 0.1, not 0.10000000000000001,
  // so that a query's {le="0.1"} or {quantile="0.99"} matches.
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

void write_head(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  escape_into(out, help, false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void write_sample(std::string& out, const std::string& name, const labels& with, double value) {
  out += name;
  if (!with.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [label, text] : with) {
      if (!first) out += ',';
      first = false;
      out += label;
      out += "=\"";
      escape_into(out, text, true);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += number(value);
  out += '\n';
}

void write_service(std::string& out, const std::string& name, const troupe::stats& s) {
  single(out, name + "_requests_total", "Calls through the service's stats filter.", "counter",
         static_cast<double>(s.requests()));
  write_head(out, name + "_failures_total", "Calls that failed, by error code.", "counter");
  for (std::size_t code = 1; code < errc_count; ++code) {
    const auto n = s.failures(static_cast<errc>(code));
    if (n != 0) write_sample(out, name + "_failures_total", {{"code", std::string(to_string(static_cast<errc>(code)))}},
                             static_cast<double>(n));
  }
  single(out, name + "_in_flight", "Calls started and not yet finished.", "gauge",
         static_cast<double>(s.in_flight()));
  const std::string latency = name + "_latency_seconds";
  write_head(out, latency, "Call latency.", "summary");
  for (double q : {0.5, 0.9, 0.99})
    write_sample(out, latency, {{"quantile", number(q)}}, seconds(s.percentile(q)));
  write_sample(out, latency + "_sum", {}, seconds(s.total_latency()));
  write_sample(out, latency + "_count", {}, static_cast<double>(s.requests()));
}

std::string prometheus_text(runtime& rt, const metrics* user, const net::node* node) {
  const runtime_stats s = rt.stats();
  std::string out;
  out.reserve(8192);
  auto count = [](std::uint64_t n) { return static_cast<double>(n); };
  single(out, "troupe_uptime_seconds", "Time since the runtime started.", "gauge", seconds(s.uptime));
  single(out, "troupe_actors_alive", "Actors spawned and not yet ended.", "gauge", count(s.actors_alive));
  single(out, "troupe_actors_spawned_total", "Actors spawned.", "counter",
         count(s.actors_spawned));
  write_head(out, "troupe_actors_ended_total", "Actors ended, by how they ended.", "counter");
  write_sample(out, "troupe_actors_ended_total", {{"reason", "normal"}}, count(s.ended_normal));
  write_sample(out, "troupe_actors_ended_total", {{"reason", "shutdown"}}, count(s.ended_shutdown));
  write_sample(out, "troupe_actors_ended_total", {{"reason", "killed"}}, count(s.ended_killed));
  write_sample(out, "troupe_actors_ended_total", {{"reason", "error"}}, count(s.ended_error));
  single(out, "troupe_messages_received_total", "Messages put into actors' mailboxes (user messages, and downs and exits taken as messages).",
         "counter", count(s.messages_received));
  single(out, "troupe_messages_handled_total", "Messages taken out of mailboxes to be handled.", "counter",
         count(s.messages_handled));
  single(out, "troupe_messages_queued", "Messages waiting in mailboxes.", "gauge", count(s.messages_queued));
  // The distribution of live actors by mailbox length. It goes down as
  // well as up, so gauges with a cumulative `le` label rather than a
  // histogram (format 0.0.4 has no gauge histogram).
  write_head(out, "troupe_actors_by_mailbox_length",
             "Live actors with at most `le` messages queued in their mailbox.", "gauge");
  for (std::size_t i = 0; i <= runtime_stats::mailbox_bounds.size(); ++i)
    write_sample(out, "troupe_actors_by_mailbox_length",
                 {{"le", i < runtime_stats::mailbox_bounds.size()
                             ? number(static_cast<double>(runtime_stats::mailbox_bounds[i]))
                             : "+Inf"}},
                 count(s.mailbox_lengths[i]));
  write_head(out, "troupe_mailbox_largest", "The longest mailboxes now (at most five actors).", "gauge");
  for (const auto& [who, length] : s.largest_mailboxes)
    write_sample(out, "troupe_mailbox_largest", {{"pid", who.to_string()}}, count(length));
  write_head(out, "troupe_dead_letters_total", "Messages that reached no actor, by cause.", "counter");
  for (const auto& [cause, n] : s.dead_letters_by_cause)
    write_sample(out, "troupe_dead_letters_total", {{"cause", cause}}, count(n));
  single(out, "troupe_long_turns_total", "Turns that ran longer than long_turn_warning.", "counter",
         count(s.long_turns));
  single(out, "troupe_timers_pending", "Timers set and not yet fired or cancelled.", "gauge",
         count(s.timers_pending));
  single(out, "troupe_global_run_queue", "Actors waiting in the scheduler's global queue.", "gauge",
         count(s.global_queue));
  struct per_worker {
    const char* name;
    const char* help;
    const char* type;
    double (*value)(const worker_stats&);
  };
  static const per_worker worker_metrics[] = {
      {"troupe_worker_turns_total", "Turns the worker ran.", "counter",
       [](const worker_stats& w) { return static_cast<double>(w.turns); }},
      {"troupe_worker_steals_total", "Actors the worker took from other workers.", "counter",
       [](const worker_stats& w) { return static_cast<double>(w.steals); }},
      {"troupe_worker_parks_total", "Times the worker slept for want of work.", "counter",
       [](const worker_stats& w) { return static_cast<double>(w.parks); }},
      {"troupe_worker_asleep_seconds_total",
       "Time the worker slept; 1 - rate(this) is its utilization, as Erlang's scheduler utilization.",
       "counter", [](const worker_stats& w) { return std::chrono::duration<double>(w.asleep).count(); }},
      {"troupe_worker_run_queue", "Actors waiting in the worker's queues.", "gauge",
       [](const worker_stats& w) { return static_cast<double>(w.run_queue); }},
  };
  for (const auto& m : worker_metrics) {
    write_head(out, m.name, m.help, m.type);
    for (const auto& w : s.workers)
      write_sample(out, m.name, {{"worker", std::to_string(w.index)}, {"spare", w.spare ? "true" : "false"}},
                   m.value(w));
  }
  single(out, "troupe_trace_events_recorded_total", "Trace events recorded since tracing last started.",
         "counter", count(s.trace_recorded));
  single(out, "troupe_trace_events_lost_total", "Trace events overwritten or dropped by the rate limit.",
         "counter", count(s.trace_lost));
  if (node) {
    const auto c = node->stats();
    single(out, "troupe_node_frames_sent_total", "Frames sent to other nodes.", "counter", count(c.frames_out));
    single(out, "troupe_node_frames_received_total", "Frames received from other nodes.", "counter",
           count(c.frames_in));
    single(out, "troupe_node_handshakes_refused_total", "Handshakes refused (cookie, version, name).", "counter",
           count(c.refused_handshakes));
    single(out, "troupe_node_malformed_frames_total", "Frames that did not decode (their connection closed).",
           "counter", count(c.malformed_frames));
    single(out, "troupe_node_unknown_types_total", "Messages of types not registered here.", "counter",
           count(c.unknown_types));
    single(out, "troupe_node_proxies", "Remote pids this node keeps a proxy for.", "gauge", count(c.proxies));
    write_head(out, "troupe_node_peer_up", "Connected nodes by fault state (1 in the state they are in).", "gauge");
    for (const auto& peer : node->connected_nodes()) {
      const auto state = node->state_of(peer);
      for (auto st : {net::fault_state::ok, net::fault_state::temp_fail, net::fault_state::perm_fail})
        write_sample(out, "troupe_node_peer_up", {{"peer", peer}, {"state", std::string(net::to_string(st))}},
                     st == state ? 1 : 0);
    }
  }
  if (user) user->write_prometheus(out);
  return out;
}

}  // namespace troupe::observer
