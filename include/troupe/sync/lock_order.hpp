// Lock-order checking (after Linux's lockdep), for named locks: pi_mutex,
// named_mutex and monitor<T>.
//
// Every time a thread takes a named lock B while holding A, the order
// A -> B is recorded (with both acquisition sites) in one graph shared by
// all threads. The first time an acquisition would close a cycle — some
// thread took B then (eventually) A, this one takes A then B — the
// inversion is reported with the sites of both orders, whether or not the
// threads ever actually deadlocked. Locks are identified by name, so every
// instance named "account" is one lock class.
//
//   lock_order::enable();                       // on by default unless NDEBUG
//   lock_order::set_reporter([](const lock_order::inversion& inv) { ... });
//
// Off, the checking costs one relaxed load per acquisition.
#pragma once

#include <cstddef>
#include <functional>
#include <source_location>
#include <string>

namespace troupe {

// Process-wide lock-order checking; all static.
class lock_order {
 public:
  // Where a lock was taken.
  struct site {
    // The source file.
    std::string file;
    // The line in it.
    unsigned line = 0;
    // The enclosing function.
    std::string function;
    // The site as text for reports.
    std::string to_string() const;  // "file:line (function)"
  };
  // Two locks seen taken in both orders.
  struct inversion {
    // The name of the lock held.
    std::string first;   // held...
    // The name of the lock being taken.
    std::string second;  // ...while taking this one, now
    // Where this thread took `first`.
    site first_taken_at;
    // Where this thread is taking `second`, now.
    site second_taken_at;
    // Where `second` was taken before `first`, in the reverse order seen before.
    site earlier_second_at;
    // Where `first` was then taken, in that reverse order.
    site earlier_first_at;
    // The report the default reporter prints.
    std::string text;  // the whole report, for logs
  };

  // Turns checking on or off for every thread.
  static void enable(bool on = true) noexcept;
  // Whether checking is on.
  static bool enabled() noexcept;
  // Default: writes the report to stderr.
  static void set_reporter(std::function<void(const inversion&)> reporter);
  // Inversions reported since start or the last reset().
  static std::size_t inversions() noexcept;
  // Forgets every recorded order (tests).
  static void reset();
};

namespace detail {
// Called by named locks; `lock` identifies the instance (for releases).
// `tried`: taken by try_lock, which cannot deadlock: held (so later locks
// order after it) but no order into it is recorded.
void lock_acquired(const void* lock, const char* name, const std::source_location& where,
                   bool tried = false);
void lock_released(const void* lock) noexcept;
bool lock_order_on() noexcept;
}  // namespace detail

}  // namespace troupe
