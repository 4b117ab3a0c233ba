// Channels and select: see include/troupe/sync/detail/channel_core.hpp for
// the invariants (one mutex per channel, one CAS decides which case of a
// waiter fires, results written under the lock, wake-ups after unlocking,
// channels locked in address order, cases polled in random order).
#include "troupe/sync/detail/channel_core.hpp"
#include "troupe/core/trace_probe.hpp"

#include "core/futex.hpp"
#include "core/backoff_lock.hpp"
#include "channel_locking.hpp"

#include <mutex>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace troupe::detail {

// ---- queues and the channel ------------------------------------------------------

struct entry_queue {
  chan_entry* head = nullptr;
  chan_entry* tail = nullptr;
  // head != nullptr, readable without the lock (a hint: see surely_blocks).
  std::atomic<bool> occupied{false};
  bool empty() const noexcept { return head == nullptr; }
  void push(chan_entry* e) noexcept;
  void unlink(chan_entry* e) noexcept;
  chan_entry* pop() noexcept;
};

// The critical sections are a few moves and pointer updates: a spin lock
// beats a futex round trip, and one that backs off (backoff_lock.hpp) lets
// a producer's and a consumer's cores each run batches of operations.
//
// Layout: a contended channel's cost is the cache lines that travel between
// the cores taking turns, so the lock and every field a critical section
// writes share the first line (64 bytes: hence the 32-bit ring indices);
// what is fixed at construction sits on the next one, shared by all cores.
struct alignas(64) chan_core {
  chan_core(const element_ops& ops, std::size_t capacity);
  ~chan_core();
  chan_core(const chan_core&) = delete;
  chan_core& operator=(const chan_core&) = delete;

  backoff_lock mutex;
  // Written only under the lock; atomic so that surely_blocks may read
  // them without it (relaxed: a stale value only costs a wasted lock).
  std::atomic<bool> closed{false};
  std::atomic<std::uint32_t> count{0};
  std::uint32_t head = 0;
  entry_queue receivers;
  entry_queue senders;

  alignas(64) const element_ops& ops;
  const std::uint32_t capacity;
  unsigned char* buffer = nullptr;  // capacity elements, ring

  std::uint32_t items() const noexcept { return count.load(std::memory_order_relaxed); }
  void set_items(std::uint32_t n) noexcept { count.store(n, std::memory_order_relaxed); }
  bool is_closed() const noexcept { return closed.load(std::memory_order_relaxed); }
  // The i-th oldest element (i <= items() < capacity, or i < items()).
  void* element(std::uint32_t i) const noexcept {
    std::uint32_t at = head + i;
    if (at >= capacity) at -= capacity;
    return buffer + std::size_t{at} * ops.size;
  }
};
static_assert(sizeof(chan_core) == 128, "chan_core: the written fields must fit the first cache line");

std::shared_ptr<chan_core> make_channel(const element_ops& ops, std::size_t capacity) {
  if (capacity > std::numeric_limits<std::uint32_t>::max() / 2)
    throw std::invalid_argument("troupe: a channel's capacity must be below 2^31");
  return std::make_shared<chan_core>(ops, capacity);
}
bool chan_is_closed(chan_core& c) {
  std::lock_guard lock(c.mutex);
  return c.is_closed();
}
std::size_t chan_size(chan_core& c) {
  std::lock_guard lock(c.mutex);
  return c.items();
}
std::size_t chan_capacity(const chan_core& c) noexcept { return c.capacity; }

void entry_queue::push(chan_entry* e) noexcept {
  e->next = nullptr;
  e->prev = tail;
  if (tail)
    tail->next = e;
  else
    head = e;
  tail = e;
  e->linked = true;
  occupied.store(true, std::memory_order_relaxed);
}

void entry_queue::unlink(chan_entry* e) noexcept {
  if (!e->linked) return;
  if (e->prev)
    e->prev->next = e->next;
  else
    head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    tail = e->prev;
  if (!head) occupied.store(false, std::memory_order_relaxed);
  e->prev = e->next = nullptr;
  e->linked = false;
}

chan_entry* entry_queue::pop() noexcept {
  chan_entry* e = head;
  if (e) unlink(e);
  return e;
}

chan_core::chan_core(const element_ops& element, std::size_t cap)
    : ops(element), capacity(static_cast<std::uint32_t>(cap)) {
  if (capacity > 0)
    buffer = static_cast<unsigned char*>(
        ::operator new(capacity * ops.size, std::align_val_t(std::max(ops.align, sizeof(void*)))));
}

