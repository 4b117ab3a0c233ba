#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct tick {
  int n;
};
}  // namespace

TEST(timer, send_after_delivers_after_the_delay) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto start = std::chrono::steady_clock::now();
  rt.send_after(30ms, self.pid(), tick{1});
  auto got = self.receive<tick>(5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->n, 1);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

TEST(timer, timers_fire_in_deadline_order) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  rt.send_after(60ms, self.pid(), tick{3});
  rt.send_after(20ms, self.pid(), tick{1});
  rt.send_after(40ms, self.pid(), tick{2});
  for (int expected = 1; expected <= 3; ++expected) {
    auto got = self.receive<tick>(5s);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->n, expected);
  }
}

TEST(timer, cancelled_timer_never_fires) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto handle = rt.send_after(30ms, self.pid(), tick{1});
  EXPECT_TRUE(handle.active());
  handle.cancel();
  EXPECT_FALSE(handle.active());
  handle.cancel();  // idempotent
  auto got = self.receive<tick>(100ms);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), errc::timeout);
}

TEST(timer, periodic_timer_repeats_until_cancelled) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto handle = rt.send_interval(10ms, self.pid(), tick{7});
  for (int i = 0; i < 3; ++i) {
    auto got = self.receive<tick>(5s);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->n, 7);
  }
  handle.cancel();
  // Drain what fired before the cancel, then expect silence.
  while (self.receive<tick>(50ms)) {
  }
  EXPECT_FALSE(self.receive<tick>(60ms));
}

TEST(timer, actor_interval_timers_stop_when_the_actor_ends) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto me = self.pid();
  auto ticker = rt.spawn([me](actor& a) -> behavior {
    a.send_interval(5ms, me, tick{1});
    return {[&a](std::string) { a.quit(); }};
  });
  ASSERT_TRUE(self.receive<tick>(5s));
  self.send(ticker, std::string("stop"));
  std::this_thread::sleep_for(30ms);
  while (self.receive<tick>(0ms)) {
  }
  EXPECT_FALSE(self.receive<tick>(50ms));
}

TEST(timer, cancel_after_the_runtime_is_gone_is_harmless) {
  timer_handle handle;
  {
    runtime rt(config{.workers = 1});
    handle = rt.send_after(1h, pid(), tick{1});
  }
  handle.cancel();
  EXPECT_FALSE(handle.active());
}
