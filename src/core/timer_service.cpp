#include "timer_service.hpp"

#include "actor_cell.hpp"
#include "tracer.hpp"
#include "troupe/core/context.hpp"

#include <algorithm>

namespace troupe::detail {

timer_core::timer_core(duration tick_length, deliver_fn deliver_message, bool manual_time)
    : tick(tick_length),
      // Virtual time starts at one fixed point, so that every runtime of a
      // simulated cluster ticks on the same boundaries whenever it was made.
      origin(manual_time ? time_point(std::chrono::hours(1)) : std::chrono::steady_clock::now()),
      deliver(std::move(deliver_message)),
      manual(manual_time),
      virtual_now(origin) {}

std::uint64_t timer_core::tick_of(time_point t) const noexcept {
  if (t <= origin) return 0;
  auto elapsed = t - origin;
  return static_cast<std::uint64_t>((elapsed + tick - duration(1)) / tick);  // round up
}

std::uint64_t timer_core::ticks_elapsed(time_point t) const noexcept {
  if (t <= origin) return 0;
  return static_cast<std::uint64_t>((t - origin) / tick);  // round down
}

timer_service::timer_service(duration tick, deliver_fn deliver, bool manual)
    : core_(std::make_shared<timer_core>(tick, std::move(deliver), manual)) {
  if (!manual) thread_ = std::thread([this] { run(); });
}

time_point timer_service::now() const {
  std::lock_guard lock(core_->mutex);
  return core_->now();
}

std::optional<time_point> timer_service::next_event() const {
  std::lock_guard lock(core_->mutex);
  auto next = core_->wheel.next_event();
  if (!next) return std::nullopt;
  return core_->origin + core_->tick * static_cast<std::int64_t>(*next);
}

void timer_service::advance_to(time_point t) {
  std::vector<wheel_node*> expired;
  std::vector<std::shared_ptr<timer_entry>> due;
  for (;;) {
    {
      std::lock_guard lock(core_->mutex);
      if (t > core_->virtual_now) core_->virtual_now = t;
      core_->wheel.advance(core_->ticks_elapsed(core_->virtual_now), expired);
      for (wheel_node* node : expired)
        due.push_back(std::move(static_cast<timer_entry*>(node)->self_ref));
      expired.clear();
    }
    if (due.empty()) return;
    fire(due);  // a periodic timer may be due again: loop
  }
}

void timer_core::trace_step(tracing::event_kind kind, const timer_entry& entry) noexcept {
  tracer* t = trace.load(std::memory_order_acquire);
  if (!t) [[likely]]
    return;
  // A step taken by an actor is its; the timer thread's belong to no actor.
  auto* cell = static_cast<actor_cell*>(current_actor());
  const std::uint64_t actor = kind == tracing::event_kind::timer_fire || !cell ? 0 : cell->id();
  t->on_event(kind, actor, entry.target.id(), entry.trace_label, static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(&entry)));
}

void timer_service::fire(std::vector<std::shared_ptr<timer_entry>>& due) {
  timer_core& core = *core_;
  for (auto& entry : due) {
    if (entry->period_ticks == 0) {
      if (entry->finished.exchange(true, std::memory_order_acq_rel)) continue;
      core.trace_step(tracing::event_kind::timer_fire, *entry);  // won: no cancel touches it now
      if (entry->callback)
        run_callback(*entry);
      else
        core.deliver(entry->target, std::exchange(entry->once, nullptr));
      continue;
    }
    // Periodic: check, deliver and re-arm under the lock. cancel() takes the
    // lock after setting `finished`, so when it returns no firing is under
    // way and none will follow.
    std::lock_guard relock(core.mutex);
    if (entry->finished.load(std::memory_order_acquire) || core.stopping) continue;
    core.trace_step(tracing::event_kind::timer_fire, *entry);
    if (!core.deliver(entry->target, entry->factory())) {
      entry->finished.store(true, std::memory_order_release);
      continue;
    }
    entry->deadline += entry->period_ticks;
    entry->self_ref = entry;
    core.wheel.insert(entry.get());
  }
  due.clear();  // may free entries: outside the lock
}

timer_service::~timer_service() { stop(); }

void timer_service::run_callback(timer_entry& entry) noexcept {
  // Moved out first: whatever it captured is freed after it ran, here.
  auto fn = std::move(entry.callback);
  try {
    fn();
  } catch (...) {
    // A callback must not throw; the timer thread outlives any one of them.
  }
}

std::shared_ptr<timer_entry> timer_service::call_after(duration delay, std::function<void()> fn) {
  return start_entry(delay, duration::zero(), pid(), nullptr, nullptr, std::move(fn));
}

