// scoped_actor: a cell whose owner is a plain thread that blocks on the
// mailbox word itself (mailbox::wait_while_blocked). Timeouts arrive as
// system messages from the timer wheel, so every wait is an untimed wait.
#include "troupe/core/scoped_actor.hpp"

#include "actor_cell.hpp"
#include "runtime_impl.hpp"
#include "timer_service.hpp"

namespace troupe {
using detail::actor_cell;
using detail::message;
using detail::message_kind;

scoped_actor::scoped_actor(runtime& rt) {
  cell_ = new actor_cell(rt.impl(), actor_cell::kind::scoped, spawn_options{});
  cell_->coro = std::make_unique<actor_cell::coroutine_state>();
}

scoped_actor::~scoped_actor() {
  cell_->terminate(exit_reason::normal());
  cell_->release();
}

troupe::pid scoped_actor::pid() const noexcept { return troupe::pid(cell_); }

std::size_t scoped_actor::mailbox_size() const noexcept { return cell_->queued(); }

void scoped_actor::link(const troupe::pid& other) { cell_->link_with(other); }
void scoped_actor::unlink(const troupe::pid& other) { cell_->unlink_from(other); }
void scoped_actor::send_exit(const troupe::pid& target, exit_reason reason) {
  const bool kill = reason.what() == exit_reason::kind::kill;
  cell_->send_signal(target, reason, false, kill);
}
monitor_ref scoped_actor::monitor(const troupe::pid& target) { return cell_->monitor_target(target); }
void scoped_actor::demonitor(monitor_ref ref) { cell_->demonitor_ref(ref, true); }

send_status scoped_actor::send_message(const troupe::pid& to, message* msg) {
  return cell_->send_from_self(to, msg);
}

namespace {
void wait_for_mail(actor_cell& cell) {
  if (!cell.box.try_block()) return;
  if (cell.rt.hooks)
    cell.rt.hooks->wait_for_mail(cell);  // a simulation: run it, do not sleep
  else
    cell.box.wait_while_blocked();
}
}  // namespace

message* scoped_actor::request_message(const troupe::pid& to, message* msg, duration timeout) {
  auto& x = cell_->more();
  const std::uint64_t id = ++x.next_request_id;
  msg->request_id = id;
  if (timeout == default_timeout) timeout = cell_->rt.cfg.default_request_timeout;
  std::shared_ptr<detail::timer_entry> timer;
  if (timeout != infinite) {
    auto* marker = new detail::typed_message<detail::timeout_marker>();
    marker->kind = message_kind::request_timeout;
    marker->request_id = id;
    timer = cell_->rt.timers.start(timeout, duration::zero(), pid(), marker, nullptr);
  }
  cell_->send_from_self(to, msg);
  for (;;) {
    cell_->drain_mailbox();
    while (message* m = cell_->system_queue.pop_front()) {
      if (m->request_id == id &&
          (m->kind == message_kind::reply || m->kind == message_kind::error_reply)) {
        if (timer) detail::timer_service::cancel(*timer);
        return m;
      }
      if (m->request_id == id && m->kind == message_kind::request_timeout) {
        delete m;
        return detail::make_error_reply(id, errc::timeout, {});
      }
      cell_->handle_system_for_scoped(m);  // links, monitors; or a late reply, dropped
    }
    wait_for_mail(*cell_);
  }
}

message* scoped_actor::receive_message(const type_key* keys, std::size_t count, duration timeout) {
  std::uint64_t token = 0;
  std::shared_ptr<detail::timer_entry> timer;
  if (timeout <= duration::zero()) {
    timeout = duration::zero();
  } else if (timeout != infinite) {
    token = cell_->arm_timeout(timeout, message_kind::receive_timeout, timer);
  }
  for (;;) {
    cell_->drain_mailbox();
    bool timed_out = false;
    while (message* m = cell_->system_queue.pop_front()) {
      if (m->kind == message_kind::receive_timeout) {
        timed_out |= m->request_id == token && token;
        delete m;
      } else {
        cell_->handle_system_for_scoped(m);
      }
    }
    if (message* msg = cell_->coro->queues.take(keys, count)) {
      cell_->note_dequeued();
      if (timer) detail::timer_service::cancel(*timer);
      if (msg->request_id != 0 && msg->sender) {
        // A scoped actor cannot answer: the requester must not wait in vain.
        cell_->send_from_self(msg->sender,
                              detail::make_error_reply(msg->request_id, errc::no_reply,
                                                       "taken by a scoped_actor's receive"));
      }
      return msg;
    }
    if (timed_out || timeout == duration::zero()) return nullptr;
    wait_for_mail(*cell_);
  }
}

}  // namespace troupe
