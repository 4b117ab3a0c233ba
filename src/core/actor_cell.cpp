#include "actor_cell.hpp"

#include <algorithm>
#include <exception>

#include "causal.hpp"
#include "runtime_impl.hpp"
#include "timer_service.hpp"
#include "tracer.hpp"

namespace troupe::detail {

// ---- bouncing --------------------------------------------------------------

message* make_error_reply(std::uint64_t request_id, error e) {
  auto* err = new typed_message<error>(std::move(e));
  err->kind = message_kind::error_reply;
  err->request_id = request_id;
  return err;
}

message* make_error_reply(std::uint64_t request_id, errc code, std::string detail) {
  return make_error_reply(request_id, error(code, std::move(detail)));
}

namespace {
// Answers a link or monitor request whose target is gone: the requester
// learns at once, with the reason the target ended with (noproc if unknown).
void answer_control(runtime_impl& context, message* msg, const troupe::pid& receiver,
                    const exit_reason& why) {
  if (!msg->sender) return;
  if (msg->kind == message_kind::link) {
    auto* sig = new typed_message<signal>(signal{receiver, why, false});
    sig->kind = message_kind::exit;
    sig->sender = receiver;
    sig->request_id = 1;  // from a link
    runtime_impl::deliver(context, msg->sender, sig);
  } else if (msg->kind == message_kind::monitor) {
    auto* note = new typed_message<down>(down{monitor_ref{msg->request_id}, receiver, why});
    note->kind = message_kind::down_notice;
    note->sender = receiver;
    runtime_impl::deliver(context, msg->sender, note);
  }
}
}  // namespace

void bounce(runtime_impl& context, message* msg, const troupe::pid& receiver, const char* reason,
            errc code, const exit_reason* ended_with) {
  if (msg->kind == message_kind::link || msg->kind == message_kind::monitor)
    answer_control(context, msg, receiver, ended_with ? *ended_with : noproc());
  if (msg->kind == message_kind::user && msg->request_id != 0 && msg->sender) {
    message* err = make_error_reply(msg->request_id, code, receiver.to_string() + ": " + reason);
    err->sender = receiver;
    runtime_impl::deliver(context, msg->sender, err);
  }
  if (msg->kind == message_kind::user || msg->kind == message_kind::reply)
    context.record_dead_letter(msg, receiver, reason);
  delete msg;
}

// ---- actor_cell ------------------------------------------------------------

thread_local actor_cell* running_actor = nullptr;
thread_local bool running_masked = false;
thread_local actor_cell* spawner_running_setup = nullptr;

actor_cell::actor_cell(runtime_impl& runtime, kind k, const spawn_options& options)
    : cell_base(runtime.next_actor_id()),
      rt(runtime),
      limit_(options.mailbox_limit),
      on_full_(options.on_full),
      kind_(k),
      detached(options.detached) {}

actor_cell::actor_cell(runtime_impl& runtime, std::shared_ptr<forwarder> to)
    : cell_base(runtime.next_actor_id()),
      rt(runtime),
      forwarder_(std::move(to)),
      limit_(0),
      on_full_(overflow_policy::reject),
      kind_(kind::proxy),
      detached(false) {}

actor_cell::~actor_cell() = default;

troupe::pid make_proxy(runtime_impl& rt, std::shared_ptr<forwarder> to) {
  auto* cell = new actor_cell(rt, std::move(to));
  troupe::pid result(cell);
  cell->release();  // the construction reference: the pid holds the cell now
  return result;
}

actor_cell::extras& actor_cell::more() {
  if (!extras_) extras_ = std::make_unique<extras>();
  return *extras_;
}

send_status actor_cell::enqueue(message* msg, runtime_impl& context) {
  if (forwarder_) return forwarder_->forward(msg, context);
  const bool user = msg->kind == message_kind::user;
  if (user && limit_ != 0 && queued() >= limit_ && !box.closed()) {
    troupe::pid self(this);
    if (on_full_ == overflow_policy::reject) {
      bounce(context, msg, self, "mailbox full", errc::mailbox_full);
      return send_status::mailbox_full;
    }
    bounce(context, msg, self, "mailbox full (dropped newest)", errc::mailbox_full);
    return send_status::dead_letter;
  }
  if (user) enqueued_.fetch_add(1, std::memory_order_relaxed);
  switch (box.push(msg)) {
    case mailbox::push_result::queued:
      return send_status::ok;
    case mailbox::push_result::woke_owner:
      wake();
      return send_status::ok;
    case mailbox::push_result::closed:
      break;
  }
  bounce(context, msg, troupe::pid(this), "receiver dead", errc::receiver_down);
  return send_status::dead_letter;
}

void actor_cell::enqueue_chain(message* newest, message* oldest, std::size_t user_count,
                               runtime_impl& context) {
  if (forwarder_) {  // not batched (batchable() is false), but to be whole
    std::vector<message*> in_order;
    if (newest->kind == message_kind::run) {  // linked oldest first
      auto* run = static_cast<message_run*>(newest);
      for (message* m = run->first;; m = m->next) {
        in_order.push_back(m);
        if (m == run->last) break;
      }
      delete run;
    } else {  // linked newest first
      for (message* m = newest;; m = m->next) {
        in_order.push_back(m);
        if (m == oldest) break;
      }
      std::reverse(in_order.begin(), in_order.end());
    }
    for (message* m : in_order) forwarder_->forward(m, context);
    return;
  }
  if (user_count) enqueued_.fetch_add(user_count, std::memory_order_relaxed);
  switch (box.push_chain(newest, oldest)) {
    case mailbox::push_result::queued:
      return;
    case mailbox::push_result::woke_owner:
      wake();
      return;
    case mailbox::push_result::closed:
      break;
  }
  troupe::pid self(this);
  if (newest->kind == message_kind::run) {  // a run is pushed alone
    auto* run = static_cast<message_run*>(newest);
    newest = run->first;  // bounced oldest first
    oldest = run->last;
    delete run;
  }
  for (message* m = newest; m;) {
    message* next = m == oldest ? nullptr : m->next;
    bounce(context, m, self, "receiver dead", errc::receiver_down);
    m = next;
  }
}

void actor_cell::wake() noexcept {
  if (kind_.load(std::memory_order_relaxed) == kind::scoped || detached)
    box.notify_owner();
  else
    rt.exec->schedule(this);
}

std::vector<message*> actor_cell::queued_messages() const {
  std::vector<message*> out;
  for (message* m = system_queue.front(); m; m = m->next) out.push_back(m);
  if (coro)
    coro->queues.append_to(out);
  else
    for (message* m = user_queue_.front(); m; m = m->next) out.push_back(m);
  std::vector<message*> pushed;  // newest first
  for (message* m = box.peek_chain(); m; m = m->next) {
    if (m->kind != message_kind::run) {
      pushed.push_back(m);
      continue;
    }
    auto* run = static_cast<message_run*>(m);
    std::vector<message*> in_run;
    for (message* r = run->first;; r = r->next) {
      in_run.push_back(r);
      if (r == run->last) break;
    }
    pushed.insert(pushed.end(), in_run.rbegin(), in_run.rend());
  }
  out.insert(out.end(), pushed.rbegin(), pushed.rend());
  return out;
}

bool actor_cell::drain_mailbox() {
  // Event actors: into the two lanes in one pass over the chain, runs of
  // user messages spliced whole (mailbox.hpp, Runs).
  if (!coro) return box.take_into(system_queue, user_queue_);
  message* chain = box.take_all();
  if (!chain) return false;
  for (message* m = chain; m;) {
    message* next = m->next;
    if (m->is_system())
      system_queue.push_back(m);
    else
      coro->queues.push(m);
    m = next;
  }
  return true;
}

void actor_cell::prepare(std::unique_ptr<actor_body> body) noexcept {
  body_ = std::move(body);
  setup_pending_ = true;
}

bool actor_cell::may_setup_here(const runtime_impl& rt) noexcept {
  return !spawner_running_setup && running_actor && &running_actor->rt == &rt;
}

bool actor_cell::setup_here() {
  {
    struct spawner_scope {
      explicit spawner_scope(actor_cell* spawner) noexcept { spawner_running_setup = spawner; }
      ~spawner_scope() { spawner_running_setup = nullptr; }
    } spawning(running_actor);
    current_actor_scope running(this);
    if (!run_setup()) return false;
  }
  // A coroutine starts in its first turn; an event actor waits for mail.
  // The spawner's handler is still running: its pending sends (and the
  // setup's, chained with them) leave when that handler ends.
  if (!coro) {
    rearm_idle_timer();
    flush_sender_releases();
    if (box.try_block()) return true;
  }
  rt.exec->schedule(this);
  return true;
}

bool actor_cell::run_setup() {
  setup_pending_ = false;
  actor_start how;
  try {
    how = body_->start(*this);
  } catch (const std::exception& e) {
    terminate(exit_reason::error(e.what()));
    return false;
  } catch (...) {
    terminate(exit_reason::error("unknown exception in actor setup"));
    return false;
  }
  if (how.coroutine) {
    kind_.store(kind::coroutine, std::memory_order_relaxed);
    coro = std::make_unique<coroutine_state>();
    coro->frame = how.coroutine.release();
  } else if (how.initial) {
    behavior_ = std::move(how.initial);
  } else if (!quit_reason) {
    quit_reason = std::make_unique<exit_reason>(exit_reason::normal());
  }
  if (next_behavior) {
    behavior_ = std::move(*next_behavior);
    next_behavior.reset();
  }
  if (quit_reason) {
    terminate(*quit_reason);
    return false;
  }
  return true;
}

void actor_cell::resume_coroutine(std::coroutine_handle<> h) {
  h.resume();
  check_coroutine_done();
}

void actor_cell::check_coroutine_done() {
  if (!coro || ended_ || !coro->frame.done()) return;
  if (auto failure = coro->frame.promise().failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      fail_current(exit_reason::error(e.what()));
    } catch (...) {
      fail_current(exit_reason::error("unknown exception"));
    }
  }
  terminate(quit_reason ? *quit_reason : exit_reason::normal());
}

