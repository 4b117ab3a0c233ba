// tracing::write_chrome_json: a snapshot as Chrome trace-event JSON (the
// "JSON Object Format" that Perfetto UI and chrome://tracing load).
//
// Layout. Process 1 ("threads") has a track per recording thread, process
// 2 ("actors") a track per actor. A handling (begin .. end of one message)
// is a complete slice ("X") on both its thread's and its actor's track. A
// send is the start of a flow ("s") on the sender's actor track, bound to
// the slice it was sent from; the handling's begin ends it ("f", bound to
// the enclosing slice). Spawns, exits and marks are instants ("i"); user
// spans are "B"/"E" pairs on their actor's track; a mutex's wait and hold
// are slices on the thread's track. Records are written in
// time order; times are microseconds since the earliest event.
//
// A cluster's export gives node i processes 2i+1 and 2i+2, named after
// it. A message sent inside a request's trace carries its span, on every
// node: its flow is named by the span, so a send on one node meets its
// handling on another, and its slices carry trace, span and parent (the
// sender's span) in their args: the request's tree.
#include <algorithm>
#include <cstdio>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "troupe/core/trace.hpp"

namespace troupe::tracing {

namespace {

constexpr int threads_process = 1;
constexpr int actors_process = 2;

// The length of the UTF-8 sequence starting at text[i], or 0 if the bytes
// there are not one (a lead byte and its continuation bytes).
std::size_t utf8_sequence(const std::string& text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  const std::size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

// A JSON string: quotes, backslashes and control bytes escaped; UTF-8
// sequences kept; any other byte past ASCII (an exit reason or a name need
// not be valid UTF-8, the JSON must be) as its Latin-1 code point.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x80) {
      if (const std::size_t n = utf8_sequence(text, i); n != 0) {
        out.append(text, i, n);
        i += n - 1;
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      }
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string actor_name(std::uint64_t id) {
  if (id == 0) return "outside actors";
  std::string name = "<0.";  // as a local pid prints
  name += std::to_string(id);
  name += ".0>";
  return name;
}

std::string micros(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1000.0);
  return buf;
}

struct record {
  std::int64_t at;
  std::string json;
};

// Records of every node, with the tracks each process uses. Node i's
// processes are 2i+1 (its threads) and 2i+2 (its actors).
class writer {
 public:
  explicit writer(std::int64_t origin) : origin_(origin) {}

  void add(std::int64_t at, const std::string& phase, const std::string& name, int process,
           std::uint64_t track, const std::string& extra = {}) {
    std::string json = "{\"ph\":\"" + phase + "\",\"name\":" + quoted(name) + ",\"pid\":" +
                       std::to_string(process) + ",\"tid\":" + std::to_string(track) +
                       ",\"ts\":" + micros(at - origin_) + extra + "}";
    records_.push_back({at, std::move(json)});
    tracks_[process].insert(track);
  }

  // `nodes` names node i's processes ("" for a lone runtime's export).
  void write(std::ostream& out, std::uint64_t lost, const std::vector<std::string>& nodes) {
    std::stable_sort(records_.begin(), records_.end(),
                     [](const record& a, const record& b) { return a.at < b.at; });
    out << "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"lost_events\":" << lost << "},\"traceEvents\":[\n";
    bool first = true;
    auto line = [&](const std::string& json) {
      out << (first ? "" : ",\n") << json;
      first = false;
    };
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const std::string prefix = nodes[i].empty() ? "" : nodes[i] + ": ";
      const int threads = static_cast<int>(2 * i) + threads_process, actors = static_cast<int>(2 * i) + actors_process;
      line(meta("process_name", threads, 0, prefix + "threads", false));
      line(meta("process_name", actors, 0, prefix + "actors", false));
      for (std::uint64_t t : tracks_[threads]) line(meta("thread_name", threads, t, "thread " + std::to_string(t), true));
      for (std::uint64_t a : tracks_[actors]) line(meta("thread_name", actors, a, actor_name(a), true));
    }
    for (const record& r : records_) line(r.json);
    out << "\n]}\n";
  }

