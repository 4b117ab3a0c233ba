#include <gtest/gtest.h>

#include <thread>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct question {};
struct alignas(64) wide {
  char bytes[64];
};
}  // namespace

TEST(scoped_actor, a_request_it_receives_is_answered_with_no_reply) {
  runtime rt(config{.workers = 1});
  scoped_actor server(rt);
  scoped_actor client(rt);
  std::thread taker([&] { (void)server.receive<question>(5s); });
  auto r = client.request<int>(server.pid(), question{}, 5s);
  taker.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::no_reply);
}

TEST(scoped_actor, shutdown_ends_a_timed_wait_on_another_thread) {
  runtime rt(config{.workers = 1});
  std::atomic<bool> waiting{false};
  std::atomic<bool> ended{false};
  std::thread waiter([&] {
    scoped_actor self(rt);
    waiting = true;
    auto r = self.receive<question>(1h);
    ended = !r && r.error() == errc::timeout;
  });
  while (!waiting) std::this_thread::yield();
  std::this_thread::sleep_for(20ms);
  rt.shutdown();  // the 1 h timeout fires now rather than never
  waiter.join();
  EXPECT_TRUE(ended);
}

TEST(scoped_actor, over_aligned_messages_keep_their_alignment) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto checker = rt.spawn([](actor&) -> behavior {
    return {[](const wide& w) { return reinterpret_cast<std::uintptr_t>(&w) % alignof(wide); }};
  });
  auto misalignment = self.request<std::uintptr_t>(checker, wide{}, 5s);
  ASSERT_TRUE(misalignment);
  EXPECT_EQ(*misalignment, 0u);
}

TEST(scoped_actor, an_idle_handler_throwing_a_non_exception_ends_only_its_actor) {
  config cfg{.workers = 1};
  cfg.log_level = log_level::off;
  runtime rt(cfg);
  scoped_actor self(rt);
  auto thrower = rt.spawn([](actor&) -> behavior {
    return behavior{[](int) {}}.after(10ms, [] { throw 42; });
  });
  for (int i = 0; i < 200 && rt.send(thrower, 1) != send_status::dead_letter; ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(rt.send(thrower, 1), send_status::dead_letter);
}

namespace {
struct crash_now {};

behavior crashes_on_request(actor&) {
  return {[](crash_now) { throw std::runtime_error("asked to crash"); }};
}
}  // namespace

// A scoped actor monitors like an actor: the down carries the reason.
TEST(scoped_actor, monitors_an_actor_and_receives_its_down) {
  runtime rt(config{.workers = 2, .warn_unhandled = false, .log_level = log_level::off});
  scoped_actor self(rt);
  auto target = rt.spawn(crashes_on_request);
  const monitor_ref ref = self.monitor(target);
  self.send(target, crash_now{});
  auto got = self.receive<down>(10s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->ref, ref);
  EXPECT_EQ(got->who, target);
  EXPECT_NE(got->reason.to_string().find("asked to crash"), std::string::npos) << got->reason.to_string();
}

// Linked, it hears the actor's end as an exit_signal, even a kill, and
// goes on; demonitor drops a down already queued.
TEST(scoped_actor, links_trap_exits_and_demonitor_drops_a_queued_down) {
  runtime rt(config{.workers = 2, .warn_unhandled = false, .log_level = log_level::off});
  scoped_actor self(rt);
  auto target = rt.spawn(crashes_on_request);
  self.link(target);
  const monitor_ref ref = self.monitor(target);
  rt.send_exit(target, exit_reason::kill());
  auto exited = self.receive<exit_signal>(10s);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->from, target);
  self.demonitor(ref);  // its down came with the exit, or comes never
  EXPECT_FALSE(self.receive<down>(100ms));
  auto adder = rt.spawn([](actor&) -> behavior { return {[](int x) { return x + 1; }}; });
  auto sum = self.request<int>(adder, 1, 10s);  // still serving its owner
  ASSERT_TRUE(sum);
  EXPECT_EQ(*sum, 2);
}

// Others can watch a scoped actor: going out of scope sends their down.
TEST(scoped_actor, its_watchers_get_a_down_when_it_goes_out_of_scope) {
  runtime rt(config{.workers = 2});
  scoped_actor watcher(rt);
  monitor_ref ref;
  {
    scoped_actor short_lived(rt);
    ref = watcher.monitor(short_lived.pid());
    // The monitor request is placed when short_lived next looks at its
    // mail: a receive with no wait does.
    EXPECT_FALSE(short_lived.receive<int>(0s));
  }
  auto got = watcher.receive<down>(10s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->ref, ref);
}
