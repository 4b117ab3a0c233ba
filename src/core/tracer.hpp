// tracer: the rings behind troupe::trace (include/troupe/core/trace.hpp).
// Private to src/core.
//
// Rings. Each thread that records owns one ring per tracing session (a
// "ring set", made by tracing::start): a power-of-two array of slots and a
// count `head` of events written. Only that thread writes the ring; any
// thread may read it (snapshot) while it is written.
//
// Invariants and memory orders (a seqlock per slot).
//   1. Event number i lives in slot i & mask. Its writer stores
//      seq = 2i+1 (relaxed), a release fence, the fields (relaxed), then
//      seq = 2i+2 (release), then head = i+1 (release).
//   2. A reader takes head (acquire), and for each i in the last `capacity`
//      before it: seq (acquire) must be 2i+2; it reads the fields
//      (relaxed), an acquire fence, then seq again (relaxed): unchanged
//      means the fields are event i's (a writer that started overwriting
//      the slot had stored the odd seq before any field, and the fences
//      make the reader see it). Otherwise the event was overwritten: skip.
//   3. Every field is an atomic, so a reader racing a writer reads stale
//      or torn *events*, which (2) discards, never racy memory.
//   4. A ring set lives until its tracer dies: a writer holding a ring of a
//      set that start() replaced writes into it harmlessly. A thread finds
//      its ring through a thread-local cache keyed by the set's id (ids
//      are never reused, so a new tracer at an old address is not taken
//      for the old one), else by its thread's serial in the set (one ring
//      per thread and set, however many tracers the thread records into;
//      serials, unlike std::thread::ids, are never reused).
//
// What is not in a slot: names. A message type is recorded as its
// type_key; the first time a thread records a type, its name is added to
// the tracer's table (under the tracer's mutex). An exit reason is interned
// in the same way (at most max_reasons distinct texts are kept).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "troupe/core/message.hpp"
#include "troupe/core/trace.hpp"

namespace troupe::detail {

class runtime_impl;

struct trace_slot {
  std::atomic<std::uint64_t> seq{0};
  std::atomic<std::int64_t> time{0};
  std::atomic<std::uint64_t> actor{0};
  std::atomic<std::uint64_t> other{0};
  std::atomic<std::uint64_t> flow{0};
  std::atomic<const void*> what{nullptr};  // by kind: type_key, name, or interned reason
  std::atomic<std::int64_t> value{0};  // a send's: the sender's span
  std::atomic<std::uint64_t> trace{0};
  std::atomic<std::uint64_t> span{0};
  std::atomic<std::uint8_t> kind{0};
};

struct trace_ring {
  trace_ring(std::uint32_t capacity, std::uint32_t thread);
  const std::uint64_t mask;
  const std::uint32_t thread;
  const std::uint64_t owner;  // the serial of the one thread that writes it
  // On a line of its own: rings of several threads sit side by side.
  alignas(64) std::atomic<std::uint64_t> head{0};
  std::unique_ptr<trace_slot[]> slots;
  // The writer's cache of type_keys whose names the tracer has (direct
  // mapped by address); writer only.
  alignas(64) std::array<const void*, 64> named_types{};
};

// What a filter is once compiled: read on every event, never changed
// (a new filter is a new object; old ones are kept until the tracer dies).
// A filter, immutable once published except for the two sets below it
// grows under its own lock (the actors spawned by filtered ones, and its
// verdicts on message types). Writers look at the type verdicts through a
// per-thread cache, so a type filter costs a lock once per type and thread.
struct trace_filter_state {
  std::vector<std::uint64_t> actors;  // sorted pid ids; empty: all
  std::uint32_t kinds = tracing::default_kinds;
  std::uint64_t max_per_second = 0;
  std::vector<std::string> types;  // substrings of message type names; empty: any
  bool with_spawned = false;
  // `msg`: the message a send, begin or end is about (null for the others).
  bool admits(tracing::event_kind kind, std::uint64_t actor, std::uint64_t other,
              const message* msg) const noexcept;
  bool has_actor(std::uint64_t id) const noexcept;
  // Whether a kind's `other` is an actor (an actor filter looks at it).
  static bool other_is_actor(tracing::event_kind kind) noexcept;
  void add_spawned(std::uint64_t child) const noexcept;
  bool admits_type(const message& msg) const noexcept;

