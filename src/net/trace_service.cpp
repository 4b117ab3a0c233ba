// The trace service (troupe/net/trace_service.hpp).
//
// Protocol. A trace_request arrives as a request; the service takes it out
// of the handler (a response_promise) and sets a timer for its duration.
// Recording starts with the request's filter unless the runtime already
// records (then the owner's filter and rings stay). When the timer fires,
// the events since the request came are exported and the promise answered;
// recording stops once no request waits, if the service started it. The
// service crashing (or the node stopping) breaks the promises: the asker
// gets receiver_down, never silence.
#include "troupe/net/trace_service.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

#include "troupe/async/ask.hpp"
#include "troupe/core/actor.hpp"
#include "troupe/core/trace_file.hpp"
#include "troupe/net/node.hpp"
#include "troupe/net/wire_type.hpp"

namespace troupe::net {

namespace {

// Requests that may wait at once (each holds a timer and, at its end, a
// window of up to max_bytes).
constexpr std::size_t max_waiting = 8;

struct window_ends {
  std::uint64_t id;
};

struct pending {
  response_promise answer;
  trace_request request;
  std::int64_t since_ns;
};

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The window as JSON of at most max_bytes: the newest events that fit.
trace_reply export_window(runtime& rt, const trace_request& req, std::int64_t since_ns) {
  auto all = tracing::snapshot(rt);
  std::vector<tracing::event> window;
  for (auto& e : all)
    if (e.time_ns >= since_ns) window.push_back(std::move(e));
  const auto st = tracing::counts(rt);
  std::uint64_t lost = st.overwritten + st.rate_limited;
  std::size_t keep = window.size();
  for (;;) {
    std::vector<tracing::event> part(window.end() - static_cast<std::ptrdiff_t>(keep), window.end());
    std::ostringstream out;
    if (req.format == "jsonl")
      tracing::write_jsonl(part, out);
    else
      tracing::write_chrome_json(part, out, lost + (window.size() - keep));
    std::string json = out.str();
    if (json.size() <= req.max_bytes || keep == 0) {
      trace_reply reply;
      reply.json = std::move(json);
      reply.events = keep;
      reply.lost = lost + (window.size() - keep);
      return reply;
    }
    keep /= 2;  // the newest half
  }
}

// The request's filter, its names resolved on this node; an empty
// optional and `why` when it is not one.
std::optional<tracing::filter> filter_of(runtime& rt, const trace_request& req, std::string& why) {
  constexpr std::size_t max_entries = 64, max_text = 256;
  if (req.format != "chrome" && req.format != "jsonl") {
    why = "format must be chrome or jsonl";
    return std::nullopt;
  }
  if (req.actors.size() > max_entries || req.message_types.size() > max_entries) {
    why = "at most " + std::to_string(max_entries) + " actors and " + std::to_string(max_entries) + " message types";
    return std::nullopt;
  }
  tracing::filter f{.with_spawned = req.with_spawned,
                    .kinds = req.kinds,
                    .max_events_per_second = req.max_events_per_second};
  for (const std::string& type : req.message_types) {
    if (type.empty() || type.size() > max_text) {
      why = "a message type must be 1 to " + std::to_string(max_text) + " bytes";
      return std::nullopt;
    }
    f.message_types.push_back(type);
  }
  for (const std::string& who : req.actors) {
    if (who.empty() || who.size() > max_text) {
      why = "an actor must be 1 to " + std::to_string(max_text) + " bytes";
      return std::nullopt;
    }
    // "<0.12.0>" or "12": an id; anything else: a registered name.
    std::string digits = who;
    if (digits.starts_with("<0.") && digits.ends_with(".0>")) digits = digits.substr(3, digits.size() - 6);
    if (!digits.empty() && digits.size() <= 19 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      const std::uint64_t id = std::stoull(digits);
      if (id == 0) {  // no actor has it: the filter would become "every actor"
        why = "no actor has the id 0";
        return std::nullopt;
      }
      f.actor_ids.push_back(id);
      continue;
    }
    pid p = rt.whereis(who);
    if (!p) {
      why = "no actor is registered as " + who;
      return std::nullopt;
    }
    f.actors.push_back(p);
  }
  return f;
}

}  // namespace

void register_trace_types() {
  // ".2": the filter fields and the format; a node of before asks with a
  // type this one does not take (an error, not a misread request).
  add_wire_type(wire_type_for<trace_request>("troupe.trace_request.2"));
  add_wire_type(wire_type_for<trace_reply>("troupe.trace_reply"));
}

namespace {

// Recording that the service started: stopped when no request waits, or
// when the service ends (a node destroyed mid-window), unless someone
// started tracing again since (then it is theirs).
struct started_recording {
  runtime& rt;
  std::uint64_t session = 0;  // 0: the service did not start it
  explicit started_recording(runtime& r) : rt(r) {}
  ~started_recording() { release(); }
  void release() {
    if (session != 0 && tracing::session(rt) == session) tracing::stop(rt);
    session = 0;
  }
};

}  // namespace

troupe::pid serve_traces(runtime& rt) {
  register_trace_types();
  auto service = rt.spawn([&rt](actor& self) -> behavior {
    auto waiting = std::make_shared<std::map<std::uint64_t, pending>>();
    auto started_here = std::make_shared<started_recording>(rt);
    auto next_id = std::make_shared<std::uint64_t>(1);
    return {
        [&self, &rt, waiting, started_here, next_id](trace_request req) {
          if (req.duration_ms < 1 || req.duration_ms > 600'000) {
            // Bad input from another node: refused, the service goes on.
            self.make_response_promise().deliver_error(
                error(errc::handler_failed, "trace_request: duration_ms must be 1 to 600000"));
            return;
          }
          if (waiting->size() >= max_waiting) {
            self.make_response_promise().deliver_error(
                error(errc::overloaded, "trace_request: " + std::to_string(max_waiting) + " already wait"));
            return;
          }
          std::string why;
          auto filter = filter_of(rt, req, why);
          if (!filter) {
            self.make_response_promise().deliver_error(error(errc::handler_failed, "trace_request: " + why));
            return;
          }
          req.max_bytes = std::min<std::uint64_t>(req.max_bytes, 15u << 20);
          if (!tracing::active(rt)) started_here->session = tracing::start(rt, {.filter = std::move(*filter)});
          const std::uint64_t id = (*next_id)++;
          waiting->emplace(id, pending{self.make_response_promise(), req, steady_now_ns()});
          self.send_after(std::chrono::milliseconds(req.duration_ms), self.pid(), window_ends{id});
        },
        [&rt, waiting, started_here](window_ends w) {
          auto it = waiting->find(w.id);
          if (it == waiting->end()) return;
          pending p = std::move(it->second);
          waiting->erase(it);
          trace_reply reply = export_window(rt, p.request, p.since_ns);
          if (waiting->empty()) started_here->release();
          p.answer.deliver(std::move(reply));
        },
    };
  });
  if (!rt.register_name(trace_service_name, service)) {
    rt.send_exit(service, exit_reason::shutdown());
    return {};
  }
  return service;
}

future<trace_reply> fetch_trace(runtime& rt, node& from, const std::string& node_name,
                                const trace_request& what) {
  register_trace_types();
  const duration timeout = std::chrono::milliseconds(what.duration_ms) + std::chrono::seconds(10);
  return from.whereis("troupe://" + node_name + "/" + trace_service_name)
      .then([&rt, what, timeout](troupe::pid service) { return ask<trace_reply>(rt, service, what, timeout); });
}

}  // namespace troupe::net