bool actor_cell::try_resume_receive() {
  if (!coro || !coro->wait_keys) return false;
  message* match = coro->queues.take(coro->wait_keys, coro->wait_count);
  if (!match) return false;
  note_dequeued();
  *coro->wait_slot = match;
  coro->wait_keys = nullptr;
  coro->wait_token = 0;
  if (coro->wait_timer) {
    timer_service::cancel(*coro->wait_timer);
    coro->wait_timer.reset();
  }
  resume_coroutine(coro->waiter);
  return true;
}

bool actor_cell::has_local_work() const {
  if (!system_queue.empty()) return true;
  if (!coro) return !user_queue_.empty();
  return coro->wait_keys && coro->queues.has_any(coro->wait_keys, coro->wait_count);
}

actor_cell::turn actor_cell::run_turn(unsigned budget) {
  runtime_impl::batch_sends batching;
  current_actor_scope running(this);
  turn result = run_messages(budget);
  // After `idle` another thread may already own the actor: only a turn
  // that still owns it may flush (block_if_empty flushed before blocking).
  if (result != turn::idle) flush_sender_releases();
  return result;
}

bool actor_cell::block_if_empty() {
  // Last use of owner state: once the mailbox is blocked, the next push may
  // hand the actor to another thread at once.
  runtime_impl::end_handler();
  flush_sender_releases();
  return box.try_block();
}

