// worker_pool: calls reach the workers running now, through restarts; a
// worker's crash loses only the request it was handling.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "troupe/async/worker_pool.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

using answer = std::pair<int, std::uint64_t>;  // the square, and which worker

struct square {
  int x;
};

behavior squarer(actor& self) {
  return {[&self](square q) { return answer{q.x * q.x, self.pid().id()}; }};
}

TEST(WorkerPool, CallsAreSpreadOverTheWorkers) {
  runtime rt(config{.workers = 2, .warn_unhandled = false});
  worker_pool<square, answer> pool(rt, "squares", 4, squarer);
  auto calls = pool.service();
  std::vector<future<answer>> pending;
  for (int i = 0; i < 200; ++i) pending.push_back(calls(square{i}));  // before any worker started, some
  std::set<std::uint64_t> workers;
  for (int i = 0; i < 200; ++i) {
    auto r = pending[i].outcome();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->first, i * i);
    workers.insert(r->second);
  }
  EXPECT_GT(workers.size(), 1u);
  EXPECT_EQ(pool.workers().size(), 4u);
}

// Crash every worker in turn: each crash fails only its own call; calls
// after it reach the restarted worker, never the old pid.
TEST(WorkerPool, CallsGoToTheRestartedWorkersAfterCrashes) {
  runtime rt(config{.workers = 2, .warn_unhandled = false});
  struct job {
    bool crash = false;
    int x = 0;
  };
  auto worker = [](actor& self) -> behavior {
    return {[&self](job j) -> answer {
      if (j.crash) throw std::runtime_error("asked to crash");
      return {j.x * j.x, self.pid().id()};
    }};
  };
  worker_pool<job, answer> pool(rt, "jobs", 2, worker,
                                {.flags = {.strategy = strategy::one_for_one, .intensity = 100, .period = 1s}});
  auto calls = pool.service();
  ASSERT_TRUE(calls(job{false, 1}).outcome());  // both started
  const auto before = pool.workers();
  int failed = 0, ok = 0;
  for (int round = 0; round < 20; ++round) {
    auto crashed = calls(job{true, 0}).outcome();
    if (!crashed) ++failed;
    for (int i = 0; i < 10; ++i) {
      auto r = calls(job{false, i}).outcome();
      ASSERT_TRUE(r) << "round " << round << ": " << r.error().message();
      EXPECT_EQ(r->first, i * i);
      ++ok;
    }
  }
  EXPECT_EQ(failed, 20);  // each crash failed its own call (handler_failed)
  EXPECT_EQ(ok, 200);
  const auto after = pool.workers();
  EXPECT_NE(before, after);  // the workers were replaced
}

}  // namespace
