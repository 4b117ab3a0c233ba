// mailbox: the lock-free multi-producer, single-consumer queue of one actor.
//
// Purpose. Any thread may push; only the actor's owner (the worker running
// it, or the thread of a scoped/detached actor) pops. The same atomic word
// also says whether the owner is asleep, so that exactly one pusher wakes it.
//
// State. One atomic pointer, `head_`, holds one of:
//   nullptr      empty; the owner is running or already scheduled
//   blocked_tag  empty; the owner is idle: the next push must wake it
//   closed_tag   the actor ended: every push fails (-> dead letters)
//   a message    the newest of a LIFO chain of pushed messages
//
// Invariants.
//   1. Only the owner moves head_ from nullptr to blocked_tag (try_block) and
//      from a chain to nullptr (take_all); only the owner closes.
//   2. A push that replaces blocked_tag returns `woke_owner`: that pusher
//      and no other must schedule the owner. Hence an actor is never
//      scheduled twice and never forgotten.
//   3. FIFO per producer: one producer's pushes are chained newest-first in
//      program order; take_all reverses the chain, so the owner sees them
//      oldest-first. Pushes of different producers interleave arbitrarily.
//
// Memory orders. push's successful CAS is release: it publishes the
// message's contents to the owner, whose take_all/close exchange is acquire.
// try_block's CAS is acq_rel so that a failing attempt (messages arrived)
// also acquires them. A pusher that sees blocked_tag acquires nothing from
// the owner (it hands work over, it does not read owner state).
//
// Runs. A sender that pushes many user messages at once (runtime_impl's
// send batching) may push them as one `message_run` entry: the messages
// linked oldest first, from `first` to `last`. The owner splices a run
// whole (two pointer writes) instead of reversing it message by message:
// reversing a long chain is a serial walk of cache misses, one per
// message, each line still in the sender's core. Every way out of the
// mailbox (take_all, take_into, close) dissolves runs, so no other code
// sees one; peek_chain (single-threaded inspection) may.
//
// Rejected: Vyukov's intrusive MPSC queue (one XCHG per push, wait-free)
// needs a second atomic for the sleep/wake state, hence two RMWs per push;
// a mutex-protected deque serializes fan-in senders.
#pragma once

#include <atomic>
#include <cstdint>

#include "troupe/core/message.hpp"

namespace troupe::detail {

class message_fifo;

// A mailbox entry standing for user messages first..last, linked oldest
// first through `next` (see Runs above). Made by a sender, freed by the
// owner when it splices the run.
struct message_run final : message, pool_allocated {
  using pool_allocated::operator new;
  using pool_allocated::operator delete;
  message_run(message* oldest, message* newest) noexcept : message(nullptr), first(oldest), last(newest) {
    kind = message_kind::run;
  }
  void* payload() noexcept override { return nullptr; }
  std::string type_name() const override { return "message run"; }
  message* first;
  message* last;
};

class mailbox {
 public:
  enum class push_result { queued, woke_owner, closed };

  // Any thread.
  push_result push(message* msg) noexcept { return push_chain(msg, msg); }

  // Any thread: pushes a chain of messages linked newest-first through
  // `next`, from `newest` to `oldest`, with one CAS. Same results as push.
  push_result push_chain(message* newest, message* oldest) noexcept {
    message* head = head_.load(std::memory_order_relaxed);
    for (;;) {
      if (head == closed_tag()) return push_result::closed;
      oldest->next = head == blocked_tag() ? nullptr : head;
      // ordering: release pairs with the owner's acquire in take_all/close;
      // acquire pairs with try_block's release, so a pusher that wakes the
      // owner hands on everything the previous turn wrote.
      if (head_.compare_exchange_weak(head, newest, std::memory_order_acq_rel,
                                      std::memory_order_relaxed))
        break;
    }
    return head == blocked_tag() ? push_result::woke_owner : push_result::queued;
  }

  // Owner only, not while blocked or closed: everything pushed so far,
  // oldest first; nullptr when empty.
  message* take_all() noexcept {
    if (head_.load(std::memory_order_relaxed) == nullptr) return nullptr;
    // ordering: acquire pairs with push's release.
    return reverse(head_.exchange(nullptr, std::memory_order_acquire));
  }

  // Owner only, as take_all, but appends the system messages to `system`
  // and the user messages to `user`, each oldest first; a run goes to
  // `user` whole, its messages untouched. False when empty.
  inline bool take_into(message_fifo& system, message_fifo& user) noexcept;

