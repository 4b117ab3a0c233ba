// The work-stealing scheduler; the design and its invariants are stated at
// the top of scheduler.hpp.
#include "scheduler.hpp"

#include "actor_cell.hpp"
#include "cpu_relax.hpp"
#include "futex.hpp"
#include "tracer.hpp"

#include <algorithm>
#include <system_error>
#include <thread>
#include <utility>

namespace troupe::detail {
namespace {
thread_local worker* current_worker = nullptr;
thread_local lent_thread* current_lender = nullptr;

std::uint64_t next_random(std::uint64_t& state) noexcept {
  // xorshift64*: cheap victim selection, quality is irrelevant here.
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

}  // namespace

std::int64_t scheduler::now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

lent_thread::lent_thread(executor& exec, std::function<void()> stall_hook)
    : on_stall(std::move(stall_hook)), exec_(exec), previous_(current_lender) {
  current_lender = this;
  exec_.add_lender(*this);
}

lent_thread::~lent_thread() {
  current_lender = previous_;
  exec_.remove_lender(*this);
  // Unregistered first, so the executor cannot keep it here again.
  if (actor_cell* cell = ready_.exchange(nullptr, std::memory_order_acq_rel)) exec_.schedule(cell);
}

lent_thread* lent_thread::current() noexcept { return current_lender; }

void lent_thread::run_ready() {
  if (has_ready()) exec_.run_lent(*this);
}

void executor::run_lent(lent_thread& lender) {
  if (actor_cell* cell = lender.ready_.exchange(nullptr, std::memory_order_acq_rel)) schedule(cell);
}

scheduler::scheduler(unsigned workers, unsigned budget, run_fn run, std::chrono::nanoseconds park_spin,
                     bool lend, stall_policy stalls)
    : budget_(budget),
      run_(run),
      park_spin_(park_spin),
      lend_(lend),
      regular_(workers),
      stalls_(std::move(stalls)) {
  const bool watched = stalls_.threshold.count() > 0;
  const unsigned spares = watched ? stalls_.spares : 0;
  workers_.reserve(workers + spares);
  for (unsigned i = 0; i < workers + spares; ++i) {
    auto w = std::make_unique<worker>();
    w->owner = this;
    w->index = i;
    w->rng = 0x9E3779B97F4A7C15ULL * (i + 1);
    w->spare = i >= workers;
    workers_.push_back(std::move(w));
  }
  // Spare threads start when first activated (activate_spare).
  for (unsigned i = 0; i < workers; ++i)
    workers_[i]->thread = std::thread([this, w = workers_[i].get()] { work(*w); });
  if (watched) monitor_ = std::thread([this] { monitor(); });
}

scheduler::~scheduler() { stop(); }

void scheduler::stop() {
  // ordering: seq_cst, against run_lent's increment of lenders_ (Dekker):
  // a lending thread either sees stopping_ or is waited for below.
  const bool again = stopping_.exchange(true, std::memory_order_seq_cst);
  if (!again) {
    {
      std::lock_guard lock(monitor_mutex_);
      monitor_asleep_.store(false, std::memory_order_seq_cst);
    }
    monitor_cv_.notify_all();
  }
  // The monitor first: it starts spare threads, which are joined below.
  if (monitor_.joinable() && monitor_.get_id() != std::this_thread::get_id()) monitor_.join();
  if (!again) {
    for (auto& w : workers_) {
      w->wake.store(1, std::memory_order_release);
      futex_wake_one(w->wake);
    }
  }
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  while (lenders_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
}

void scheduler::collect(std::vector<troupe::worker_stats>& out, std::size_t& global) const {
  global = global_size_.load(std::memory_order_relaxed);
  for (const auto& w : workers_) {
    troupe::worker_stats s;
    s.index = w->index;
    s.spare = w->spare;
    s.turns = w->turn_seq.load(std::memory_order_relaxed) / 2;
    s.steals = w->steals.load(std::memory_order_relaxed);
    s.parks = w->parks.load(std::memory_order_relaxed);
    // The sleep under way counts too: a worker idle for an hour has slept
    // for an hour. The pair is read under the worker's sleep_seq (see
    // worker), with `now` taken before it: a reader delayed after the
    // snapshot counts a sleep short, never long, so the CAS-max below never
    // keeps an overcount. A reader that keeps losing the race reports the
    // last figure.
    std::int64_t asleep = 0;
    for (int attempt = 0; attempt < 64; ++attempt) {
      const std::int64_t now = now_ns();
      const std::uint32_t before = w->sleep_seq.load(std::memory_order_acquire);
      if (before & 1) continue;
      const std::int64_t ended = w->asleep_ns.load(std::memory_order_relaxed);
      const std::int64_t since = w->sleeping_since.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (w->sleep_seq.load(std::memory_order_relaxed) != before) continue;
      asleep = ended + (since ? std::max<std::int64_t>(0, now - since) : 0);
      break;
    }
    std::int64_t reported = w->asleep_reported.load(std::memory_order_relaxed);
    while (asleep > reported &&
           !w->asleep_reported.compare_exchange_weak(reported, asleep, std::memory_order_relaxed)) {
    }
    s.asleep = std::chrono::nanoseconds(std::max(asleep, reported));
    s.run_queue = w->local.size_estimate() + w->spawned.size_estimate() +
                  (w->lifo.load(std::memory_order_relaxed) ? 1 : 0);
    out.push_back(s);
  }
}

void scheduler::add_lender(lent_thread& lender) {
  std::lock_guard lock(monitor_mutex_);
  lent_threads_.push_back(&lender);
  lender_count_.store(static_cast<unsigned>(lent_threads_.size()), std::memory_order_relaxed);
}

void scheduler::remove_lender(lent_thread& lender) {
  std::lock_guard lock(monitor_mutex_);
  std::erase(lent_threads_, &lender);
  lender_count_.store(static_cast<unsigned>(lent_threads_.size()), std::memory_order_relaxed);
}

// ---- turns (the monitor is in scheduler_monitor.cpp) ------------------------

template <class Watched>
executor::after_turn scheduler::run_watched(Watched& w, actor_cell* cell) {
  // ordering: relaxed; the monitor's reading is a heuristic sample, and
  // stalled_turn (release) publishes stalled_since to the acquire below.
  const std::uint64_t seq = w.turn_seq.load(std::memory_order_relaxed);
  w.turn_seq.store(seq + 1, std::memory_order_relaxed);
  const std::uint64_t id = cell->id();  // the cell may be gone after the turn
  const after_turn how = run_(cell, budget_);
  w.turn_seq.store(seq + 2, std::memory_order_relaxed);
  if (w.stalled_turn.load(std::memory_order_acquire) == seq + 1) {
    const std::chrono::nanoseconds ran(now_ns() - w.stalled_since.load(std::memory_order_relaxed));
    if (stalls_.warn_after.count() > 0 && ran >= stalls_.warn_after) {
      if (stalls_.report) stalls_.report(id, ran);
      // After the report: whoever sees the count can find the log line.
      long_turns_.fetch_add(1, std::memory_order_release);
    }
  }
  return how;
}


void scheduler::spare_work(worker& self) {
  current_worker = &self;
  for (;;) {
    // A spare waiting to be activated is a parked worker too.
    if (tracer* t = trace_.load(std::memory_order_acquire)) [[unlikely]]
      t->on_event(tracing::event_kind::park, 0, 0, nullptr, self.index);
    self.begin_sleep(now_ns());
    while (self.wake.exchange(0, std::memory_order_acquire) == 0) futex_wait(self.wake, 0);
    self.end_sleep(now_ns());
    if (stopping()) break;
    while (!stopping()) {
      if (actor_cell* cell = next_task(self)) {
        leave_searching(self);
        finish_turn(self, cell, run_watched(self, cell));
        continue;
      }
      // Retire (invariant 6): as park() leaves searching, then re-check.
      if (self.searching) {
        self.searching = false;
        searching_.fetch_sub(1, std::memory_order_seq_cst);
      }
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (!any_work_visible()) break;
      self.searching = true;
      searching_.fetch_add(1, std::memory_order_seq_cst);
    }
    active_spares_.fetch_sub(1, std::memory_order_relaxed);
    self.active.store(false, std::memory_order_release);
  }
  current_worker = nullptr;
}

void scheduler::finish_turn(worker& self, actor_cell* cell, after_turn how) {
  switch (how) {
    case after_turn::done:
      break;
    case after_turn::requeue:
      push_local(self, cell);
      notify_parked();
      break;
    case after_turn::requeue_late:
      push_global(cell);
      notify_parked();
      break;
  }
}

bool scheduler::runs_on_this_thread() const noexcept {
  if (current_worker) return current_worker->owner == this;
  return current_lender && current_lender->running_ && &current_lender->exec_ == this;
}

void scheduler::turn_will_wait() noexcept {
  worker* self = current_worker;
  if (!self || self->owner != this || stalls_.threshold.count() == 0) return;
  const std::uint64_t seq = self->turn_seq.load(std::memory_order_relaxed);
  if ((seq & 1) == 0) return;
  // Marked as the monitor marks a stall (same orders; see run_watched), so
  // that it counts toward a spare and schedule() stops filling the LIFO
  // slot. The report of a long turn then measures from here.
  if (self->stalled_turn.load(std::memory_order_relaxed) != seq) {
    self->stalled_since.store(now_ns(), std::memory_order_relaxed);
    self->stalled_turn.store(seq, std::memory_order_release);
  }
  if (actor_cell* cell = self->lifo.exchange(nullptr, std::memory_order_acq_rel)) push_global(cell);
  if (!any_work_visible()) return;
  // A parked worker takes it now; with none, the monitor adds a spare at
  // once instead of at its next tick.
  notify_parked();
  wake_monitor();
  monitor_cv_.notify_one();
}

bool scheduler::keep_on_lender(actor_cell* cell) noexcept {
  lent_thread* lender = current_lender;
  if (!lend_ || !lender || lender->has_ready() || &lender->exec_ != this) return false;
  // A busy lender on a machine with cores to spare hands on (lent_thread::idle).
  if (lender->busy_turns_ >= lent_thread::busy_turn_limit &&
      lender_count_.load(std::memory_order_relaxed) < cores_)
    return false;
  // A heuristic read: a worker that wakes meanwhile just finds nothing.
  if (parked_.load(std::memory_order_relaxed) != regular_ ||
      active_spares_.load(std::memory_order_relaxed) != 0)
    return false;
  // Nothing is kept by a turn that has stalled: it would wait for the turn.
  const std::uint64_t seq = lender->turn_seq.load(std::memory_order_relaxed);
  if ((seq & 1) != 0 && lender->stalled_turn.load(std::memory_order_relaxed) == seq) return false;
  lender->ready_.store(cell, std::memory_order_release);
  if (tracer* t = trace_.load(std::memory_order_acquire)) [[unlikely]]
    t->on_event(tracing::event_kind::lend, cell->id(), 0, nullptr, 0);
  return true;
}

void scheduler::run_lent(lent_thread& lender) {
  // Counted in lenders_ (and running) until it returns, exception or not:
  // stop() waits for this count.
  struct lending {
    scheduler& s;
    lent_thread& l;
    lending(scheduler& s, lent_thread& l) : s(s), l(l) { s.lenders_.fetch_add(1, std::memory_order_seq_cst); }
    ~lending() {
      l.running_ = false;
      s.lenders_.fetch_sub(1, std::memory_order_release);
    }
  } counted(*this, lender);
  if (stopping_.load(std::memory_order_seq_cst)) {
    lender.ready_.store(nullptr, std::memory_order_relaxed);  // as a queued actor at stop: ended by the runtime
    return;
  }
  wake_monitor();  // after lenders_'s seq_cst increment: see monitor()
  lender.running_ = true;
  for (unsigned turns = 0; actor_cell* cell = lender.ready_.exchange(nullptr, std::memory_order_acq_rel); ++turns) {
    if (stopping()) break;
    if (turns == lend_turn_limit) {
      push_global(cell);
      notify_parked();
      break;
    }
    ++lender.busy_turns_;
    switch (run_watched(lender, cell)) {
      case after_turn::done:
        break;
      case after_turn::requeue:
        // Kept here again if the workers still sleep and nothing else is
        // kept, else to them.
        schedule(cell);
        break;
      case after_turn::requeue_late:
        // It floods a busy receiver: the receiver runs first (header).
        push_global(cell);
        notify_parked();
        break;
    }
  }
}

void scheduler::schedule(actor_cell* cell) noexcept {
  if (stopping()) return;
  worker* self = current_worker;
  if (self && self->owner == this && !waiting_turn(*self)) {
    // ordering: the LIFO slot is stolen by exchange too; acq_rel hands the
    // cell's published state from the scheduling thread to the runner.
    actor_cell* previous = self->lifo.exchange(cell, std::memory_order_acq_rel);
    if (previous) {
      push_local(*self, previous);
      notify_parked();
    }
    return;
  }
  if (keep_on_lender(cell)) return;
  push_global(cell);
  notify_parked();
}

void scheduler::schedule_spawned(actor_cell* cell) noexcept {
  worker* self = current_worker;
  if (!self || self->owner != this || stopping()) {
    schedule(cell);
    return;
  }
  // Out of memory ends the process here, as in push_global.
  if (self->spawned.push(cell)) notify_parked();
}

void scheduler::push_local(worker& self, actor_cell* cell) {
  if (!self.local.push(cell)) push_global(cell);
}

void scheduler::push_global(actor_cell* cell) {
  std::lock_guard lock(global_lock_);
  global_.push_back(cell);
  global_size_.fetch_add(1, std::memory_order_release);
}

actor_cell* scheduler::pop_global() {
  if (global_size_.load(std::memory_order_acquire) == 0) return nullptr;
  std::lock_guard lock(global_lock_);
  if (global_.empty()) return nullptr;
  actor_cell* cell = global_.front();
  global_.pop_front();
  global_size_.fetch_sub(1, std::memory_order_release);
  return cell;
}

bool scheduler::any_work_visible() const noexcept {
  if (global_size_.load(std::memory_order_acquire) != 0) return true;
  for (auto& w : workers_) {
    if (!w->local.empty()) return true;
    if (w->lifo.load(std::memory_order_acquire)) return true;
    if (!w->spawned.empty()) return true;
  }
  return false;
}

void scheduler::notify_parked() noexcept {
  // ordering: seq_cst fence after publishing work; pairs with park's fence.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (searching_.load(std::memory_order_relaxed) != 0) return;
  if (parked_.load(std::memory_order_relaxed) == 0) return;
  worker* chosen = nullptr;
  {
    std::lock_guard lock(idle_mutex_);
    if (idle_.empty()) return;
    // The spinning worker first: it is awake, and needs no system call.
    if (spinner_) {
      chosen = spinner_;
      spinner_ = nullptr;
      idle_.erase(std::find(idle_.begin(), idle_.end(), chosen));
    } else {
      chosen = idle_.back();
      idle_.pop_back();
    }
    parked_.fetch_sub(1, std::memory_order_relaxed);
    // The woken worker starts as a searcher (invariant 1).
    searching_.fetch_add(1, std::memory_order_relaxed);
    chosen->searching = true;
  }
  chosen->wake.store(1, std::memory_order_release);
  futex_wake_one(chosen->wake);
  if (tracer* t = trace_.load(std::memory_order_acquire)) [[unlikely]]
    t->on_event(tracing::event_kind::wake, 0, 0, nullptr, chosen->index);
  wake_monitor();
}

void scheduler::leave_searching(worker& self) noexcept {
  if (!self.searching) return;
  self.searching = false;
  // The last searcher to find work wakes another one if there is more
  // (producers woke nobody while it searched). ordering: the fence pairs
  // with notify_parked's: a producer that saw us searching published its
  // work before we look.
  if (searching_.fetch_sub(1, std::memory_order_seq_cst) == 1) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (any_work_visible()) notify_parked();
  }
}

actor_cell* scheduler::next_task(worker& self) {
  ++self.tick;
  if (self.tick % global_check_interval == 0) {
    if (actor_cell* cell = pop_global()) return cell;
  }
  // Spawned actors wait behind woken ones, but never for ever: a worker
  // whose local queue never drains still gives them a turn now and then.
  if (self.tick % global_check_interval == global_check_interval / 2) {
    if (actor_cell* cell = self.spawned.pop()) return cell;
  }
  if (actor_cell* cell = self.lifo.exchange(nullptr, std::memory_order_acq_rel)) {
    const bool only_spawned_wait = self.local.empty();
    if (self.lifo_streak < lifo_limit || (only_spawned_wait && self.spawned.empty())) {
      ++self.lifo_streak;
      return cell;
    }
    // Others have waited lifo_limit turns: the LIFO actor queues up, behind
    // the local queue, or behind a spawned actor when only those wait (a
    // ping-pong pair would otherwise keep the slot and starve them).
    push_local(self, cell);
    self.lifo_streak = 0;
    if (only_spawned_wait)
      if (actor_cell* spawned = self.spawned.pop()) return spawned;
  }
  self.lifo_streak = 0;
  if (actor_cell* cell = self.local.pop()) return cell;
  if (actor_cell* cell = self.spawned.pop()) return cell;
  if (actor_cell* cell = pop_global()) return cell;
  return steal(self);
}

actor_cell* scheduler::steal(worker& self) {
  const auto count = static_cast<unsigned>(workers_.size());  // spares are victims too
  if (count < 2) return nullptr;
  if (!self.searching) {
    // Bound the searchers to half the regular workers: more only burn CPU.
    if (2 * searching_.load(std::memory_order_relaxed) >= std::max(regular_, 2u)) return nullptr;
    self.searching = true;
    searching_.fetch_add(1, std::memory_order_seq_cst);
  }
  const auto start = static_cast<unsigned>(next_random(self.rng) % count);
  for (unsigned i = 0; i < count; ++i) {
    worker& victim = *workers_[(start + i) % count];
    if (&victim == &self) continue;
    actor_cell* cell = victim.local.steal_into(self.local);
    if (!cell) cell = victim.lifo.exchange(nullptr, std::memory_order_acq_rel);
    if (!cell) cell = victim.spawned.steal_into(self.spawned);
    if (!cell) continue;
    self.steals.store(self.steals.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (tracer* t = trace_.load(std::memory_order_acquire)) [[unlikely]]
      t->on_event(tracing::event_kind::steal, 0, 0, nullptr, victim.index);
    return cell;
  }
  return pop_global();
}

void scheduler::park(worker& self) {
  bool spin = false;
  {
    std::lock_guard lock(idle_mutex_);
    idle_.push_back(&self);
    if (!spinner_ && park_spin_.count() > 0) {
      spinner_ = &self;
      spin = true;
    }
    parked_.fetch_add(1, std::memory_order_relaxed);
    if (self.searching) {
      self.searching = false;
      searching_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  // ordering: pairs with notify_parked's fence (invariant 2).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (any_work_visible() || stopping()) {
    bool unparked = false;
    {
      std::lock_guard lock(idle_mutex_);
      auto it = std::find(idle_.begin(), idle_.end(), &self);
      if (it != idle_.end()) {
        idle_.erase(it);
        if (spinner_ == &self) spinner_ = nullptr;
        parked_.fetch_sub(1, std::memory_order_relaxed);
        self.searching = true;
        searching_.fetch_add(1, std::memory_order_relaxed);
        unparked = true;
      }
    }
    if (unparked) {
      // This worker runs again without notify_parked. Outside idle_mutex_:
      // the monitor takes idle_mutex_ under monitor_mutex_.
      wake_monitor();
      return;
    }
    // Someone already chose us: fall through and consume its wake-up.
  }
  self.begin_sleep(now_ns());
  if (spin && !spin_until_woken(self)) {
    std::lock_guard lock(idle_mutex_);
    if (spinner_ == &self) spinner_ = nullptr;
  }
  if (tracer* t = trace_.load(std::memory_order_acquire)) [[unlikely]]
    t->on_event(tracing::event_kind::park, 0, 0, nullptr, self.index);
  while (self.wake.exchange(0, std::memory_order_acquire) == 0) futex_wait(self.wake, 0);
  self.end_sleep(now_ns());
}

bool scheduler::spin_until_woken(worker& self) const noexcept {
  // Pauses, with a yield every few: on a machine with more runnable threads
  // than cores the spinner gives its core to them (the peer of a
  // request/response exchange, often) instead of standing in their way.
  const auto until = std::chrono::steady_clock::now() + park_spin_;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (self.wake.load(std::memory_order_acquire) != 0) return true;
      cpu_relax();
    }
    std::this_thread::yield();
    if (std::chrono::steady_clock::now() >= until) return false;
  }
}

void scheduler::work(worker& self) {
  current_worker = &self;
  while (!stopping()) {
    actor_cell* cell = next_task(self);
    if (!cell) {
      park(self);
      continue;
    }
    leave_searching(self);
    finish_turn(self, cell, run_watched(self, cell));
  }
  current_worker = nullptr;
}

}  // namespace troupe::detail
