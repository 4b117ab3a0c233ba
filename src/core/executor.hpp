// executor: where ready actors get their turns. The work-stealing scheduler
// runs them on worker threads; the deterministic executor of the testing
// layer runs them one at a time, in an order chosen by a seeded generator.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "troupe/core/runtime_stats.hpp"

namespace troupe::detail {

class tracer;

class actor_cell;
class executor;

// A thread that is not one of the executor's own (an I/O thread) lends
// itself to the executor while a lent_thread lives on it. An actor that this
// thread makes ready while every worker sleeps is kept in the lent_thread
// instead of waking a worker, and run_ready() gives it its turn here, on
// this thread. A message arriving on an idle runtime then costs one wake-up
// (the I/O thread's, in epoll_wait) instead of two (that one and a worker's
// futex): Go's netpoller hands the goroutine it readied to the thread that
// polled in the same way.
//
// Invariants. At most one actor is kept (`ready_`), set only by this
// thread; a kept actor is run by run_ready() or, when the lent_thread ends,
// scheduled as usual, so it is never lost. The scheduler's monitor may
// take it (an exchange, as this thread's) while a turn here has stalled,
// and schedules it; keep_on_lender keeps nothing during a turn the monitor
// has marked stalled (`stalled_turn`), and the monitor takes, on every tick
// of a stall, what was kept just before the mark. Only the scheduler
// keeps actors (other executors never do), and only when
// config::lend_io_threads is set.
class lent_thread {
 public:
  // `on_stall` (may be empty) runs on the scheduler's monitor thread when
  // a turn lent here has run past config::stall_threshold, once per such
  // turn: the I/O layer hands this thread's sockets to a stand-in.
  explicit lent_thread(executor& exec, std::function<void()> on_stall = {});
  ~lent_thread();
  lent_thread(const lent_thread&) = delete;
  lent_thread& operator=(const lent_thread&) = delete;

  // Call where no handler of the lending thread's own is on the stack (the
  // turns run here may use whatever that thread serves).
  void run_ready();
  bool has_ready() const noexcept { return ready_.load(std::memory_order_relaxed) != nullptr; }
  // The lending thread found nothing to do (its own work, not only lent
  // turns): a busy period ends. Lending is for a thread with time to spare:
  // one that has run `busy_turn_limit` lent turns since it was last idle
  // keeps no more until it is idle again, if the machine has more cores
  // than there are lending threads. Under load the workers then wake on
  // the spare cores and take the turns, and the thread goes back to its
  // own work (an I/O thread to its sockets) instead of doing all of it
  // alone. With a lending thread per core, it keeps lending.
  void idle() noexcept { busy_turns_ = 0; }
  static constexpr unsigned busy_turn_limit = 64;

  // The lent_thread of the calling thread, or null.
  static lent_thread* current() noexcept;

  // What the scheduler's monitor watches (turn_watch in scheduler.hpp).
  std::atomic<std::uint64_t> turn_seq{0};       // odd while a turn runs
  std::atomic<std::uint64_t> stalled_turn{0};   // the turn_seq the monitor found stalled
  std::atomic<std::int64_t> stalled_since{0};   // when it first saw that turn (ns)
  std::uint64_t monitor_seq = 0;                // monitor thread only
  std::int64_t monitor_seen = 0;                // monitor thread only
  const std::function<void()> on_stall;

 private:
  friend class executor;
  friend class scheduler;
  executor& exec_;
  lent_thread* previous_;
  std::atomic<actor_cell*> ready_{nullptr};
  bool running_ = false;  // a turn is running on this thread
  unsigned busy_turns_ = 0;  // lent turns since idle(); this thread only
};

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
  // Any thread: `cell` was just spawned and its first turn runs its setup.
  // The scheduler runs these newest first on the spawning worker (see
  // spawn_stack.hpp); other executors treat it as schedule().
  virtual void schedule_spawned(actor_cell* cell) noexcept { schedule(cell); }
  // Stops running actors after the message in hand.
  virtual void stop() = 0;
  // Read once per message by every turn: a plain atomic, not a virtual call.
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  virtual unsigned size() const noexcept = 0;
  // True on a thread this executor runs actors on.
  virtual bool runs_on_this_thread() const noexcept { return false; }
  // The lending thread: runs what `lender` keeps (see lent_thread).
  virtual void run_lent(lent_thread& lender);
  // A lending thread starts and stops lending (its monitor watches it).
  virtual void add_lender(lent_thread&) {}
  virtual void remove_lender(lent_thread&) {}
  // Turns that ran past config::long_turn_warning.
  virtual std::uint64_t long_turns() const noexcept { return 0; }
  // The turn running on this thread is about to wait (a paced sender):
  // what this thread holds for later (its LIFO actor, its queue) should
  // run elsewhere now, not when a monitor notices the stall.
  virtual void turn_will_wait() noexcept {}
  // Where the scheduler records its steps (steal, park, wake) while the
  // runtime traces; null: it does not.
  virtual void trace_into(tracer* t) noexcept { (void)t; }
  // Appends each worker's counters (runtime::stats) and says how many
  // actors wait in a global queue; nothing for an executor without workers.
  virtual void collect(std::vector<troupe::worker_stats>& out, std::size_t& global) const {
    (void)out;
    global = 0;
  }

 protected:
  std::atomic<bool> stopping_{false};
};

}  // namespace troupe::detail
