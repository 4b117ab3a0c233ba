// The scheduler's monitor thread and its spare workers: how a turn that
// runs past config::stall_threshold is noticed and its worker's other work
// moved (the design and invariants 5 and 6 are in scheduler.hpp, Stalls).
#include "scheduler.hpp"

#include "futex.hpp"

#include <algorithm>
#include <system_error>

namespace troupe::detail {
namespace {
enum class watch_state { idle, running, stalled, newly_stalled };

// Any worker or lent_thread: what its turn counter says since the last tick.
template <class Watched>
watch_state sample(Watched& w, std::int64_t now, std::chrono::nanoseconds threshold) {
  const std::uint64_t seq = w.turn_seq.load(std::memory_order_relaxed);
  if ((seq & 1) == 0) {
    w.monitor_seq = seq;
    return watch_state::idle;
  }
  // A turn that said it waits (turn_will_wait) is stalled from then on.
  if (w.stalled_turn.load(std::memory_order_relaxed) == seq) {
    if (seq != w.monitor_seq) {
      w.monitor_seq = seq;
      w.monitor_seen = now;
    }
    return watch_state::stalled;
  }
  if (seq != w.monitor_seq) {
    w.monitor_seq = seq;
    w.monitor_seen = now;  // the turn began at most one tick before
    return watch_state::running;
  }
  if (now - w.monitor_seen < threshold.count()) return watch_state::running;
  if (w.stalled_turn.load(std::memory_order_relaxed) == seq) return watch_state::stalled;
  w.stalled_since.store(w.monitor_seen, std::memory_order_relaxed);
  w.stalled_turn.store(seq, std::memory_order_release);
  return watch_state::newly_stalled;
}

}  // namespace

void scheduler::monitor() {
  const auto tick = std::clamp<std::chrono::nanoseconds>(stalls_.threshold / 4, std::chrono::microseconds(250),
                                                         std::chrono::milliseconds(2));
  unsigned quiet_ticks = 0;
  std::unique_lock lock(monitor_mutex_);
  while (!stopping()) {
    monitor_cv_.wait_for(lock, tick);
    if (stopping()) break;
    const std::int64_t now = now_ns();
    unsigned stalled = 0;
    bool busy = false;
    for (auto& w : workers_) {
      const watch_state state = sample(*w, now, stalls_.threshold);
      if (state == watch_state::idle) continue;
      busy = true;
      if (state == watch_state::running) continue;
      ++stalled;
      // Its LIFO actor would wait for the turn to end: to the global queue.
      // Its local queue is stolen by whoever notify_parked wakes.
      if (actor_cell* cell = w->lifo.exchange(nullptr, std::memory_order_acq_rel)) push_global(cell);
      if (any_work_visible()) notify_parked();
    }
    for (lent_thread* l : lent_threads_) {
      const watch_state state = sample(*l, now, stalls_.threshold);
      if (state == watch_state::idle) continue;
      busy = true;
      if (state == watch_state::running) continue;
      // Every tick of the stall, not only the first: keep_on_lender may have
      // read the turn as not stalled just before it was marked.
      if (actor_cell* kept = l->ready_.exchange(nullptr, std::memory_order_acq_rel)) {
        push_global(kept);
        notify_parked();
      }
      if (state == watch_state::newly_stalled && l->on_stall)
        l->on_stall();  // quick: under monitor_mutex_, so `l` stays registered
    }
    // Work nobody can take (every worker busy or stalled, none asleep to
    // wake): a spare per stalled turn, up to the limit.
    if (stalled > active_spares_.load(std::memory_order_relaxed) && any_work_visible() &&
        parked_.load(std::memory_order_relaxed) == 0 && searching_.load(std::memory_order_relaxed) == 0)
      activate_spare();
    if (busy || active_spares_.load(std::memory_order_relaxed) != 0) {
      quiet_ticks = 0;
      continue;
    }
    if (++quiet_ticks < 8) continue;
    // Sleep until a worker wakes or a lender runs a turn. ordering: seq_cst
    // store, then the reads (Dekker with wake_monitor's seq_cst load after
    // notify_parked's wake-up or run_lent's lenders_ increment).
    monitor_asleep_.store(true, std::memory_order_seq_cst);
    bool all_parked;
    {
      std::lock_guard idle(idle_mutex_);
      all_parked = parked_.load(std::memory_order_relaxed) == regular_;
    }
    if (!all_parked || lenders_.load(std::memory_order_seq_cst) != 0) {
      monitor_asleep_.store(false, std::memory_order_relaxed);
      quiet_ticks = 0;
      continue;
    }
    monitor_cv_.wait(lock, [this] { return !monitor_asleep_.load(std::memory_order_relaxed) || stopping(); });
    quiet_ticks = 0;
  }
}

void scheduler::wake_monitor() noexcept {
  if (!monitor_asleep_.load(std::memory_order_seq_cst)) return;
  {
    std::lock_guard lock(monitor_mutex_);
    monitor_asleep_.store(false, std::memory_order_relaxed);
  }
  monitor_cv_.notify_one();
}

void scheduler::activate_spare() {
  for (unsigned i = regular_; i < workers_.size(); ++i) {
    worker& w = *workers_[i];
    if (w.active.load(std::memory_order_acquire)) continue;
    w.active.store(true, std::memory_order_relaxed);
    active_spares_.fetch_add(1, std::memory_order_relaxed);
    {
      // It starts as a searcher, as a worker that notify_parked wakes.
      std::lock_guard lock(idle_mutex_);
      searching_.fetch_add(1, std::memory_order_relaxed);
      w.searching = true;
    }
    if (!w.thread.joinable()) {
      try {
        w.thread = std::thread([this, &w] { spare_work(w); });
      } catch (const std::system_error&) {
        // No thread to be had (a limit): no spare this tick; undo, try later.
        {
          std::lock_guard lock(idle_mutex_);
          searching_.fetch_sub(1, std::memory_order_relaxed);
          w.searching = false;
        }
        active_spares_.fetch_sub(1, std::memory_order_relaxed);
        w.active.store(false, std::memory_order_release);
        return;
      }
    }
    w.wake.store(1, std::memory_order_release);
    futex_wake_one(w.wake);
    return;
  }
}
}  // namespace troupe::detail
