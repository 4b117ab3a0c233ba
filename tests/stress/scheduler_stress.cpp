// Scheduler stress: rings and fan-outs of actors spread over workers, with
// spawns from inside actors, requests and coroutines mixed in; the totals
// must come out exact and nothing may hang.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "stress_scale.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct token {
  long hops_left;
};
}  // namespace

TEST(stress, several_rings_pass_tokens_concurrently) {
  const long hops = stress::scaled(200'000, 2000);
  constexpr int rings = 4;
  constexpr int ring_size = 50;
  runtime rt(config{.workers = 4});
  scoped_actor self(rt);
  auto me = self.pid();
  for (int r = 0; r < rings; ++r) {
    // Spawn back to front so each member knows its successor; the last
    // one's link is closed onto the first before any token flows.
    pid successor;
    auto head_link = std::make_shared<pid>();
    for (int i = ring_size - 1; i >= 0; --i) {
      auto target = i == ring_size - 1 ? head_link : std::make_shared<pid>(successor);
      successor = rt.spawn([target, me](actor& a) -> behavior {
        return {[&a, target, me](token t) {
          if (t.hops_left == 0)
            a.send(me, std::string("ring done"));
          else
            a.send(*target, token{t.hops_left - 1});
        }};
      });
    }
    *head_link = successor;  // close the ring (written before any token flows)
    rt.send(successor, token{hops});
  }
  for (int r = 0; r < rings; ++r) ASSERT_TRUE(self.receive<std::string>(120s)) << "ring " << r;
}

TEST(stress, nested_spawns_and_requests_all_answer) {
  const int fanout = static_cast<int>(stress::scaled(2000, 50));
  runtime rt(config{.workers = 4});
  scoped_actor self(rt);
  auto root = rt.spawn([fanout](actor& a) -> task {
    long total = 0;
    std::vector<pid> children;
    for (int i = 0; i < fanout; ++i)
      children.push_back(a.system().spawn([](actor&) -> behavior {
        return {[](int x) { return static_cast<long>(x) * 2; }};
      }));
    for (int i = 0; i < fanout; ++i) {
      auto r = co_await a.request<long>(children[static_cast<std::size_t>(i)], i, 30s);
      total += r ? *r : -1'000'000;
    }
    auto ask = co_await a.receive<std::string>();
    a.reply(total);
    (void)ask;
  });
  auto r = self.request<long>(root, std::string("total?"), 120s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, static_cast<long>(fanout) * (fanout - 1));
}

TEST(stress, spawn_and_shutdown_with_traffic_in_flight) {
  const int rounds = static_cast<int>(stress::scaled(20, 3));
  for (int round = 0; round < rounds; ++round) {
    runtime rt(config{.workers = 3});
    std::vector<pid> actors;
    for (int i = 0; i < 200; ++i)
      actors.push_back(rt.spawn([](actor& a) -> behavior {
        return {[&a](pid other) { a.send(other, a.pid()); }};
      }));
    for (int i = 0; i < 200; ++i) rt.send(actors[static_cast<std::size_t>(i)], actors[static_cast<std::size_t>((i + 1) % 200)]);
    // The runtime goes away while pids bounce around: no leak, no race.
  }
}

// Spawns racing with shutdown: a spawn either completes before the sweep
// (and its actor is ended by it) or is refused; nothing is run by two
// threads, nothing leaks (ASan), no race (TSan).
TEST(stress, spawns_racing_with_shutdown) {
  const int rounds = static_cast<int>(stress::scaled(30, 5));
  for (int round = 0; round < rounds; ++round) {
    config cfg{.workers = 2};
    cfg.log_level = log_level::off;  // refusals are expected
    auto rt = std::make_unique<runtime>(cfg);
    std::atomic<bool> stop{false};
    std::atomic<long> refused{0};
    std::thread spawner([&] {
      // Until shutdown is over and a spawn has been refused after it.
      while (!stop || refused == 0) {
        auto p = rt->spawn([](actor& a) -> behavior {
          a.send(a.pid(), 1);  // setup that sends
          return {[](int) {}};
        });
        if (!p) ++refused;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    rt->shutdown();
    stop = true;
    spawner.join();
    EXPECT_EQ(rt->live_actors(), 0u);
    EXPECT_GT(refused.load(), 0);
  }
}

// Names registered concurrently with their actors ending never outlive them.
TEST(stress, names_never_outlive_their_actors) {
  const int count = static_cast<int>(stress::scaled(2000, 100));
  runtime rt(config{.workers = 2});
  std::vector<pid> actors;
  for (int i = 0; i < count; ++i)
    actors.push_back(rt.spawn([](actor& a) -> behavior {
      return {[&a](int) { a.quit(); }};
    }));
  std::thread registrar([&] {
    for (int i = 0; i < count; ++i)
      (void)rt.register_name("n" + std::to_string(i), actors[static_cast<std::size_t>(i)]);
  });
  for (auto& p : actors) rt.send(p, 1);  // each ends after its message
  registrar.join();
  // Wait until every actor has ended, then no name may remain.
  for (int spin = 0; spin < 2000 && rt.live_actors() != 0; ++spin)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(rt.live_actors(), 0u);
  int stale = 0;
  for (int i = 0; i < count; ++i) stale += rt.whereis("n" + std::to_string(i)) ? 1 : 0;
  EXPECT_EQ(stale, 0);
}

namespace {
struct echo_request {
  pid reply_to;
  long n;
};
}  // namespace

// config::park_spin: one parked worker spins before it sleeps and is woken
// first. Clients on plain threads ask an echo actor with gaps shorter than,
// about as long as, and longer than the spin window, so wake-ups land on a
// spinning worker, on one that just gave up, and on sleeping ones; every
// answer must come back (a lost wake-up hangs a client past its timeout).
TEST(stress, wake_ups_reach_a_spinning_worker_or_a_sleeping_one) {
  const long rounds = stress::scaled(20'000, 400);
  constexpr int clients = 3;
  runtime rt(config{.workers = 3, .park_spin = std::chrono::microseconds(200)});
  auto echo = rt.spawn([](actor& a) -> behavior {
    return {[&a](echo_request& r) { a.send(r.reply_to, r.n); }};
  });
  std::atomic<long> answered{0}, sum{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      scoped_actor self(rt);
      std::uint64_t rng = 0x9E3779B97F4A7C15ULL * static_cast<unsigned>(c + 1);
      for (long i = 0; i < rounds; ++i) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        if (rng % 4 == 1) std::this_thread::sleep_for(std::chrono::microseconds(150 + rng % 100));
        if (rng % 64 == 2) std::this_thread::sleep_for(std::chrono::microseconds(600));
        self.send(echo, echo_request{self.pid(), i});
        auto got = self.receive<long>(30s);
        if (!got || *got != i) return;
        answered.fetch_add(1);
        sum.fetch_add(*got);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(answered.load(), clients * rounds);
  EXPECT_EQ(sum.load(), clients * (rounds * (rounds - 1) / 2));
}

TEST(stress, a_negative_park_spin_is_refused) {
  EXPECT_THROW(runtime(config{.park_spin = -std::chrono::microseconds(1)}), std::invalid_argument);
}
