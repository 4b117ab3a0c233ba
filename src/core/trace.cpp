// troupe::trace: the rings (tracer.hpp) and their snapshot and export.
#include "troupe/core/trace.hpp"

#include <algorithm>
#include <bit>
#include <fstream>
#include <ostream>
#include <thread>

#include "actor_cell.hpp"
#include "runtime_impl.hpp"
#include "causal.hpp"
#include "tracer.hpp"
#include "troupe/core/context.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe::detail {

namespace {

std::atomic<std::uint64_t> next_set_id{1};

// This thread's rings of the last few ring sets it recorded into
// (invariant 4): a thread that records into two runtimes' tracers in turn
// (a plain thread that sends to both) finds both rings here.
struct ring_cache {
  struct entry {
    std::uint64_t set_id = 0;
    trace_ring* ring = nullptr;
  };
  std::array<entry, 4> entries{};
  unsigned next = 0;
};
thread_local ring_cache this_thread_rings;

// A number per thread, never reused in the process (a std::thread::id may
// be, once its thread has ended): a ring is written by one thread only.
std::atomic<std::uint64_t> next_thread_serial{1};
std::uint64_t this_thread_serial() noexcept {
  thread_local const std::uint64_t serial = next_thread_serial.fetch_add(1, std::memory_order_relaxed);
  return serial;
}

}  // namespace

