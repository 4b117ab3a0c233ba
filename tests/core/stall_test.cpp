// Long handlers hold up only their own actor (config::stall_threshold):
// the actors queued behind a stalled worker move to another one, a spare
// worker if every worker is busy; long turns are logged and counted; and a
// sender in a long loop is paced. Spawning is in spawn_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "../stress/stress_scale.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct compute {
  std::chrono::milliseconds how_long;
};
struct ping {
  int n;
};

// A handler that computes (never sleeps, never yields) for `how_long`.
behavior cruncher(actor&, std::atomic<int>* running) {
  return {[running](const compute& c) {
    running->fetch_add(1);
    auto until = std::chrono::steady_clock::now() + c.how_long;
    volatile std::uint64_t x = 0;
    while (std::chrono::steady_clock::now() < until) x = x + 1;
    running->fetch_sub(1);
    return true;
  }};
}

behavior echo(actor&) {
  return {[](const ping& p) { return p.n; }};
}

struct log_capture {
  std::mutex m;
  std::vector<std::string> lines;
  void install(config& cfg) {
    cfg.log_sink = [this](const log_record& record) {
    const std::string_view text = record.text;
      std::lock_guard lock(m);
      lines.emplace_back(text);
    };
  }
  bool has(const std::string& part) {
    std::lock_guard lock(m);
    for (auto& l : lines)
      if (l.find(part) != std::string::npos) return true;
    return false;
  }
};

// While `crunchers` actors compute on a runtime of `workers` workers, a
// ping-pong with another actor goes on: every reply arrives while they
// still compute.
void others_keep_running(unsigned workers, int crunchers) {
  log_capture log;
  config cfg{.workers = workers};
  log.install(cfg);
  runtime rt(cfg);
  std::atomic<int> running{0};
  scoped_actor self(rt);
  std::vector<pid> busy;
  for (int i = 0; i < crunchers; ++i) {
    busy.push_back(rt.spawn(cruncher, &running));
    rt.register_name("cruncher-" + std::to_string(i), busy.back());
  }
  auto other = rt.spawn(echo);
  for (auto& b : busy) self.send(b, compute{1500ms});
  ASSERT_TRUE([&] {
    for (int i = 0; i < 5000 && running.load() < crunchers; ++i) std::this_thread::sleep_for(1ms);
    return running.load() == crunchers;
  }()) << "the crunchers never ran together";
  int answered_meanwhile = 0;
  for (int i = 0; i < 20 && running.load() == crunchers; ++i) {
    auto r = self.request<int>(other, ping{i}, 10s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, i);
    if (running.load() == crunchers) ++answered_meanwhile;
  }
  EXPECT_GT(answered_meanwhile, 0) << "no reply came while the long handlers ran";
  for (int i = 0; i < 10000 && running.load() != 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(running.load(), 0);
  for (int i = 0; i < 5000 && rt.long_turn_count() < static_cast<std::uint64_t>(crunchers); ++i)
    std::this_thread::sleep_for(1ms);
  // At least the crunchers' (on a loaded machine another turn may be
  // preempted for long enough to count too).
  EXPECT_GE(rt.long_turn_count(), static_cast<std::uint64_t>(crunchers));
  EXPECT_TRUE(log.has("long turn: actor")) << "no long turn was logged";
  EXPECT_TRUE(log.has("(cruncher-0)")) << "the log does not name the actor";
}

TEST(stall, one_worker_a_long_handler_does_not_hold_up_other_actors) { others_keep_running(1, 1); }

TEST(stall, two_workers_two_long_handlers_do_not_hold_up_other_actors) { others_keep_running(2, 2); }

// The actor a long handler's own send made ready sits in its worker's LIFO
// slot: it must be moved, not wait for the handler.
TEST(stall, an_actor_made_ready_by_the_long_handler_runs_meanwhile) {
  config cfg{.workers = 1};
  cfg.log_level = log_level::off;
  runtime rt(cfg);
  scoped_actor self(rt);
  auto me = self.pid();
  std::atomic<bool> finished{false};
  auto relay = rt.spawn([me](actor&) -> behavior {
    return {[me](const ping& p) {
      return p.n;
    }};
  });
  auto long_one = rt.spawn([relay, me, &finished](actor& a) -> behavior {
    return {[relay, me, &finished, &a](const compute& c) {
      a.send(relay, ping{7});  // made ready on this worker, behind this turn
      auto until = std::chrono::steady_clock::now() + c.how_long;
      while (std::chrono::steady_clock::now() < until) {
      }
      finished = true;
    }};
  });
  // The relay answers its ping (to long_one, which ignores the reply) and
  // then this request, while the long turn still runs.
  self.send(long_one, compute{1500ms});
  std::this_thread::sleep_for(50ms);
  auto r = self.request<int>(relay, ping{1}, 10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1);
  EXPECT_FALSE(finished.load()) << "the relay ran only after the long handler";
  (void)me;
}

TEST(stall, no_monitor_when_the_threshold_is_zero) {
  config cfg{.workers = 1};
  cfg.stall_threshold = duration::zero();
  cfg.log_level = log_level::off;
  runtime rt(cfg);
  scoped_actor self(rt);
  std::atomic<int> running{0};
  auto busy = rt.spawn(cruncher, &running);
  auto r = self.request<bool>(busy, compute{200ms}, 10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(rt.long_turn_count(), 0u);
}

}  // namespace

namespace {
// A handler that sends in one long loop to a slower receiver is paced: the
// receiver's backlog stays near 16,384 messages instead of holding all of
// them.
TEST(pacing, a_sender_in_a_long_loop_waits_for_a_flooded_receiver) {
  struct total {
    long count;
    std::size_t most_queued;
  };
  const long n = troupe::stress::scaled(1'000'000);
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto me = self.pid();
  auto receiver = rt.spawn([me, n, &rt](actor& a) -> behavior {
    return {[&a, &rt, me, n, count = 0L, most = std::size_t{0}](long) mutable {
      volatile int spin = 0;
      for (int i = 0; i < 300; ++i) spin = spin + 1;  // slower than the sender
      most = std::max(most, rt.mailbox_size(a.pid()));
      if (++count == n) a.send(me, total{count, most});
    }};
  });
  rt.spawn([receiver, n](actor& a) -> task {
    for (long i = 0; i < n; ++i) a.send(receiver, i);
    co_return;
  });
  auto got = self.receive<total>(300s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->count, n);
  EXPECT_LT(got->most_queued, 200'000u) << "the sender was not paced";
}

// A paced sender hands its thread's other work off at once (it does not
// wait for the monitor to find its turn stalled): with one worker and a
// stall threshold of an hour, the receiver still runs, on a spare worker,
// while the sender waits for it.
TEST(pacing, a_paced_sender_hands_its_receiver_to_a_spare_at_once) {
  const long n = troupe::stress::scaled(200'000);
  config cfg{.workers = 1};
  cfg.stall_threshold = std::chrono::hours(1);
  runtime rt(cfg);
  scoped_actor self(rt);
  auto me = self.pid();
  auto receiver = rt.spawn([me, n](actor& a) -> behavior {
    return {[&a, me, n, count = 0L](long) mutable {
      if (++count == n) a.send(me, count);
    }};
  });
  rt.spawn([receiver, n](actor& a) -> task {
    for (long i = 0; i < n; ++i) a.send(receiver, i);
    co_return;
  });
  auto got = self.receive<long>(120s);
  ASSERT_TRUE(got) << "the receiver waited for the paced sender's turn to end";
  EXPECT_EQ(*got, n);
}
}  // namespace
