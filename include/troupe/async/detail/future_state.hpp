// The shared state behind future<T> and promise<T>. Private to troupe/async;
// the algorithms live in src/async/future_state.cpp.
//
// Completion protocol (lock-free, one CAS per callback, one exchange per
// completion):
//   `head` is nullptr (pending, no callbacks), a callback_node* (pending,
//   the newest callback; each links to the next older one), or done_mark()
//   (complete). Invariants:
//   1. Exactly one setter wins `claimed` (exchange, acq_rel); only it writes
//      the outcome, and it writes it before publishing.
//   2. The winner publishes with head.exchange(done_mark, acq_rel): the
//      release orders the outcome before `done`; the acquire takes every
//      callback pushed before it. The list it takes is run oldest first.
//   3. A callback is pushed with CAS(head: old -> node, release) while head
//      is not done_mark; a pusher that reads done_mark (acquire, so the
//      outcome is visible) runs its callback itself. So each callback runs
//      exactly once, after the outcome is written.
//   4. The outcome is immutable once done; readers only read it after an
//      acquire load of head that saw done_mark.
// Interrupts are rare and go through `interrupt_lock`, a spin lock that
// guards the handler, the forward target and a pending interrupt.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "troupe/core/error.hpp"
#include "troupe/core/message.hpp"
#include "troupe/core/pid.hpp"

namespace troupe {
class executor;
class request_context;

namespace detail {

struct state_base;

// One continuation waiting on a state. It runs at most once; whoever runs
// or drops it frees it (run() and discard() both dispose of the node).
// States and nodes are small, made on one thread and often freed on
// another: from the runtime's pool (message.hpp).
struct callback_node : pool_allocated {
  callback_node* next = nullptr;
  // Set (with a reference) while the node waits in a trampoline queue or
  // on its way to an actor or executor: the state it will read.
  state_base* source = nullptr;
  // Where it must run: the actor that attached it (run there, between its
  // messages), an executor, or (both empty) inline on the completing thread.
  troupe::pid home;
  troupe::executor* exec = nullptr;
  // The runtime's own plumbing (linking one future to another, counting):
  // runs as is wherever it completes, attaches nothing of the user's.
  bool plumbing = false;
  // Queued on a trampoline only to be discarded (see discard_later).
  bool discard_only = false;
  // The request context current when it was attached, restored around it.
  std::shared_ptr<const request_context> context;

  virtual ~callback_node() = default;
  // Runs the continuation (the state is complete) and frees the node.
  virtual void run(state_base& source) noexcept = 0;
  // Frees the node without running it (its actor is gone). Dropping what
  // it holds breaks the promises it would have set: nothing hangs.
  virtual void discard() noexcept { delete this; }
};

// Attaches the caller's context to a fresh node: its actor (if the caller
// is inside one) or the given executor, and the request context.
void capture_context(callback_node& node, troupe::executor* exec);

struct interrupt_handler {
  virtual ~interrupt_handler() = default;
  virtual void on_interrupt(const error& why) = 0;
};

template <class F>
struct interrupt_handler_of final : interrupt_handler {
  explicit interrupt_handler_of(F f) : fn(std::move(f)) {}
  void on_interrupt(const error& why) override { fn(why); }
  F fn;
};

struct state_base : pool_allocated {
  state_base() = default;
  state_base(const state_base&) = delete;
  state_base& operator=(const state_base&) = delete;
  virtual ~state_base();

  void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  void add_promise() noexcept {
    promises.fetch_add(1, std::memory_order_relaxed);
    add_ref();
  }
  // The last promise handle gone with no outcome set: errc::broken_promise.
  void release_promise() noexcept;

  bool ready() const noexcept { return head.load(std::memory_order_acquire) == done_mark(); }
  // True for the one caller allowed to set the outcome.
  bool claim() noexcept { return !claimed.exchange(true, std::memory_order_acq_rel); }
  // After the winner wrote the outcome: publish it and run the callbacks.
  void publish() noexcept;
  // Takes ownership of `node`; runs it at once if the state is complete.
  void add_callback(callback_node* node) noexcept;
  // Blocks the calling thread until complete (throws std::logic_error on
  // an actor's thread: it would stall the actor and maybe its worker).
  void wait() const;
  bool wait_until(std::chrono::steady_clock::time_point deadline) const;

  // Interrupts (Finagle's raise): delivered to the producer's handler, or
  // forwarded to the state this one currently depends on, or kept until a
  // handler is set. Ignored once complete. Any thread.
  void interrupt(const error& why) noexcept;
  void set_interrupt_handler(std::unique_ptr<interrupt_handler> handler) noexcept;
  // From now on interrupts go to `target` (the future this one waits on).
  void forward_interrupts(state_base* target) noexcept;
  // The same for a state no other thread can see yet (just made by a
  // combinator): no lock, no fence.
  void forward_interrupts_fresh(state_base* target) noexcept {
    target->add_ref();
    forward_ = target;
    interrupt_used_.store(true, std::memory_order_relaxed);
  }

  // The failure, if the outcome is an error (typed code reads its value).
  virtual bool set_failure(error failure) noexcept = 0;

  static callback_node* done_mark() noexcept {
    return reinterpret_cast<callback_node*>(&done_sentinel);
  }

  std::atomic<std::uint32_t> refs{1};
  std::atomic<std::uint32_t> promises{0};
  std::atomic<bool> claimed{false};
  std::atomic<callback_node*> head{nullptr};

 private:
  void drop_interrupt_state() noexcept;
  static inline char done_sentinel = 0;
  std::atomic<bool> interrupt_lock{false};
  // Set (under the lock) once any interrupt field was written: completion
  // skips the lock for the common state that never saw an interrupt.
  std::atomic<bool> interrupt_used_{false};
  std::unique_ptr<interrupt_handler> handler_;
  state_base* forward_ = nullptr;
  std::unique_ptr<error> pending_interrupt_;
};

template <class T>
struct state final : state_base {
  std::optional<result<T>> outcome;

  template <class... Args>
  bool set(Args&&... args) noexcept {
    if (!claim()) return false;
    try {
      outcome.emplace(std::forward<Args>(args)...);
    } catch (...) {
      outcome.emplace(error::from_exception(std::current_exception()));
    }
    publish();
    return true;
  }
  bool set_failure(error failure) noexcept override { return set(std::move(failure)); }
  const result<T>& get() const noexcept { return *outcome; }
};

// Intrusive reference to a state.
template <class T>
class state_ref {
 public:
  state_ref() = default;
  explicit state_ref(state<T>* s) noexcept : s_(s) {}  // adopts a reference
  state_ref(const state_ref& o) noexcept : s_(o.s_) {
    if (s_) s_->add_ref();
  }
  state_ref(state_ref&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  state_ref& operator=(state_ref o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~state_ref() {
    if (s_) s_->release();
  }
  state<T>* get() const noexcept { return s_; }
  state<T>* operator->() const noexcept { return s_; }
  explicit operator bool() const noexcept { return s_ != nullptr; }

 private:
  state<T>* s_ = nullptr;
};

}  // namespace detail
}  // namespace troupe
