// Traces as JSON lines (troupe/core/trace_file.hpp): writing by hand (the
// fields are numbers and one string), reading with nlohmann::json, and the
// streaming file sink over trace_drain.
#include "troupe/core/trace_file.hpp"

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>

#include "trace_drain.hpp"

namespace troupe::tracing {

namespace {

void append_escaped(std::string& out, const std::string& text) {
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

std::string to_json(const event& e) {
  std::string out = "{\"t\":" + std::to_string(e.time_ns);
  out += ",\"kind\":\"";
  out += to_string(e.kind);
  out += "\",\"thread\":" + std::to_string(e.thread);
  out += ",\"actor\":" + std::to_string(e.actor);
  out += ",\"other\":" + std::to_string(e.other);
  out += ",\"flow\":" + std::to_string(e.flow);
  out += ",\"what\":";
  append_escaped(out, e.what);
  out += ",\"value\":" + std::to_string(e.value);
  out += ",\"trace\":" + std::to_string(e.trace_id);
  out += ",\"span\":" + std::to_string(e.span_id);
  out += ",\"parent\":" + std::to_string(e.parent_span_id);
  out += '}';
  return out;
}

void write_jsonl(const std::vector<event>& events, std::ostream& out) {
  for (const event& e : events) out << to_json(e) << '\n';
}

std::vector<event> read_jsonl(std::istream& in, std::size_t max_events) {
  std::vector<event> events;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      if (number == 1 && (line.starts_with("{\"traceEvents\"") || line.starts_with("[")))
        throw trace_file_error("not a trace of JSON lines: this looks like Chrome trace-event JSON (for Perfetto UI); "
                               "record with --format jsonl, or tracing::file_sink, to check it",
                               0);
      throw trace_file_error("line " + std::to_string(number) + ": not JSON (" + e.what() + ")", number);
    }
    if (!j.is_object() || !j.contains("t") || !j.contains("kind")) {
      if (number == 1 && (j.is_array() || (j.is_object() && j.contains("traceEvents"))))
        throw trace_file_error("not a trace of JSON lines: this is Chrome trace-event JSON (for Perfetto UI); "
                               "record with --format jsonl, or tracing::file_sink, to check it",
                               0);
      throw trace_file_error("line " + std::to_string(number) + ": not an event (an object with \"t\" and \"kind\")",
                             number);
    }
    if (events.size() >= max_events)
      throw trace_file_error("more than " + std::to_string(max_events) + " events", number);
    event e;
    try {
      e.time_ns = j.at("t").get<std::int64_t>();
      const std::string kind = j.at("kind").get<std::string>();
      if (!kind_from_string(kind.c_str(), e.kind))
        throw trace_file_error("line " + std::to_string(number) + ": unknown event kind \"" + kind + "\"", number);
      e.thread = j.value("thread", std::uint32_t{0});
      e.actor = j.value("actor", std::uint64_t{0});
      e.other = j.value("other", std::uint64_t{0});
      e.flow = j.value("flow", std::uint64_t{0});
      e.what = j.value("what", std::string());
      e.value = j.value("value", std::int64_t{0});
      e.trace_id = j.value("trace", std::uint64_t{0});
      e.span_id = j.value("span", std::uint64_t{0});
      e.parent_span_id = j.value("parent", std::uint64_t{0});
    } catch (const nlohmann::json::exception& x) {
      throw trace_file_error("line " + std::to_string(number) + ": a field of the wrong type (" + x.what() + ")",
                             number);
    }
    events.push_back(std::move(e));
  }
  return events;
}

// ---- file_sink ----------------------------------------------------------

struct file_sink::state {
  std::ofstream out;
  std::chrono::milliseconds period;
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::uint64_t flush_requests = 0, flushes_done = 0;
  std::atomic<std::uint64_t> written{0};
  troupe::detail::trace_drain drain;

  state(runtime& rt, const std::string& path, std::chrono::milliseconds p) : period(p), drain(rt) {
    out.open(path, std::ios::out | std::ios::trunc);
    if (!out) throw std::runtime_error("tracing::file_sink: cannot open " + path);
  }

  void look(bool everything) {
    std::int64_t bound = 0;
    auto events = drain.take(everything, bound);
    if (events.empty()) return;
    write_jsonl(events, out);
    out.flush();
    written.fetch_add(events.size(), std::memory_order_relaxed);
  }

  void run() {
    std::unique_lock lock(mu);
    while (!stopping) {
      wake.wait_for(lock, period, [&] { return stopping || flush_requests != flushes_done; });
      if (stopping) break;
      const std::uint64_t asked = flush_requests;
      lock.unlock();
      look(false);
      lock.lock();
      flushes_done = asked;
      wake.notify_all();
    }
    lock.unlock();
    look(true);  // the rest, settled or not: nothing more is coming to this sink
  }
};

file_sink::file_sink(runtime& rt, const std::string& path, std::chrono::milliseconds period)
    : state_(std::make_shared<state>(rt, path, period)) {
  thread_ = std::thread([s = state_] { s->run(); });
}

file_sink::~file_sink() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  thread_.join();
}

std::uint64_t file_sink::written() const noexcept { return state_->written.load(std::memory_order_relaxed); }
std::uint64_t file_sink::missed() const noexcept { return state_->drain.missed(); }

void file_sink::flush() {
  std::unique_lock lock(state_->mu);
  const std::uint64_t ticket = ++state_->flush_requests;
  state_->wake.notify_all();
  state_->wake.wait(lock, [&] { return state_->stopping || state_->flushes_done >= ticket; });
}

}  // namespace troupe::tracing
