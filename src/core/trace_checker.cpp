// tracing::checker: rules checked while the runtime runs.
//
// Steps. Every period its thread takes a snapshot, and feeds the rules the
// events stamped after its last bound and up to a new bound 1 ms before
// the snapshot began (an event is in its ring nanoseconds after its
// timestamp, so one stamped earlier than that is surely there, and no
// event is fed twice). Events overwritten before a look are counted as
// missed: the count of overwritten events grew by that much.
#include <condition_variable>
#include <mutex>

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
  std::atomic<std::uint64_t> checked{0}, violations{0};
  std::int64_t bound_ns = 0;

  state(runtime& r, std::vector<rule> rs, std::function<void(const violation&)> f, std::chrono::milliseconds p)
      : rt(r), rules(std::move(rs)), on_violation(std::move(f)), period(p) {}

  static std::int64_t steady_now() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void look() {
    const std::int64_t until = steady_now() - 1'000'000;
    auto events = snapshot(rt);
    for (const event& e : events) {
      if (e.time_ns <= bound_ns || e.time_ns > until) continue;
      checked.fetch_add(1, std::memory_order_relaxed);
      for (auto& r : rules) {
        violation v;
        if (!r.step(e, v)) report(v);
      }
    }
    for (auto& r : rules) {
      violation v;
      while (!r.finish(until, v)) {
        report(v);
        v = violation{};
      }
    }
    bound_ns = std::max(bound_ns, until);
  }

  void report(const violation& v) {
    violations.fetch_add(1, std::memory_order_relaxed);
    if (on_violation) on_violation(v);
  }

  void run() {
    std::unique_lock lock(mu);
    bound_ns = steady_now() - 1'000'000;
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

void checker::poll() {
  std::unique_lock lock(state_->mu);
  const std::uint64_t ticket = ++state_->poll_requests;
  state_->wake.notify_all();
  state_->wake.wait(lock, [&] { return state_->stopping || state_->polls_done >= ticket; });
}

}  // namespace troupe::tracing
