#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct hold {};  // blocks the actor until `release` is set
struct item {
  int n;
};

// An actor that parks in its first message until `gate` opens, so that its
// mailbox fills up deterministically.
pid spawn_gated(runtime& rt, spawn_options opts, std::shared_ptr<std::atomic<bool>> gate,
                std::shared_ptr<std::atomic<int>> handled) {
  return rt.spawn(opts, [gate, handled](actor&) -> behavior {
    return {
        [gate](hold) {
          while (!gate->load()) std::this_thread::sleep_for(1ms);
        },
        [handled](item) { ++*handled; },
        [handled](std::string) { return handled->load(); },
    };
  });
}
}  // namespace

TEST(overload, reject_policy_tells_the_sender) {
  runtime rt(config{.workers = 1});
  auto gate = std::make_shared<std::atomic<bool>>(false);
  auto handled = std::make_shared<std::atomic<int>>(0);
  auto p = spawn_gated(rt, spawn_options{.mailbox_limit = 4, .on_full = overflow_policy::reject},
                       gate, handled);
  rt.send(p, hold{});
  while (rt.mailbox_size(p) != 0) std::this_thread::sleep_for(1ms);  // hold is being handled
  for (int i = 0; i < 4; ++i) EXPECT_EQ(rt.send(p, item{i}), send_status::ok);
  EXPECT_EQ(rt.mailbox_size(p), 4u);
  EXPECT_EQ(rt.send(p, item{99}), send_status::mailbox_full);
  gate->store(true);
  while (rt.mailbox_size(p) != 0) std::this_thread::sleep_for(1ms);
  scoped_actor self(rt);
  auto r = self.request<int>(p, std::string("count"), 5s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 4);
}

TEST(overload, a_request_to_a_full_mailbox_fails_at_once) {
  runtime rt(config{.workers = 1});
  auto gate = std::make_shared<std::atomic<bool>>(false);
  auto handled = std::make_shared<std::atomic<int>>(0);
  auto p = spawn_gated(rt, spawn_options{.mailbox_limit = 1}, gate, handled);
  rt.send(p, hold{});
  while (rt.mailbox_size(p) != 0) std::this_thread::sleep_for(1ms);
  rt.send(p, item{0});
  scoped_actor self(rt);
  auto r = self.request<int>(p, std::string("count"), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::mailbox_full);
  gate->store(true);
}

TEST(overload, drop_newest_counts_dropped_messages_with_their_sender) {
  runtime rt(config{.workers = 1});
  auto gate = std::make_shared<std::atomic<bool>>(false);
  auto handled = std::make_shared<std::atomic<int>>(0);
  auto p = spawn_gated(
      rt, spawn_options{.mailbox_limit = 2, .on_full = overflow_policy::drop_newest}, gate, handled);
  scoped_actor self(rt);
  self.send(p, hold{});
  while (rt.mailbox_size(p) != 0) std::this_thread::sleep_for(1ms);
  auto before = rt.dead_letter_count();
  for (int i = 0; i < 5; ++i) self.send(p, item{i});
  EXPECT_EQ(rt.dead_letter_count(), before + 3);
  auto recent = rt.recent_dead_letters();
  ASSERT_FALSE(recent.empty());
  EXPECT_EQ(recent.back().sender, self.pid());
  EXPECT_NE(recent.back().reason.find("mailbox full"), std::string::npos);
  gate->store(true);
  while (rt.mailbox_size(p) != 0) std::this_thread::sleep_for(1ms);
  auto r = self.request<int>(p, std::string("count"), 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 2);
}

TEST(overload, system_messages_pass_a_full_mailbox) {
  runtime rt(config{.workers = 2});
  auto gate = std::make_shared<std::atomic<bool>>(false);
  auto handled = std::make_shared<std::atomic<int>>(0);
  auto full = spawn_gated(rt, spawn_options{.mailbox_limit = 1}, gate, handled);
  auto echo = rt.spawn([](actor&) -> behavior { return {[](int x) { return x; }}; });
  scoped_actor self(rt);
  auto me = self.pid();
  // A requester whose own mailbox is full must still get its reply and its
  // timeouts: they travel in the system lane.
  auto requester = rt.spawn(
      spawn_options{.mailbox_limit = 1},
      [me, echo](actor& a) -> behavior {
        return {
            [&a, me, echo](int) {
              a.request<int>(echo, 5, 5s).then([&a, me](int v) { a.send(me, v); });
              a.request<int>(pid(), 5, 5s).then([](int) {},
                                                [&a, me](error e) { a.send(me, e.code()); });
              std::this_thread::sleep_for(50ms);  // let the mailbox fill meanwhile
            },
            [](item) {},
        };
      });
  self.send(requester, 0);
  std::this_thread::sleep_for(10ms);
  self.send(requester, item{1});
  EXPECT_EQ(self.send(requester, item{2}), send_status::mailbox_full);
  auto v = self.receive<int>(5s);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 5);
  auto e = self.receive<errc>(5s);
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, errc::receiver_down);
  gate->store(true);
  (void)full;
}

TEST(overload, mailbox_size_is_observable) {
  runtime rt(config{.workers = 1});
  auto gate = std::make_shared<std::atomic<bool>>(false);
  auto handled = std::make_shared<std::atomic<int>>(0);
  auto p = spawn_gated(rt, {}, gate, handled);
  rt.send(p, hold{});
  while (rt.mailbox_size(p) != 0) std::this_thread::sleep_for(1ms);
  for (int i = 0; i < 1000; ++i) rt.send(p, item{i});
  EXPECT_EQ(rt.mailbox_size(p), 1000u);
  gate->store(true);
  scoped_actor self(rt);
  EXPECT_EQ(*self.request<int>(p, std::string("count"), 5s), 1000);
  EXPECT_EQ(rt.mailbox_size(p), 0u);
}

// Soft back-pressure: senders flooding one receiver on a single worker.
// Round-robin alone would give the receiver 64 messages per 4 x 1024 sent,
// so its backlog would grow to nearly everything sent (400,000). A turn that
// sends to a congested receiver goes to the global queue, and the receiver
// catches up: its backlog stays within a few thousand.
namespace {
constexpr int flood_senders = 4;
constexpr long flood_per_sender = 100'000;
}  // namespace

TEST(overload, flooding_senders_let_their_receiver_catch_up) {
  constexpr int senders = flood_senders;
  constexpr long per_sender = flood_per_sender;
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto me = self.pid();
  auto counter = rt.spawn([me](actor& a) -> behavior {
    return {[&a, me, count = 0L, worst = std::size_t{0}](long) mutable {
      worst = std::max(worst, a.system().mailbox_size(a.pid()));
      if (++count == flood_senders * flood_per_sender) a.send(me, worst);
    }};
  });
  for (int s = 0; s < senders; ++s) {
    auto sender = rt.spawn([counter](actor& a) -> behavior {
      return {[&a, counter](long from) {
        long to = std::min(from + 1000, flood_per_sender);
        for (long i = from; i < to; ++i) a.send(counter, i);
        if (to < flood_per_sender) a.send(a.pid(), to);
      }};
    });
    self.send(sender, 0L);
  }
  auto worst = self.receive<std::size_t>(60s);
  ASSERT_TRUE(worst);
  EXPECT_LT(*worst, 50'000u) << "the receiver fell behind by " << *worst << " messages";
}
