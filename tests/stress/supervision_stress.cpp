// A supervision tree of 10,000 workers (100 supervisors x 100) serves
// requests from several threads while crashes are injected at random.
// After quiescence: every permanent child is alive again, the restarts
// counted equal the crashes injected, every request got a reply or an
// error (none hangs). ASan checks for leaks, TSan for races (scaled down).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "stress_scale.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct crash {};

behavior adder(actor&) {
  return {[](int x) { return x + 1; }, [](crash) { throw std::runtime_error("injected"); }};
}

std::vector<pid> workers_of(scoped_actor& self, const std::vector<pid>& sups) {
  std::vector<pid> all;
  for (auto& s : sups) {
    auto kids = self.request<std::vector<child_info>>(s, which_children{}, 30s);
    if (!kids) continue;
    for (auto& k : *kids) all.push_back(k.child);
  }
  return all;
}
}  // namespace

TEST(stress, a_supervision_tree_heals_under_random_crashes) {
  const int groups = static_cast<int>(stress::scaled(100, 10));
  constexpr int per_group = 100;
  const int rounds = 5;
  const int crashes_per_round = static_cast<int>(stress::scaled(500, 50));
  config cfg{.workers = 4};
  cfg.log_level = log_level::off;
  runtime rt(cfg);
  scoped_actor self(rt);

  std::vector<child_spec> subtrees;
  for (int g = 0; g < groups; ++g) {
    std::vector<child_spec> kids;
    for (int w = 0; w < per_group; ++w) kids.push_back(child_spec::of("w" + std::to_string(w), adder));
    subtrees.push_back(child_spec::supervisor("g" + std::to_string(g),
                                              {.intensity = 1'000'000, .period = 1s}, kids));
  }
  auto top = spawn_supervisor(rt, {.intensity = 1'000'000, .period = 1s}, subtrees);
  std::vector<pid> sups;
  auto top_children = self.request<std::vector<child_info>>(top, which_children{}, 30s);
  ASSERT_TRUE(top_children);
  for (auto& k : *top_children) sups.push_back(k.child);
  ASSERT_EQ(static_cast<int>(sups.size()), groups);

  // Clients: request random workers all along, counting every outcome.
  std::atomic<bool> stop{false};
  std::atomic<long> sent{0}, answered{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c)
    clients.emplace_back([&, c] {
      scoped_actor client(rt);
      std::mt19937 rng(static_cast<unsigned>(c));
      auto targets = workers_of(client, sups);
      while (!stop) {
        const pid& target = targets[rng() % targets.size()];
        ++sent;
        auto r = client.request<int>(target, 41, 10s);
        if (r && *r == 42)
          ++answered;
        else
          ++failed;  // a crashed or restarting worker: an error, never a hang
        if (sent % 200 == 0) targets = workers_of(client, sups);
      }
    });

  // The crashes begin once every client is asking: on a loaded machine the
  // rounds can otherwise be over before a client thread has run at all.
  for (int wait = 0; wait < 10000 && sent.load() < 3; ++wait) std::this_thread::sleep_for(1ms);

  std::mt19937 rng(12345);
  long injected = 0;
  std::vector<pid> before = workers_of(self, sups);
  ASSERT_EQ(static_cast<int>(before.size()), groups * per_group);
  long restarts = 0;
  for (int round = 0; round < rounds; ++round) {
    std::set<std::size_t> chosen;
    while (static_cast<int>(chosen.size()) < crashes_per_round) chosen.insert(rng() % before.size());
    for (auto i : chosen)
      if (self.send(before[i], crash{}) == send_status::ok) ++injected;
    // Quiescence: every worker running again, with a new pid if it crashed.
    std::vector<pid> after;
    for (int spin = 0; spin < 5000; ++spin) {
      after = workers_of(self, sups);
      long changed = 0;
      bool all_running = true;
      for (std::size_t i = 0; i < after.size(); ++i) {
        all_running &= static_cast<bool>(after[i]);
        changed += after[i] != before[i] ? 1 : 0;
      }
      if (all_running && changed >= static_cast<long>(chosen.size())) break;
      std::this_thread::sleep_for(2ms);
    }
    for (std::size_t i = 0; i < after.size(); ++i) restarts += after[i] != before[i] ? 1 : 0;
    before = after;
  }
  stop = true;
  for (auto& t : clients) t.join();

  std::printf("workers %d, crashes injected %ld, restarts %ld, requests %ld (%ld answered, %ld failed)\n",
              groups * per_group, injected, restarts, sent.load(), answered.load(), failed.load());
  EXPECT_EQ(restarts, injected);
  auto final_workers = workers_of(self, sups);
  ASSERT_EQ(static_cast<int>(final_workers.size()), groups * per_group);
  for (auto& w : final_workers) ASSERT_TRUE(w) << "a permanent child is not running";
  EXPECT_EQ(sent.load(), answered.load() + failed.load());
  EXPECT_GT(answered.load(), 0);
}
