// Lending a thread to the scheduler (detail::lent_thread, used by the I/O
// threads): an actor that a lending thread makes ready while every worker
// sleeps gets its turn on that thread, at most lend_turn_limit turns in a
// row, and nothing it keeps is ever lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "../eventually.hpp"
#include "core/executor.hpp"
#include "core/runtime_impl.hpp"
#include "core/scheduler.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using troupe::test_support::eventually;

namespace {

struct tally {
  std::atomic<int> handled{0};
  std::atomic<int> on_lender{0};
  std::thread::id lender = std::this_thread::get_id();
  void count() {
    if (std::this_thread::get_id() == lender) ++on_lender;
    ++handled;
  }
};

pid spawn_counter(runtime& rt, std::shared_ptr<tally> t) {
  return rt.spawn([t](actor&) -> behavior { return {[t](int) { t->count(); }}; });
}

struct hop {
  int left;
};

// A chain: each actor passes the hop on to the next; the last one counts.
std::vector<pid> spawn_chain(runtime& rt, int length, std::shared_ptr<tally> t) {
  std::vector<pid> chain(static_cast<std::size_t>(length));
  chain.back() = rt.spawn([t](actor&) -> behavior { return {[t](hop) { t->count(); }}; });
  for (int i = length - 2; i >= 0; --i) {
    pid next = chain[static_cast<std::size_t>(i) + 1];
    chain[static_cast<std::size_t>(i)] = rt.spawn([t, next](actor& self) -> behavior {
      return {[t, next, &self](hop h) {
        if (std::this_thread::get_id() == t->lender) ++t->on_lender;
        self.send(next, hop{h.left - 1});
      }};
    });
  }
  return chain;
}

}  // namespace

TEST(LentThread, RunsTheTurnItMadeReadyWhileTheWorkersSleep) {
  runtime rt(config{.workers = 2});
  auto t = std::make_shared<tally>();
  pid counter = spawn_counter(rt, t);
  detail::lent_thread lent(*rt.impl().exec);
  int sent = 0;
  // The workers park within a few milliseconds of having nothing to do.
  for (; sent < 200 && t->on_lender.load() == 0; ++sent) {
    std::this_thread::sleep_for(2ms);
    rt.send(counter, sent);
    lent.run_ready();
  }
  EXPECT_GT(t->on_lender.load(), 0);
  EXPECT_TRUE(eventually([&] { return t->handled.load() == sent; }));
}

// With the scheduler's steps traced, each turn kept on the lending thread
// is a `lend` event.
TEST(LentThread, AKeptTurnIsTracedAsALend) {
  runtime rt(config{.workers = 2});
  tracing::start(rt, {.filter = {.kinds = tracing::kind_bit(tracing::event_kind::lend)}});
  auto t = std::make_shared<tally>();
  pid counter = spawn_counter(rt, t);
  detail::lent_thread lent(*rt.impl().exec);
  for (int sent = 0; sent < 200 && t->on_lender.load() == 0; ++sent) {
    std::this_thread::sleep_for(2ms);
    rt.send(counter, sent);
    lent.run_ready();
  }
  ASSERT_GT(t->on_lender.load(), 0);
  auto events = tracing::snapshot(rt);
  EXPECT_TRUE(std::any_of(events.begin(), events.end(),
                          [](const tracing::event& e) { return e.kind == tracing::event_kind::lend; }));
}

TEST(LentThread, NeverRunsATurnWithLendingOff) {
  runtime rt(config{.workers = 2, .lend_io_threads = false});
  auto t = std::make_shared<tally>();
  pid counter = spawn_counter(rt, t);
  detail::lent_thread lent(*rt.impl().exec);
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(1ms);
    rt.send(counter, i);
    lent.run_ready();
  }
  EXPECT_TRUE(eventually([&] { return t->handled.load() == 30; }));
  EXPECT_EQ(t->on_lender.load(), 0);
}

