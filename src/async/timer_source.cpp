#include "troupe/async/timer_source.hpp"

#include <vector>

#include "troupe/core/context.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe {

namespace {
struct runtime_call final : timer_source::pending_call {
  explicit runtime_call(timer_handle h) noexcept : handle(std::move(h)) {}
  bool cancel() noexcept override { return handle.cancel(); }
  timer_handle handle;
};
}  // namespace

std::uint64_t timer_source::random() { return troupe::random_u64(); }
std::uint64_t runtime_timers::random() { return rt_.random(); }
std::uint64_t manual_timers::random() {
  std::lock_guard lock(mutex_);
  return random_state_ = random_state_ * 6364136223846793005ULL + 1442695040888963407ULL;
}

time_point runtime_timers::now() const { return rt_.now(); }

std::shared_ptr<timer_source::pending_call> runtime_timers::call_after(duration delay,
                                                                       std::function<void()> fn) {
  return std::make_shared<runtime_call>(rt_.call_after(delay, std::move(fn)));
}

// A manual call: `fn` is cleared when it runs or is cancelled, so whatever
// it captured is freed then, not when the last handle goes.
struct manual_timers::entry final : pending_call {
  manual_timers* owner = nullptr;
  std::pair<time_point, std::uint64_t> key;
  std::function<void()> fn;
  bool cancel() noexcept override {
    std::function<void()> dropped;
    {
      std::lock_guard lock(owner->mutex_);
      if (!fn) return false;
      dropped = std::move(fn);
      fn = nullptr;
      owner->due_.erase(key);
    }
    return true;
  }
};

time_point manual_timers::now() const {
  std::lock_guard lock(mutex_);
  return now_;
}

std::shared_ptr<timer_source::pending_call> manual_timers::call_after(duration delay,
                                                                      std::function<void()> fn) {
  auto e = std::make_shared<entry>();
  e->owner = this;
  e->fn = std::move(fn);
  std::lock_guard lock(mutex_);
  e->key = {now_ + std::max(delay, duration::zero()), next_seq_++};
  due_.emplace(e->key, e);
  return e;
}

void manual_timers::advance(duration step) {
  time_point target;
  {
    std::lock_guard lock(mutex_);
    target = now_ + step;
  }
  // One at a time: a call may schedule another that is also due.
  for (;;) {
    std::function<void()> fn;
    {
      std::lock_guard lock(mutex_);
      auto first = due_.begin();
      if (first == due_.end() || first->first.first > target) {
        now_ = target;
        return;
      }
      now_ = std::max(now_, first->first.first);
      fn = std::move(first->second->fn);
      first->second->fn = nullptr;
      due_.erase(first);
    }
    fn();
  }
}

std::size_t manual_timers::pending() const {
  std::lock_guard lock(mutex_);
  return due_.size();
}

}  // namespace troupe

#include "troupe/async/future.hpp"

namespace troupe {

future<void> sleep_for(timer_source& timers, duration delay) {
  promise<void> done;
  future<void> f = done.get_future();
  auto weak = done.weak();
  auto call = timers.call_after(delay, [done]() mutable { done.try_set_value(); });
  // Fail first: cancelling drops the timer's copy of the promise, which
  // would otherwise break it before the interrupt's reason is set.
  done.on_interrupt([weak, call](const error& why) {
    weak.try_set_error(why);
    call->cancel();
  });
  return f;
}

}  // namespace troupe