chan_core::~chan_core() {
  for (std::uint32_t i = 0; i < items(); ++i) ops.destroy(element(i));
  if (buffer) ::operator delete(buffer, std::align_val_t(std::max(ops.align, sizeof(void*))));
}

namespace {

void fire(chan_entry* e, chan_status status, wake_list& wakes) {
  e->waiter->fired = e->case_index;
  e->waiter->status = status;
  if (e->waiter->pinned_by_wakers) e->waiter->pin();
  wakes.add(e->waiter);
}

// Tries one case with its channel locked (invariants 3 and 4).
chan_status try_case_unlogged(const select_case& c, wake_list& wakes) {
  chan_core& ch = *c.channel;
  if (c.is_send) {
    if (ch.is_closed()) return chan_status::closed;
    while (chan_entry* e = ch.receivers.pop()) {
      if (!e->waiter->try_claim()) continue;  // stale: that waiter fired elsewhere
      ch.ops.move_to_optional(e->slot, c.slot);
      fire(e, chan_status::ok, wakes);
      return chan_status::ok;
    }
    if (const std::uint32_t n = ch.items(); n < ch.capacity) {
      ch.ops.move_construct(ch.element(n), c.slot);
      ch.set_items(n + 1);
      return chan_status::ok;
    }
    return chan_status::would_block;
  }
  if (const std::uint32_t n = ch.items(); n > 0) {
    void* oldest = ch.element(0);
    ch.ops.move_to_optional(c.slot, oldest);
    ch.ops.destroy(oldest);
    if (++ch.head == ch.capacity) ch.head = 0;
    std::uint32_t left = n - 1;
    // A sender waiting on a full buffer takes the slot just freed.
    while (chan_entry* e = ch.senders.pop()) {
      if (!e->waiter->try_claim()) continue;
      ch.ops.move_construct(ch.element(left), e->slot);
      ++left;
      fire(e, chan_status::ok, wakes);
      break;
    }
    // One store: surely_blocks must never see the empty moment in between
    // (with the sender's entry already gone) on a buffer that stays full.
    ch.set_items(left);
    return chan_status::ok;
  }
  while (chan_entry* e = ch.senders.pop()) {
    if (!e->waiter->try_claim()) continue;
    ch.ops.move_to_optional(c.slot, e->slot);
    fire(e, chan_status::ok, wakes);
    return chan_status::ok;
  }
  return ch.is_closed() ? chan_status::closed : chan_status::would_block;
}

// The same, recorded in a trace while one records (trace_probe.hpp): a
// completed send or receive, with the channel's address and what it
// buffers after the step. A rendezvous with a waiting peer is recorded
// once, by the thread that completed it, as the step it took.
chan_status try_case_locked(const select_case& c, wake_list& wakes) {
  const chan_status status = try_case_unlogged(c, wakes);
  if (status == chan_status::ok && detail::probes_on()) [[unlikely]]
    detail::trace_probe(c.is_send ? tracing::event_kind::channel_send : tracing::event_kind::channel_recv, "channel",
                        reinterpret_cast<std::uintptr_t>(c.channel), c.channel->items());
  return status;
}

}  // namespace

channel_locks::channel_locks(const select_case* cases, int count) {
  for (int i = 0; i < count; ++i) add(cases[i].channel);
  if (size_ < 2) return;
  std::sort(begin(), end());
  size_ = static_cast<std::size_t>(std::unique(begin(), end()) - begin());
}
void channel_locks::lock() {
  for (std::size_t i = 0; i < size_; ++i) at(i)->mutex.lock();
}
void channel_locks::unlock() {
  for (std::size_t i = size_; i-- > 0;) at(i)->mutex.unlock();
}
void channel_locks::add(chan_core* c) {
  if (more_.empty() && size_ < inline_count) {
    inline_[size_++] = c;
    return;
  }
  if (more_.empty()) more_.assign(inline_, inline_ + size_);
  more_.push_back(c);
  ++size_;
}

namespace {

std::uint32_t random_below(std::uint32_t n) {
  thread_local std::uint64_t state =
      0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(
                                  std::hash<std::thread::id>{}(std::this_thread::get_id()));
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return static_cast<std::uint32_t>((state >> 32) % n);
}

// A random permutation of 0..count-1 (fair choice among ready cases).
class poll_order {
 public:
  explicit poll_order(int count) {
    if (count > inline_count) {
      more_.resize(static_cast<std::size_t>(count));
      order_ = more_.data();
    }
    for (int i = 0; i < count; ++i) order_[i] = i;
    for (int i = count - 1; i > 0; --i)
      std::swap(order_[i], order_[random_below(static_cast<std::uint32_t>(i + 1))]);
  }
  int operator[](int k) const noexcept { return order_[k]; }
  static constexpr int inline_count = 16;