TEST(LentThread, RunsAtMostTheLimitOfTurnsInARowThenHandsTheRestToTheWorkers) {
  runtime rt(config{.workers = 2});
  constexpr int length = 3 * detail::scheduler::lend_turn_limit;
  auto t = std::make_shared<tally>();
  auto chain = spawn_chain(rt, length, t);
  detail::lent_thread lent(*rt.impl().exec);
  for (int round = 0; round < 100 && t->on_lender.load() == 0; ++round) {
    std::this_thread::sleep_for(2ms);
    int before = t->handled.load();
    rt.send(chain.front(), hop{length});
    lent.run_ready();
    ASSERT_TRUE(eventually([&] { return t->handled.load() == before + 1; })) << "a hop was lost";
    // Only the turns run_ready ran count here: the rest ran on workers.
    EXPECT_LE(t->on_lender.load(), static_cast<int>(detail::scheduler::lend_turn_limit));
  }
  EXPECT_GT(t->on_lender.load(), 0);
}

// A lending thread that never gets idle (an I/O thread under load: there
// is always another socket to read) keeps at most busy_turn_limit turns
// while a core is spare; the rest go to the workers, so it is not left
// doing all the work alone while they sleep. Once idle it lends again.
TEST(LentThread, ABusyLenderKeepsAtMostTheBusyLimitUntilItIsIdle) {
  if (std::thread::hardware_concurrency() < 2)
    GTEST_SKIP() << "one core: a lender per core keeps lending (no core to hand on to)";
  runtime rt(config{.workers = 2});
  auto t = std::make_shared<tally>();
  pid counter = spawn_counter(rt, t);
  detail::lent_thread lent(*rt.impl().exec);
  constexpr int limit = static_cast<int>(detail::lent_thread::busy_turn_limit);
  constexpr int busy = 3 * limit;
  for (int i = 0; i < busy; ++i) {
    std::this_thread::sleep_for(1ms);  // the workers park meanwhile
    rt.send(counter, i);
    lent.run_ready();
  }
  ASSERT_TRUE(eventually([&] { return t->handled.load() == busy; })) << "a message was lost";
  EXPECT_LE(t->on_lender.load(), limit);
  const int lent_while_busy = t->on_lender.load();
  lent.idle();
  int sent = busy;
  for (int round = 0; round < 200 && t->on_lender.load() == lent_while_busy; ++round, ++sent) {
    std::this_thread::sleep_for(2ms);
    rt.send(counter, sent);
    lent.run_ready();
  }
  EXPECT_GT(t->on_lender.load(), lent_while_busy) << "idle() did not let it lend again";
  EXPECT_TRUE(eventually([&] { return t->handled.load() == sent; }));
}

TEST(LentThread, AnActorKeptWhenTheLendingEndsGoesToTheWorkers) {
  runtime rt(config{.workers = 2});
  auto t = std::make_shared<tally>();
  t->lender = std::thread::id();  // nothing runs here: run_ready is never called
  pid counter = spawn_counter(rt, t);
  constexpr int rounds = 30;
  for (int i = 0; i < rounds; ++i) {
    std::this_thread::sleep_for(1ms);
    detail::lent_thread lent(*rt.impl().exec);
    rt.send(counter, i);
  }
  EXPECT_TRUE(eventually([&] { return t->handled.load() == rounds; }));
}

TEST(LentThread, AnActorOnALentThreadCountsAsOnTheRuntime) {
  // runtime::shutdown() joins the workers and waits for lent turns: from
  // inside a turn it would wait for itself, so it is refused there too.
  runtime rt(config{.workers = 2});
  auto refused = std::make_shared<std::atomic<int>>(0);
  auto on_lender = std::make_shared<std::atomic<int>>(0);
  const auto here = std::this_thread::get_id();
  pid a = rt.spawn([&rt, refused, on_lender, here](actor&) -> behavior {
    return {[&rt, refused, on_lender, here](int) {
      if (std::this_thread::get_id() != here) return;
      ++*on_lender;
      try {
        rt.shutdown();
      } catch (const std::logic_error&) {
        ++*refused;
      }
    }};
  });
  detail::lent_thread lent(*rt.impl().exec);
  for (int i = 0; i < 200 && on_lender->load() == 0; ++i) {
    std::this_thread::sleep_for(2ms);
    rt.send(a, i);
    lent.run_ready();
  }
  ASSERT_GT(on_lender->load(), 0);
  EXPECT_EQ(refused->load(), on_lender->load());
}
