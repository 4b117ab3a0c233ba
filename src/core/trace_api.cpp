// troupe::tracing's public functions (trace.hpp) over the runtime's
// tracer (tracer.hpp, trace.cpp).
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <thread>

#include "actor_cell.hpp"
#include "runtime_impl.hpp"
#include "tracer.hpp"
#include "troupe/core/context.hpp"
#include "troupe/core/lock_trace.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/trace.hpp"

namespace troupe::detail {
// Runs record(tracer) on the outside recorder, if one records (see
// tracer.hpp for why the count).
template <class F>
void record_outside(F&& record) noexcept {
  outside_users.fetch_add(1, std::memory_order_seq_cst);
  runtime_impl* rt = outside_recorder.load(std::memory_order_seq_cst);
  if (rt && rt->trace_on.load(std::memory_order_relaxed)) record(rt->trace_state());
  outside_users.fetch_sub(1, std::memory_order_seq_cst);
}
}  // namespace troupe::detail

namespace troupe::tracing {

namespace {
constexpr const char* kind_names[event_kind_count] = {
    "spawn",      "send",       "begin",        "end",         "exit",         "mark",         "span_begin",
    "span_end",   "lock_wait",  "lock_acquire", "lock_release", "link",        "unlink",       "monitor",
    "down",       "timer_set",  "timer_fire",   "timer_cancel", "restart",     "steal",        "park",
    "wake",       "channel_send", "channel_recv", "socket_read", "socket_write", "frame_send", "frame_recv", "lend"};
}  // namespace

const char* to_string(event_kind kind) noexcept {
  const auto i = static_cast<unsigned>(kind);
  return i < event_kind_count ? kind_names[i] : "?";
}

bool kind_from_string(const char* name, event_kind& kind) noexcept {
  if (!name) return false;
  for (unsigned i = 0; i < event_kind_count; ++i)
    if (std::strcmp(kind_names[i], name) == 0) {
      kind = static_cast<event_kind>(i);
      return true;
    }
  return false;
}

std::uint64_t start(runtime& rt, const options& how) {
  auto& impl = rt.impl();
  const std::uint64_t session = impl.trace_state().start(how);
  if (!impl.trace_on.exchange(true, std::memory_order_acq_rel))
    detail::recording_runtimes.fetch_add(1, std::memory_order_relaxed);
  if (impl.exec) impl.exec->trace_into(&impl.trace_state());
  impl.timers.trace_into(&impl.trace_state());
  detail::outside_recorder.store(&impl, std::memory_order_seq_cst);
  return session;
}

void stop(runtime& rt) {
  auto& impl = rt.impl();
  if (impl.trace_on.exchange(false, std::memory_order_acq_rel))
    detail::recording_runtimes.fetch_sub(1, std::memory_order_relaxed);
  if (impl.exec) impl.exec->trace_into(nullptr);
  impl.timers.trace_into(nullptr);
}

bool active(runtime& rt) noexcept { return rt.impl().trace_on.load(std::memory_order_relaxed); }

std::uint64_t session(runtime& rt) noexcept {
  auto& impl = rt.impl();
  return impl.has_tracer() ? impl.trace_state().session() : 0;
}

std::vector<event> snapshot(runtime& rt) { return rt.impl().trace_state().snapshot(); }

stats counts(runtime& rt) { return rt.impl().trace_state().counts(); }

std::vector<event> last_events_of(runtime& rt, const pid& actor, std::size_t count) {
  if (!actor) return {};
  return rt.impl().trace_state().recent_of(actor.id(), count);
}

std::string to_string(const event& e) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(6);
  // Actors as a local pid prints (<0.N.0>).
  out << static_cast<double>(e.time_ns) / 1e9 << " t" << e.thread << " <0." << e.actor << ".0> "
      << to_string(e.kind);
  if (!e.what.empty()) out << ' ' << e.what;
  switch (e.kind) {
    case event_kind::send:
    case event_kind::spawn:
    case event_kind::link:
    case event_kind::unlink:
    case event_kind::monitor:
    case event_kind::timer_set:
    case event_kind::restart:
      out << " -> <0." << e.other << ".0>";
      break;
    case event_kind::down:
      out << " (monitored by <0." << e.other << ".0>)";
      break;
    case event_kind::timer_fire:
      out << " for <0." << e.other << ".0>";
      break;
    case event_kind::begin:
      if (e.value != 0) out << " (" << e.value << " queued)";
      break;
    case event_kind::mark:
      if (e.value != 0) out << " = " << e.value;
      break;
    case event_kind::lock_wait:
    case event_kind::lock_acquire:
    case event_kind::lock_release:
      out << " (priority " << e.value << ')';
      if (e.kind == event_kind::lock_wait) out << " held by thread " << e.other;
      break;
    case event_kind::steal:
    case event_kind::wake:
      out << " worker " << e.value;
      break;
    case event_kind::channel_send:
    case event_kind::channel_recv:
      out << " (" << e.value << " buffered)";
      break;
    case event_kind::socket_read:
    case event_kind::socket_write:
      out << ' ' << e.value << " bytes on fd " << e.other;
      break;
    case event_kind::frame_send:
    case event_kind::frame_recv:
      out << ' ' << e.value << " bytes";
      break;
    default:
      break;
  }
  return out.str();
}