 private:
  int inline_[inline_count];
  int* order_ = inline_;
  std::vector<int> more_;
};

}  // namespace

bool poll_locked(const select_case* cases, int count, select_outcome& out, wake_list& wakes) {
  if (count == 1) {
    chan_status st = try_case_locked(cases[0], wakes);
    if (st == chan_status::would_block) return false;
    out = {0, st};
    return true;
  }
  poll_order order(count);
  for (int k = 0; k < count; ++k) {
    const int i = order[k];
    chan_status st = try_case_locked(cases[i], wakes);
    if (st == chan_status::would_block) continue;
    out = {i, st};
    return true;
  }
  return false;
}

namespace {

// True if the case looked unable to proceed a moment ago, read without the
// lock. Only a hint, used by poll_each: every caller that goes on to wait
// or to take a default case polls again under the locks first
// (select_blocking, coro_select::suspend, coro_select::ready_under_locks),
// so a stale "blocks" costs nothing but that second poll, and a stale "may
// proceed" costs one lock. Worth it: an empty or full channel then costs a
// waiting side one lock round instead of two, and a select skips its idle
// channels without touching their locks. (Thread send/recv and try_* do
// not peek: they lock at once.)
bool surely_blocks(const select_case& c) noexcept {
  const chan_core& ch = *c.channel;
  if (ch.is_closed()) return false;
  if (c.is_send) return ch.items() == ch.capacity && !ch.receivers.occupied.load(std::memory_order_relaxed);
  return ch.items() == 0 && !ch.senders.occupied.load(std::memory_order_relaxed);
}

// The same, locking one channel at a time: enough to take a ready case
// (a select that finds one need not see all its channels at one instant),
// and much cheaper than locking them all. Only linking a waiter needs
// every lock at once.
bool poll_each(const select_case* cases, int count, select_outcome& out) {
  // A lone case waits for its lock. Otherwise a channel whose lock is held
  // is passed over at first (its holder is busy with it, and another case
  // may be ready); only if no other case was taken does select wait for
  // those locks, in the same order.
  auto take = [&](int i, backoff_lock& lock) {
    wake_list wakes;
    const chan_status st = try_case_locked(cases[i], wakes);
    lock.unlock();
    if (st == chan_status::would_block) return false;
    wakes.wake_all();
    out = {i, st};
    return true;
  };
  if (count == 1) {
    if (surely_blocks(cases[0])) return false;
    cases[0].channel->mutex.lock();
    return take(0, cases[0].channel->mutex);
  }
  poll_order order(count);
  int inline_passed[poll_order::inline_count];
  std::vector<int> more_passed;
  int* passed_over = inline_passed;
  if (count > poll_order::inline_count) {
    more_passed.resize(static_cast<std::size_t>(count));
    passed_over = more_passed.data();
  }
  int passed_count = 0;
  for (int k = 0; k < count; ++k) {
    const int i = order[k];
    if (surely_blocks(cases[i])) continue;
    backoff_lock& lock = cases[i].channel->mutex;
    if (!lock.try_lock()) {
      passed_over[passed_count++] = i;
      continue;
    }
    if (take(i, lock)) return true;
  }
  for (int p = 0; p < passed_count; ++p) {
    backoff_lock& lock = cases[passed_over[p]].channel->mutex;
    lock.lock();
    if (take(passed_over[p], lock)) return true;
  }
  return false;
}

}  // namespace

void link_entries(const select_case* cases, int count, chan_entry* entries, chan_waiter* w) {
  for (int i = 0; i < count; ++i) {
    chan_entry& e = entries[i];
    e.channel = cases[i].channel;
    e.waiter = w;
    e.slot = cases[i].slot;
    e.is_send = cases[i].is_send;
    e.case_index = i;
    (e.is_send ? e.channel->senders : e.channel->receivers).push(&e);
  }
}

void unlink_entries(chan_entry* entries, int count) {
  for (int i = 0; i < count; ++i) {
    chan_entry& e = entries[i];
    if (e.linked) (e.is_send ? e.channel->senders : e.channel->receivers).unlink(&e);
  }
}

