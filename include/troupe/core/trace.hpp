// troupe::trace — what the runtime did, recorded as it runs: spawns, sends,
// the handling of each message (begin and end), exits, and the user's own
// marks and spans. Each thread records into a ring of its own; a full ring
// overwrites its oldest events and counts them. Export a snapshot as
// Chrome trace-event JSON, which Perfetto UI (ui.perfetto.dev) and
// chrome://tracing open: a track per thread and per actor, and an arrow
// from each send to the handling of that message.
//
//   troupe::tracing::start(rt);                        // everything
//   troupe::tracing::start(rt, {.actors = {server}});  // one actor's events
//   ...
//   auto events = troupe::tracing::snapshot(rt);       // the rings, as they are
//   std::ofstream out("trace.json");
//   troupe::tracing::write_chrome_json(events, out);
//   troupe::tracing::stop(rt);
//
// A flight recorder is tracing left on with small rings (`ring_events`):
// the last events of each thread are at hand when something goes wrong, and
// a crash report (the runtime's log record for an actor that ended
// abnormally) carries the crashed actor's last recorded events.
//
// Costs. Off: one relaxed load and a predictable branch per send and per
// message handled. On: a few relaxed stores per event into the thread's
// ring; no lock and no allocation, except the first event of a thread
// (its ring), of a message type on a thread (its name), and an exit (its
// reason is interned under the tracer's lock).
//
// Trace data carries message types (their C++ names), never contents.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "troupe/core/pid.hpp"
#include "troupe/core/trace_kind.hpp"

namespace troupe {
class runtime;
}

namespace troupe::tracing {

// The name of `kind` ("spawn", "send", ...).
const char* to_string(event_kind kind) noexcept;
// The kind named `name`; false if none is.
bool kind_from_string(const char* name, event_kind& kind) noexcept;

// One recorded event.
struct event {
  // When, in nanoseconds of the steady clock.
  std::int64_t time_ns = 0;
  // What happened.
  event_kind kind = event_kind::mark;
  // The recording thread (a small number, one per thread that recorded).
  std::uint32_t thread = 0;
  // The actor it happened in (its pid's id; 0 outside any actor).
  std::uint64_t actor = 0;
  // The other actor: the receiver of a send, the child of a spawn.
  std::uint64_t other = 0;
  // Pairs a send with the begin of that message's handling (equal and
  // nonzero on both, unique among the sends of one snapshot).
  std::uint64_t flow = 0;
  // The message type, the exit reason, or the mark's or span's name.
  std::string what;
  // A mark's value.
  std::int64_t value = 0;
  // Sends and begins of a message sent inside a request's trace (async's
  // request_context, an HTTP traceparent, or a message that carried one):
  // the trace id, the message's span (the same on its send and its
  // handling's begin, on whichever nodes they happened) and, on a send, the
  // sender's span (the parent). 0 where there is none.
  std::uint64_t trace_id = 0;
  // The message's span (sends and begins inside a trace; see trace_id).
  std::uint64_t span_id = 0;
  // A send's: the span it was sent from (see trace_id).
  std::uint64_t parent_span_id = 0;
};

// Which events are recorded. An event passes when its kind is in `kinds`,
// it involves one of `actors` (as `actor` or `other`; empty: any), a send,
// begin or end is of one of `message_types`, and the rate limit has room.
struct filter {
  // Only events of these actors (their pids); empty: every actor.
  std::vector<pid> actors{};
  // The same by their ids (as a trace shows them: <0.ID.0>), for a filter
  // that came from elsewhere (troupe trace --actor).
  std::vector<std::uint64_t> actor_ids{};
  // With `actors`: also the actors they spawn from now on, and theirs.
  bool with_spawned = false;
  // Only sends, begins and ends of messages whose type name contains one
  // of these ("order", "my::request"); empty: any. Other kinds pass.
  std::vector<std::string> message_types{};
  // Only these kinds (kind_bit()s or'ed together); by default all but the
  // scheduler's steps (see default_kinds).
  std::uint32_t kinds = default_kinds;
  // At most this many events per second over the whole runtime; the rest
  // are counted (stats::rate_limited) and dropped. 0: no limit. Tracing a
  // busy production runtime cannot take it down (as recon_trace's limit).
  std::uint64_t max_events_per_second = 0;
};

// What start() sets up.
struct options {
  // Which events are recorded.
  tracing::filter filter{};
  // Events each thread's ring holds (rounded up to a power of two, at
  // least 64). Small for a flight recorder (1,024: about 64 KiB a thread),
  // large for a window to export.
  std::uint32_t ring_events = 1u << 16;
};

// Counts since tracing started.
struct stats {
  // Events written into a ring.
  std::uint64_t recorded = 0;
  // Of those, the ones overwritten by newer ones (a full ring).
  std::uint64_t overwritten = 0;
  // Events the rate limit dropped.
  std::uint64_t rate_limited = 0;
};

// Starts recording on `rt` (or changes the filter, keeping what was
// recorded, when already started with rings of the same size; a different
// ring_events starts afresh). Any thread. Returns this start's session
// number (see session()).
std::uint64_t start(runtime& rt, const options& how = {});
// Stops recording; what was recorded stays for snapshot(). Any thread.
void stop(runtime& rt);
// Whether `rt` records.
bool active(runtime& rt) noexcept;
// Counts the start() calls on `rt` (0: never started): a caller that
// started tracing stops it only if no one has started it since.
std::uint64_t session(runtime& rt) noexcept;
// Every event in the rings now, oldest first (by time). Any thread; the
// threads may go on recording meanwhile.
std::vector<event> snapshot(runtime& rt);
// The counts since start().
stats counts(runtime& rt);
// The last `count` recorded events in which `actor` took part, oldest
// first (what a crash report carries). Their `flow` is 0: only snapshot()
// pairs sends with handlings.
std::vector<event> last_events_of(runtime& rt, const pid& actor, std::size_t count = 16);

// Writes `events` as Chrome trace-event JSON (the "JSON Object Format"):
// complete slices for handlings on a track per thread and per actor, flow
// arrows from sends to their handlings, instants for spawns, exits and
// marks, and spans as begin/end slices. `lost` goes into its metadata.
void write_chrome_json(const std::vector<event>& events, std::ostream& out, std::uint64_t lost = 0);
// What one node recorded, for a cluster's export.
struct node_trace {
  // The node's name (its processes' names in the export).
  std::string node;
  // Its snapshot.
  std::vector<event> events;
  // Its lost events (tracing::stats::overwritten plus rate_limited).
  std::uint64_t lost = 0;
};
// Several nodes' snapshots as one Chrome trace-event JSON file: each node's
// threads and actors are processes of their own, and a message sent on one
// node and handled on another (inside a trace: it carries its span) is a
// flow arrow between them, so one request across three nodes reads as one
// tree of spans. Times are each node's steady clock (one machine: aligned).
void write_chrome_json(const std::vector<node_trace>& nodes, std::ostream& out);
// One event as a line of text: "12.345678 t1 <0.7.0> send int -> <0.9.0>".
std::string to_string(const event& e);

// A user event in the current actor's runtime, or outside any actor in the
// runtime that started tracing last (nothing while none records). `name`
// must outlive the trace: a string literal.
void mark(const char* name, std::int64_t value = 0);

// A user span in the current actor: open while the object lives.
class span {
 public:
  // Opens span `name` (a string literal) in the current actor, if it records.
  explicit span(const char* name) noexcept;
  // Closes it.
  ~span();
  span(const span&) = delete;
  span& operator=(const span&) = delete;

 private:
  const char* name_;
  bool open_;
};

}  // namespace troupe::tracing
