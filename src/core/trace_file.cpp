// Traces as JSON lines (troupe/core/trace_file.hpp): writing by hand (the
// fields are numbers and one string), reading with nlohmann::json, and the
// streaming file sink over trace_drain.
#include "troupe/core/trace_file.hpp"

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "trace_drain.hpp"

namespace troupe::tracing {

namespace {

// The length of the valid UTF-8 sequence at text[i], or 0 if it is not one.
std::size_t utf8_length(const std::string& text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  const std::size_t n = c >= 0xF0 ? (c <= 0xF4 ? 4 : 0) : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  // Overlong forms, surrogates and code points past U+10FFFF.
  if (n == 3 && ((c == 0xE0 && byte(i + 1) < 0xA0) || (c == 0xED && byte(i + 1) >= 0xA0))) return 0;
  if (n == 4 && ((c == 0xF0 && byte(i + 1) < 0x90) || (c == 0xF4 && byte(i + 1) >= 0x90))) return 0;
  return n;
}

// A JSON string; bytes that are not UTF-8 (an exit reason may hold any)
// become U+FFFD, so that every file written reads back.
void append_escaped(std::string& out, const std::string& text) {
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_length(text, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text, i, n);
        i += n;
      }
      continue;
    }
    ++i;
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
    } catch (const nlohmann::json::exception& e) {  // a parse error, or a number out of range
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
    // Numbers are checked for type, sign and range: a value nlohmann would
    // convert silently (a float, a negative id, a time past 2^63) is an error.
    auto field_error = [&](const char* name, const char* wanted) {
      return trace_file_error("line " + std::to_string(number) + ": \"" + name + "\" must be " + wanted, number);
    };
    auto unsigned_field = [&](const char* name, std::uint64_t max) -> std::uint64_t {
      auto it = j.find(name);
      if (it == j.end()) return 0;
      if (!it->is_number_integer() || (it->is_number_integer() && !it->is_number_unsigned() && it->get<std::int64_t>() < 0))
        throw field_error(name, "a whole number of 0 or more");
      const auto v = it->get<std::uint64_t>();
      if (v > max) throw field_error(name, "in range");
      return v;
    };
    auto signed_field = [&](const char* name) -> std::int64_t {
      auto it = j.find(name);
      if (it == j.end()) return 0;
      if (!it->is_number_integer()) throw field_error(name, "a whole number");
      if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        throw field_error(name, "at most 2^63-1");
      return it->get<std::int64_t>();
    };
    const auto kind_it = j.find("kind");
    if (!kind_it->is_string()) throw field_error("kind", "a string");
    const std::string kind = kind_it->get<std::string>();
    if (kind.find('\0') != std::string::npos || !kind_from_string(kind.c_str(), e.kind))
      throw trace_file_error("line " + std::to_string(number) + ": unknown event kind \"" + kind + "\"", number);
    e.time_ns = signed_field("t");
    // Rules add bounds to times: keep them far from overflow.
    if (e.time_ns < 0 || e.time_ns > (std::int64_t{1} << 62)) throw field_error("t", "0 to 2^62 nanoseconds");
    e.thread = static_cast<std::uint32_t>(unsigned_field("thread", UINT32_MAX));
    e.actor = unsigned_field("actor", UINT64_MAX);
    e.other = unsigned_field("other", UINT64_MAX);
    e.flow = unsigned_field("flow", UINT64_MAX);
    if (auto it = j.find("what"); it != j.end()) {
      if (!it->is_string()) throw field_error("what", "a string");
      e.what = it->get<std::string>();
    }
    e.value = signed_field("value");
    e.trace_id = unsigned_field("trace", UINT64_MAX);
    e.span_id = unsigned_field("span", UINT64_MAX);
    e.parent_span_id = unsigned_field("parent", UINT64_MAX);
    events.push_back(std::move(e));
  }
  return events;
}

// ---- file_sink ----------------------------------------------------------

struct file_sink::state {
  std::ofstream out;
  troupe::detail::look_schedule schedule;
  std::atomic<std::uint64_t> written{0};
  troupe::detail::trace_drain drain;

  state(runtime& rt, const std::string& path, std::chrono::milliseconds p) : schedule(p), drain(rt) {
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

};

file_sink::file_sink(runtime& rt, const std::string& path, std::chrono::milliseconds period)
    : state_(std::make_shared<state>(rt, path, period)) {
  // The last look takes the rest, settled or not: nothing more is coming.
  thread_ = std::thread([s = state_] { s->schedule.run([&](bool last) { s->look(last); }); });
}

file_sink::~file_sink() {
  state_->schedule.stop();
  thread_.join();
}

std::uint64_t file_sink::written() const noexcept { return state_->written.load(std::memory_order_relaxed); }
std::uint64_t file_sink::missed() const noexcept { return state_->drain.missed(); }

void file_sink::flush() { state_->schedule.poll(); }

}  // namespace troupe::tracing
