// spawn_stack: a worker's newly spawned actors that have not had their first
// turn (their setup). The owner runs the newest first; thieves take the
// oldest. This is the work-first order of Cilk's and Rayon's deques, and it
// is what keeps a tree of actors whose setups spawn children (skynet, a
// recursive divide-and-conquer) from being built breadth-first: the owner
// finishes a subtree before starting the next, so the actors alive at once
// are about depth x fan-out per worker, not a whole level of the tree; a
// thief takes the oldest entries, the roots of the largest subtrees.
//
// Only first turns come here. An actor woken by a message goes to the LIFO
// slot and the FIFO run_queue as before, so the run_queue's fairness (no
// older actor starved by newer ones) is unchanged for running actors; a
// spawned actor waits at most until its spawner's worker runs dry of
// woken actors or a thief takes it.
//
// State: `cells_` under `lock_` (a spin lock: each hold is a few
// instructions, and the owner's and a thief's meet rarely); `size_` mirrors
// cells_.size() for lock-free emptiness checks.
//
// Memory orders: the lock orders every access to `cells_` and publishes the
// cells pushed; `size_` is stored under the lock and read relaxed by
// empty(), which is only a hint: the scheduler's parking protocol reads it
// after a seq_cst fence, and a pusher's store precedes its own fence in
// notify_parked (scheduler.hpp, invariant 2).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>

#include "spin_lock.hpp"

namespace troupe::detail {

class actor_cell;

class spawn_stack {
 public:
  // Thieves take at most this many at once, oldest first.
  static constexpr std::size_t steal_limit = 256;

  // Any thread: the cells held, as last stored (an estimate).
  std::size_t size_estimate() const noexcept { return size_.load(std::memory_order_relaxed); }

  // Owner only. True when the stack was empty: only then must the caller
  // wake a worker. Entries already there were announced when the first of
  // them made the stack non-empty, and whoever takes them wakes the next
  // worker while more wait (the scheduler's chained wake-up), so the
  // actors pushed meanwhile are seen without a wake-up each.
  bool push(actor_cell* cell) {
    std::lock_guard hold(lock_);
    cells_.push_back(cell);
    size_.store(cells_.size(), std::memory_order_relaxed);
    return cells_.size() == 1;
  }

  // Owner only: the newest, or null.
  actor_cell* pop() noexcept {
    if (empty()) return nullptr;
    std::lock_guard hold(lock_);
    if (cells_.empty()) return nullptr;
    actor_cell* cell = cells_.back();
    cells_.pop_back();
    size_.store(cells_.size(), std::memory_order_relaxed);
    return cell;
  }

  // A thief (never the owner): takes up to half of the entries, oldest
  // first, at most steal_limit; returns the oldest and pushes the others
  // onto `into`, the thief's own stack, so that it runs them newest first.
  actor_cell* steal_into(spawn_stack& into) {
    if (empty()) return nullptr;
    actor_cell* taken[steal_limit];
    std::size_t count = 0;
    {
      std::lock_guard hold(lock_);
      const std::size_t available = cells_.size();
      if (available == 0) return nullptr;
      count = std::min(steal_limit, (available + 1) / 2);
      for (std::size_t i = 0; i < count; ++i) {
        taken[i] = cells_.front();
        cells_.pop_front();
      }
      size_.store(cells_.size(), std::memory_order_relaxed);
    }
    if (count > 1) {
      std::lock_guard hold(into.lock_);
      for (std::size_t i = 1; i < count; ++i) into.cells_.push_back(taken[i]);
      into.size_.store(into.cells_.size(), std::memory_order_relaxed);
    }
    return taken[0];
  }

  bool empty() const noexcept { return size_.load(std::memory_order_relaxed) == 0; }

 private:
  spin_lock lock_;
  std::deque<actor_cell*> cells_;  // oldest at the front
  std::atomic<std::size_t> size_{0};
};

}  // namespace troupe::detail
