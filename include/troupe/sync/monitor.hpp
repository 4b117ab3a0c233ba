// monitor<T>: Mesa monitors (Lampson & Redell, "Experience with Processes
// and Monitors in Mesa").
//
// The protected state is reachable only through an entry procedure that
// holds the monitor's lock:
//
//   monitor<std::deque<job>> queue("jobs");
//   condition not_empty(queue);
//   queue.with([&](auto& q) { q.push_back(j); });
//   not_empty.notify_one();                        // a "naked" notify is fine
//
//   auto q = queue.lock();                         // a guard: q->, *q
//   q.wait(not_empty, [](auto& q) { return !q.empty(); });
//   job j = q->front(); q->pop_front();
//
// Mesa semantics: wait releases the lock and the woken thread must recheck
// its condition (the predicate forms loop for you); notify_one /
// notify_all (broadcast) never hand the lock over. A notify made without
// holding the lock (from another thread, a signal handler's helper, a
// timer) is never lost: it sets the condition's wakeup-waiting switch, so
// a thread between testing its condition and waiting does not sleep
// through it (at worst it wakes once for nothing and rechecks).
// An exception leaving an entry procedure releases the lock. An invariant
// given at construction is checked on every exit (and every wait) when
// TROUPE_CHECK_INVARIANTS is on (default: builds without NDEBUG); a broken
// invariant calls the handler set with set_invariant_handler (default:
// print and abort). The lock takes part in lock-order checking.
#pragma once

#include <chrono>
#include <concepts>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <source_location>
#include <thread>
#include <utility>

#include "troupe/core/timer.hpp"
#include "troupe/sync/lock_order.hpp"

#ifndef TROUPE_CHECK_INVARIANTS
#ifdef NDEBUG
#define TROUPE_CHECK_INVARIANTS 0
#else
#define TROUPE_CHECK_INVARIANTS 1
#endif
#endif

namespace troupe {

class condition;


// What every monitor shares: the lock, who holds it, the name.
class monitor_base {
 public:
  // `name` names the lock in reports; it must outlive the monitor.
  explicit monitor_base(const char* name) : name_(name) {}
  monitor_base(const monitor_base&) = delete;
  monitor_base& operator=(const monitor_base&) = delete;

  // Takes the lock; `where` is recorded for lock-order checking.
  void enter(const std::source_location& where);
  // Releases the lock.
  void leave() noexcept;
  // Whether the calling thread holds the lock.
  bool held_by_this_thread() const noexcept;
  // The name given at construction.
  const char* name() const noexcept { return name_; }

  // Called with the monitor's name and the site of the exit that found
  // the invariant broken. Process-wide.
  static void set_invariant_handler(std::function<void(const char* monitor, const std::source_location&)> h);
  // Reports a broken invariant to the handler (default: print and abort).
  static void invariant_broken(const char* monitor, const std::source_location& where);

 private:
  std::mutex mutex_;
  std::atomic<std::thread::id> owner_{};
  std::atomic<std::uint64_t> holder_{0};  // for tracing (lock_trace.hpp)
  const char* name_;
};

// A condition variable of one monitor.
class condition {
 public:
  // A condition of `m`, which must outlive it.
  explicit condition(monitor_base& m) noexcept : monitor_(m) {}
  condition(const condition&) = delete;
  condition& operator=(const condition&) = delete;

  // With or without the monitor's lock.
  void notify_one();
  // Wakes every thread waiting now (a broadcast).
  void notify_all();

  // For monitor guards: the lock is held on entry and on return.
  void wait(monitor_base& m, const std::source_location& where);
  // As wait, but false if `deadline` passed with no notify.
  bool wait_until(monitor_base& m, std::chrono::steady_clock::time_point deadline,
                  const std::source_location& where);

