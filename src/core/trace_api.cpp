// troupe::tracing's public functions (trace.hpp) over the runtime's
// tracer (tracer.hpp, trace.cpp).
#include <sstream>

#include "actor_cell.hpp"
#include "runtime_impl.hpp"
#include "tracer.hpp"
#include "troupe/core/context.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/trace.hpp"

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
  }
  return "?";
}

std::uint64_t start(runtime& rt, const options& how) {
  auto& impl = rt.impl();
  const std::uint64_t session = impl.trace_state().start(how);
  impl.trace_on.store(true, std::memory_order_release);
  return session;
}

void stop(runtime& rt) { rt.impl().trace_on.store(false, std::memory_order_release); }

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
  if (auto* cell = recording_cell()) cell->rt.trace_state().on_user(event_kind::mark, cell->id(), name, value);
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