trace_clock::trace_clock() {
#if defined(__x86_64__)
  std::ifstream source("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string name;
  use_tsc_ = source >> name && name == "tsc";
#endif
  anchor_ns_ = steady_ns();
  anchor_ticks_ = now();
  if (!use_tsc_) return;
  // A first rate over 2 ms (made once per runtime, at its first start()).
  const std::int64_t until = anchor_ns_ + 2'000'000;
  while (steady_ns() < until) std::this_thread::yield();
  recalibrate();
  ticks_per_second_ = static_cast<std::int64_t>(ticks_per_ns_.load(std::memory_order_relaxed) * 1e9);
}

void trace_clock::recalibrate() noexcept {
  if (!use_tsc_) return;
  const std::int64_t ns = steady_ns();
  const std::int64_t ticks = now();
  if (ns > anchor_ns_ && ticks > anchor_ticks_)
    ticks_per_ns_.store(static_cast<double>(ticks - anchor_ticks_) / static_cast<double>(ns - anchor_ns_),
                        std::memory_order_relaxed);
}

std::int64_t trace_clock::to_ns(std::int64_t ticks) const noexcept {
  if (!use_tsc_) return ticks;
  return anchor_ns_ + static_cast<std::int64_t>(static_cast<double>(ticks - anchor_ticks_) /
                                                ticks_per_ns_.load(std::memory_order_relaxed));
}

trace_ring::trace_ring(std::uint32_t capacity, std::uint32_t thread_number)
    : mask(capacity - 1), thread(thread_number), owner(this_thread_serial()), slots(new trace_slot[capacity]) {}

bool trace_filter_state::has_actor(std::uint64_t id) const noexcept {
  if (id == 0) return false;
  if (std::binary_search(actors.begin(), actors.end(), id)) return true;
  if (!with_spawned || !any_spawned.load(std::memory_order_acquire)) return false;
  std::lock_guard lock(mu);
  return std::find(spawned.begin(), spawned.end(), id) != spawned.end();
}

void trace_filter_state::add_spawned(std::uint64_t child) const noexcept {
  try {
    std::lock_guard lock(mu);
    spawned.push_back(child);
    any_spawned.store(true, std::memory_order_release);
  } catch (...) {  // no memory: the child goes untraced
  }
}

std::uint64_t trace_filter_state::next_serial() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

bool trace_filter_state::admits_type(const message& msg) const noexcept {
  // Per thread: (filter serial, type) -> verdict, direct mapped by the
  // type's address. The serial, not the filter's address: a later
  // runtime's filter may be allocated where a freed one was.
  struct cached {
    std::uint64_t filter = 0;
    const void* type = nullptr;
    bool ok = false;
  };
  thread_local std::array<cached, 64> cache{};
  cached& slot = cache[(reinterpret_cast<std::uintptr_t>(msg.key) >> 3) & 63];
  if (slot.filter == serial && slot.type == msg.key) return slot.ok;
  bool ok = false;
  try {
    std::lock_guard lock(mu);
    auto it = type_verdicts.find(msg.key);
    if (it == type_verdicts.end()) {
      const std::string name = msg.type_name();
      for (auto& t : types) ok = ok || name.find(t) != std::string::npos;
      type_verdicts.emplace(msg.key, ok);
    } else {
      ok = it->second;
    }
  } catch (...) {
    return false;
  }
  slot = {serial, msg.key, ok};
  return ok;
}

bool trace_filter_state::admits(tracing::event_kind kind, std::uint64_t actor, std::uint64_t other,
                                const message* msg) const noexcept {
  if ((kinds & tracing::kind_bit(kind)) == 0) return false;
  if (msg && !types.empty() && !admits_type(*msg)) return false;
  if (actors.empty()) return true;
  return has_actor(actor) || (other_is_actor(kind) && has_actor(other));
}

bool trace_filter_state::other_is_actor(tracing::event_kind kind) noexcept {
  // Elsewhere `other` is a descriptor, a thread id or a channel's address.
  switch (kind) {
    case tracing::event_kind::spawn:
    case tracing::event_kind::send:
    case tracing::event_kind::begin:
    case tracing::event_kind::end:
    case tracing::event_kind::link:
    case tracing::event_kind::unlink:
    case tracing::event_kind::monitor:
    case tracing::event_kind::down:
    case tracing::event_kind::timer_set:
    case tracing::event_kind::timer_fire:
    case tracing::event_kind::timer_cancel:
    case tracing::event_kind::restart:
      return true;
    default:
      return false;
  }
}

std::uint64_t tracer::start(const tracing::options& how) {
  auto state = std::make_unique<trace_filter_state>();
  for (const pid& p : how.filter.actors)
    if (p) state->actors.push_back(p.id());
  for (std::uint64_t id : how.filter.actor_ids)
    if (id != 0) state->actors.push_back(id);
  std::sort(state->actors.begin(), state->actors.end());
  state->kinds = how.filter.kinds;
  state->max_per_second = how.filter.max_events_per_second;
  state->types = how.filter.message_types;
  state->with_spawned = how.filter.with_spawned;
  const std::uint32_t capacity = std::bit_ceil(std::max<std::uint32_t>(how.ring_events, 64));
  std::lock_guard lock(mu_);
  const std::uint64_t session = session_.fetch_add(1, std::memory_order_acq_rel) + 1;
  filter_.store(state.get(), std::memory_order_release);
  filters_.push_back(std::move(state));
  ring_set* now = current_.load(std::memory_order_relaxed);
  if (now && now->capacity == capacity) return session;  // a new filter over the same rings
  if (now) {
    std::lock_guard rings(now->mu);
    for (auto& r : now->rings) {
      const std::uint64_t head = r->head.load(std::memory_order_acquire);
      if (head > now->capacity)
        overwritten_before_.fetch_add(head - now->capacity, std::memory_order_relaxed);
    }
  }
  auto set = std::make_unique<ring_set>();
  set->id = next_set_id.fetch_add(1, std::memory_order_relaxed);
  set->capacity = capacity;
  current_.store(set.get(), std::memory_order_release);
  sets_.push_back(std::move(set));
  return session;
}

trace_ring* tracer::ring_of_this_thread() {
  ring_set* set = current_.load(std::memory_order_acquire);
  if (!set) return nullptr;
  ring_cache& cache = this_thread_rings;
  for (auto& e : cache.entries)
    if (e.set_id == set->id) return e.ring;
  std::lock_guard lock(set->mu);
  const std::uint64_t me = this_thread_serial();
  trace_ring* found = nullptr;
  for (auto& r : set->rings)
    if (r->owner == me) found = r.get();  // this thread's, fallen out of the cache
  if (!found) {
    // Made once per thread and set: the one allocation on a recording path.
    auto ring = std::make_unique<trace_ring>(set->capacity, static_cast<std::uint32_t>(set->rings.size()));
    found = ring.get();
    set->rings.push_back(std::move(ring));
  }
  cache.entries[cache.next++ % cache.entries.size()] = {set->id, found};
  return found;
}

bool tracer::admit(const trace_filter_state* f, tracing::event_kind kind, std::uint64_t actor, std::uint64_t other,
                   std::int64_t now, const message* msg) noexcept {
  // A filtered actor's children join the filter as they are spawned.
  if (kind == tracing::event_kind::spawn && f->with_spawned && !f->actors.empty() && f->has_actor(actor))
    f->add_spawned(other);
  if (!f->admits(kind, actor, other, msg)) return false;
  if (f->max_per_second == 0) return true;
  // One window per second of the clock: whoever first sees a new second
  // opens it (a race between two may let a few extra events through).
  const std::int64_t second = now / clock_.ticks_per_second();
  // Only forward: a thread with an older clock reading must not reopen
  // the previous second and reset the count.
  std::int64_t open = window_second_.load(std::memory_order_relaxed);
  if (second > open && window_second_.compare_exchange_strong(open, second, std::memory_order_relaxed))
    window_count_.store(0, std::memory_order_relaxed);
  if (window_count_.fetch_add(1, std::memory_order_relaxed) < f->max_per_second) return true;
  rate_limited_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void tracer::record(trace_ring& ring, tracing::event_kind kind, std::int64_t now, std::uint64_t actor,
                    std::uint64_t other, std::uint64_t flow, const void* what, std::int64_t value,
                    std::uint64_t trace, std::uint64_t span) noexcept {
  // Invariant 1.
  const std::uint64_t i = ring.head.load(std::memory_order_relaxed);
  trace_slot& s = ring.slots[i & ring.mask];
  s.seq.store(2 * i + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.time.store(now, std::memory_order_relaxed);
  s.actor.store(actor, std::memory_order_relaxed);
  s.other.store(other, std::memory_order_relaxed);
  s.flow.store(flow, std::memory_order_relaxed);
  s.what.store(what, std::memory_order_relaxed);
  s.value.store(value, std::memory_order_relaxed);
  s.trace.store(trace, std::memory_order_relaxed);
  s.span.store(span, std::memory_order_relaxed);
  s.kind.store(static_cast<std::uint8_t>(kind), std::memory_order_relaxed);
  s.seq.store(2 * i + 2, std::memory_order_release);
  ring.head.store(i + 1, std::memory_order_release);
}

void tracer::name_type(trace_ring& ring, const message& msg) {
  const void*& cached = ring.named_types[(reinterpret_cast<std::uintptr_t>(msg.key) >> 3) & 63];
  if (cached == msg.key) return;
  cached = msg.key;
  std::lock_guard lock(mu_);
  if (!type_names_.contains(msg.key)) type_names_.emplace(msg.key, msg.type_name());
}

const void* tracer::intern_reason(const std::string& reason) {
  static const std::string not_kept = "(reason not kept: too many distinct reasons)";
  std::lock_guard lock(mu_);
  auto it = reasons_.find(reason);
  if (it != reasons_.end()) return it->second.get();
  if (reasons_.size() >= max_reasons) return &not_kept;
  auto kept = std::make_unique<std::string>(reason);
  const void* where = kept.get();
  reasons_.emplace(reason, std::move(kept));
  return where;
}

// Every hook: stamp, filter, find this thread's ring, name the message
// type if there is one, then record. Recording must never throw into the
// runtime: a failed allocation (a ring, a name, a reason) drops the event.
// `what` is called only for an event that is kept (an exit's reason is
// interned under the lock).
template <class What>
void tracer::emit(tracing::event_kind kind, std::uint64_t actor, std::uint64_t other, std::uint64_t flow,
                  What what, std::int64_t value, const message* msg, bool name_it, std::uint64_t trace,
                  std::uint64_t span) noexcept {
  // A kind the filter leaves out costs no clock reading (but a spawn is
  // looked at anyway: with_spawned follows children whatever the kinds).
  const trace_filter_state* f = filter_.load(std::memory_order_acquire);
  if (!f || ((f->kinds & tracing::kind_bit(kind)) == 0 && kind != tracing::event_kind::spawn)) return;
  const std::int64_t now = clock_.now();
  if (!admit(f, kind, actor, other, now, msg)) return;
  try {
    trace_ring* ring = ring_of_this_thread();
    if (!ring) return;
    if (msg && name_it) name_type(*ring, *msg);
    record(*ring, kind, now, actor, other, flow, what(), value, trace, span);
  } catch (...) {
  }
}

void tracer::on_send(std::uint64_t from, std::uint64_t to, const message& msg) noexcept {
  // Sent from inside the sender's handling: its span is the parent.
  const auto parent = msg.trace_id != 0 ? static_cast<std::int64_t>(current_causal.span) : 0;
  emit(tracing::event_kind::send, from, to, reinterpret_cast<std::uintptr_t>(&msg), [&] { return msg.key; }, parent,
       &msg, true, msg.trace_id, msg.span_id);
}

void tracer::on_begin(std::uint64_t actor, const message& msg, std::size_t queued) noexcept {
  emit(tracing::event_kind::begin, actor, msg.sender.id(), reinterpret_cast<std::uintptr_t>(&msg),
       [&] { return msg.key; }, static_cast<std::int64_t>(queued), &msg, true, msg.trace_id, msg.span_id);
}

void tracer::on_end(std::uint64_t actor, const message& msg) noexcept {
  // Admitted as its begin was (same actor and sender), bar the rate limit;
  // the begin named the type.
  emit(tracing::event_kind::end, actor, msg.sender.id(), 0, [&] { return msg.key; }, 0, &msg);
}

void tracer::on_spawn(std::uint64_t parent, std::uint64_t child) noexcept {
  emit(tracing::event_kind::spawn, parent, child, 0, [] { return static_cast<const void*>(nullptr); }, 0, nullptr);
}

void tracer::on_exit(std::uint64_t actor, const std::string& reason) noexcept {
  emit(tracing::event_kind::exit, actor, 0, 0, [&] { return intern_reason(reason); }, 0, nullptr);
}

void tracer::on_event(tracing::event_kind kind, std::uint64_t actor, std::uint64_t other, const char* what,
                      std::int64_t value) noexcept {
  emit(kind, actor, other, 0, [what] { return static_cast<const void*>(what); }, value, nullptr);
}

void tracer::on_event_text(tracing::event_kind kind, std::uint64_t actor, std::uint64_t other,
                           std::string_view what, std::int64_t value) noexcept {
  emit(kind, actor, other, 0, [&] { return intern_text(kind, what); }, value, nullptr);
}

const void* tracer::intern_text(tracing::event_kind kind, std::string_view text) {
  // Reasons (a down's) share the exit reasons' table; names (a peer node, a
  // child's id) have their own, so neither crowds the other out. Looked up
  // without a copy.
  if (kind == tracing::event_kind::down) return intern_reason(std::string(text));
  static const std::string not_kept = "(name not kept: too many distinct names)";
  std::lock_guard lock(mu_);
  auto it = names_.find(text);
  if (it != names_.end()) return it->second.get();
  if (names_.size() >= max_reasons) return &not_kept;
  auto kept = std::make_unique<std::string>(text);
  const void* where = kept.get();
  names_.emplace(std::string(text), std::move(kept));
  return where;
}

bool tracer::interned_what(tracing::event_kind kind) noexcept {
  switch (kind) {
    case tracing::event_kind::exit:
    case tracing::event_kind::down:
    case tracing::event_kind::restart:
    case tracing::event_kind::frame_send:
    case tracing::event_kind::frame_recv:
      return true;
    default:
      return false;
  }
}

void tracer::on_user(tracing::event_kind kind, std::uint64_t actor, const char* name, std::int64_t value) noexcept {
  emit(kind, actor, 0, 0, [name] { return static_cast<const void*>(name); }, value, nullptr);
}

void tracer::on_lock(tracing::event_kind kind, std::uint64_t actor, const char* name, std::uint64_t holder,
                     std::int64_t priority) noexcept {
  emit(kind, actor, holder, 0, [name] { return static_cast<const void*>(name); }, priority, nullptr);
}

bool tracer::read_slot(trace_ring& r, std::uint64_t i, tracing::event& e) const {
  // Invariant 2.
  trace_slot& s = r.slots[i & r.mask];
  const std::uint64_t seq = s.seq.load(std::memory_order_acquire);
  if (seq != 2 * i + 2) return false;
  e.time_ns = clock_.to_ns(s.time.load(std::memory_order_relaxed));
  e.kind = static_cast<tracing::event_kind>(s.kind.load(std::memory_order_relaxed));
  e.thread = r.thread;
  e.actor = s.actor.load(std::memory_order_relaxed);
  e.other = s.other.load(std::memory_order_relaxed);
  e.flow = s.flow.load(std::memory_order_relaxed);
  const void* what = s.what.load(std::memory_order_relaxed);
  e.value = s.value.load(std::memory_order_relaxed);
  e.trace_id = s.trace.load(std::memory_order_relaxed);
  e.span_id = s.span.load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (s.seq.load(std::memory_order_relaxed) != seq) return false;  // overwritten meanwhile
  if (e.kind == tracing::event_kind::send) {  // the slot's value holds the parent span
    e.parent_span_id = static_cast<std::uint64_t>(e.value);
    e.value = 0;
  }
  switch (e.kind) {
    case tracing::event_kind::send:
    case tracing::event_kind::begin:
    case tracing::event_kind::end: {
      auto it = type_names_.find(what);
      e.what = it != type_names_.end() ? it->second : "?";
      break;
    }
    case tracing::event_kind::spawn:
      break;
    default:
      if (!what) break;
      if (interned_what(e.kind))
        e.what = *static_cast<const std::string*>(what);
      else
        e.what = static_cast<const char*>(what);
  }
  return true;
}

std::vector<tracing::event> tracer::recent_of(std::uint64_t actor, std::size_t count) {
  // Each ring from its newest event back, until it has `count` of the
  // actor's: a crash report does not pay for a whole snapshot.
  std::vector<tracing::event> out;
  std::lock_guard lock(mu_);
  ring_set* set = current_.load(std::memory_order_acquire);
  if (!set) return out;
  std::lock_guard rings(set->mu);
  for (auto& r : set->rings) {
    const std::uint64_t head = r->head.load(std::memory_order_acquire);
    const std::uint64_t from = head > set->capacity ? head - set->capacity : 0;
    std::size_t found = 0;
    for (std::uint64_t i = head; i > from && found < count; --i) {
      // A look at who before the full read (and its name): most slots are
      // other actors'. read_slot checks the slot again.
      const trace_slot& peek = r->slots[(i - 1) & r->mask];
      if (peek.actor.load(std::memory_order_relaxed) != actor && peek.other.load(std::memory_order_relaxed) != actor)
        continue;
      tracing::event e;
      if (!read_slot(*r, i - 1, e) || (e.actor != actor && e.other != actor)) continue;
      e.flow = 0;  // numbered by snapshot() only
      out.push_back(std::move(e));
      ++found;
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const tracing::event& a, const tracing::event& b) { return a.time_ns < b.time_ns; });
  if (out.size() > count) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(count));
  return out;
}

tracer::cursor tracer::cursor_now() {
  cursor c;
  ring_set* set = current_.load(std::memory_order_acquire);
  if (!set) return c;
  std::lock_guard rings(set->mu);
  c.set_id = set->id;
  for (auto& r : set->rings) c.next.push_back(r->head.load(std::memory_order_acquire));
  return c;
}

std::vector<tracing::event> tracer::drain(cursor& at, std::uint64_t& missed) {
  std::vector<tracing::event> out;
  std::lock_guard lock(mu_);
  ring_set* set = current_.load(std::memory_order_acquire);
  if (!set) return out;
  if (at.set_id != set->id) {
    // start() made new rings: what the old ones held unread is missed.
    for (auto& old : sets_) {
      if (old->id != at.set_id) continue;
      std::lock_guard old_rings(old->mu);
      for (std::size_t k = 0; k < old->rings.size(); ++k) {
        const std::uint64_t head = old->rings[k]->head.load(std::memory_order_acquire);
        const std::uint64_t from = k < at.next.size() ? at.next[k] : 0;
        if (head > from) missed += head - from;
      }
    }
    at = {set->id, {}};
  }
  std::lock_guard rings(set->mu);
  at.next.resize(set->rings.size(), 0);  // a ring made since: from its start
  for (std::size_t k = 0; k < set->rings.size(); ++k) {
    trace_ring& r = *set->rings[k];
    const std::uint64_t head = r.head.load(std::memory_order_acquire);
    std::uint64_t from = std::min(at.next[k], head);
    if (head - from > set->capacity) {
      missed += head - set->capacity - from;
      from = head - set->capacity;
    }
    for (std::uint64_t i = from; i < head; ++i) {
      tracing::event e;
      if (read_slot(r, i, e)) {
        e.flow = 0;
        out.push_back(std::move(e));
      } else {
        ++missed;  // overwritten while being read
      }
    }
    at.next[k] = head;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const tracing::event& a, const tracing::event& b) { return a.time_ns < b.time_ns; });
  return out;
}

std::vector<tracing::event> tracer::snapshot() {
  std::vector<tracing::event> out;
  {
    // The locks only while the slots are read (the names need mu_): a
    // worker recording its first event of a type, or an exit, waits for
    // this much and no more; sorting and pairing happen after.
    std::lock_guard lock(mu_);
    ring_set* set = current_.load(std::memory_order_acquire);
    if (!set) return out;
    std::lock_guard rings(set->mu);
    clock_.recalibrate();
    for (auto& r : set->rings) {
      const std::uint64_t head = r->head.load(std::memory_order_acquire);
      const std::uint64_t from = head > set->capacity ? head - set->capacity : 0;
      for (std::uint64_t i = from; i < head; ++i) {
        tracing::event e;
        if (read_slot(*r, i, e)) out.push_back(std::move(e));
      }
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const tracing::event& a, const tracing::event& b) { return a.time_ns < b.time_ns; });
  // A message's address pairs its send with its begin; addresses are
  // reused once a message is freed (after its handling), so pair each
  // begin with the latest send of that address before it, and number the
  // pairs. Sends whose handling is not in the window keep a number too.
  std::unordered_map<std::uint64_t, std::uint64_t> open;  // address -> flow number
  std::uint64_t next_flow = 1;
  for (tracing::event& e : out) {
    if (e.kind == tracing::event_kind::send) {
      std::uint64_t n = next_flow++;
      open[e.flow] = n;
      e.flow = n;
    } else if (e.kind == tracing::event_kind::begin) {
      auto it = open.find(e.flow);
      if (it != open.end()) {
        e.flow = it->second;
        open.erase(it);
      } else {
        e.flow = 0;  // sent before the window, or not recorded
      }
    }
  }
  return out;
}

tracing::stats tracer::counts() const {
  tracing::stats st;
  st.rate_limited = rate_limited_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  st.overwritten = overwritten_before_.load(std::memory_order_relaxed);
  for (auto& set : sets_) {
    std::lock_guard rings(set->mu);
    for (auto& r : set->rings) {
      const std::uint64_t head = r->head.load(std::memory_order_acquire);
      st.recorded += head;
      if (set.get() == current_.load(std::memory_order_relaxed) && head > set->capacity)
        st.overwritten += head - set->capacity;
    }
  }
  return st;
}

tracer& runtime_impl::trace_state() {
  if (tracer* t = tracer_.load(std::memory_order_acquire)) return *t;
  std::lock_guard lock(tracer_mu_);
  if (!tracer_owner_) {
    tracer_owner_ = std::make_unique<tracer>();
    tracer_.store(tracer_owner_.get(), std::memory_order_release);
  }
  return *tracer_owner_;
}

std::string trace_tail_for_crash(runtime_impl& rt, std::uint64_t actor) {
  if (!rt.trace_on.load(std::memory_order_relaxed)) return {};
  std::vector<tracing::event> mine;
  try {
    mine = rt.trace_state().recent_of(actor, 16);
  } catch (...) {
    return {};
  }
  if (mine.empty()) return {};
  // A log record is one line: the events are separated by " | ".
  std::string text = "; last traced events: ";
  for (std::size_t i = 0; i < mine.size(); ++i) {
    if (i != 0) text += " | ";
    text += tracing::to_string(mine[i]);
  }
  return text;
}

}  // namespace troupe::detail