actor_cell::turn actor_cell::run_messages(unsigned budget) {
  if (ended_) return turn::ended;
  if (setup_pending_) {
    // A runtime that is stopping ends the actor without running its setup.
    if (!detached && rt.exec->stopping()) return turn::again;
    bool alive = run_setup();
    runtime_impl::end_handler();
    if (!alive) return turn::ended;
  }
  if (coro && !coro->started) {
    // First turn of a coroutine actor: run it to its first suspension.
    coro->started = true;
    resume_coroutine(coro->frame);
    if (ended_) return turn::ended;
  }
  drain_mailbox();
  unsigned handled = 0;
  while (!ended_) {
    if (quit_reason) {
      terminate(*quit_reason);
      break;
    }
    if (!detached && rt.exec->stopping()) return turn::again;
    if (handled >= budget || runtime_impl::sends_this_turn() >= 16 * std::size_t{budget}) {
      // Out of budget. Blocking is allowed only when nothing is runnable:
      // a message already moved into a local queue (a trapped exit or a
      // down that admit_user handed to a waiting coroutine) is invisible
      // to the mailbox, so it must be checked here or it strands.
      if (has_local_work()) return turn::again;
      if (!drain_mailbox()) return block_if_empty() ? turn::idle : turn::again;
      return turn::again;
    }
    if (message* sys = system_queue.pop_front()) {
      handle_system(sys);
      ++handled;
      runtime_impl::end_handler();
      continue;
    }
    if (coro) {
      if (try_resume_receive()) {
        ++handled;
        runtime_impl::end_handler();
        continue;
      }
    } else if (message* msg = user_queue_.pop_front()) {
      // The next one is likely still in the sender's cache: fetch it while
      // this one is handled.
      if (message* after = user_queue_.front()) __builtin_prefetch(after);
      dispatch(msg);
      ++handled;
      runtime_impl::end_handler();
      continue;
    }
    if (drain_mailbox()) continue;
    rearm_idle_timer();
    if (block_if_empty()) return turn::idle;
    drain_mailbox();
  }
  return turn::ended;
}

