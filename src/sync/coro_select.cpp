// A coroutine's wait on channels (coro_select): its waiter state, resumed in
// its actor by a posted task, and the awaiter's side of a select. The
// channel algorithms are in channel_core.cpp; the invariants in
// troupe/sync/detail/channel_core.hpp.
#include <atomic>
#include <chrono>
#include <coroutine>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "channel_locking.hpp"
#include "troupe/core/actor.hpp"
#include "troupe/core/context.hpp"
#include "troupe/core/message.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/timer.hpp"
#include "troupe/sync/detail/channel_core.hpp"

namespace troupe::detail {

// Shared by the coroutine's awaiter, its timer and any waker that fired it
// (an intrusive count: pins). `abandoned` is set when the awaiter is
// destroyed unresumed (its frame went away): a resumption already on its
// way must then not run.
struct coro_select_state final : chan_waiter, pool_allocated {  // made per wait

  chan_entry inline_entries[2];
  std::vector<chan_entry> more_entries;
  chan_entry* entries_for(int count) {
    if (count <= 2) return inline_entries;
    more_entries.resize(static_cast<std::size_t>(count));
    return more_entries.data();
  }
  chan_entry* entries = nullptr;
  std::coroutine_handle<> handle;
  troupe::pid home;  // the actor to resume in (null: resume inline)
  timer_handle timer;
  std::atomic<int> pins{1};
  std::atomic<bool> abandoned{false};
  coro_select_state() noexcept { pinned_by_wakers = true; }

  void pin() noexcept override { pins.fetch_add(1, std::memory_order_relaxed); }
  void unpin() noexcept override {
    if (pins.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  void wake() noexcept override {
    unpin_on_destroy waker_pin{this};  // taken by fire() or the timer
    if (!home) {
      if (abandoned.load(std::memory_order_acquire)) return;
      // Not an actor's coroutine: it must not run as whatever actor's turn
      // woke it (it would attach its next waits to that actor).
      std::optional<outside_actor_scope> outside;
      if (current_actor()) outside.emplace();
      handle.resume();
      return;
    }
    // Even from the actor's own turn: resume between its messages. The
    // waker's pin travels with the task, so the state is still there to
    // check `abandoned` when it runs.
    coro_select_state* self = this;
    run_in(home, [self, pinned = std::move(waker_pin)](actor&) {
      if (!self->abandoned.load(std::memory_order_acquire)) self->handle.resume();
    });
  }

  struct unpin_on_destroy {
    explicit unpin_on_destroy(coro_select_state* s) noexcept : s_(s) {}
    unpin_on_destroy(unpin_on_destroy&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    unpin_on_destroy(const unpin_on_destroy&) = delete;
    ~unpin_on_destroy() {
      if (s_) s_->unpin();
    }
    coro_select_state* s_;
  };
};

coro_select::coro_select(select_case* cases, int count, std::chrono::steady_clock::duration timeout)
    : cases_(cases), count_(count), timeout_(timeout) {}

bool coro_select::ready_now() { return count_ > 0 && select_now(cases_, count_, outcome_); }

bool coro_select::ready_under_locks() {
  if (count_ == 0) return false;
  channel_locks locks(cases_, count_);
  wake_list wakes;
  locks.lock();
  const bool ready = poll_locked(cases_, count_, outcome_, wakes);
  locks.unlock();
  wakes.wake_all();
  return ready;
}

bool coro_select::suspend(std::coroutine_handle<> h) {
  const bool timed = timeout_ != std::chrono::steady_clock::duration::max();
  actor* self = current_actor();
  if (timed && !self)
    throw std::logic_error("troupe: a select timeout in a coroutine needs an actor's runtime");
  auto* st = new coro_select_state;  // our pin
  st->handle = h;
  if (self) st->home = self->pid();
  st->entries = st->entries_for(count_);  // allocated before locking
  channel_locks locks(cases_, count_);
  wake_list wakes;
  locks.lock();
  // Something may have become ready since ready_now(): poll once more under
  // the locks, then link; from here a counterpart can fire us.
  select_outcome now{};
  if (count_ > 0 && poll_locked(cases_, count_, now, wakes)) {
    locks.unlock();
    wakes.wake_all();
    outcome_ = now;
    st->unpin();
    return false;  // done: do not suspend
  }
  link_entries(cases_, count_, st->entries, st);
  state_ = st;
  locks.unlock();
  if (timed) {
    // Armed after unlocking (no allocation under the locks). If a case
    // fired meanwhile, the timer's give-up simply fails. Writing `timer`
    // now is safe: timeouts need an actor, and an actor's coroutine is
    // resumed by a message, after this turn.
    st->pin();
    std::shared_ptr<coro_select_state> keep(st, [](coro_select_state* p) { p->unpin(); });
    st->timer = self->system().call_after(timeout_, [keep] {
      coro_select_state* s = keep.get();
      if (!s->try_give_up()) return;
      s->fired = timeout_fired;
      s->status = chan_status::would_block;
      s->pin();  // for wake() to release
      s->wake();
    });
  }
  return true;  // a counterpart may resume us any time now
}

select_outcome coro_select::finish() {
  if (!state_) return outcome_;
  coro_select_state* st = std::exchange(state_, nullptr);
  st->timer.cancel();
  // As for threads: the entry that fired was unlinked by its waker before
  // the resumption was sent; a lone case that fired has nothing left.
  if (count_ > 1 || st->fired < 0) {
    channel_locks locks(cases_, count_);
    locks.lock();
    unlink_entries(st->entries, count_);
    locks.unlock();
  }
  select_outcome out{st->fired, st->status};
  st->unpin();
  return out;
}

coro_select::~coro_select() {
  if (!state_) return;
  // The frame is going away while the coroutine waits: make sure no one
  // fires it (or that a resumption on its way will not run), then unlink
  // (a counterpart that already won finished writing before we get the
  // locks).
  coro_select_state* st = std::exchange(state_, nullptr);
  st->abandoned.store(true, std::memory_order_release);
  st->try_give_up();
  st->timer.cancel();
  channel_locks locks(cases_, count_);
  locks.lock();
  unlink_entries(st->entries, count_);
  locks.unlock();
  st->unpin();
}

}  // namespace troupe::detail
