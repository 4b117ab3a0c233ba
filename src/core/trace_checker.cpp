// tracing::checker: rules checked while the runtime runs.
//
// Steps. Every period its thread reads the events written since its last
// look, ring by ring (a cursor per ring: tracer::drain), and feeds the
// rules, in time order, those stamped at least 20 ms before the look; the
// younger ones wait for the next look (a thread stamps an event before it
// writes it, so one being written may be older than one already read).
// Then each rule's deadlines up to that bound are checked, so a trigger
// whose answer never comes is reported without a later event. Nothing is
// fed twice, and nothing written is skipped unless its ring overwrote it
// before a look (counted as missed).
#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <mutex>

#include "runtime_impl.hpp"
#include "tracer.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/trace_check.hpp"

namespace troupe::tracing {

struct checker::state {
  runtime& rt;
  std::vector<rule> rules;
  std::function<void(const violation&)> on_violation;
  std::chrono::milliseconds period;
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::uint64_t poll_requests = 0, polls_done = 0;
  std::atomic<std::uint64_t> checked{0}, violations{0}, missed{0};
  troupe::detail::tracer::cursor cursor;

  state(runtime& r, std::vector<rule> rs, std::function<void(const violation&)> f, std::chrono::milliseconds p)
      : rt(r), rules(std::move(rs)), on_violation(std::move(f)), period(p) {}

  // Events newer than the bound wait for the next look: a thread stamps
  // an event before it writes it (and may wait for a lock in between), so
  // an event read now may be younger than one another thread writes next.
  static constexpr std::int64_t settle_ns = 20'000'000;
  std::vector<event> held;

  void look() {
    const std::int64_t bound = troupe::detail::steady_ns() - settle_ns;
    std::uint64_t lost = 0;
    auto events = rt.impl().trace_state().drain(cursor, lost);
    missed.fetch_add(lost, std::memory_order_relaxed);
    events.insert(events.end(), std::make_move_iterator(held.begin()), std::make_move_iterator(held.end()));
    held.clear();
    std::stable_sort(events.begin(), events.end(),
                     [](const event& a, const event& b) { return a.time_ns < b.time_ns; });
    std::vector<violation> found;
    for (auto& e : events) {
      if (e.time_ns > bound) {
        held.push_back(std::move(e));
        continue;
      }
      checked.fetch_add(1, std::memory_order_relaxed);
      for (auto& r : rules) r.step(e, found);
    }
    // Deadlines passed by the bound count even if no event came after
    // them (a handler that never ends).
    for (auto& r : rules) r.finish(bound, found);
    for (auto& v : found) report(v);
  }

  void report(const violation& v) {
    violations.fetch_add(1, std::memory_order_relaxed);
    if (on_violation) on_violation(v);
  }

  void run() {
    std::unique_lock lock(mu);
    while (!stopping) {
      wake.wait_for(lock, period, [&] { return stopping || poll_requests != polls_done; });
      if (stopping) break;
      const std::uint64_t asked = poll_requests;
      lock.unlock();
      look();
      lock.lock();
      polls_done = asked;
      wake.notify_all();
    }
  }
};

checker::checker(runtime& rt, std::vector<rule> rules, std::function<void(const violation&)> on_violation,
                 std::chrono::milliseconds period)
    : state_(std::make_shared<state>(rt, std::move(rules), std::move(on_violation), period)) {
  state_->cursor = rt.impl().trace_state().cursor_now();  // from now on
  thread_ = std::thread([s = state_] { s->run(); });
}

checker::~checker() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  thread_.join();
}

std::uint64_t checker::checked() const noexcept { return state_->checked.load(std::memory_order_relaxed); }
std::uint64_t checker::violations() const noexcept { return state_->violations.load(std::memory_order_relaxed); }
std::uint64_t checker::missed() const noexcept { return state_->missed.load(std::memory_order_relaxed); }

void checker::poll() {
  std::unique_lock lock(state_->mu);
  const std::uint64_t ticket = ++state_->poll_requests;
  state_->wake.notify_all();
  state_->wake.wait(lock, [&] { return state_->stopping || state_->polls_done >= ticket; });
}

}  // namespace troupe::tracing