void actor_cell::dispatch(message* msg) {
  note_dequeued();
  if (extras_ && extras_->idle_timer) {
    timer_service::cancel(*extras_->idle_timer);
    extras_->idle_timer.reset();
    extras_->idle_token = 0;  // a timeout already on its way is stale
  }
  current = msg;
  replied = false;
  delegated = false;
  // The handler runs in the message's trace (none if it has none).
  const causal_ids caller = current_causal;
  const bool causal = (msg->trace_id | caller.trace) != 0;
  if (causal) [[unlikely]]
    current_causal = {msg->trace_id, msg->span_id};
  const bool traced = rt.trace_on.load(std::memory_order_relaxed);
  if (traced) [[unlikely]]
    rt.trace_state().on_begin(id(), *msg, queued());
  behavior_impl* impl = behavior_.impl();
  const handler_slot* slot = nullptr;
  for (; impl && !(slot = impl->find(msg->key)); impl = impl->fallback) {
  }
  if (!slot) {
    if (rt.cfg.warn_unhandled)
      rt.log(log_level::warning, log_component::core,
             troupe::pid(this).to_string() + " has no handler for " + msg->type_name(), troupe::pid(this));
    if (msg->request_id != 0) {
      replied = true;
      send_from_self(msg->sender,
                     make_error_reply(msg->request_id, errc::no_handler, msg->type_name()));
    }
    rt.record_dead_letter(msg, troupe::pid(this), "no handler");
  } else {
    try {
      slot->invoke(*impl, *this, *msg);
    } catch (const std::exception& e) {
      fail_current(exit_reason::error(e.what()));
    } catch (...) {
      fail_current(exit_reason::error("unknown exception"));
    }
  }
  // Recorded whenever the begin was, so a trace stopped meanwhile still
  // closes the slice.
  if (traced) [[unlikely]]
    rt.trace_state().on_end(id(), *msg);
  if (causal) [[unlikely]]
    current_causal = caller;
  finish_current();
  if (next_behavior) {
    behavior_ = std::move(*next_behavior);
    next_behavior.reset();
  }
  if (quit_reason) terminate(*quit_reason);
}

void actor_cell::fail_current(const exit_reason& reason) {
  // The report first: whoever gets the error reply may look for it.
  rt.log(log_level::error, log_component::core,
         "crash report: actor " + describe_self() + " ended: " + reason.to_string() +
             (current ? "; while handling " + current->type_name() : "") + trace_tail_for_crash(rt, id()),
         troupe::pid(this));
  crash_reported_ = true;
  if (current && current->kind == message_kind::user && current->request_id != 0 && !replied) {
    replied = true;
    send_from_self(current->sender,
                   make_error_reply(current->request_id, errc::handler_failed, reason.text()));
  }
  if (!quit_reason) quit_reason = std::make_unique<exit_reason>(reason);
}

void actor_cell::finish_current() {
  if (!current) return;
  if (current->kind == message_kind::user && current->request_id != 0 && !replied) {
    send_from_self(current->sender,
                   make_error_reply(current->request_id, errc::no_reply, current->type_name()));
  }
  free_message(current);
  current = nullptr;
  replied = false;
  delegated = false;
}

std::uint64_t actor_cell::arm_timeout(duration timeout, message_kind kind,
                                      std::shared_ptr<timer_entry>& out) {
  std::uint64_t token = ++more().next_token;
  auto* marker = new typed_message<timeout_marker>();
  marker->kind = kind;
  marker->request_id = token;
  out = rt.timers.start(timeout, duration::zero(), troupe::pid(this), marker, nullptr);
  return token;
}

