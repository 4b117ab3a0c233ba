// scheduler: the M:N work-stealing scheduler that runs ready actors.
//
// Nouns. A *worker* is an OS thread with a local run_queue and a LIFO slot.
// A *ready actor* is an actor_cell whose mailbox went from blocked to
// non-empty (mailbox invariant 2 makes that happen once per wake-up). The
// *global queue* takes actors made ready off the workers and overflow.
//
// Policy.
//   - An actor made ready by an actor running on worker W goes into W's LIFO
//     slot and runs next on W: a ping-pong pair stays hot on one core. The
//     previous LIFO occupant moves to W's local queue. The LIFO slot yields to
//     the local queue after `lifo_limit` consecutive uses while others wait.
//   - A turn runs at most config::max_messages_per_turn messages; an actor
//     with more goes to the back of the local queue (fairness bound). An
//     actor whose turn sent to a congested receiver goes to the global
//     queue instead, so the receiver runs first (soft back-pressure).
//   - An actor spawned on worker W has its first turn (its setup) queued on
//     W's spawn stack: W takes the newest after its LIFO slot and local
//     queue, thieves take the oldest (spawn_stack.hpp), so a tree of
//     spawning setups is built depth-first, in bounded memory. The LIFO
//     slot yields to waiting spawned actors as to the local queue, and
//     every `global_check_interval` picks the stack goes first once, so a
//     spawned actor waits a bounded number of turns on a busy worker.
//   - Every `global_check_interval` picks a worker looks at the global queue
//     first, so global work is never starved by local work.
//   - An idle worker steals half of a random victim's queue (or its LIFO
//     slot), then parks on a futex; an idle runtime uses no CPU. With
//     config::park_spin, one parked worker at a time (the *spinner*)
//     first spins that long on its wake word, and is the first one woken:
//     work arriving within the window starts without a futex on either
//     side (Erlang's scheduler busy-wait, +sbwt).
//   - Lending (config::lend_io_threads; see lent_thread in executor.hpp):
//     an actor made ready by a lending thread while every worker is parked
//     is kept by that thread and run there, not pushed and woken for. The
//     thread runs at most `lend_turn_limit` turns in a row; then the next
//     one goes to the global queue. A thread that has lent
//     `lent_thread::busy_turn_limit` turns since it last found nothing to
//     do keeps none until it does (lent_thread::idle), while fewer threads
//     lend than the machine has cores: under load the workers take the
//     turns on the spare cores and the I/O thread keeps to its sockets.
//     With a lending thread per core there is no spare core, and handing
//     on would only add a thread hop per message. A worker never sees a kept actor, and
//     does not need to: the lending thread runs it as soon as its current
//     handler returns, so "no lost wake-up" (invariant 2) holds for it.
//     stop() waits for lent turns under way (`lenders_`) as it joins the
//     workers: after stop() no turn runs anywhere.
//
//   - Stalls (config::stall_threshold; Go's sysmon): handlers are never
//     interrupted, so a monitor thread samples each worker's and lending
//     thread's turn counter (`turn_seq`, odd while a turn runs) every tick.
//     A turn seen running for the threshold is stalled. Then: a stalled
//     lender's kept actor is scheduled elsewhere and its on_stall hook
//     runs (the I/O layer hands its sockets to a stand-in thread); if work
//     is visible while fewer spare workers run than turns are stalled, and
//     no worker sleeps that a push would wake, a spare worker is
//     activated. A spare runs like any worker (it steals the stalled
//     worker's LIFO slot and queue) and retires when it finds no work.
//     The turn is reported when it ends if it ran past long_turn_warning.
//     A turn that knows it is about to wait (a sender paced by a flooded
//     receiver) says so (turn_will_wait, Go's handoff at a blocking call):
//     it is marked stalled at once, its LIFO actor goes to the global
//     queue, and the monitor is woken to add a spare now, not a threshold
//     later. What a stalled turn makes ready skips its LIFO slot.
//     The monitor sleeps while every worker is parked and no lender is in
//     a turn, and is woken by notify_parked and run_lent.
//
// Spare workers (invariants).
//   5. A spare is never in `idle_` nor counted in `parked_`: producers
//      never wake it; only the monitor activates it (active = true, made a
//      searcher as notify_parked does, then its wake word set).
//   6. A spare retires as park() does: it leaves `searching_`, fences
//      (seq_cst) and re-checks every queue, so work published by a producer
//      that saw it searching (and so woke nobody) is never stranded.
//
// Parking protocol (invariants).
//   1. At most one wake-up is in flight per unit of new work: a producer
//      wakes a parked worker only if no worker is searching; a searcher that
//      finds work and was the last searcher wakes another (a chain) if it
//      then sees more work queued (a lone message wakes one worker, not two).
//   2. No lost wake-up: a producer publishes work, fences (seq_cst), then
//      reads `searching_`/`parked_`; a parker publishes itself in `parked_`
//      and leaves `searching_`, fences (seq_cst), then re-checks every
//      queue. By the fences one of them sees the other (Dekker).
//   3. A parked worker sleeps until its own `wake_` word is set, so a
//      notification is never consumed by the wrong worker.
//   4. The spinner is in `idle_` and counted in `parked_` like any parked
//      worker: waking it is the same protocol (chosen under idle_mutex_,
//      then its wake word set), so a spinner that gives up and sleeps on
//      the futex loses nothing. `spinner_` is read and written only under
//      idle_mutex_, and names a worker in idle_ or is null.
// Memory orders: the counters are read relaxed after a seq_cst fence; all
// changes to the idle list and counters happen under `idle_mutex_`, except
// the searcher's decrement, which is an RMW followed by the fence.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "executor.hpp"
#include "run_queue.hpp"
#include "spawn_stack.hpp"
#include "spin_lock.hpp"

