// sim_hooks: the seam through which troupe::testing takes a runtime over.
// A runtime made with hooks has no threads: no workers (the hooks supply the
// executor), no timer thread (its timer service runs on a virtual clock),
// every send goes through on_send, and a scoped actor that waits for mail
// asks the hooks to run the simulation instead of sleeping.
#pragma once

#include <memory>

#include "executor.hpp"
#include "troupe/core/actor.hpp"

namespace troupe::detail {

class runtime_impl;
class actor_cell;

struct sim_hooks {
  virtual ~sim_hooks() = default;
  virtual std::unique_ptr<executor> make_executor(runtime_impl& rt) = 0;
  // Every send passes here. The hooks keep the message and deliver it
  // later with runtime_impl::deliver_now.
  virtual send_status on_send(runtime_impl& context, const pid& to, message* msg) = 0;
  // A scoped actor's mailbox is blocked and it wants mail: run the
  // simulation until the mailbox is no longer blocked.
  virtual void wait_for_mail(actor_cell& waiter) = 0;
  // Observers for the trace.
  virtual void on_spawn(const pid& who) = 0;
  virtual void on_exit(const pid& who, const exit_reason& reason) = 0;
  // Randomness for the library and the user (runtime::random): from the
  // seed, on a stream of its own so that drawing it does not change the
  // schedule.
  virtual std::uint64_t random() = 0;
};

}  // namespace troupe::detail
