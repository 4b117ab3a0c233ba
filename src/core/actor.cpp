// actor: the owner-side API of an actor, and response_promise.
#include "troupe/core/actor.hpp"

#include <chrono>
#include <random>

#include "actor_cell.hpp"
#include "causal.hpp"
#include "runtime_impl.hpp"
#include "timer_service.hpp"

namespace troupe {
using detail::actor_cell;

troupe::pid actor::pid() const noexcept {
  return troupe::pid(const_cast<actor_cell*>(&actor_cell::of(const_cast<actor&>(*this))));
}

runtime& actor::system() const noexcept {
  return *actor_cell::of(const_cast<actor&>(*this)).rt.owner;
}

const troupe::pid& actor::sender() const noexcept {
  static const troupe::pid none;
  auto& cell = actor_cell::of(const_cast<actor&>(*this));
  return cell.current ? cell.current->sender : none;
}

send_status actor::send_message(const troupe::pid& to, detail::message* msg) {
  return actor_cell::of(*this).send_from_self(to, msg);
}

void detail::reply_with(actor& self, detail::message* reply) {
  auto& cell = actor_cell::of(self);
  if (cell.delegated) {  // the delegate answers
    delete reply;
    return;
  }
  detail::message* cur = cell.current;
  if (!cur || !cur->sender) {
    cell.rt.record_dead_letter(reply, troupe::pid(), "reply without a sender");
    delete reply;
    return;
  }
  if (cur->kind == detail::message_kind::user && cur->request_id != 0 && !cell.replied) {
    reply->kind = detail::message_kind::reply;
    reply->request_id = cur->request_id;
    cell.replied = true;
  }
  cell.send_from_self(cur->sender, reply);
}

actor* current_actor() noexcept {
  return detail::running_masked ? nullptr : detail::running_actor;
}

namespace detail {
std::uint64_t thread_random() noexcept {
  thread_local std::mt19937_64 generator([]() -> std::uint64_t {
    try {
      std::random_device system;
      return (static_cast<std::uint64_t>(system()) << 32) ^ system();
    } catch (...) {  // no entropy source: the clock will do for jitter
      return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
  }());
  return generator();
}
}  // namespace detail

std::uint64_t random_u64() noexcept {
  if (actor* self = current_actor()) return self->system().random();
  return detail::thread_random();
}

std::uint64_t detail::new_span_id() noexcept {
  std::uint64_t id;
  do id = random_u64();
  while (id == 0);
  return id;
}

bool is_current_actor(const troupe::pid& who) noexcept {
  return detail::running_actor && !detail::running_masked &&
         who.cell() == static_cast<detail::cell_base*>(detail::running_actor);
}

bool detail::on_actor_thread() noexcept { return detail::running_actor != nullptr; }

detail::outside_actor_scope::outside_actor_scope() noexcept : saved_(detail::running_masked) {
  detail::running_masked = true;
}
detail::outside_actor_scope::~outside_actor_scope() { detail::running_masked = saved_; }

bool detail::post_task(const troupe::pid& target, context_task* task) {
  // A copy: `target` may live in what the task frees when it runs (a
  // select's state, on the target's thread) while deliver still reads it
  // and the cell it keeps alive (TSan found the cell freed under deliver).
  const troupe::pid keep = target;
  actor_cell* cell = actor_cell::of(keep);
  if (!cell) {
    delete task;
    return false;
  }
  return runtime_impl::deliver(cell->rt, keep, task) != send_status::dead_letter;
}

void detail::quit_on_unhandled_error(actor& self, const error& err) {
  actor_cell::of(self).fail_current(exit_reason::error("unhandled request error: " + err.message()));
}

response_promise actor::make_response_promise() {
  auto& cell = actor_cell::of(*this);
  detail::message* cur = cell.current;
  if (!cur) return {};
  std::uint64_t id = 0;
  if (cur->kind == detail::message_kind::user && cur->request_id != 0 && !cell.replied) {
    id = cur->request_id;
    cell.replied = true;
  }
  return response_promise(cur->sender, pid(), id);
}

send_status actor::delegate_message(const troupe::pid& to, detail::message* msg) {
  auto& cell = actor_cell::of(*this);
  detail::message* cur = cell.current;
  troupe::pid requester = cur ? cur->sender : troupe::pid();
  const bool a_request = cur && cur->kind == detail::message_kind::user && cur->request_id != 0 && !cell.replied;
  if (a_request && requester.is_remote() && to.is_remote()) {
    // The answer would travel from `to`'s node to the requester's, which
    // never sent that request there: a node takes a reply only on the link
    // its request went out on. Refused, in words, rather than lost.
    delete msg;
    cell.replied = true;
    cell.send_from_self(requester, detail::make_error_reply(
                                       cur->request_id, errc::no_handler,
                                       "delegate: a remote requester's request cannot be handed to another "
                                       "remote actor; answer it with a response_promise instead"));
    return send_status::dead_letter;
  }
  if (a_request) {
    msg->request_id = cur->request_id;  // `to` answers the request
    cell.replied = true;
  }
  cell.delegated = cur != nullptr;
  msg->sender = std::move(requester);
  // Delivered as the requester's own message: a dead `to` bounces the
  // request to the requester (receiver_down), as a request sent there would.
  return detail::runtime_impl::deliver(cell.rt, to, msg);
}

void actor::link(const troupe::pid& other) { actor_cell::of(*this).link_with(other); }
void actor::unlink(const troupe::pid& other) { actor_cell::of(*this).unlink_from(other); }
monitor_ref actor::monitor(const troupe::pid& target) { return actor_cell::of(*this).monitor_target(target); }
void actor::demonitor(monitor_ref ref, bool flush) { actor_cell::of(*this).demonitor_ref(ref, flush); }

void actor::trap_exit(bool on) { actor_cell::of(*this).more().trap_exit = on; }

void actor::send_exit(const troupe::pid& target, exit_reason reason) {
  const bool kill = reason.what() == exit_reason::kind::kill;
  actor_cell::of(*this).send_signal(target, reason, false, kill);
}

void actor::watch_spawned(const troupe::pid& child, bool link, monitor_ref ref) {
  auto& cell = actor_cell::of(*this);
  if (!child) {
    // The spawn was refused (shutting down): a monitor still gets its down.
    if (ref) {
      cell.more().my_monitors[ref.id] = child;
      auto* note = new detail::typed_message<down>(down{ref, child, noproc()});
      note->kind = detail::message_kind::down_notice;
      cell.send_from_self(pid(), note);
    }
    return;
  }
  if (link) cell.add_link(child);
  if (ref) cell.more().my_monitors[ref.id] = child;
}

monitor_ref actor::next_monitor_ref() {
  return monitor_ref{++actor_cell::of(*this).more().next_token};
}

void actor::become(behavior next) { actor_cell::of(*this).next_behavior = std::move(next); }

void actor::quit(exit_reason reason) {
  auto& cell = actor_cell::of(*this);
  if (!cell.quit_reason) cell.quit_reason = std::make_unique<exit_reason>(std::move(reason));
}

std::uint64_t actor::send_request(const troupe::pid& to, detail::message* msg, duration timeout) {
  auto& cell = actor_cell::of(*this);
  auto& x = cell.more();
  std::uint64_t id = ++x.next_request_id;
  msg->request_id = id;
  auto& entry = x.pending[id];
  if (timeout == default_timeout) timeout = cell.rt.cfg.default_request_timeout;
  if (timeout != infinite) {
    auto* marker = new detail::typed_message<detail::timeout_marker>();
    marker->kind = detail::message_kind::request_timeout;
    marker->request_id = id;
    entry.timer = cell.rt.timers.start(timeout, duration::zero(), pid(), marker, nullptr);
  }
  cell.send_from_self(to, msg);
  return id;
}

void actor::set_reply_handler(std::uint64_t id, std::unique_ptr<detail::reply_handler> handler) {
  auto& cell = actor_cell::of(*this);
  auto& pending = cell.more().pending;
  auto it = pending.find(id);
  if (it != pending.end()) it->second.handler = std::move(handler);
}

bool actor::cancel_request(std::uint64_t id) {
  auto& cell = actor_cell::of(*this);
  if (!cell.extras_ready()) return false;
  auto& pending = cell.more().pending;
  auto it = pending.find(id);
  if (it == pending.end()) return false;
  if (it->second.timer) detail::timer_service::cancel(*it->second.timer);
  pending.erase(it);  // a reply still on its way becomes a "late reply"
  return true;
}

timer_handle actor::schedule_send(duration delay, duration period, const troupe::pid& to,
                                  detail::message* once,
                                  std::function<detail::message*()> factory) {
  auto& cell = actor_cell::of(*this);
  if (once) once->sender = pid();
  auto entry = cell.rt.timers.start(delay, period, to, once, std::move(factory));
  if (period > duration::zero()) {
    // Interval timers die with the actor that made them.
    auto& timers = cell.more().interval_timers;
    std::erase_if(timers, [](const auto& t) { return t->finished.load(std::memory_order_relaxed); });
    timers.push_back(entry);
  }
  return timer_handle(std::move(entry));
}

response_promise& response_promise::operator=(response_promise&& other) noexcept {
  if (this != &other) {
    if (pending()) deliver_error(error(errc::no_reply));
    requester_ = std::move(other.requester_);
    responder_ = std::move(other.responder_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

response_promise::~response_promise() {
  if (pending()) deliver_error(error(errc::no_reply, "response promise dropped"));
}

void response_promise::deliver_error(error err) {
  deliver_message(detail::make_error_reply(0, std::move(err)));
}

void response_promise::deliver_message(detail::message* reply) {
  auto* responder = actor_cell::of(responder_);
  if (!responder || !requester_) {
    delete reply;
    return;
  }
  if (id_ != 0) {
    if (reply->kind == detail::message_kind::user) reply->kind = detail::message_kind::reply;
    reply->request_id = std::exchange(id_, 0);
  } else if (reply->kind != detail::message_kind::user) {
    delete reply;  // no request to fail
    return;
  }
  reply->sender = responder_;
  detail::runtime_impl::deliver(responder->rt, requester_, reply);
}

}  // namespace troupe