namespace troupe::detail {

class actor_cell;
class scheduler;

struct alignas(64) worker {
  scheduler* owner = nullptr;
  unsigned index = 0;
  run_queue local;
  std::atomic<actor_cell*> lifo{nullptr};
  spawn_stack spawned;  // first turns of the actors spawned here
  std::atomic<std::uint32_t> wake{0};
  bool searching = false;  // owner-only mirror of its share of searching_
  unsigned lifo_streak = 0;
  std::uint32_t tick = 0;
  std::uint64_t rng = 0;
  std::thread thread;
  // Watched by the monitor (see Stalls above).
  std::atomic<std::uint64_t> turn_seq{0};       // odd while a turn runs
  std::atomic<std::uint64_t> stalled_turn{0};   // the turn_seq the monitor found stalled
  std::atomic<std::int64_t> stalled_since{0};   // when it first saw that turn (ns)
  std::uint64_t monitor_seq = 0;               // monitor thread only
  std::int64_t monitor_seen = 0;               // monitor thread only
  bool spare = false;
  std::atomic<bool> active{false};  // spares: activated by the monitor, not yet retired
  // Counters for runtime::stats, written by this worker only (relaxed load
  // and store, no read-modify-write) on paths that steal or sleep, and
  // read by any thread. The sleep pair (asleep_ns, sleeping_since) is
  // read together under a sequence lock: `sleep_seq` is odd while the
  // worker changes them (release after, acquire fence by the reader), so a
  // reader never adds a sleep that has just been folded into asleep_ns.
  std::atomic<std::uint64_t> steals{0};
  std::atomic<std::uint64_t> parks{0};
  std::atomic<std::uint32_t> sleep_seq{0};
  std::atomic<std::int64_t> asleep_ns{0};       // sleeps ended
  std::atomic<std::int64_t> sleeping_since{0};  // the one under way (ns), 0: awake
  // Readers only (collect): the most reported, so the figure never goes
  // back (clocks read on two threads need not agree to the nanosecond).
  mutable std::atomic<std::int64_t> asleep_reported{0};
  void change_sleep(std::int64_t since, std::int64_t add) noexcept {
    const std::uint32_t seq = sleep_seq.load(std::memory_order_relaxed);
    sleep_seq.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    asleep_ns.store(asleep_ns.load(std::memory_order_relaxed) + add, std::memory_order_relaxed);
    sleeping_since.store(since, std::memory_order_relaxed);
    sleep_seq.store(seq + 2, std::memory_order_release);
  }
  void begin_sleep(std::int64_t now) noexcept { change_sleep(now, 0); }
  void end_sleep(std::int64_t now) noexcept {
    parks.store(parks.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    const std::int64_t since = sleeping_since.load(std::memory_order_relaxed);
    change_sleep(0, since ? now - since : 0);
  }
};

// How the scheduler watches for stalled turns (config::stall_threshold).
struct stall_policy {
  std::chrono::nanoseconds threshold{0};  // zero: no monitor thread
  std::chrono::nanoseconds warn_after{0};
  unsigned spares = 0;
  // Called on the thread that ran a turn longer than warn_after, after it.
  std::function<void(std::uint64_t actor_id, std::chrono::nanoseconds ran)> report;
};

class scheduler final : public executor {
 public:
  static constexpr unsigned lifo_limit = 16;
  static constexpr std::uint32_t global_check_interval = 61;
  static constexpr unsigned lend_turn_limit = 16;