 private:
  // One per waiting thread, on its stack, queued in arrival order: a notify
  // marks a particular waiter, so a wake-up cannot be taken by another
  // (a broadcast wakes exactly those waiting at the time).
  struct waiter_node {
    bool notified = false;
    waiter_node* next = nullptr;
  };
  void unlink(waiter_node* n) noexcept;

  monitor_base& monitor_;
  std::mutex internal_;
  std::condition_variable cv_;
  waiter_node* head_ = nullptr;
  waiter_node* tail_ = nullptr;
  bool wakeup_waiting_ = false;  // Mesa's switch for naked notifies
};

// A Mesa monitor over a T (see above); the lock is named for reports.
template <class T>
class monitor : public monitor_base {
 public:
  // The state made from `args`, with no invariant.
  template <class... Args>
    requires std::constructible_from<T, Args...>
  explicit monitor(const char* name, Args&&... args)
      : monitor_base(name), state_(std::forward<Args>(args)...) {}
  // With an invariant, checked on every exit and wait while
  // TROUPE_CHECK_INVARIANTS is on.
  monitor(const char* name, T initial, std::function<bool(const T&)> invariant)
      : monitor_base(name), state_(std::move(initial)), invariant_(std::move(invariant)) {}

  // Holds the monitor's lock while it lives and gives access to the state.
  // Movable, not copyable; checks the invariant when it releases.
  class [[nodiscard]] guard {
   public:
    // Takes m's lock; `where` is the site in lock-order and invariant reports.
    guard(monitor& m, const std::source_location& where) : m_(&m), where_(where) { m.enter(where); }
    // Takes over the hold: `other` releases nothing.
    guard(guard&& other) noexcept : m_(std::exchange(other.m_, nullptr)), where_(other.where_) {}
    guard(const guard&) = delete;
    ~guard() {
      if (!m_) return;
      m_->check(where_);
      m_->leave();
    }
    // The protected state.
    T* operator->() const noexcept { return &m_->state_; }
    // The protected state.
    T& operator*() const noexcept { return m_->state_; }

    // Mesa wait: releases the lock, sleeps until notified, retakes it.
    void wait(condition& c, const std::source_location& where = std::source_location::current()) {
      m_->check(where);
      c.wait(*m_, where);
    }
    // Waits until ready(state) holds, rechecking after every wakeup.
    template <class Pred>
    void wait(condition& c, Pred ready, const std::source_location& where = std::source_location::current()) {
      while (!ready(m_->state_)) wait(c, where);
    }
    // One Mesa wait with a deadline: false if `timeout` passed with no
    // notify (the caller rechecks its condition either way).
    bool wait_for(condition& c, duration timeout,
                  const std::source_location& where = std::source_location::current()) {
      m_->check(where);
      return c.wait_until(*m_, deadline_after(timeout), where);
    }
    // False if `timeout` passed with the predicate still false.
    template <class Pred>
    bool wait_for(condition& c, duration timeout, Pred ready,
                  const std::source_location& where = std::source_location::current()) {
      const auto deadline = deadline_after(timeout);
      while (!ready(m_->state_)) {
        m_->check(where);
        if (!c.wait_until(*m_, deadline, where)) return ready(m_->state_);
      }
      return true;
    }

   private:
    monitor* m_;
    std::source_location where_;
  };

  // Enters the monitor: the guard holds the lock until destroyed.
  guard lock(const std::source_location& where = std::source_location::current()) {
    return guard(*this, where);
  }
  // Runs f(T&) as an entry procedure; returns what f returns.
  template <class F>
  decltype(auto) with(F&& f, const std::source_location& where = std::source_location::current()) {
    guard g(*this, where);
    return std::forward<F>(f)(state_);
  }

 private:
  void check(const std::source_location& where) {
    if constexpr (TROUPE_CHECK_INVARIANTS) {
      if (invariant_ && !invariant_(state_)) invariant_broken(name(), where);
    } else {
      (void)where;
    }
  }
  T state_;
  std::function<bool(const T&)> invariant_;
};

}  // namespace troupe
