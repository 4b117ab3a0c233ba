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

class lock_order {
 public:
  struct site {
    std::string file;
    unsigned line = 0;
    std::string function;
    std::string to_string() const;  // "file:line (function)"
  };
  struct inversion {
    std::string first;   // held...
    std::string second;  // ...while taking this one, now
    site first_taken_at, second_taken_at;    // this thread, now
    site earlier_second_at, earlier_first_at;  // the reverse order, seen before
    std::string text;  // the whole report, for logs
  };

  static void enable(bool on = true) noexcept;
  static bool enabled() noexcept;
  // Default: writes the report to stderr.
  static void set_reporter(std::function<void(const inversion&)> reporter);
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
