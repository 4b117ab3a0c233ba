// actor_cell, continued: links, monitors and exit signals (signals.hpp).
// Everything here runs on the owner's thread; the messages that set links
// and monitors up travel in the system lane, so they are ordered with the
// actor's end (see docs/design/fault.md).
#include <algorithm>

#include "actor_cell.hpp"
#include "runtime_impl.hpp"
#include "tracer.hpp"

namespace troupe::detail {

namespace {
// Records a link, unlink or monitor set up by `cell` with `other`.
void trace_watch(actor_cell& cell, tracing::event_kind kind, const troupe::pid& other) noexcept {
  if (cell.rt.trace_on.load(std::memory_order_relaxed)) [[unlikely]]
    cell.rt.trace_state().on_event(kind, cell.id(), other.id(), nullptr, 0);
}
}  // namespace

void actor_cell::add_link(const troupe::pid& other) {
  auto& w = more().watches;
  for (auto& x : w)
    if (x.is_link && x.other == other) return;
  w.push_back({true, other, 0});
}

bool actor_cell::remove_link(const troupe::pid& other) {
  if (!extras_) return false;
  auto& w = extras_->watches;
  auto it = std::find_if(w.begin(), w.end(),
                         [&](const extras::watch& x) { return x.is_link && x.other == other; });
  if (it == w.end()) return false;
  w.erase(it);
  return true;
}

void actor_cell::send_control(const troupe::pid& to, message_kind kind, std::uint64_t id) {
  auto* msg = new typed_message<timeout_marker>();
  msg->kind = kind;
  msg->request_id = id;
  send_from_self(to, msg);
}

void actor_cell::send_signal(const troupe::pid& to, const exit_reason& reason, bool from_link,
                             bool untrappable) {
  auto* sig = new typed_message<signal>(signal{troupe::pid(this), reason, untrappable});
  sig->kind = message_kind::exit;
  sig->request_id = from_link ? 1 : 0;
  send_from_self(to, sig);
}

void actor_cell::link_with(const troupe::pid& other) {
  if (!other || other == troupe::pid(this)) return;
  add_link(other);
  trace_watch(*this, tracing::event_kind::link, other);
  send_control(other, message_kind::link, 0);
}

void actor_cell::unlink_from(const troupe::pid& other) {
  if (!other || other == troupe::pid(this)) return;
  remove_link(other);
  trace_watch(*this, tracing::event_kind::unlink, other);
  // Always tell the other side: its own link request may still be on the
  // way, and must not set the link up after this.
  send_control(other, message_kind::unlink, 0);
}

monitor_ref actor_cell::monitor_target(const troupe::pid& target) {
  auto& x = more();
  monitor_ref ref{++x.next_token};
  x.my_monitors[ref.id] = target;
  trace_watch(*this, tracing::event_kind::monitor, target);
  send_control(target, message_kind::monitor, ref.id);
  return ref;
}

void actor_cell::demonitor_ref(monitor_ref ref, bool flush) {
  auto& x = more();
  auto it = x.my_monitors.find(ref.id);
  if (it != x.my_monitors.end()) {
    send_control(it->second, message_kind::demonitor, ref.id);
    x.my_monitors.erase(it);
  }
  // A down already taken in has left my_monitors: drop it either way.
  if (flush) drop_queued_down(ref);
}

void actor_cell::admit_user(message* msg) {
  msg->kind = message_kind::user;
  msg->request_id = 0;
  enqueued_.fetch_add(1, std::memory_order_relaxed);
  if (coro)
    coro->queues.push(msg);
  else
    user_queue_.push_back(msg);
}

void actor_cell::drop_queued_down(monitor_ref ref) {
  auto is_it = [&](message* m) { return m->key == type_key_of<down> && m->as<down>().ref == ref; };
  if (coro) {
    if (coro->queues.remove_first(type_key_of<down>, is_it)) note_dequeued();
    return;
  }
  message_fifo kept;
  bool dropped = false;
  while (message* m = user_queue_.pop_front()) {
    if (!dropped && is_it(m)) {
      dropped = true;
      note_dequeued();
      delete m;
    } else {
      kept.push_back(m);
    }
  }
  user_queue_.append(kept);
}

void actor_cell::handle_exit_signal(message* msg) {
  signal sig = msg->as<signal>();
  const bool from_link = msg->request_id == 1;
  delete msg;
  // A link signal ends the link; one from a link already undone is void.
  if (from_link && !remove_link(sig.from) && !sig.untrappable) return;
  const bool is_kill = sig.reason.what() == exit_reason::kind::kill;
  if (sig.untrappable) {
    terminate(is_kill ? exit_reason::killed() : sig.reason);
  } else if (extras_ && extras_->trap_exit) {
    admit_user(new typed_message<exit_signal>(exit_signal{sig.from, sig.reason}));
  } else if (sig.reason.what() != exit_reason::kind::normal) {
    terminate(is_kill ? exit_reason::killed() : sig.reason);
  }
}

void actor_cell::notify_watchers(const exit_reason& reason) {
  if (!extras_) return;
  // Monitors this actor placed on others end with it: their targets must
  // not keep it (and a watch entry) until they end.
  for (auto& [ref, target] : extras_->my_monitors) send_control(target, message_kind::demonitor, ref);
  extras_->my_monitors.clear();
  const exit_reason link_reason =
      reason.what() == exit_reason::kind::kill ? exit_reason::killed() : reason;
  auto watches = std::move(extras_->watches);
  const bool traced = rt.trace_on.load(std::memory_order_relaxed);
  for (auto& w : watches) {
    if (w.is_link) {
      send_signal(w.other, link_reason, true, false);
    } else {
      auto* note = new typed_message<down>(down{monitor_ref{w.ref}, troupe::pid(this), reason});
      note->kind = message_kind::down_notice;
      if (traced) [[unlikely]]
        rt.trace_state().on_event_text(tracing::event_kind::down, id(), w.other.id(), reason.to_string(), 0);
      send_from_self(w.other, note);
    }
  }
}

}  // namespace troupe::detail
