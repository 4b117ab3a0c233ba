// timer_service: one thread per runtime that drives a timing_wheel from the
// steady clock and delivers each due timer's message to its target.
//
// Ownership. A linked entry owns itself through `self_ref`, so a fired or
// cancelled timer is freed as soon as no handle holds it. Handles reach the
// service through a weak pointer, so cancel() after the runtime is gone is
// a harmless no-op.
// Cancellation: `finished` is set exactly once (by cancel, by the one-shot
// firing, or when a periodic timer's target is dead); the thread re-arms a
// periodic timer only while holding the lock and only if not finished.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "troupe/core/trace_kind.hpp"
#include "timing_wheel.hpp"
#include "troupe/core/message.hpp"
#include "troupe/core/timer.hpp"

namespace troupe::detail {

struct timer_core;
class tracer;

struct timer_entry : wheel_node {
  ~timer_entry() { delete once; }
  std::weak_ptr<timer_core> core;
  std::shared_ptr<timer_entry> self_ref;  // set while linked in the wheel
  std::atomic<bool> finished{false};
  std::uint64_t period_ticks = 0;  // 0: one-shot
  pid target;
  message* once = nullptr;
  std::function<message*()> factory;
  std::function<void()> callback;  // call_after: run on the timer thread
  const char* trace_label = "message";  // set when made: "message", "periodic" or "callback"
};

// Delivers a timer's message; false when the target is gone.
using deliver_fn = std::function<bool(const pid& target, message* msg)>;

struct timer_core {
  timer_core(duration tick_length, deliver_fn deliver, bool manual);
  // The first tick at or after t (a deadline never fires early).
  std::uint64_t tick_of(time_point t) const noexcept;
  // Ticks wholly elapsed by t (how far the wheel may advance).
  std::uint64_t ticks_elapsed(time_point t) const noexcept;
  time_point now() const noexcept {
    return manual ? virtual_now : std::chrono::steady_clock::now();
  }

  const duration tick;
  const time_point origin;
  const deliver_fn deliver;
  const bool manual;          // virtual time, moved only by advance_to
  time_point virtual_now;     // guarded by mutex (manual mode)
  std::mutex mutex;
  std::condition_variable wakeup;
  timing_wheel wheel;
  std::uint64_t sleeping_until = ~std::uint64_t{0};
  bool stopping = false;
  // Set while the runtime traces: timers set, fired and cancelled are
  // recorded (the tracer outlives the service's thread).
  std::atomic<tracer*> trace{nullptr};
  // Records `kind` for `entry` if tracing.
  void trace_step(tracing::event_kind kind, const timer_entry& entry) noexcept;
};

class timer_service {
 public:
  // manual: no thread; time is virtual and moves only by advance_to (the
  // deterministic test mode).
  timer_service(duration tick, deliver_fn deliver, bool manual = false);
  ~timer_service();

  time_point now() const;
  // Manual mode: moves virtual time to `t` (never back) and fires, on the
  // calling thread and in deadline order, every timer due by then.
  void advance_to(time_point t);
  // When the wheel next has work (an expiry or a cascade); nullopt if empty.
  std::optional<time_point> next_event() const;

  // Any thread. Exactly one of `once` and `factory` is set; the entry takes
  // ownership of `once`.
  std::shared_ptr<timer_entry> start(duration delay, duration period, pid target, message* once,
                                     std::function<message*()> factory);
  // Any thread: runs `fn` once after `delay`, on the timer thread (the
  // advancing thread in manual mode). Like timeouts, a pending callback
  // runs at stop() rather than never.
  std::shared_ptr<timer_entry> call_after(duration delay, std::function<void()> fn);
  // Any thread; idempotent. True if this call finished the timer.
  static bool cancel(timer_entry& entry) noexcept;
  // Joins the thread and frees every pending timer. Idempotent.
  void stop();
  // Timers set and not yet fired or cancelled. Any thread.
  std::size_t pending() const {
    std::lock_guard lock(core_->mutex);
    return core_->wheel.size();
  }
  // Records timer steps into `t` from now on (null: no more).
  // Ignored once stopped: the runtime frees its tracer after stop().
  void trace_into(tracer* t) noexcept {
    std::lock_guard lock(core_->mutex);
    if (t && core_->stopping) return;
    core_->trace.store(t, std::memory_order_release);
  }

 private:
  void run();
  std::shared_ptr<timer_entry> start_entry(duration delay, duration period, pid target,
                                           message* once, std::function<message*()> factory,
                                           std::function<void()> callback);
  static void run_callback(timer_entry& entry) noexcept;
  // Fires entries taken from the wheel; called without the lock held.
  void fire(std::vector<std::shared_ptr<timer_entry>>& due);
  std::shared_ptr<timer_core> core_;
  std::thread thread_;
};

}  // namespace troupe::detail