 private:
  static std::string meta(const char* what, int process, std::uint64_t track, const std::string& name,
                          bool with_track) {
    return std::string("{\"ph\":\"M\",\"name\":\"") + what + "\",\"pid\":" + std::to_string(process) +
           (with_track ? ",\"tid\":" + std::to_string(track) : std::string()) +
           ",\"args\":{\"name\":" + quoted(name) + "}}";
  }

  std::int64_t origin_;
  std::vector<record> records_;
  std::map<int, std::set<std::uint64_t>> tracks_;
};

std::string hex(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The first send of each traced message's span, over every node: the flow
// starts there (a message forwarded by a node to another is sent again
// there, with the same span) and its parent is that send's.
std::map<std::uint64_t, const event*> first_sends(const std::vector<node_trace>& nodes) {
  std::map<std::uint64_t, const event*> first;
  for (auto& n : nodes)
    for (auto& e : n.events)
      if (e.kind == event_kind::send && e.span_id != 0) {
        auto [it, fresh] = first.try_emplace(e.span_id, &e);
        if (!fresh && e.time_ns < it->second->time_ns) it->second = &e;
      }
  return first;
}

// One node's events into `w`. `cluster`: flows of traced messages are named
// by their span (they may cross nodes); the others by node and flow.
void add_node(writer& w, const std::vector<event>& events, std::size_t index, bool cluster,
              const std::map<std::uint64_t, const event*>& first) {
  const int threads = static_cast<int>(2 * index) + threads_process;
  const int actors = static_cast<int>(2 * index) + actors_process;
  auto flow_id = [&](const event& e) {
    if (!cluster) return std::to_string(e.flow);
    // Built piece by piece: GCC 12 warns (falsely, -Wrestrict) on the chain.
    std::string id = "\"";
    if (e.span_id != 0) {
      id += "span/";
      id += hex(e.span_id);
    } else {
      id += std::to_string(index);
      id += '/';
      id += std::to_string(e.flow);
    }
    id += '"';
    return id;
  };
  // Begun handlings per thread, innermost last (a handler may run another
  // actor's turn on its thread: a spawned child's setup, a lent turn).
  std::map<std::uint32_t, std::vector<const event*>> open;
  std::set<std::uint64_t> sent_flows;
  // A thread's wait for a mutex, then its hold of it, as slices on its
  // track: keyed by thread and mutex name.
  std::map<std::pair<std::uint32_t, std::string>, const event*> waiting, holding;
  auto lock_slice = [&](const event& from, const event& to, const char* verb) {
    std::string name = verb;
    name += from.what;
    std::string args = ",\"dur\":" + micros(to.time_ns - from.time_ns) + ",\"args\":{\"priority\":" +
                       std::to_string(from.value);
    if (from.kind == event_kind::lock_wait) args += ",\"holder_tid\":" + std::to_string(from.other);
    args += "}";
    w.add(from.time_ns, "X", name, threads, from.thread, args);
  };
  for (const event& e : events) {
    switch (e.kind) {
      case event_kind::lock_wait:
        waiting[{e.thread, e.what}] = &e;
        break;
      case event_kind::lock_acquire: {
        if (auto it = waiting.find({e.thread, e.what}); it != waiting.end()) {
          lock_slice(*it->second, e, "wait ");
          waiting.erase(it);
        }
        holding[{e.thread, e.what}] = &e;
        break;
      }
      case event_kind::lock_release:
        if (auto it = holding.find({e.thread, e.what}); it != holding.end()) {
          lock_slice(*it->second, e, "hold ");
          holding.erase(it);
        }
        break;
      case event_kind::begin: {
        open[e.thread].push_back(&e);
        const bool crossed = cluster && e.span_id != 0 && first.contains(e.span_id);
        if (crossed || (e.flow != 0 && sent_flows.contains(e.flow)))
          w.add(e.time_ns, "f", "message", actors, e.actor,
                ",\"cat\":\"message\",\"bp\":\"e\",\"id\":" + flow_id(e));
        break;
      }
      case event_kind::end: {
        auto& stack = open[e.thread];
        if (stack.empty()) break;  // begun before the window
        const event& b = *stack.back();
        stack.pop_back();
        const std::string dur = ",\"dur\":" + micros(e.time_ns - b.time_ns);
        std::string args = ",\"args\":{\"actor\":\"" + actor_name(b.actor) + "\",\"from\":\"" + actor_name(b.other) + "\"";
        if (b.trace_id != 0) {
          args += ",\"trace\":\"" + hex(b.trace_id) + "\",\"span\":\"" + hex(b.span_id) + "\"";
          if (auto it = first.find(b.span_id); it != first.end() && it->second->parent_span_id != 0)
            args += ",\"parent\":\"" + hex(it->second->parent_span_id) + "\"";
        }
        args += "}";
        w.add(b.time_ns, "X", b.what, threads, b.thread, dur + args);
        w.add(b.time_ns, "X", b.what, actors, b.actor, dur + args);
        break;
      }
      case event_kind::send: {
        if (cluster && e.span_id != 0) {
          auto it = first.find(e.span_id);
          if (it != first.end() && it->second != &e) break;  // a forward of a message sent before
        }
        sent_flows.insert(e.flow);
        std::string args = ",\"args\":{\"type\":" + quoted(e.what) + ",\"to\":\"" + actor_name(e.other) + "\"";
        if (e.trace_id != 0)
          args += ",\"trace\":\"" + hex(e.trace_id) + "\",\"span\":\"" + hex(e.span_id) + "\",\"parent\":\"" +
                  hex(e.parent_span_id) + "\"";
        w.add(e.time_ns, "s", "message", actors, e.actor, ",\"cat\":\"message\",\"id\":" + flow_id(e) + args + "}");
        break;
      }
      case event_kind::spawn:
        w.add(e.time_ns, "i", "spawn " + actor_name(e.other), actors, e.actor, ",\"s\":\"t\"");
        break;
      case event_kind::exit:
        w.add(e.time_ns, "i", "exit: " + e.what, actors, e.actor, ",\"s\":\"t\"");
        break;
      case event_kind::mark:
        w.add(e.time_ns, "i", e.what, actors, e.actor,
              ",\"s\":\"t\",\"args\":{\"value\":" + std::to_string(e.value) + "}");
        break;
      case event_kind::span_begin:
        w.add(e.time_ns, "B", e.what, actors, e.actor);
        break;
      case event_kind::span_end:
        w.add(e.time_ns, "E", e.what, actors, e.actor);
        break;
      default: {
        // Links, monitors, timers, restarts, the scheduler's steps,
        // channels, sockets, frames: an instant on the actor's track, or
        // on the thread's outside any actor.
        std::string name = to_string(e.kind);
        if (!e.what.empty()) {
          name += ' ';
          name += e.what;
        }
        const std::string args = ",\"s\":\"t\",\"args\":{\"other\":" + std::to_string(e.other) +
                                 ",\"value\":" + std::to_string(e.value) + "}";
        if (e.actor != 0)
          w.add(e.time_ns, "i", name, actors, e.actor, args);
        else
          w.add(e.time_ns, "i", name, threads, e.thread, args);
        break;
      }
    }
  }
}

std::int64_t earliest(const std::vector<node_trace>& nodes) {
  bool any = false;
  std::int64_t origin = 0;
  for (auto& n : nodes)
    for (auto& e : n.events)
      if (!any || e.time_ns < origin) {
        origin = e.time_ns;
        any = true;
      }
  return origin;
}

}  // namespace

void write_chrome_json(const std::vector<event>& events, std::ostream& out, std::uint64_t lost) {
  std::vector<node_trace> one(1);
  one[0].events = events;  // a copy: the pointers below point into it
  writer w(earliest(one));
  add_node(w, one[0].events, 0, false, first_sends(one));
  w.write(out, lost, {""});
}

void write_chrome_json(const std::vector<node_trace>& nodes, std::ostream& out) {
  writer w(earliest(nodes));
  const auto first = first_sends(nodes);
  std::uint64_t lost = 0;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    add_node(w, nodes[i].events, i, true, first);
    lost += nodes[i].lost;
    names.push_back(nodes[i].node);
  }
  w.write(out, lost, names);
}

}  // namespace troupe::tracing
