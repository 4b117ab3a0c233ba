// tracing::write_chrome_json: a snapshot as Chrome trace-event JSON (the
// "JSON Object Format" that Perfetto UI and chrome://tracing load).
//
// Layout. Process 1 ("threads") has a track per recording thread, process
// 2 ("actors") a track per actor. A handling (begin .. end of one message)
// is a complete slice ("X") on both its thread's and its actor's track. A
// send is the start of a flow ("s") on the sender's actor track, bound to
// the slice it was sent from; the handling's begin ends it ("f", bound to
// the enclosing slice). Spawns, exits and marks are instants ("i"); user
// spans are "B"/"E" pairs on their actor's track. Records are written in
// time order; times are microseconds since the earliest event.
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

class writer {
 public:
  explicit writer(std::int64_t origin) : origin_(origin) {}

  void add(std::int64_t at, const std::string& phase, const std::string& name, int process,
           std::uint64_t track, const std::string& extra = {}) {
    std::string json = "{\"ph\":\"" + phase + "\",\"name\":" + quoted(name) + ",\"pid\":" +
                       std::to_string(process) + ",\"tid\":" + std::to_string(track) +
                       ",\"ts\":" + micros(at - origin_) + extra + "}";
    records_.push_back({at, std::move(json)});
    (process == threads_process ? threads_ : actors_).insert(track);
  }

  void write(std::ostream& out, std::uint64_t lost) {
    std::stable_sort(records_.begin(), records_.end(),
                     [](const record& a, const record& b) { return a.at < b.at; });
    out << "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"lost_events\":" << lost << "},\"traceEvents\":[\n";
    bool first = true;
    auto line = [&](const std::string& json) {
      out << (first ? "" : ",\n") << json;
      first = false;
    };
    line(meta("process_name", threads_process, 0, "threads", false));
    line(meta("process_name", actors_process, 0, "actors", false));
    for (std::uint64_t t : threads_) line(meta("thread_name", threads_process, t, "thread " + std::to_string(t), true));
    for (std::uint64_t a : actors_) line(meta("thread_name", actors_process, a, actor_name(a), true));
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
  std::set<std::uint64_t> threads_;
  std::set<std::uint64_t> actors_;
};

}  // namespace

void write_chrome_json(const std::vector<event>& events, std::ostream& out, std::uint64_t lost) {
  std::int64_t origin = events.empty() ? 0 : events.front().time_ns;
  for (const event& e : events) origin = std::min(origin, e.time_ns);
  writer w(origin);
  // Begun handlings per thread, innermost last (a handler may run another
  // actor's turn on its thread: a spawned child's setup, a lent turn).
  std::map<std::uint32_t, std::vector<const event*>> open;
  std::set<std::uint64_t> sent_flows;
  for (const event& e : events) {
    switch (e.kind) {
      case event_kind::begin:
        open[e.thread].push_back(&e);
        if (e.flow != 0 && sent_flows.contains(e.flow))
          w.add(e.time_ns, "f", "message", actors_process, e.actor,
                ",\"cat\":\"message\",\"bp\":\"e\",\"id\":" + std::to_string(e.flow));
        break;
      case event_kind::end: {
        auto& stack = open[e.thread];
        if (stack.empty()) break;  // begun before the window
        const event& b = *stack.back();
        stack.pop_back();
        const std::string dur = ",\"dur\":" + micros(e.time_ns - b.time_ns);
        const std::string args = ",\"args\":{\"actor\":\"" + actor_name(b.actor) + "\",\"from\":\"" +
                                 actor_name(b.other) + "\"}";
        w.add(b.time_ns, "X", b.what, threads_process, b.thread, dur + args);
        w.add(b.time_ns, "X", b.what, actors_process, b.actor, dur + args);
        break;
      }
      case event_kind::send:
        sent_flows.insert(e.flow);
        w.add(e.time_ns, "s", "message", actors_process, e.actor,
              ",\"cat\":\"message\",\"id\":" + std::to_string(e.flow) + ",\"args\":{\"type\":" + quoted(e.what) +
                  ",\"to\":\"" + actor_name(e.other) + "\"}");
        break;
      case event_kind::spawn:
        w.add(e.time_ns, "i", "spawn " + actor_name(e.other), actors_process, e.actor, ",\"s\":\"t\"");
        break;
      case event_kind::exit:
        w.add(e.time_ns, "i", "exit: " + e.what, actors_process, e.actor, ",\"s\":\"t\"");
        break;
      case event_kind::mark:
        w.add(e.time_ns, "i", e.what, actors_process, e.actor,
              ",\"s\":\"t\",\"args\":{\"value\":" + std::to_string(e.value) + "}");
        break;
      case event_kind::span_begin:
        w.add(e.time_ns, "B", e.what, actors_process, e.actor);
        break;
      case event_kind::span_end:
        w.add(e.time_ns, "E", e.what, actors_process, e.actor);
        break;
    }
  }
  w.write(out, lost);
}

}  // namespace troupe::tracing
