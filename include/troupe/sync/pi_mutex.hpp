// pi_mutex: a mutex with priority inheritance (POSIX PTHREAD_PRIO_INHERIT).
//
// While a higher-priority thread waits for it, the holder runs at that
// priority, so a medium-priority thread cannot starve the holder and,
// through it, the waiter (the Mars Pathfinder priority inversion). Named
// mutexes take part in lock-order checking (lock_order.hpp). While a
// runtime records (troupe/core/trace.hpp), both kinds report their waits,
// acquires and releases (lock_trace.hpp).
//
//   pi_mutex bus("bus");
//   std::lock_guard hold(bus);
#pragma once

#include <pthread.h>

#include <mutex>
#include <source_location>

#include "troupe/core/lock_trace.hpp"
#include "troupe/sync/lock_order.hpp"

namespace troupe {

// A mutex with priority inheritance; a named one takes part in lock-order
// checking (null name: it does not).
class pi_mutex {
 public:
  // Throws std::system_error if the platform has no priority inheritance.
  explicit pi_mutex(const char* name = nullptr);
  ~pi_mutex();
  pi_mutex(const pi_mutex&) = delete;
  pi_mutex& operator=(const pi_mutex&) = delete;

  // Blocks until held; throws std::system_error if pthread_mutex_lock fails.
  void lock(const std::source_location& where = std::source_location::current());
  // Takes it if free now; false otherwise.
  bool try_lock(const std::source_location& where = std::source_location::current());
  // Releases it; the calling thread must hold it.
  void unlock();
  // The name given, or null.
  const char* name() const noexcept { return name_; }
  // The underlying pthread mutex.
  pthread_mutex_t* native_handle() noexcept { return &mutex_; }

 private:
  pthread_mutex_t mutex_;
  const char* name_;
  std::atomic<std::uint64_t> holder_{0};  // for tracing (lock_trace.hpp)
};

// A plain mutex that takes part in lock-order checking.
class named_mutex {
 public:
  // `name` names its lock class in reports; it must outlive the mutex.
  explicit named_mutex(const char* name) : name_(name) {}
  // Blocks until held.
  void lock(const std::source_location& where = std::source_location::current()) {
    if (detail::lock_tracing_on()) [[unlikely]] {
      if (!mutex_.try_lock()) {
        detail::trace_lock(detail::lock_step::wait, name_, holder_);
        mutex_.lock();
      }
      detail::trace_lock(detail::lock_step::acquire, name_, holder_);
    } else {
      mutex_.lock();
    }
    if (detail::lock_order_on()) detail::lock_acquired(this, name_, where);
  }
  // Takes it if free now; false otherwise.
  bool try_lock(const std::source_location& where = std::source_location::current()) {
    if (!mutex_.try_lock()) return false;
    if (detail::lock_tracing_on()) [[unlikely]]
      detail::trace_lock(detail::lock_step::acquire, name_, holder_);
    if (detail::lock_order_on()) detail::lock_acquired(this, name_, where, true);
    return true;
  }
  // Releases it; the calling thread must hold it.
  void unlock() {
    detail::lock_released(this);  // even if checking was turned off meanwhile
    if (detail::lock_tracing_on()) [[unlikely]]
      detail::trace_lock(detail::lock_step::release, name_, holder_);
    mutex_.unlock();
  }
  // The name given.
  const char* name() const noexcept { return name_; }

 private:
  std::mutex mutex_;
  const char* name_;
  std::atomic<std::uint64_t> holder_{0};  // for tracing (lock_trace.hpp)
};

}  // namespace troupe

namespace troupe {

// A scoped hold that records the caller's line for lock-order reports
// (std::lock_guard would record a line inside <mutex>):
//   auto held = hold(bus);
template <class Mutex>
class [[nodiscard]] scoped_hold {
 public:
  // Locks `m`; `where` is the site recorded for lock-order checking.
  scoped_hold(Mutex& m, const std::source_location& where) : m_(m) { m_.lock(where); }
  ~scoped_hold() { m_.unlock(); }
  scoped_hold(const scoped_hold&) = delete;
  scoped_hold& operator=(const scoped_hold&) = delete;

 private:
  Mutex& m_;
};

// Locks `m` until the returned hold is destroyed, recording the caller's
// line.
template <class Mutex>
scoped_hold<Mutex> hold(Mutex& m, const std::source_location& where = std::source_location::current()) {
  return scoped_hold<Mutex>(m, where);
}

}  // namespace troupe
