// Mesa monitors and conditions (include/troupe/sync/monitor.hpp).
//
// condition invariants (all guarded by `internal_`):
//   waiters_  threads registered in wait() and not yet returned;
//   signals_  wake-ups granted to them and not yet taken (<= waiters_);
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

namespace troupe {

namespace {
std::mutex handler_mutex;
std::function<void(const char*, const std::source_location&)> invariant_handler;
}  // namespace

void monitor_base::enter(const std::source_location& where) {
  mutex_.lock();
  owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  if (detail::lock_order_on()) detail::lock_acquired(this, name_, where);
}

void monitor_base::leave() noexcept {
  if (detail::lock_order_on()) detail::lock_released(this);
  owner_.store(std::thread::id(), std::memory_order_relaxed);
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

void condition::notify_one() {
  const bool naked = !monitor_.held_by_this_thread();
  std::lock_guard lock(internal_);
  if (waiters_ > signals_) {
    ++signals_;
    cv_.notify_one();
  } else if (naked) {
    wakeup_waiting_ = true;
  }
}

void condition::notify_all() {
  const bool naked = !monitor_.held_by_this_thread();
  std::lock_guard lock(internal_);
  if (waiters_ > signals_) {
    signals_ = waiters_;
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
  ++waiters_;
  m.leave();
  bool woken = true;
  if (deadline == std::chrono::steady_clock::time_point::max())
    cv_.wait(lock, [&] { return signals_ > 0; });
  else
    woken = cv_.wait_until(lock, deadline, [&] { return signals_ > 0; });
  if (woken) --signals_;
  --waiters_;
  lock.unlock();
  m.enter(where);
  return woken;
}

}  // namespace troupe
