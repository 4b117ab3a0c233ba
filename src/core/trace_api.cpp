// troupe::tracing's public functions (trace.hpp) over the runtime's
// tracer (tracer.hpp, trace.cpp).
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

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

const char* to_string(event_kind kind) noexcept {
  switch (kind) {
    case event_kind::spawn: return "spawn";
    case event_kind::send: return "send";
    case event_kind::begin: return "begin";
    case event_kind::end: return "end";
    case event_kind::exit: return "exit";
    case event_kind::mark: return "mark";
    case event_kind::span_begin: return "span_begin";
    case event_kind::span_end: return "span_end";
    case event_kind::lock_wait: return "lock_wait";
    case event_kind::lock_acquire: return "lock_acquire";
    case event_kind::lock_release: return "lock_release";
  }
  return "?";
}

std::uint64_t start(runtime& rt, const options& how) {
  auto& impl = rt.impl();
  const std::uint64_t session = impl.trace_state().start(how);
  if (!impl.trace_on.exchange(true, std::memory_order_acq_rel))
    detail::recording_runtimes.fetch_add(1, std::memory_order_relaxed);
  detail::outside_recorder.store(&impl, std::memory_order_seq_cst);
  return session;
}

void stop(runtime& rt) {
  auto& impl = rt.impl();
  if (impl.trace_on.exchange(false, std::memory_order_acq_rel))
    detail::recording_runtimes.fetch_sub(1, std::memory_order_relaxed);
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
  if (e.kind == event_kind::send || e.kind == event_kind::spawn) out << " -> <0." << e.other << ".0>";
  if (e.kind == event_kind::mark && e.value != 0) out << " = " << e.value;
  if (e.kind == event_kind::lock_wait || e.kind == event_kind::lock_acquire || e.kind == event_kind::lock_release) {
    out << " (priority " << e.value << ')';
    if (e.kind == event_kind::lock_wait) out << " held by thread " << e.other;
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