  // Owner only. True: the mailbox is now blocked and the next push wakes
  // the owner. False: messages arrived; call take_all.
  bool try_block() noexcept {
    message* expected = nullptr;
    // ordering: acq_rel; see the header comment.
    return head_.compare_exchange_strong(expected, blocked_tag(), std::memory_order_acq_rel,
                                         std::memory_order_acquire);
  }

  // Owner only, while blocked: undo try_block (the owner found other work,
  // e.g. a timeout). False if a pusher got there first and woke the owner.
  bool try_unblock() noexcept {
    message* expected = blocked_tag();
    return head_.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel,
                                         std::memory_order_acquire);
  }

  // Owner only: closes for good and returns what was left, oldest first.
  message* close() noexcept {
    // ordering: seq_cst; pairs with register_name's flag store (actor_cell.hpp).
    message* rest = head_.exchange(closed_tag(), std::memory_order_seq_cst);
    if (rest == blocked_tag() || rest == closed_tag()) return nullptr;
    return reverse(rest);
  }

  // Only where no other thread can touch the mailbox (the simulation, a
  // debugger): the pushed chain, newest first, without taking it.
  message* peek_chain() const noexcept {
    message* head = head_.load(std::memory_order_acquire);
    return head == blocked_tag() || head == closed_tag() ? nullptr : head;
  }

  bool closed() const noexcept { return head_.load(std::memory_order_seq_cst) == closed_tag(); }
  bool blocked() const noexcept { return head_.load(std::memory_order_acquire) == blocked_tag(); }

  // For owners that sleep on the word itself (scoped and detached actors):
  // wait while it still holds blocked_tag; pushers notify after waking.
  void wait_while_blocked() noexcept { head_.wait(blocked_tag(), std::memory_order_acquire); }
  void notify_owner() noexcept { head_.notify_one(); }

 private:
  static message* blocked_tag() noexcept { return reinterpret_cast<message*>(std::uintptr_t{1}); }
  static message* closed_tag() noexcept { return reinterpret_cast<message*>(std::uintptr_t{2}); }

  static message* reverse(message* chain) noexcept {
    message* fifo = nullptr;
    while (chain) {
      message* next = chain->next;
      if (chain->kind == message_kind::run) {
        auto* run = static_cast<message_run*>(chain);
        run->last->next = fifo;
        fifo = run->first;
        delete run;
      } else {
        chain->next = fifo;
        fifo = chain;
      }
      chain = next;
    }
    return fifo;
  }

  std::atomic<message*> head_{nullptr};
};

// An intrusive FIFO of messages, owner-only.
class message_fifo {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  message* front() const noexcept { return head_; }
  void push_back(message* msg) noexcept {
    msg->next = nullptr;
    if (tail_)
      tail_->next = msg;
    else
      head_ = msg;
    tail_ = msg;
  }
  message* pop_front() noexcept {
    message* msg = head_;
    if (msg) {
      head_ = msg->next;
      if (!head_) tail_ = nullptr;
      msg->next = nullptr;
    }
    return msg;
  }
  message* take_all() noexcept {
    message* all = head_;
    head_ = tail_ = nullptr;
    return all;
  }
  // Puts first..last (linked oldest first) before the front.
  void push_front_run(message* first, message* last) noexcept {
    last->next = head_;
    if (!head_) tail_ = last;
    head_ = first;
  }
  // Moves all of `other` to the back of this queue.
  void append(message_fifo& other) noexcept {
    if (!other.head_) return;
    if (tail_)
      tail_->next = other.head_;
    else
      head_ = other.head_;
    tail_ = other.tail_;
    other.head_ = other.tail_ = nullptr;
  }

 private:
  message* head_ = nullptr;
  message* tail_ = nullptr;
};

inline bool mailbox::take_into(message_fifo& system, message_fifo& user) noexcept {
  if (head_.load(std::memory_order_relaxed) == nullptr) return false;
  // ordering: acquire pairs with push's release.
  message* chain = head_.exchange(nullptr, std::memory_order_acquire);
  // The chain is newest first: build each lane by putting in front.
  message_fifo new_system, new_user;
  while (chain) {
    message* next = chain->next;
    if (chain->kind == message_kind::run) {
      auto* run = static_cast<message_run*>(chain);
      new_user.push_front_run(run->first, run->last);
      delete run;
    } else {
      (chain->is_system() ? new_system : new_user).push_front_run(chain, chain);
    }
    chain = next;
  }
  system.append(new_system);
  user.append(new_user);
  return true;
}

}  // namespace troupe::detail
