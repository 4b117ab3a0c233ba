// The type-erased channel behind channel<T> and select. Private to
// troupe/sync; the algorithms are in src/sync/channel_core.cpp.
//
// Invariants (each channel has one mutex; every field of a channel and
// every entry linked in one of its queues is guarded by it):
//   1. A blocked operation is a `chan_waiter` plus one `chan_entry` per case,
//      linked in the send or receive queue of that case's channel. An entry
//      lives in its waiter's frame (a thread's stack, a coroutine frame)
//      until its owner has unlinked it under the channel's lock.
//   2. Exactly one case of a waiter fires: whoever wants to complete an
//      entry (a counterpart operation, close, a timeout, the owner giving
//      up) must first win waiter.state 0 -> 1 (fired) or 0 -> 2 (given up)
//      with a CAS (acq_rel). A counterpart that loses the CAS unlinks the
//      stale entry and moves on.
//   3. The winner writes the result (the value moved into the receiver's
//      slot, or taken from the sender's, and the status) while still
//      holding the channel's lock, and wakes the waiter only after
//      unlocking. The waiter reads its result only after it was woken
//      (release/acquire on `woken`, or the resume posted to its actor).
//   4. A buffered channel hands a value to a waiting receiver only when its
//      buffer is empty, and takes a waiting sender's value only into the
//      slot a receive just freed: FIFO order is kept.
//   5. select locks all its channels in address order (deadlock-free) and
//      polls its cases in a random order (fair: no case starves). Before
//      it waits, it may take a ready case locking one channel at a time;
//      there a case whose channel lock is held is tried after the others
//      (a bias under contention, not starvation: a busy channel's lock is
//      free again once its producers wait or pause).
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "troupe/core/pid.hpp"

namespace troupe::detail {

// How a channel moves, stores and frees its element type.
struct element_ops {
  std::size_t size;
  std::size_t align;
  // Moves *src (a T) into uninitialized storage at dst.
  void (*move_construct)(void* dst, void* src);
  void (*destroy)(void* p);
  // Moves *src (a T) into the std::optional<T> at dst.
  void (*move_to_optional)(void* optional_dst, void* src);
};

enum class chan_status : std::uint8_t { ok, would_block, closed };

struct chan_core;
struct chan_waiter;

struct chan_entry {
  chan_core* channel = nullptr;
  chan_waiter* waiter = nullptr;
  // send: the T to move from; receive: the std::optional<T> to move into.
  void* slot = nullptr;
  bool is_send = false;
  int case_index = 0;
  bool linked = false;
  chan_entry* prev = nullptr;
  chan_entry* next = nullptr;
};

struct chan_waiter {
  virtual ~chan_waiter() = default;
  std::atomic<int> state{0};  // 0 waiting, 1 fired, 2 given up
  int fired = -1;             // the case that fired (written by the winner)
  chan_status status = chan_status::ok;
  bool try_claim() noexcept {
    int expected = 0;
    return state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel);
  }
  bool try_give_up() noexcept {
    int expected = 0;
    return state.compare_exchange_strong(expected, 2, std::memory_order_acq_rel);
  }
  // After the channel locks are released: lets the owner go on. A waiter
  // that is pinned_by_wakers is called holding the pin its waker took, and
  // releases it (possibly later, once the resumption it posted has run).
  virtual void wake() noexcept = 0;
  // A waker pins the waiter (under the channel lock, when it fires it)
  // until its wake() is done with it: a coroutine's waiter state may
  // otherwise be freed by a frame destroyed in between. Threads' waiters
  // live on their owners' stacks until woken: nothing to pin, and nothing
  // may touch them once woken (the owner may return at once).
  bool pinned_by_wakers = false;
  virtual void pin() noexcept {}
  virtual void unpin() noexcept {}
};

// Opaque: defined in src/sync/channel_core.cpp.
std::shared_ptr<chan_core> make_channel(const element_ops& ops, std::size_t capacity);
bool chan_is_closed(chan_core& c);
std::size_t chan_size(chan_core& c);
std::size_t chan_capacity(const chan_core& c) noexcept;

// One case of an operation or a select, as the core sees it.
struct select_case {
  chan_core* channel;
  bool is_send;
  void* slot;  // send: T*, receive: std::optional<T>*
};

// The outcome of an operation or select: the case that happened (-1: the
// default case, -2: the timeout) and its status (closed: a receive found
// the channel closed and drained, or a send found it closed).
struct select_outcome {
  int index;
  chan_status status;
};

inline constexpr int default_fired = -1;
inline constexpr int timeout_fired = -2;

// Blocking, for plain threads. `deadline` max(): none. With has_default
// nothing blocks.
select_outcome select_blocking(select_case* cases, int count, bool has_default,
                               std::chrono::steady_clock::time_point deadline);

// Coroutines: the waiting side of a select that did not complete at once.
struct coro_select_state;

// Tries every case now; true (and `out` set) if one happened.
bool select_now(select_case* cases, int count, select_outcome& out);

// A coroutine's select. start() tries the cases and, if none is ready,
// links the coroutine as a waiter (resumed in its actor if it has one) and
// returns true: suspend. finish() (in await_resume) unlinks and returns the
// outcome. Destroying it while linked (the coroutine's frame was
// destroyed) unlinks safely.
class coro_select {
 public:
  coro_select(select_case* cases, int count, std::chrono::steady_clock::duration timeout);
  ~coro_select();
  coro_select(const coro_select&) = delete;
  coro_select& operator=(const coro_select&) = delete;
  bool ready_now();
  // The same with every channel locked at once: what a select with a
  // default case checks before taking the default (ready_now may skip a
  // case on an unlocked peek).
  bool ready_under_locks();
  // False if a case completed meanwhile (do not suspend).
  bool suspend(std::coroutine_handle<> h);
  select_outcome finish();

 private:
  select_case* cases_;
  int count_;
  std::chrono::steady_clock::duration timeout_;
  select_outcome outcome_{default_fired, chan_status::ok};
  coro_select_state* state_ = nullptr;  // one pin held while set
};

void chan_close(chan_core& c);

}  // namespace troupe::detail
