// run_queue: a worker's bounded queue of ready actors. The owning worker
// pushes and pops (FIFO); idle workers steal half of it.
//
// State: a ring of `capacity` atomic slots, `tail_` (written by the owner
// only) and `head_` (advanced by CAS, by the owner popping one or a thief
// taking a batch). head_ and tail_ are free-running 32-bit counters; slot
// index = counter % capacity. Wrap-around of the counters is harmless: a
// thief's CAS only succeeds if head_ still holds the value it read.
//
// Invariants.
//   1. Slots in [head_, tail_) hold ready actors; the owner writes a slot
//      only at tail_ and only while tail_ - head_ < capacity.
//   2. A consumer owns the slots it read once its CAS moves head_ past them.
//
// Memory orders. The owner's tail_ store is release and pairs with the
// thieves' acquire load of tail_, which publishes the slot writes. head_
// CASes are acq_rel: a thief's reads of slots happen-before the owner, whose
// push loads head_ with acquire, reuses those slots.
//
// Rejected: a Chase-Lev deque pops LIFO at the owner's end, which starves
// older actors; tokio's packed two-head variant avoids a rare retry but is
// harder to verify.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace troupe::detail {

class actor_cell;

class run_queue {
 public:
  static constexpr std::uint32_t capacity = 256;

  // Owner only. False when full (the caller overflows to the global queue).
  bool push(actor_cell* cell) noexcept {
    std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    std::uint32_t head = head_.load(std::memory_order_acquire);
    if (tail - head >= capacity) return false;
    slots_[tail % capacity].store(cell, std::memory_order_relaxed);
    // ordering: release pairs with steal's acquire load of tail_.
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Owner only.
  actor_cell* pop() noexcept {
    std::uint32_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      std::uint32_t tail = tail_.load(std::memory_order_relaxed);
      if (head == tail) return nullptr;
      actor_cell* cell = slots_[head % capacity].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(head, head + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
        return cell;
    }
  }

  // Any thread: the actors queued, as one look sees them (an estimate).
  std::uint32_t size_estimate() const noexcept {
    const std::uint32_t head = head_.load(std::memory_order_relaxed);
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint32_t n = tail - head;
    return n > capacity ? 0 : n;  // a stale pair
  }

  // Any thread but the owner: takes half of the queue (rounded up), moves
  // all but one into `into` (the thief's own, empty queue) and returns the
  // one, or nullptr when there was nothing to take.
  actor_cell* steal_into(run_queue& into) noexcept {
    std::uint32_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      std::uint32_t tail = tail_.load(std::memory_order_acquire);
      std::uint32_t available = tail - head;
      if (available == 0 || available > capacity) return nullptr;  // empty, or a stale pair
      std::uint32_t take = available - available / 2;
      std::array<actor_cell*, capacity> batch;
      for (std::uint32_t i = 0; i < take; ++i)
        batch[i] = slots_[(head + i) % capacity].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(head, head + take, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        for (std::uint32_t i = 1; i < take; ++i) into.push(batch[i]);
        return batch[0];
      }
    }
  }

  // Any thread; a snapshot.
  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  alignas(64) std::atomic<std::uint32_t> head_{0};
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  std::array<std::atomic<actor_cell*>, capacity> slots_{};
};

}  // namespace troupe::detail
