// Mesa monitors and conditions (include/troupe/sync/monitor.hpp).
//
// condition invariants (all guarded by `internal_`):
//   the queue (head_..tail_) holds exactly the waiting threads not yet
//             notified, in arrival order; a notify dequeues a node and
//             marks it, so a wake-up belongs to one waiter and cannot be
//             taken by another (no stolen signals);
//   wakeup_waiting_  set by a notify made without the monitor's lock: the
//             next wait returns at once instead of sleeping.
// A waiter registers (under internal_) before it releases the monitor's
// lock, so a notify made while holding that lock always sees it. A naked
// notify may come between a waiter's test of its condition and its
// registration: that is what the switch catches.
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "troupe/sync/monitor.hpp"
#include "troupe/core/lock_trace.hpp"

namespace troupe {

namespace {
std::mutex handler_mutex;
std::function<void(const char*, const std::source_location&)> invariant_handler;
}  // namespace

void monitor_base::enter(const std::source_location& where) {
  if (detail::lock_tracing_on()) [[unlikely]] {
    // Traced: a failed try is a wait on the holder (lock_trace.hpp).
    if (!mutex_.try_lock()) {
      detail::trace_lock(detail::lock_step::wait, name_, holder_);
      mutex_.lock();
    }
    detail::trace_lock(detail::lock_step::acquire, name_, holder_);
  } else {
    mutex_.lock();
  }
  owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  if (detail::lock_order_on()) detail::lock_acquired(this, name_, where);
}

void monitor_base::leave() noexcept {
  detail::lock_released(this);  // even if checking was turned off meanwhile
  owner_.store(std::thread::id(), std::memory_order_relaxed);
  if (detail::lock_tracing_on()) [[unlikely]]
    detail::trace_lock(detail::lock_step::release, name_, holder_);
  mutex_.unlock();
}

bool monitor_base::held_by_this_thread() const noexcept {
  return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

void monitor_base::set_invariant_handler(
    std::function<void(const char*, const std::source_location&)> h) {
  std::lock_guard lock(handler_mutex);
  invariant_handler = std::move(h);
}

void monitor_base::invariant_broken(const char* monitor, const std::source_location& where) {
  std::function<void(const char*, const std::source_location&)> h;
  {
    std::lock_guard lock(handler_mutex);
    h = invariant_handler;
  }
  if (h) {
    h(monitor, where);
    return;
  }
  std::fprintf(stderr, "troupe: invariant of monitor '%s' broken at exit %s:%u (%s)\n",
               monitor ? monitor : "?", where.file_name(), static_cast<unsigned>(where.line()),
               where.function_name());
  std::abort();
}

void condition::unlink(waiter_node* n) noexcept {
  waiter_node* prev = nullptr;
  for (waiter_node* at = head_; at; prev = at, at = at->next) {
    if (at != n) continue;
    (prev ? prev->next : head_) = at->next;
    if (tail_ == at) tail_ = prev;
    return;
  }
}

void condition::notify_one() {
  const bool naked = !monitor_.held_by_this_thread();
  std::lock_guard lock(internal_);
  if (waiter_node* first = head_) {
    head_ = first->next;
    if (!head_) tail_ = nullptr;
    first->notified = true;
    cv_.notify_all();  // one condition variable for all: each checks its own node
  } else if (naked) {
    wakeup_waiting_ = true;
  }
}

void condition::notify_all() {
  const bool naked = !monitor_.held_by_this_thread();
  std::lock_guard lock(internal_);
  if (head_) {
    for (waiter_node* n = head_; n; n = n->next) n->notified = true;
    head_ = tail_ = nullptr;
    cv_.notify_all();
  }
  // A waiter not yet registered may have tested its condition before the
  // state change this notify announces.
  if (naked) wakeup_waiting_ = true;
}

void condition::wait(monitor_base& m, const std::source_location& where) {
  wait_until(m, std::chrono::steady_clock::time_point::max(), where);
}

bool condition::wait_until(monitor_base& m, std::chrono::steady_clock::time_point deadline,
                           const std::source_location& where) {
  std::unique_lock lock(internal_);
  if (wakeup_waiting_) {
    // A naked notify came since this waiter last looked: return and let it
    // recheck, rather than sleep through it.
    wakeup_waiting_ = false;
    return true;
  }
  waiter_node self;
  (tail_ ? tail_->next : head_) = &self;
  tail_ = &self;
  m.leave();
  if (deadline == std::chrono::steady_clock::time_point::max())
    cv_.wait(lock, [&] { return self.notified; });
  else if (!cv_.wait_until(lock, deadline, [&] { return self.notified; }))
    unlink(&self);  // timed out, still queued
  const bool notified = self.notified;
  lock.unlock();
  m.enter(where);
  return notified;
}

}  // namespace troupe
