// The events beyond messages: links, monitors and downs, timers, the
// mailbox length at each handling (and the shipped rule over it: no
// mailbox stays long for too long), and the scheduler's parks.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "../eventually.hpp"
#include "settled_snapshot.hpp"
#include "troupe/core/trace_spec.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using tracing::event;
using tracing::event_kind;
using troupe::test_support::eventually;
using troupe::test_support::settled_snapshot;

namespace {

bool has(const std::vector<event>& es, event_kind kind, std::uint64_t actor, std::uint64_t other) {
  return std::any_of(es.begin(), es.end(),
                     [&](const event& e) { return e.kind == kind && e.actor == actor && e.other == other; });
}

struct go {};
struct tick {};

}  // namespace

TEST(trace_events, links_monitors_and_downs_are_recorded_with_both_actors) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  pid target = rt.spawn([](actor&) -> behavior { return {[](int) {}}; });
  std::atomic<bool> downed{false};
  pid watcher = rt.spawn([&, target](actor& a) -> behavior {
    a.link(target);
    a.unlink(target);
    a.monitor(target);
    return {[&](const down&) { downed = true; }};
  });
  ASSERT_TRUE(eventually([&] { return has(tracing::snapshot(rt), event_kind::monitor, watcher.id(), target.id()); }));
  rt.send_exit(target, exit_reason::error("boom"));
  ASSERT_TRUE(eventually([&] { return downed.load(); }));
  auto es = settled_snapshot(rt);
  EXPECT_TRUE(has(es, event_kind::link, watcher.id(), target.id()));
  EXPECT_TRUE(has(es, event_kind::unlink, watcher.id(), target.id()));
  EXPECT_TRUE(has(es, event_kind::monitor, watcher.id(), target.id()));
  auto down = std::find_if(es.begin(), es.end(), [&](const event& e) { return e.kind == event_kind::down; });
  ASSERT_NE(down, es.end());
  EXPECT_EQ(down->actor, target.id());
  EXPECT_EQ(down->other, watcher.id());
  EXPECT_NE(down->what.find("boom"), std::string::npos);
}

TEST(trace_events, timers_set_fire_and_cancel_are_recorded) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  std::atomic<int> ticks{0};
  pid p = rt.spawn([&](actor& a) -> behavior {
    return {[&a](go) {
              a.send_after(1ms, a.pid(), tick{});
              a.send_after(1h, a.pid(), tick{}).cancel();
            },
            [&](tick) { ++ticks; }};
  });
  rt.send(p, go{});
  ASSERT_TRUE(eventually([&] { return ticks.load() == 1; }));
  auto es = settled_snapshot(rt);
  std::int64_t fired_id = 0, cancelled_id = 0;
  std::vector<std::int64_t> set_ids;
  for (auto& e : es) {
    if (e.other != p.id()) continue;
    if (e.kind == event_kind::timer_set && e.actor == p.id()) set_ids.push_back(e.value);
    if (e.kind == event_kind::timer_fire) fired_id = e.value;
    if (e.kind == event_kind::timer_cancel && e.actor == p.id()) cancelled_id = e.value;
  }
  ASSERT_EQ(set_ids.size(), 2u);
  EXPECT_EQ(fired_id, set_ids[0]);
  EXPECT_EQ(cancelled_id, set_ids[1]);
}

// A handler that waits while messages pile up: the begins record the
// mailbox's length, and the shipped rule ("no actor's mailbox stays above
// 20 for longer than 50 ms") catches the slow actor and not a fast one.
TEST(trace_events, begins_carry_the_mailbox_length_and_the_mailbox_rule_catches_a_backlog) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  std::atomic<bool> release{false};
  std::atomic<int> handled{0};
  pid slow = rt.spawn([&](actor&) -> behavior {
    return {[&](int n) {
      if (n == 0)
        while (!release) std::this_thread::sleep_for(1ms);
      else
        std::this_thread::sleep_for(2ms);  // drains slowly: the backlog lasts
      ++handled;
    }};
  });
  pid fast = rt.spawn([&](actor&) -> behavior { return {[&](int) { ++handled; }}; });
  rt.send(slow, 0);
  for (int i = 1; i <= 60; ++i) rt.send(slow, i);
  for (int i = 0; i < 15; ++i) rt.send(fast, i);  // never above the rule's 20
  std::this_thread::sleep_for(20ms);
  release = true;
  ASSERT_TRUE(eventually([&] { return handled.load() == 76; }));
  auto es = settled_snapshot(rt);
  std::int64_t longest = 0;
  for (auto& e : es)
    if (e.kind == event_kind::begin && e.actor == slow.id()) longest = std::max(longest, e.value);
  EXPECT_GE(longest, 55);  // its second handling began with the rest queued

  auto rules = tracing::parse_rules(
      R"("no long backlog": bounded(begin && value > 20, begin && value <= 20, 50ms, actor))");
  auto broken = tracing::check(es, rules);
  ASSERT_FALSE(broken.empty());
  for (auto& v : broken) EXPECT_EQ(v.trigger.actor, slow.id()) << tracing::to_string(v);
}

// The scheduler's steps are left out by default (they come with every
// hand-off) and recorded when asked for.
TEST(trace_events, idle_workers_record_their_parks_when_asked) {
  runtime rt(config{.workers = 2});
  pid p = rt.spawn([](actor&) -> behavior { return {[](int) {}}; });
  auto parks = [&] {
    auto es = tracing::snapshot(rt);
    return std::count_if(es.begin(), es.end(), [](const event& e) { return e.kind == event_kind::park; });
  };
  tracing::start(rt);
  for (int i = 0; i < 10; ++i) {
    rt.send(p, i);
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(parks(), 0);
  tracing::start(rt, {.filter = {.kinds = tracing::all_kinds}});
  for (int i = 0; i < 10; ++i) {
    rt.send(p, i);
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_TRUE(eventually([&] { return parks() > 0; }));
  tracing::stop(rt);
}