  // Never reused (unlike an address): the per-thread verdict cache's key.
  const std::uint64_t serial = next_serial();
  static std::uint64_t next_serial() noexcept;

  mutable std::mutex mu;  // the two below
  mutable std::vector<std::uint64_t> spawned;
  mutable std::atomic<bool> any_spawned{false};
  mutable std::unordered_map<const void*, bool> type_verdicts;
};

// The steady clock in ns.
inline std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What events are stamped with: the CPU's time-stamp counter where the
// kernel itself keeps time with it (its clocksource is "tsc": constant
// rate, in step across cores), else the steady clock. Reading the counter
// takes about 11 ns here, the steady clock about 29 (a quarter of a traced
// ping-pong's time went to it). tracer::to_ns converts.
class trace_clock {
 public:
  trace_clock();
  std::int64_t now() const noexcept {
#if defined(__x86_64__)
    if (use_tsc_) return static_cast<std::int64_t>(__builtin_ia32_rdtsc());
#endif
    return steady_ns();
  }
  // Ticks in one second (for the rate limit's windows).
  std::int64_t ticks_per_second() const noexcept { return ticks_per_second_; }
  // Ticks to steady-clock ns, by the rate measured between the anchor (set
  // when the clock was made) and now.
  std::int64_t to_ns(std::int64_t ticks) const noexcept;
  // Measures the rate again from the anchor to now (snapshot calls it: the
  // longer the interval, the finer the rate).
  void recalibrate() noexcept;

 private:
  bool use_tsc_ = false;
  std::int64_t anchor_ticks_ = 0;
  std::int64_t anchor_ns_ = 0;
  std::int64_t ticks_per_second_ = 1'000'000'000;
  std::atomic<double> ticks_per_ns_{1.0};
};

class tracer {
 public:
  static constexpr std::size_t max_reasons = 4096;

  // The hooks: callers check runtime_impl::trace_on first (the fast path).
  void on_send(std::uint64_t from, std::uint64_t to, const message& msg) noexcept;
  // `queued`: the messages still in the actor's mailbox.
  void on_begin(std::uint64_t actor, const message& msg, std::size_t queued) noexcept;
  void on_end(std::uint64_t actor, const message& msg) noexcept;
  void on_spawn(std::uint64_t parent, std::uint64_t child) noexcept;
  void on_exit(std::uint64_t actor, const std::string& reason) noexcept;
  // Any other kind: `what` a string that outlives the trace, or (text)
  // one interned as exit reasons are (the kinds interned_what names).
  void on_event(tracing::event_kind kind, std::uint64_t actor, std::uint64_t other, const char* what,
                std::int64_t value) noexcept;
  void on_event_text(tracing::event_kind kind, std::uint64_t actor, std::uint64_t other, std::string_view what,
                     std::int64_t value) noexcept;
  // Whether a kind's `what` is an interned string (else a char literal).
  static bool interned_what(tracing::event_kind kind) noexcept;
  void on_user(tracing::event_kind kind, std::uint64_t actor, const char* name, std::int64_t value) noexcept;
  // lock_wait, lock_acquire, lock_release (lock_trace.hpp).
  void on_lock(tracing::event_kind kind, std::uint64_t actor, const char* name, std::uint64_t holder,
               std::int64_t priority) noexcept;