namespace {

// ---- a blocked thread ------------------------------------------------------------------

using troupe::detail::futex_call;

// `woken`: 0 the owner is waiting (spinning), 2 it is asleep on the futex,
// 1 woken. The waker pays for a futex call only when the owner went to
// sleep; the owner sleeps only after announcing it (CAS 0 -> 2).
struct thread_waiter final : chan_waiter {
  static constexpr std::uint32_t waiting = 0, woke = 1, asleep = 2;
  std::atomic<std::uint32_t> woken{waiting};
  void wake() noexcept override {
    // The owner may return (and its stack be reused) as soon as it sees
    // `woke`: the futex call uses only the address, harmless even then (at
    // worst a spurious wake-up of an unrelated futex waiter).
    if (woken.exchange(woke, std::memory_order_acq_rel) == asleep)
      futex_call(&woken, FUTEX_WAKE_PRIVATE, 1, nullptr);
  }
  // False on timeout.
  bool wait_until(std::chrono::steady_clock::time_point deadline) {
    // A counterpart on another core often answers within microseconds:
    // spin briefly before paying for a sleep and a wake-up.
    for (int i = 0; i < 4000; ++i) {
      if (woken.load(std::memory_order_acquire) == woke) return true;
      if (i > 1000) std::this_thread::yield();
    }
    for (;;) {
      std::uint32_t seen = woken.load(std::memory_order_acquire);
      if (seen == woke) return true;
      if (seen == waiting &&
          !woken.compare_exchange_strong(seen, asleep, std::memory_order_acq_rel))
        continue;  // woken meanwhile
      if (deadline == std::chrono::steady_clock::time_point::max()) {
        futex_call(&woken, FUTEX_WAIT_PRIVATE, asleep, nullptr);
        continue;
      }
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) {
        // Back to "waiting" so a late waker does not call futex for nothing.
        std::uint32_t expected = asleep;
        woken.compare_exchange_strong(expected, waiting, std::memory_order_acq_rel);
        return woken.load(std::memory_order_acquire) == woke;
      }
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
      futex_call(&woken, FUTEX_WAIT_PRIVATE, asleep, &ts);
    }
  }
};

}  // namespace

select_outcome select_blocking(select_case* cases, int count, bool has_default,
                               std::chrono::steady_clock::time_point deadline) {
  select_outcome ready{};
  if (count > 1 && poll_each(cases, count, ready)) return ready;
  channel_locks locks(cases, count);
  wake_list wakes;
  select_outcome out{default_fired, chan_status::ok};
  locks.lock();
  if (count > 0 && poll_locked(cases, count, out, wakes)) {
    locks.unlock();
    wakes.wake_all();
    return out;
  }
  const bool finite = deadline != std::chrono::steady_clock::time_point::max();
  if (has_default) {
    locks.unlock();
    return {default_fired, chan_status::would_block};
  }
  if (count == 0) {  // only a timeout case: wait it out
    locks.unlock();
    if (!finite) throw std::logic_error("troupe: a select with no cases would wait forever");
    std::this_thread::sleep_until(deadline);
    return {timeout_fired, chan_status::would_block};
  }
  if (finite && deadline <= std::chrono::steady_clock::now()) {
    locks.unlock();
    return {timeout_fired, chan_status::would_block};
  }
  thread_waiter waiter;
  chan_entry inline_entries[4];
  std::vector<chan_entry> more_entries;
  chan_entry* entries = inline_entries;
  if (count > 4) {
    more_entries.resize(static_cast<std::size_t>(count));
    entries = more_entries.data();
  }
  link_entries(cases, count, entries, &waiter);
  locks.unlock();

  bool timed_out = false;
  if (!waiter.wait_until(deadline)) {
    if (waiter.try_give_up())
      timed_out = true;
    else
      waiter.wait_until(std::chrono::steady_clock::time_point::max());  // fired meanwhile
  }
  // The entry that fired was unlinked by its waker before the wake-up
  // (ordered by `woken`); a lone case then has nothing left to unlink.
  if (timed_out || count > 1) {
    locks.lock();
    unlink_entries(entries, count);
    locks.unlock();
  }
  if (timed_out) return {timeout_fired, chan_status::would_block};
  return {waiter.fired, waiter.status};
}

bool select_now(select_case* cases, int count, select_outcome& out) {
  return poll_each(cases, count, out);
}

void chan_close(chan_core& c) {
  wake_list wakes;
  {
    std::lock_guard lock(c.mutex);
    if (c.is_closed()) return;
    c.closed.store(true, std::memory_order_relaxed);
    // Receivers wait only on an empty buffer: they see "closed" at once.
    while (chan_entry* e = c.receivers.pop())
      if (e->waiter->try_claim()) fire(e, chan_status::closed, wakes);
    while (chan_entry* e = c.senders.pop())
      if (e->waiter->try_claim()) fire(e, chan_status::closed, wakes);
  }
  wakes.wake_all();
}

}  // namespace troupe::detail
