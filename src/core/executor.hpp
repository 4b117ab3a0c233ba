// executor: where ready actors get their turns. The work-stealing scheduler
// runs them on worker threads; the deterministic executor of the testing
// layer runs them one at a time, in an order chosen by a seeded generator.
#pragma once

#include <atomic>

namespace troupe::detail {

class actor_cell;

class executor {
 public:
  // What happens to an actor after its turn (see runtime_impl::run_turn).
  enum class after_turn {
    done,          // idle or ended: a future push schedules it again
    requeue,       // messages left
    requeue_late,  // messages left, but it floods a busy receiver: let
                   // others (that receiver) run first
  };

  virtual ~executor() = default;
  // Any thread: `cell` became ready. Ignored after stop().
  virtual void schedule(actor_cell* cell) noexcept = 0;
  // Stops running actors after the message in hand.
  virtual void stop() = 0;
  // Read once per message by every turn: a plain atomic, not a virtual call.
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  virtual unsigned size() const noexcept = 0;
  // True on a thread this executor runs actors on.
  virtual bool runs_on_this_thread() const noexcept { return false; }

 protected:
  std::atomic<bool> stopping_{false};
};

}  // namespace troupe::detail
