// Traces as files of JSON lines: one object per event with every field of
// tracing::event, what a file_sink streams while the runtime runs, what
// `troupe trace NODE --format jsonl` saves, and what `troupe trace check
// FILE --spec ...` checks. (The Chrome trace-event JSON of
// write_chrome_json is for looking at, in Perfetto UI; it does not keep
// every field.)
//
//   {
//     troupe::tracing::file_sink sink(rt, "run.jsonl");  // streams until destroyed
//     ...
//   }
//   std::ifstream in("run.jsonl");
//   auto events = troupe::tracing::read_jsonl(in);      // throws trace_file_error
//   auto broken = troupe::tracing::check(events, troupe::tracing::parse_rules(spec));
//
// A line: {"t":12345,"kind":"send","thread":1,"actor":7,"other":9,"flow":3,
// "what":"int","value":0,"trace":0,"span":0,"parent":0}; "t" in nanoseconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "troupe/core/trace.hpp"

namespace troupe::tracing {

// One event as one line of JSON (no newline).
std::string to_json(const event& e);
// Events as JSON lines.
void write_jsonl(const std::vector<event>& events, std::ostream& out);

// A file that is not a trace of JSON lines, or a line that is not an event.
class trace_file_error : public std::runtime_error {
 public:
  // The message, and the line (0: the file as a whole).
  trace_file_error(const std::string& what, std::size_t line) : std::runtime_error(what), line_(line) {}
  // The line (1-based) where it was found; 0 for the file as a whole.
  std::size_t line() const noexcept { return line_; }

 private:
  std::size_t line_;
};

// Reads JSON lines back into events (blank lines skipped). At most
// `max_events`; more is an error rather than unbounded memory. Throws
// trace_file_error naming the line and what was wrong with it (a Chrome
// trace-event file gets told apart and named as one).
std::vector<event> read_jsonl(std::istream& in, std::size_t max_events = 50'000'000);

// Streams what a runtime records to a file of JSON lines while it runs: a
// thread of its own writes the events recorded since its last look every
// `period` (tracing must be on for events to come). Events overwritten in
// their rings before it looked are counted in missed(). What it writes is
// flushed each look; destroying it writes the rest and closes the file.
// Destroy it before its runtime.
class file_sink {
 public:
  // Opens (truncates) `path`; throws std::runtime_error if it cannot.
  file_sink(runtime& rt, const std::string& path,
            std::chrono::milliseconds period = std::chrono::milliseconds(100));
  ~file_sink();
  file_sink(const file_sink&) = delete;
  file_sink& operator=(const file_sink&) = delete;
  // Events written so far.
  std::uint64_t written() const noexcept;
  // Events overwritten in their rings before the sink read them.
  std::uint64_t missed() const noexcept;
  // Writes what is settled now (and waits for it).
  void flush();

  struct state;

 private:
  std::shared_ptr<state> state_;
  std::thread thread_;
};

}  // namespace troupe::tracing
