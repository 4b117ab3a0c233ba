// What channel_core.cpp shares with coro_select.cpp: collecting wake-ups
// until the locks are released, locking a select's channels, and polling,
// linking and unlinking its cases with those locks held. Private to
// src/sync; the invariants are in troupe/sync/detail/channel_core.hpp.
#pragma once

#include <cstddef>
#include <vector>

#include "troupe/sync/detail/channel_core.hpp"

namespace troupe::detail {

// Waiters to wake once every lock is released. Rarely more than one.
class wake_list {
 public:
  void add(chan_waiter* w) {
    if (count_ < inline_count)
      inline_[count_++] = w;
    else
      more_.push_back(w);
  }
  void wake_all() noexcept {
    for (std::size_t i = 0; i < count_; ++i) wake_one(inline_[i]);
    for (chan_waiter* w : more_) wake_one(w);
  }

 private:
  static void wake_one(chan_waiter* w) noexcept {
    w->wake();  // releases the pin fire() took, if any
  }
  static constexpr std::size_t inline_count = 4;
  chan_waiter* inline_[inline_count];
  std::size_t count_ = 0;
  std::vector<chan_waiter*> more_;
};

// The distinct channels of a select, locked in address order (invariant 5).
class channel_locks {
 public:
  channel_locks(const select_case* cases, int count);
  void lock();
  void unlock();

 private:
  static constexpr std::size_t inline_count = 8;
  void add(chan_core* c);
  chan_core** begin() { return more_.empty() ? inline_ : more_.data(); }
  chan_core** end() { return begin() + size_; }
  chan_core* at(std::size_t i) { return begin()[i]; }
  chan_core* inline_[inline_count];
  std::vector<chan_core*> more_;
  std::size_t size_ = 0;
};

// With all of the cases' channels locked: tries the cases in a random
// order; true (and `out` set) if one happened.
bool poll_locked(const select_case* cases, int count, select_outcome& out, wake_list& wakes);
// With all of the cases' channels locked: links one entry per case for `w`.
void link_entries(const select_case* cases, int count, chan_entry* entries, chan_waiter* w);
// With all of the cases' channels locked: unlinks those still linked.
void unlink_entries(chan_entry* entries, int count);

}  // namespace troupe::detail
