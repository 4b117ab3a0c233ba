#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct a {
  int n;
};
struct b {
  int n;
};
struct c {
  int n;
};
struct report {
  std::vector<int> seen;
};
}  // namespace

TEST(coroutine, selective_receive_keeps_skipped_messages_in_order) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto me = self.pid();
  auto picky = rt.spawn([me](actor& s) -> task {
    report r;
    // Wait for the c first, though a's and b's arrive before it.
    auto first = co_await s.receive<c>();
    r.seen.push_back(100 + first->n);
    for (int i = 0; i < 4; ++i) {
      auto next = co_await s.receive<a, b>();
      if (auto* x = std::get_if<a>(&*next))
        r.seen.push_back(x->n);
      else
        r.seen.push_back(10 + std::get<b>(*next).n);
    }
    s.send(me, r);
  });
  self.send(picky, a{1});
  self.send(picky, b{1});
  self.send(picky, a{2});
  self.send(picky, b{2});
  self.send(picky, c{9});
  auto got = self.receive<report>(5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->seen, (std::vector<int>{109, 1, 11, 2, 12}));
}

TEST(coroutine, receive_timeout_fires) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto me = self.pid();
  rt.spawn([me](actor& s) -> task {
    auto r = co_await s.receive<a>(30ms);
    s.send(me, std::string(r ? "message" : std::string(to_string(r.error().code()))));
  });
  auto got = self.receive<std::string>(5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "timeout");
}

TEST(coroutine, awaits_a_request_without_blocking_the_worker) {
  runtime rt(config{.workers = 1});  // one worker: a blocked worker would deadlock
  scoped_actor self(rt);
  auto me = self.pid();
  auto squarer = rt.spawn([](actor&) -> behavior { return {[](int x) { return x * x; }}; });
  rt.spawn([me, squarer](actor& s) -> task {
    int total = 0;
    for (int i = 1; i <= 10; ++i) {
      auto r = co_await s.request<int>(squarer, i, 5s);
      total += *r;
    }
    s.send(me, total);
  });
  auto got = self.receive<int>(5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 385);
}

TEST(coroutine, request_reply_skips_a_large_backlog) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto me = self.pid();
  auto echo = rt.spawn([](actor&) -> behavior { return {[](int x) { return x; }}; });
  auto worker = rt.spawn([me, echo](actor& s) -> task {
    co_await s.receive<c>();  // by now 100,000 b's are queued
    auto r = co_await s.request<int>(echo, 5, 5s);
    int drained = 0;
    while (co_await s.receive<b>(0ms)) ++drained;
    s.send(me, *r + drained);
  });
  for (int i = 0; i < 100'000; ++i) self.send(worker, b{i});
  self.send(worker, c{0});
  auto got = self.receive<int>(10s);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 100'005);
}

TEST(coroutine, reply_answers_the_last_received_request) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto server = rt.spawn([](actor& s) -> task {
    for (;;) {
      auto req = co_await s.receive<int>();
      s.reply(*req + 1);
    }
  });
  EXPECT_EQ(*self.request<int>(server, 1, 5s), 2);
  EXPECT_EQ(*self.request<int>(server, 41, 5s), 42);
}

TEST(coroutine, an_exception_ends_the_coroutine_actor) {
  config cfg{.workers = 1};
  cfg.log_level = log_level::off;
  runtime rt(cfg);
  scoped_actor self(rt);
  auto bad = rt.spawn([](actor& s) -> task {
    co_await s.receive<int>();
    throw std::runtime_error("coroutine failed");
  });
  auto r = self.request<int>(bad, 1, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::handler_failed);
}

TEST(coroutine, frame_is_destroyed_at_shutdown) {
  auto destroyed = std::make_shared<std::atomic<bool>>(false);
  {
    runtime rt(config{.workers = 1});
    scoped_actor self(rt);
    auto me = self.pid();
    rt.spawn([destroyed, me](actor& s) -> task {
      struct guard {
        std::shared_ptr<std::atomic<bool>> flag;
        ~guard() { *flag = true; }
      } g{destroyed};
      s.send(me, std::string("started"));
      co_await s.receive<a>();  // never arrives
    });
    ASSERT_TRUE(self.receive<std::string>(5s));
    EXPECT_FALSE(destroyed->load());
  }
  EXPECT_TRUE(destroyed->load());
}

// A trapped exit or a down reaches a coroutine's receive through the
// system lane: the turn moves it into the coroutine's queues. Whatever the
// budget, the turn that does so must not end idle with the coroutine still
// waiting for it (with max_messages_per_turn = 1 it always did).
TEST(coroutine, a_trapped_exit_or_down_resumes_the_receive_whatever_the_budget) {
  struct go {};
  for (unsigned budget = 1; budget <= 6; ++budget) {
    for (unsigned workers : {1u, 2u}) {
      config cfg{.workers = workers};
      cfg.max_messages_per_turn = budget;
      cfg.log_level = log_level::off;
      runtime rt(cfg);
      scoped_actor self(rt);
      auto me = self.pid();
      constexpr int children = 5;
      rt.spawn([me](actor& s) -> task {
        s.trap_exit(true);
        std::vector<pid> kids;
        for (int i = 0; i < children; ++i)
          kids.push_back(s.spawn_link([](actor&) -> behavior {
            return {[](go) { throw std::runtime_error("boom"); }};
          }));
        std::vector<pid> watched;
        for (int i = 0; i < children; ++i) {
          watched.push_back(s.system().spawn([](actor&) -> behavior {
            return {[](go) { throw std::runtime_error("boom"); }};
          }));
          s.monitor(watched.back());
        }
        for (auto& k : kids) s.send(k, go{});
        for (auto& w : watched) s.send(w, go{});
        int exits = 0, downs = 0;
        while (exits + downs < 2 * children) {
          auto m = co_await s.receive<exit_signal, down>(10s);
          if (!m) break;
          (std::holds_alternative<exit_signal>(*m) ? exits : downs)++;
        }
        s.send(me, std::pair<int, int>(exits, downs));
      });
      auto got = self.receive<std::pair<int, int>>(20s);
      ASSERT_TRUE(got) << "budget " << budget << ", " << workers << " workers";
      EXPECT_EQ(got->first, children) << "budget " << budget;
      EXPECT_EQ(got->second, children) << "budget " << budget;
    }
  }
}