namespace {

detail::actor_cell* recording_cell() noexcept {
  auto* cell = static_cast<detail::actor_cell*>(current_actor());
  if (!cell || !cell->rt.trace_on.load(std::memory_order_relaxed)) return nullptr;
  return cell;
}

}  // namespace

void mark(const char* name, std::int64_t value) {
  if (auto* cell = recording_cell()) {
    cell->rt.trace_state().on_user(event_kind::mark, cell->id(), name, value);
    return;
  }
  if (current_actor() || !detail::lock_tracing_on()) return;
  detail::record_outside([&](detail::tracer& t) { t.on_user(event_kind::mark, 0, name, value); });
}

span::span(const char* name) noexcept : name_(name), open_(false) {
  if (auto* cell = recording_cell()) {
    cell->rt.trace_state().on_user(event_kind::span_begin, cell->id(), name_, 0);
    open_ = true;
  }
}

span::~span() {
  if (!open_) return;
  // Closed even if tracing stopped meanwhile, so the export pairs it.
  if (auto* cell = static_cast<detail::actor_cell*>(current_actor()))
    cell->rt.trace_state().on_user(event_kind::span_end, cell->id(), name_, 0);
}

}  // namespace troupe::tracing

namespace troupe::detail {

std::atomic<int> recording_runtimes{0};
std::atomic<runtime_impl*> outside_recorder{nullptr};
std::atomic<int> outside_users{0};

// A runtime going away stops being the outside recorder, and waits until
// no thread is still recording into it (the users count, seq_cst both
// ways: a recorder that saw it counted itself first).
void forget_outside_recorder(runtime_impl& rt) noexcept {
  runtime_impl* expected = &rt;
  outside_recorder.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst);
  if (rt.trace_on.exchange(false, std::memory_order_acq_rel)) recording_runtimes.fetch_sub(1, std::memory_order_relaxed);
  while (outside_users.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
}

namespace {
std::uint64_t os_thread_id() noexcept {
  thread_local const std::uint64_t id = static_cast<std::uint64_t>(::gettid());
  return id;
}

std::int64_t scheduling_priority() noexcept {
  int policy = 0;
  sched_param param{};
  if (pthread_getschedparam(pthread_self(), &policy, &param) != 0) return 0;
  return policy == SCHED_FIFO || policy == SCHED_RR ? param.sched_priority : 0;
}
}  // namespace

namespace {
// The runtime an event outside an actor goes to: `rt` if it records.
template <class F>
void record_probe(runtime* rt, F&& record) noexcept {
  if (auto* cell = static_cast<actor_cell*>(current_actor())) {
    if (cell->rt.trace_on.load(std::memory_order_relaxed)) record(cell->rt.trace_state(), cell->id());
    return;
  }
  if (rt) {
    auto& impl = rt->impl();
    if (impl.trace_on.load(std::memory_order_relaxed)) record(impl.trace_state(), std::uint64_t{0});
    return;
  }
  record_outside([&](tracer& t) { record(t, std::uint64_t{0}); });
}
}  // namespace

void trace_probe(tracing::event_kind kind, const char* what, std::uint64_t other, std::int64_t value,
                 runtime* rt) noexcept {
  record_probe(rt, [&](tracer& t, std::uint64_t actor) { t.on_event(kind, actor, other, what, value); });
}

void trace_probe_text(tracing::event_kind kind, std::string_view what, std::uint64_t other, std::int64_t value,
                      runtime* rt) noexcept {
  record_probe(rt, [&](tracer& t, std::uint64_t actor) { t.on_event_text(kind, actor, other, what, value); });
}

void trace_lock(lock_step step, const char* name, std::atomic<std::uint64_t>& holder) noexcept {
  const std::uint64_t me = os_thread_id();
  std::uint64_t other = 0;
  tracing::event_kind kind = tracing::event_kind::lock_acquire;
  switch (step) {
    case lock_step::wait:
      kind = tracing::event_kind::lock_wait;
      other = holder.load(std::memory_order_relaxed);
      break;
    case lock_step::acquire:
      holder.store(me, std::memory_order_relaxed);
      break;
    case lock_step::release:
      kind = tracing::event_kind::lock_release;
      holder.store(0, std::memory_order_relaxed);
      break;
  }
  const std::int64_t priority = scheduling_priority();
  const char* what = name ? name : "(unnamed mutex)";
  if (auto* cell = static_cast<actor_cell*>(current_actor())) {
    if (cell->rt.trace_on.load(std::memory_order_relaxed)) cell->rt.trace_state().on_lock(kind, cell->id(), what, other, priority);
    return;
  }
  record_outside([&](tracer& t) { t.on_lock(kind, 0, what, other, priority); });
}

}  // namespace troupe::detail