  std::uint64_t start(const tracing::options& how);  // the new session
  std::uint64_t session() const noexcept { return session_.load(std::memory_order_acquire); }
  std::vector<tracing::event> snapshot();
  // The last `count` events in which `actor` took part, oldest first
  // (flows not numbered).
  std::vector<tracing::event> recent_of(std::uint64_t actor, std::size_t count);
  // Where a reader of new events is: the ring set and, per ring, the next
  // event number to read.
  struct cursor {
    std::uint64_t set_id = 0;
    std::vector<std::uint64_t> next;
  };
  // A cursor at the rings' current ends (what is recorded from now on).
  cursor cursor_now();
  // The events written since `at` (time order, flows not numbered), moving
  // it on; events overwritten before they were read are added to `missed`.
  // A new ring set is read from its start.
  std::vector<tracing::event> drain(cursor& at, std::uint64_t& missed);
  tracing::stats counts() const;

 private:
  struct ring_set {
    std::uint64_t id;
    std::uint32_t capacity;
    std::mutex mu;  // rings
    std::vector<std::unique_ptr<trace_ring>> rings;
  };

  // `msg`: the message of a send, begin or end (its type is filtered on);
  // `name_it`: the type's name is wanted (a send or begin names it).
  template <class What>
  void emit(tracing::event_kind kind, std::uint64_t actor, std::uint64_t other, std::uint64_t flow, What what,
            std::int64_t value, const message* msg, bool name_it = false, std::uint64_t trace = 0,
            std::uint64_t span = 0) noexcept;
  // `f`: the filter emit loaded (not null).
  bool admit(const trace_filter_state* f, tracing::event_kind kind, std::uint64_t actor, std::uint64_t other,
             std::int64_t now, const message* msg) noexcept;
  trace_ring* ring_of_this_thread();
  void record(trace_ring& ring, tracing::event_kind kind, std::int64_t now, std::uint64_t actor,
              std::uint64_t other, std::uint64_t flow, const void* what, std::int64_t value, std::uint64_t trace,
              std::uint64_t span) noexcept;
  void name_type(trace_ring& ring, const message& msg);
  const void* intern_reason(const std::string& reason);
  const void* intern_text(tracing::event_kind kind, std::string_view text);
  // Event i of ring r into e (with its name); false if overwritten.
  // Under mu_ (the names).
  bool read_slot(trace_ring& r, std::uint64_t i, tracing::event& e) const;

  trace_clock clock_;
  std::atomic<ring_set*> current_{nullptr};
  std::atomic<const trace_filter_state*> filter_{nullptr};
  std::atomic<std::int64_t> window_second_{0};
  std::atomic<std::uint64_t> window_count_{0};
  std::atomic<std::uint64_t> rate_limited_{0};
  std::atomic<std::uint64_t> session_{0};  // start() calls

  mutable std::mutex mu_;  // everything below
  std::vector<std::unique_ptr<ring_set>> sets_;                      // every set made (invariant 4)
  std::vector<std::unique_ptr<const trace_filter_state>> filters_;  // every filter made
  std::unordered_map<const void*, std::string> type_names_;
  std::map<std::string, std::unique_ptr<std::string>> reasons_;
  std::map<std::string, std::unique_ptr<std::string>, std::less<>> names_;  // interned names (intern_text)
  std::atomic<std::uint64_t> overwritten_before_{0};  // by rings of sets replaced
};

// The messages a trace shows as sent: a user's, and replies (not the
// system lane's links, exits, downs and continuations).
inline bool traced_message(const message& msg) noexcept {
  return msg.kind == message_kind::user || msg.kind == message_kind::reply ||
         msg.kind == message_kind::error_reply;
}

// Events from threads outside any actor (marks, lock steps) go to the
// runtime that started tracing last: `outside_recorder`, read by a
// recorder only while it counts itself in `outside_users`;
// forget_outside_recorder (from the runtime's destructor) waits for those.
extern std::atomic<runtime_impl*> outside_recorder;
extern std::atomic<int> outside_users;
void forget_outside_recorder(runtime_impl& rt) noexcept;

// The crash report's tail: "; last traced events: " and the last events
// of `actor`, on one line; empty when the runtime does not record.
std::string trace_tail_for_crash(runtime_impl& rt, std::uint64_t actor);

}  // namespace troupe::detail
