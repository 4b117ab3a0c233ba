// tracing::checker: rules checked while the runtime runs.
//
// Steps. Every period its thread takes the settled events since its last
// look (trace_drain.hpp: time order, nothing twice, nothing skipped unless
// overwritten first) and feeds them to the rules. Then each rule's
// deadlines up to the settled bound are checked, so a trigger whose answer
// never comes is reported without a later event.
#include <algorithm>
#include <deque>
#include <iterator>

#include "trace_drain.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/trace_check.hpp"

namespace troupe::tracing {

struct checker::state {
  runtime& rt;
  std::vector<rule> rules;
  std::function<void(const violation&)> on_violation;
  troupe::detail::look_schedule schedule;
  std::atomic<std::uint64_t> checked{0}, violations{0};
  troupe::detail::trace_drain drain;

  state(runtime& r, std::vector<rule> rs, std::function<void(const violation&)> f, std::chrono::milliseconds p)
      : rt(r), rules(std::move(rs)), on_violation(std::move(f)), schedule(p), drain(r) {}

  // The last events checked: each violation carries them, as check()'s do
  // (the flight recorder's window of what led to it).
  static constexpr std::size_t window = 16;
  std::deque<event> recent;

  void look() {
    std::int64_t bound = 0;
    auto events = drain.take(false, bound);
    std::vector<violation> found;
    auto attach_from = [&](std::size_t first) {
      for (std::size_t i = first; i < found.size(); ++i) found[i].window.assign(recent.begin(), recent.end());
    };
    for (auto& e : events) {
      checked.fetch_add(1, std::memory_order_relaxed);
      const std::size_t before = found.size();
      for (auto& r : rules) r.step(e, found);
      attach_from(before);
      recent.push_back(std::move(e));
      if (recent.size() > window) recent.pop_front();
    }
    // Deadlines passed by the bound count even if no event came after
    // them (a handler that never ends).
    const std::size_t before = found.size();
    for (auto& r : rules) r.finish(bound, found);
    attach_from(before);
    for (auto& v : found) report(v);
  }

  void report(const violation& v) {
    violations.fetch_add(1, std::memory_order_relaxed);
    if (on_violation) on_violation(v);
  }

};

checker::checker(runtime& rt, std::vector<rule> rules, std::function<void(const violation&)> on_violation,
                 std::chrono::milliseconds period)
    : state_(std::make_shared<state>(rt, std::move(rules), std::move(on_violation), period)) {
  thread_ = std::thread([s = state_] {
    s->schedule.run([&](bool last) {
      if (!last) s->look();
    });
  });
}

checker::~checker() {
  state_->schedule.stop();
  thread_.join();
}

std::uint64_t checker::checked() const noexcept { return state_->checked.load(std::memory_order_relaxed); }
std::uint64_t checker::violations() const noexcept { return state_->violations.load(std::memory_order_relaxed); }
std::uint64_t checker::missed() const noexcept { return state_->drain.missed(); }

void checker::poll() { state_->schedule.poll(); }

}  // namespace troupe::tracing