void actor_cell::rearm_idle_timer() {
  if (coro || !behavior_ || !behavior_.impl()->idle) return;
  auto& x = more();
  if (x.idle_timer) return;  // still armed since the last message
  x.idle_token = arm_timeout(behavior_.impl()->idle->timeout, message_kind::receive_timeout,
                             x.idle_timer);
}

send_status actor_cell::send_from_self(const troupe::pid& to, message* msg) {
  // Each message holds a reference to its sender. A locked increment per
  // message waits for the store buffer to drain (a sixth of a flooding
  // sender's time), so the owner counts them `sender_ref_batch` at a time;
  // terminate() gives back what is left. After it, one at a time.
  if (ended_) {
    msg->sender = troupe::pid(this);
  } else {
    if (sender_ref_credit_ == 0) {
      add_ref(sender_ref_batch);
      sender_ref_credit_ = sender_ref_batch;
    }
    --sender_ref_credit_;
    msg->sender = troupe::pid(this, adopt_reference{});
  }
  return runtime_impl::deliver(rt, to, msg);
}

void actor_cell::bounce_all(message* chain, const char* reason, const exit_reason& ended_with) {
  troupe::pid self(this);
  while (chain) {
    message* next = chain->next;
    bounce(rt, chain, self, reason, errc::receiver_down, &ended_with);
    chain = next;
  }
}

void actor_cell::terminate(const exit_reason& reason) {
  if (ended_) return;
  ended_ = true;
  switch (reason.what()) {
    case exit_reason::kind::normal: end_class_ = 0; break;
    case exit_reason::kind::shutdown: end_class_ = 1; break;
    case exit_reason::kind::kill:
    case exit_reason::kind::killed: end_class_ = 2; break;
    default: end_class_ = 3; break;
  }
  // From here on the actor is no longer "current": a continuation homed
  // here that a teardown completes (a reply handler or a coroutine frame
  // destroyed below breaks its promise) is posted, bounces off the closed
  // mailbox and is dropped, instead of running inside a half-destroyed actor.
  outside_actor_scope not_current;
  if (rt.hooks) rt.hooks->on_exit(troupe::pid(this), reason);
  if (rt.trace_on.load(std::memory_order_relaxed)) [[unlikely]]
    rt.trace_state().on_exit(id(), reason.to_string());
  if (reason.is_abnormal() && !crash_reported_)
    rt.log(log_level::error, log_component::core,
           "crash report: actor " + describe_self() + " ended: " + reason.to_string() +
               trace_tail_for_crash(rt, id()),
           troupe::pid(this));
  message* rest = box.close();
  if (registered.load(std::memory_order_seq_cst)) rt.unregister_all(this);
  finish_current();
  notify_watchers(reason);
  if (extras_) {
    if (extras_->idle_timer) timer_service::cancel(*extras_->idle_timer);
    for (auto& t : extras_->interval_timers) timer_service::cancel(*t);
    for (auto& [id, req] : extras_->pending)
      if (req.timer) timer_service::cancel(*req.timer);
  }
  if (coro) {
    if (coro->wait_timer) timer_service::cancel(*coro->wait_timer);
    message* queued_msgs = coro->queues.take_all();
    if (coro->frame) coro->frame.destroy();  // runs destructors of the frame's locals
    bounce_all(queued_msgs, "receiver dead", reason);
  }
  bounce_all(user_queue_.take_all(), "receiver dead", reason);
  bounce_all(system_queue.take_all(), "receiver dead", reason);
  bounce_all(rest, "receiver dead", reason);
  // User state last: its destructors may still send (as this actor).
  behavior_ = behavior();
  next_behavior.reset();
  body_.reset();
  extras_.reset();
  coro.reset();
  flush_sender_releases();
  // The caller still holds the live reference: this never frees the cell.
  if (sender_ref_credit_ != 0) release(std::exchange(sender_ref_credit_, 0));
}

void actor_cell::release_live() { rt.remove_live(this); }

std::string actor_cell::describe_self() const {
  std::string text = troupe::pid(const_cast<actor_cell*>(this)).to_string();
  if (registered.load(std::memory_order_relaxed)) {
    std::string names = rt.names_of(this);
    if (!names.empty()) text += " (" + names + ")";
  }
  return text;
}

}  // namespace troupe::detail
