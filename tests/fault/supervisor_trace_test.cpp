// A supervisor's restarts in a trace, and the shipped rule over them: "a
// supervisor never restarts a child more than N times in T" (an
// at_most rule keyed by the supervisor) catches a crash loop that the
// supervisor's own intensity allows, and stays silent below it.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "troupe/core/trace_spec.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct crash_now {};

behavior crashing(actor&) {
  return {[](crash_now) { throw std::runtime_error("crash"); }};
}

// Crashes the child named "w" `times` times, each after its restart.
void crash_loop(runtime& rt, int times) {
  pid last;
  for (int i = 0; i < times; ++i) {
    pid now;
    for (int tries = 0; tries < 5000 && (!now || now == last); ++tries) {
      now = rt.whereis("w");
      if (!now || now == last) std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(now && now != last) << "restart " << i;
    rt.send(now, crash_now{});
    last = now;
  }
  for (int tries = 0; tries < 5000; ++tries) {  // the last restart done
    pid now = rt.whereis("w");
    if (now && now != last) return;
    std::this_thread::sleep_for(1ms);
  }
  FAIL() << "no restart after the last crash";
}

std::vector<tracing::violation> restarts_checked(int crashes) {
  runtime rt(config{.workers = 2, .log_level = log_level::off});
  tracing::start(rt);
  pid sup = spawn_supervisor(rt, {.intensity = 10, .period = 10s},
                             {child_spec::of("w", spawn_options{.name = "w"}, crashing)});
  crash_loop(rt, crashes);
  // The name is registered before the restart is recorded: wait for it.
  auto count_restarts = [](const std::vector<tracing::event>& es) {
    return std::count_if(es.begin(), es.end(), [](const tracing::event& e) { return e.kind == tracing::event_kind::restart; });
  };
  auto events = tracing::snapshot(rt);
  for (int i = 0; i < 5000 && count_restarts(events) < crashes; ++i) {
    std::this_thread::sleep_for(1ms);
    events = tracing::snapshot(rt);
  }
  int restarts = 0;
  for (auto& e : events)
    if (e.kind == tracing::event_kind::restart) {
      ++restarts;
      EXPECT_EQ(e.actor, sup.id());
      EXPECT_EQ(e.what, "w");
      EXPECT_EQ(e.value, restarts);  // restarts in the supervisor's period so far
    }
  EXPECT_EQ(restarts, crashes);
  auto rules = tracing::parse_rules(R"("restarts bounded": at_most(3, restart, 5s, actor))");
  return tracing::check(events, rules);
}

}  // namespace

TEST(supervisor_trace, a_crash_loop_breaks_the_restart_rule) {
  auto broken = restarts_checked(5);
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_EQ(broken[0].rule, "restarts bounded");
  EXPECT_EQ(broken[0].at.kind, tracing::event_kind::restart);
}

TEST(supervisor_trace, a_few_restarts_keep_it) { EXPECT_TRUE(restarts_checked(3).empty()); }