std::shared_ptr<timer_entry> timer_service::start(duration delay, duration period, pid target,
                                                   message* once,
                                                   std::function<message*()> factory) {
  return start_entry(delay, period, std::move(target), once, std::move(factory), nullptr);
}

std::shared_ptr<timer_entry> timer_service::start_entry(duration delay, duration period,
                                                         pid target, message* once,
                                                         std::function<message*()> factory,
                                                         std::function<void()> callback) {
  auto entry = std::make_shared<timer_entry>();
  entry->core = core_;
  entry->target = std::move(target);
  entry->once = once;
  entry->factory = std::move(factory);
  entry->callback = std::move(callback);
  entry->trace_label = entry->callback ? "callback" : period > duration::zero() ? "periodic" : "message";
  if (period > duration::zero())
    entry->period_ticks = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(period / core_->tick));
  delay = std::max(delay, duration::zero());
  std::unique_lock lock(core_->mutex);
  if (core_->stopping) {
    // No thread will ever fire it. A one-shot fires now rather than never:
    // a timeout that never comes would leave its waiter hanging.
    entry->finished.store(true, std::memory_order_relaxed);
    lock.unlock();
    if (entry->callback)
      run_callback(*entry);
    else if (message* msg = std::exchange(entry->once, nullptr))
      core_->deliver(entry->target, msg);
    return entry;
  }
  core_->trace_step(tracing::event_kind::timer_set, *entry);
  auto now = core_->now();
  entry->deadline = delay >= std::chrono::hours(24 * 365 * 100) ? ~std::uint64_t{0} >> 1
                                                                  : core_->tick_of(now + delay);
  entry->self_ref = entry;
  core_->wheel.insert(entry.get());
  if (entry->deadline < core_->sleeping_until) core_->wakeup.notify_one();
  return entry;
}

bool timer_service::cancel(timer_entry& entry) noexcept {
  if (entry.finished.exchange(true, std::memory_order_acq_rel)) return false;
  // Winning `finished` makes the callback ours: no firing will touch it.
  // Dropped now (after the lock below), not when the entry is freed: what it
  // captured may hold the entry's own handle (a cycle otherwise).
  std::function<void()> dropped = std::move(entry.callback);
  auto core = entry.core.lock();
  if (!core) return true;
  std::shared_ptr<timer_entry> released;  // freed after unlocking
  std::lock_guard lock(core->mutex);  // also waits for a periodic firing under way
  // Under the lock: stop() clears the tracer pointer, then takes the lock,
  // before the runtime frees the tracer.
  core->trace_step(tracing::event_kind::timer_cancel, entry);
  if (entry.linked) {
    core->wheel.remove(&entry);
    released = std::move(entry.self_ref);
  }
  return true;
}

void timer_service::run() {
  timer_core& core = *core_;
  std::vector<wheel_node*> expired;
  std::vector<std::shared_ptr<timer_entry>> due;
  std::unique_lock lock(core.mutex);
  while (!core.stopping) {
    core.wheel.advance(core.ticks_elapsed(std::chrono::steady_clock::now()), expired);
    if (!expired.empty()) {
      for (wheel_node* node : expired)
        due.push_back(std::move(static_cast<timer_entry*>(node)->self_ref));
      expired.clear();
      lock.unlock();
      fire(due);
      lock.lock();
      continue;
    }
    auto next = core.wheel.next_event();
    if (!next) {
      core.sleeping_until = ~std::uint64_t{0};
      core.wakeup.wait(lock);
    } else {
      core.sleeping_until = *next;
      core.wakeup.wait_until(lock, core.origin + core.tick * static_cast<std::int64_t>(*next));
    }
    core.sleeping_until = ~std::uint64_t{0};
  }
}

void timer_service::stop() {
  // A handle cancelled after the runtime is gone must not reach its tracer.
  core_->trace.store(nullptr, std::memory_order_release);
  {
    std::lock_guard lock(core_->mutex);
    if (core_->stopping && !thread_.joinable()) return;
    core_->stopping = true;
  }
  core_->wakeup.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<wheel_node*> pending;
  std::vector<std::shared_ptr<timer_entry>> released;
  {
    std::lock_guard lock(core_->mutex);
    core_->wheel.drain(pending);
    for (wheel_node* node : pending) {
      auto* entry = static_cast<timer_entry*>(node);
      released.push_back(std::move(entry->self_ref));
    }
  }
  // Timeouts are promises that a wait ends: fire them now rather than never
  // (a scoped actor on another thread may be waiting on one). Other timers
  // are dropped with the runtime.
  for (auto& entry : released) {
    if (entry->finished.exchange(true, std::memory_order_acq_rel)) continue;
    if (entry->callback)
      run_callback(*entry);
    else if (entry->once && entry->once->is_system())
      core_->deliver(entry->target, std::exchange(entry->once, nullptr));
  }
}

}  // namespace troupe::detail