  // requeue: back of this worker's queue; requeue_late: the global queue,
  // so that the receiver the actor floods gets this worker first.
  using run_fn = after_turn (*)(actor_cell* cell, unsigned budget);

  scheduler(unsigned workers, unsigned budget, run_fn run, std::chrono::nanoseconds park_spin,
            bool lend, stall_policy stalls = {});
  ~scheduler() override;

  void schedule(actor_cell* cell) noexcept override;
  void schedule_spawned(actor_cell* cell) noexcept override;
  // Stops the workers after the message in hand and joins them.
  void stop() override;
  // The regular workers (the spares come and go).
  unsigned size() const noexcept override { return regular_; }
  bool runs_on_this_thread() const noexcept override;
  void run_lent(lent_thread& lender) override;
  void add_lender(lent_thread& lender) override;
  void remove_lender(lent_thread& lender) override;
  // ordering: acquire, pairing with run_watched's release after its report.
  std::uint64_t long_turns() const noexcept override { return long_turns_.load(std::memory_order_acquire); }
  void turn_will_wait() noexcept override;
  void trace_into(tracer* t) noexcept override { trace_.store(t, std::memory_order_release); }
  void collect(std::vector<troupe::worker_stats>& out, std::size_t& global) const override;

 private:
  // One turn, marked for the monitor (`w` is a worker or a lent_thread).
  template <class Watched>
  after_turn run_watched(Watched& w, actor_cell* cell);
  static std::int64_t now_ns() noexcept;
  // The turn running on `w` is stalled or said it waits: what it makes
  // ready goes where other threads can take it, not to its LIFO slot.
  static bool waiting_turn(const worker& w) noexcept {
    return w.stalled_turn.load(std::memory_order_relaxed) == w.turn_seq.load(std::memory_order_relaxed);
  }
  void monitor();  // scheduler_monitor.cpp, with wake_monitor and activate_spare
  void wake_monitor() noexcept;
  void spare_work(worker& self);
  void activate_spare();
  void finish_turn(worker& self, actor_cell* cell, after_turn how);
  void work(worker& self);
  actor_cell* next_task(worker& self);
  actor_cell* steal(worker& self);
  void push_local(worker& self, actor_cell* cell);
  void push_global(actor_cell* cell);
  actor_cell* pop_global();
  bool any_work_visible() const noexcept;
  void notify_parked() noexcept;
  void leave_searching(worker& self) noexcept;
  void park(worker& self);
  // True when woken within park_spin_ (no system call on either side).
  bool spin_until_woken(worker& self) const noexcept;
  // Keeps `cell` in the calling thread's lent_thread if it lends to us, has
  // room, and every worker is parked.
  bool keep_on_lender(actor_cell* cell) noexcept;

  const unsigned budget_;
  const run_fn run_;
  const std::chrono::nanoseconds park_spin_;
  const bool lend_;
  std::vector<std::unique_ptr<worker>> workers_;

  spin_lock global_lock_;
  std::deque<actor_cell*> global_;
  std::atomic<std::size_t> global_size_{0};

  std::mutex idle_mutex_;
  std::vector<worker*> idle_;
  worker* spinner_ = nullptr;  // in idle_, spinning before its futex wait
  std::atomic<unsigned> parked_{0};
  std::atomic<unsigned> searching_{0};
  std::atomic<unsigned> lenders_{0};  // lending threads inside run_lent

  const unsigned regular_;  // workers_[0, regular_) are regular, the rest spares
  // Set while the runtime traces (trace_into): read with one relaxed load
  // where the scheduler records; the tracer outlives the workers.
  std::atomic<tracer*> trace_{nullptr};
  const stall_policy stalls_;
  std::thread monitor_;
  std::mutex monitor_mutex_;
  std::condition_variable monitor_cv_;
  std::atomic<bool> monitor_asleep_{false};
  std::vector<lent_thread*> lent_threads_;  // under monitor_mutex_
  // lent_threads_.size(), read without the lock (a heuristic, as parked_).
  std::atomic<unsigned> lender_count_{0};
  // The machine's cores: a busy lender hands on only while fewer lenders
  // than cores run (with a lender per core, no core is left for a worker).
  const unsigned cores_ = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<unsigned> active_spares_{0};
  std::atomic<std::uint64_t> long_turns_{0};
};

}  // namespace troupe::detail
