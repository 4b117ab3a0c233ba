// actor_cell, continued: the system lane. Replies, timeouts, exit signals,
// link and monitor requests, downs and continuations arrive here, on the
// owner's thread, ahead of user messages (see run_messages); a message a
// coroutine waits for goes on to it through admit_user.
#include <exception>

#include "actor_cell.hpp"
#include "causal.hpp"
#include "runtime_impl.hpp"
#include "timer_service.hpp"
#include "tracer.hpp"

namespace troupe::detail {

void actor_cell::handle_system_for_scoped(message* msg) {
  switch (msg->kind) {
    case message_kind::link:
    case message_kind::unlink:
    case message_kind::monitor:
    case message_kind::demonitor:
    case message_kind::down_notice:
      handle_system(msg);
      return;
    case message_kind::exit: {
      signal sig = msg->as<signal>();
      const bool from_link = msg->request_id == 1;
      delete msg;
      if (from_link && !remove_link(sig.from)) return;  // a link already undone
      admit_user(new typed_message<exit_signal>(exit_signal{sig.from, sig.reason}));
      return;
    }
    default:
      delete msg;
  }
}

void actor_cell::handle_system(message* msg) {
  switch (msg->kind) {
    case message_kind::reply:
    case message_kind::error_reply:
    case message_kind::request_timeout: {
      if (!extras_) {
        delete msg;
        return;
      }
      auto found = extras_->pending.find(msg->request_id);
      if (found == extras_->pending.end()) {
        if (msg->kind == message_kind::reply) rt.record_dead_letter(msg, troupe::pid(this), "late reply");
        delete msg;
        return;
      }
      pending_request req = std::move(found->second);
      extras_->pending.erase(found);
      if (req.timer) timer_service::cancel(*req.timer);
      if (!req.handler) {
        delete msg;
        return;
      }
      // In an event actor the reply is "current" while its handler runs; a
      // coroutine keeps the last message it received as current instead.
      const bool as_current = !coro;
      if (as_current) {
        current = msg;
        replied = true;  // a reply is not a request: nothing owed
      }
      // The continuation runs in the reply's trace and span (it is what the
      // reply caused), and a traced runtime shows it as a handling.
      const causal_ids caller = current_causal;
      const bool causal = (msg->trace_id | caller.trace) != 0;
      if (causal) [[unlikely]]
        current_causal = {msg->trace_id, msg->span_id};
      const bool traced = rt.trace_on.load(std::memory_order_relaxed) && traced_message(*msg);
      if (traced) [[unlikely]]
        rt.trace_state().on_begin(id(), *msg, queued());
      try {
        if (msg->kind == message_kind::reply)
          req.handler->on_reply(*this, *msg);
        else if (msg->kind == message_kind::error_reply)
          req.handler->on_error(*this, std::move(msg->as<error>()));
        else
          req.handler->on_error(*this, error(errc::timeout));
      } catch (const std::exception& e) {
        fail_current(exit_reason::error(e.what()));
      } catch (...) {
        fail_current(exit_reason::error("unknown exception"));
      }
      // (Nothing escapes the try above.) Before the message goes:
      if (traced) [[unlikely]]
        rt.trace_state().on_end(id(), *msg);
      if (causal) [[unlikely]]
        current_causal = caller;
      if (as_current)
        finish_current();
      else
        delete msg;
      check_coroutine_done();
      if (next_behavior) {
        behavior_ = std::move(*next_behavior);
        next_behavior.reset();
      }
      break;
    }
    case message_kind::receive_timeout: {
      if (coro && coro->wait_keys && coro->wait_token == msg->request_id) {
        delete msg;
        coro->wait_keys = nullptr;
        coro->wait_timer.reset();
        *coro->wait_slot = nullptr;
        resume_coroutine(coro->waiter);
      } else if (extras_ && extras_->idle_token == msg->request_id && behavior_ &&
                 behavior_.impl()->idle) {
        delete msg;
        extras_->idle_timer.reset();
        try {
          behavior_.impl()->idle->run();
        } catch (const std::exception& e) {
          fail_current(exit_reason::error(e.what()));
        } catch (...) {
          fail_current(exit_reason::error("unknown exception"));
        }
        if (next_behavior) {
          behavior_ = std::move(*next_behavior);
          next_behavior.reset();
        }
      } else {
        delete msg;
      }
      break;
    }
    case message_kind::exit:
      handle_exit_signal(msg);
      if (ended_) return;
      break;
    case message_kind::link:
      add_link(msg->sender);
      delete msg;
      break;
    case message_kind::unlink:
      remove_link(msg->sender);
      delete msg;
      break;
    case message_kind::monitor:
      more().watches.push_back({false, msg->sender, msg->request_id});
      delete msg;
      break;
    case message_kind::run:  // dissolved by every way out of the mailbox
      delete msg;
      break;
    case message_kind::demonitor:
      if (extras_)
        std::erase_if(extras_->watches, [&](const extras::watch& w) {
          return !w.is_link && w.ref == msg->request_id && w.other == msg->sender;
        });
      delete msg;
      break;
    case message_kind::down_notice: {
      // Exactly once, and never after demonitor.
      auto ref = msg->as<down>().ref.id;
      if (extras_ && extras_->my_monitors.erase(ref))
        admit_user(msg);
      else
        delete msg;
      break;
    }
    case message_kind::context_task: {
      std::unique_ptr<context_task> task(static_cast<context_task*>(msg));
      try {
        task->run(*this);
      } catch (const std::exception& e) {
        fail_current(exit_reason::error(e.what()));
      } catch (...) {
        fail_current(exit_reason::error("unknown exception"));
      }
      task.reset();
      check_coroutine_done();
      if (next_behavior) {
        behavior_ = std::move(*next_behavior);
        next_behavior.reset();
      }
      break;
    }
    case message_kind::user:
      delete msg;  // unreachable: user messages never enter the system lane
      break;
  }
  if (quit_reason && !ended_) terminate(*quit_reason);
}

}  // namespace troupe::detail
