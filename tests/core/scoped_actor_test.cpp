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
  cfg.logger = [](log_level, std::string_view) {};
  runtime rt(cfg);
  scoped_actor self(rt);
  auto thrower = rt.spawn([](actor&) -> behavior {
    return behavior{[](int) {}}.after(10ms, [] { throw 42; });
  });
  for (int i = 0; i < 200 && rt.send(thrower, 1) != send_status::dead_letter; ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(rt.send(thrower, 1), send_status::dead_letter);
}
