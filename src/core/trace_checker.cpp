// tracing::checker: rules checked while the runtime runs.
//
// Steps. Every period its thread reads the events written since its last
// look, ring by ring (a cursor per ring: tracer::drain), and feeds them to
// the rules in time order. Nothing is fed twice and nothing written is
// skipped unless its ring overwrote it before the look (counted as
// missed). Events of different rings read in different looks may reach
// the rules slightly out of time order (a thread preempted between taking
// its timestamp and writing its slot); the metric operators then see a
// negative gap, which counts as within any bound.
#include <condition_variable>
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

  void look() {
    std::uint64_t lost = 0;
    auto events = rt.impl().trace_state().drain(cursor, lost);
    missed.fetch_add(lost, std::memory_order_relaxed);
    std::vector<violation> found;
    for (const event& e : events) {
      checked.fetch_add(1, std::memory_order_relaxed);
      for (auto& r : rules) r.step(e, found);
    }
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
