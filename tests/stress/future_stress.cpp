// Future stress: promises completed and continuations attached from many
// threads at once; set_value, try_set_value and promise destruction racing;
// interrupts racing the producer; collect/any over futures completed from
// many threads (future_actor_stress.cpp has the rest). Meant for
// ThreadSanitizer (sizes scale down under it).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "exactly_once.hpp"
#include "stress_scale.hpp"
#include "troupe/async.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

using namespace stress_helpers;  // start_line, failure_log, at

// ---------------------------------------------------------------------------
// Completers set values while attachers hang map/then/respond on the same
// futures: each continuation runs exactly once, with the right value.

TEST(future_stress, continuations_attached_while_completing_run_exactly_once) {
  const long n = stress::scaled(20'000, 500);
  constexpr int completers = 4;
  constexpr int attachers = 4;
  constexpr int kinds = 3;  // map, then, respond
  std::vector<promise<int>> promises(at(n));
  std::vector<future<int>> futures;
  futures.reserve(at(n));
  for (auto& p : promises) futures.push_back(p.get_future());
  // One run counter per (future, attacher, kind).
  std::vector<std::atomic<int>> runs(at(n) * attachers * kinds);
  std::vector<std::vector<future<int>>> derived(attachers);
  std::atomic<long long> responded_sum{0};

  start_line line(completers + attachers);
  std::vector<std::thread> threads;
  for (int c = 0; c < completers; ++c)
    threads.emplace_back([&, c] {
      line.arrive_and_wait();
      for (long i = c; i < n; i += completers) promises[at(i)].set_value(static_cast<int>(i));
    });
  for (int a = 0; a < attachers; ++a)
    threads.emplace_back([&, a] {
      std::vector<future<int>>& mine = derived[at(a)];
      mine.reserve(2 * at(n));
      line.arrive_and_wait();
      // Even attachers walk forwards (racing the completers on the same
      // futures), odd ones backwards (mostly pending futures, then mostly
      // complete ones).
      for (long k = 0; k < n; ++k) {
        const long i = a % 2 == 0 ? k : n - 1 - k;
        std::atomic<int>* slot = &runs[(at(i) * attachers + at(a)) * kinds];
        const future<int>& f = futures[at(i)];
        mine.push_back(f.map([slot](int v) {
          slot[0].fetch_add(1, std::memory_order_relaxed);
          return v + 1;
        }));
        mine.push_back(f.then([slot](int v) {
          slot[1].fetch_add(1, std::memory_order_relaxed);
          return make_value<int>(v * 2);
        }));
        f.respond([slot, &responded_sum](const result<int>& r) {
          slot[2].fetch_add(1, std::memory_order_relaxed);
          if (r) responded_sum.fetch_add(*r, std::memory_order_relaxed);
        });
      }
    });
  for (auto& t : threads) t.join();

  failure_log fails;
  for (std::size_t s = 0; s < runs.size(); ++s)
    fails.check(runs[s].load() == 1, "continuation slot ", s, " ran ", runs[s].load(), " times");
  const long long values = static_cast<long long>(n) * (n - 1) / 2;
  EXPECT_EQ(responded_sum.load(), values * attachers);
  for (int a = 0; a < attachers; ++a) {
    const std::vector<future<int>>& mine = derived[at(a)];
    ASSERT_EQ(mine.size(), 2 * at(n));
    for (long k = 0; k < n; ++k) {
      const long i = a % 2 == 0 ? k : n - 1 - k;
      const future<int>& mapped = mine[2 * at(k)];
      const future<int>& chained = mine[2 * at(k) + 1];
      ASSERT_TRUE(mapped.wait_for(30s)) << "map result of " << i << " never completed";
      ASSERT_TRUE(chained.wait_for(30s)) << "then result of " << i << " never completed";
      const result<int>& m = *mapped.poll();
      const result<int>& c = *chained.poll();
      fails.check(m.has_value() && *m == i + 1, "map of ", i, " gave the wrong outcome");
      fails.check(c.has_value() && *c == 2 * i, "then of ", i, " gave the wrong outcome");
    }
  }
  EXPECT_EQ(fails.count(), 0);
}

// ---------------------------------------------------------------------------
// set_value (strong handle), try_set_value (strong or weak handle) and the
// promise handles' destruction race on each future: exactly one outcome
// wins, and both a blocked consumer and a continuation see exactly it.

namespace {
// 1 or 2: that value; 0: broken_promise; -2: any other failure.
int outcome_code(const result<int>& r) {
  if (r) return *r;
  return r.error() == errc::broken_promise ? 0 : -2;
}
}  // namespace

TEST(future_stress, racing_set_try_set_and_destruction_have_one_winner) {
  const long rounds = stress::scaled(60, 6);
  constexpr long per_round = 1000;
  enum class b_mode { drop_only, strong_try_set, weak_try_set };
  struct item {
    std::optional<promise<int>> a;  // thread A: set_value(1) if a_sets, then drops
    std::optional<promise<int>> b;  // thread B (strong mode): try_set_value(2), then drops
    std::optional<promise<int>> c;  // thread C: only drops it
    std::optional<promise<int>::weak_handle> weak;  // thread B (weak mode): no strong handle
    bool a_sets = false;
    b_mode mode = b_mode::drop_only;
    future<int> f;
    std::atomic<int> respond_runs{0};
    std::atomic<int> respond_seen{-1};
    // Written by one thread each, read after the joins.
    bool a_won = false;
    bool a_bad_error = false;
    bool b_won = false;
    int consumer_seen = -1;
  };
  failure_log fails;
  long outcomes[3] = {0, 0, 0};  // broken, 1 won, 2 won
  for (long round = 0; round < rounds; ++round) {
    std::mt19937 rng(static_cast<unsigned>(round) + 17);
    auto items = std::make_unique<item[]>(at(per_round));
    for (long i = 0; i < per_round; ++i) {
      item& it = items[at(i)];
      promise<int> p;
      it.f = p.get_future();
      it.a_sets = rng() % 2 == 0;
      it.mode = static_cast<b_mode>(rng() % 3);
      it.a.emplace(p);
      if (it.mode == b_mode::weak_try_set)
        it.weak.emplace(p.weak());
      else
        it.b.emplace(p);
      it.c.emplace(std::move(p));
      it.f.respond([seen = &it](const result<int>& r) {
        seen->respond_seen.store(outcome_code(r), std::memory_order_relaxed);
        seen->respond_runs.fetch_add(1, std::memory_order_relaxed);
      });
    }
    start_line line(4);
    std::thread thread_a([&] {
      line.arrive_and_wait();
      for (long i = 0; i < per_round; ++i) {
        item& it = items[at(i)];
        if (it.a_sets) {
          try {
            it.a->set_value(1);
            it.a_won = true;
          } catch (const error_exception& e) {
            it.a_bad_error = e.error().code() != errc::already_satisfied;
          }
        }
        it.a.reset();
      }
    });
    std::thread thread_b([&] {
      line.arrive_and_wait();
      for (long i = 0; i < per_round; ++i) {
        item& it = items[at(i)];
        switch (it.mode) {
          case b_mode::drop_only:
            it.b.reset();
            break;
          case b_mode::strong_try_set:
            it.b_won = it.b->try_set_value(2);
            it.b.reset();
            break;
          case b_mode::weak_try_set:
            it.b_won = it.weak->try_set_result(result<int>(2));
            break;
        }
      }
    });
    std::thread thread_c([&] {
      line.arrive_and_wait();
      for (long i = 0; i < per_round; ++i) items[at(i)].c.reset();
    });
    std::thread consumer([&] {
      line.arrive_and_wait();
      for (long i = 0; i < per_round; ++i) {
        item& it = items[at(i)];
        it.consumer_seen = outcome_code(it.f.outcome());
      }
    });
    thread_a.join();
    thread_b.join();
    thread_c.join();
    consumer.join();

    for (long i = 0; i < per_round; ++i) {
      item& it = items[at(i)];
      const int winner = it.a_won ? 1 : it.b_won ? 2 : 0;
      fails.check(!(it.a_won && it.b_won), "two setters won, round ", round, " item ", i);
      fails.check(!it.a_bad_error, "set_value failed with something else than already_satisfied");
      fails.check(it.consumer_seen == winner, "consumer saw ", it.consumer_seen, ", winner ",
                  winner, " (round ", round, " item ", i, ")");
      fails.check(it.respond_runs.load() == 1, "respond ran ", it.respond_runs.load(), " times");
      fails.check(it.respond_seen.load() == winner, "respond saw ", it.respond_seen.load(),
                  ", winner ", winner);
      // A setter holding a strong handle cannot lose to broken_promise.
      if (it.a_sets || it.mode == b_mode::strong_try_set)
        fails.check(winner != 0, "a strong setter lost to broken_promise");
      if (!it.a_sets && it.mode == b_mode::drop_only)
        fails.check(winner == 0, "nobody set the value, yet it is not broken");
      ++outcomes[winner];
    }
  }
  EXPECT_EQ(fails.count(), 0);
  // Every outcome happened (the plan makes each likely in every round).
  EXPECT_GT(outcomes[0], 0);
  EXPECT_GT(outcomes[1], 0);
  EXPECT_GT(outcomes[2], 0);
}

// ---------------------------------------------------------------------------
// Two threads interrupt (directly, and through a map() of the future) while
// the producer installs its interrupt handler and sets the value: no crash,
// the handler runs at most once, and the future completes exactly once,
// either with the value or with the interrupt.

TEST(future_stress, interrupts_racing_the_producer_complete_exactly_once) {
  const long rounds = stress::scaled(60, 6);
  constexpr long per_round = 1000;
  struct item {
    std::optional<promise<int>> p;
    future<int> f;
    future<int> mapped;  // interrupts through it reach f's producer
    std::atomic<int> handler_runs{0};
    std::atomic<int> respond_runs{0};
    std::atomic<int> seen{-1};  // the value, or -2 interrupted, -3 anything else
    bool producer_won = false;
  };
  failure_log fails;
  long interrupted_total = 0;
  long valued_total = 0;
  for (long round = 0; round < rounds; ++round) {
    auto items = std::make_unique<item[]>(at(per_round));
    for (long i = 0; i < per_round; ++i) {
      item& it = items[at(i)];
      promise<int> p;
      it.f = p.get_future();
      it.mapped = it.f.map([](int v) { return v; });
      it.f.respond([target = &it](const result<int>& r) {
        target->seen.store(r ? *r : r.error() == errc::interrupted ? -2 : -3,
                           std::memory_order_relaxed);
        target->respond_runs.fetch_add(1, std::memory_order_relaxed);
      });
      it.p.emplace(std::move(p));
    }
    start_line line(3);
    std::thread producer([&] {
      std::mt19937 rng(static_cast<unsigned>(round));
      line.arrive_and_wait();
      for (long i = 0; i < per_round; ++i) {
        item& it = items[at(i)];
        promise<int>& p = *it.p;
        // Installed while the interrupters run: an interrupt may come
        // before it (kept pending, delivered at installation) or after.
        p.on_interrupt([target = &it, weak = p.weak()](const error& why) {
          target->handler_runs.fetch_add(1, std::memory_order_relaxed);
          weak.try_set_error(why);
        });
        if (rng() % 4 == 0) std::this_thread::yield();
        it.producer_won = p.try_set_value(static_cast<int>(i));
        it.p.reset();
      }
    });
    std::thread direct([&] {
      line.arrive_and_wait();
      for (long i = 0; i < per_round; ++i)
        items[at(i)].f.interrupt(error(errc::interrupted, "direct"));
    });
    std::thread through_map([&] {
      line.arrive_and_wait();
      for (long i = 0; i < per_round; ++i)
        items[at(i)].mapped.interrupt(error(errc::interrupted, "through map"));
    });
    producer.join();
    direct.join();
    through_map.join();

    for (long i = 0; i < per_round; ++i) {
      item& it = items[at(i)];
      fails.check(it.handler_runs.load() <= 1, "interrupt handler ran ", it.handler_runs.load(),
                  " times (round ", round, " item ", i, ")");
      fails.check(it.respond_runs.load() == 1, "the future completed ", it.respond_runs.load(),
                  " times");
      const int seen = it.seen.load();
      if (it.producer_won) {
        fails.check(seen == i, "the producer won but the future holds ", seen);
        ++valued_total;
      } else {
        fails.check(seen == -2, "the producer lost but the future holds ", seen);
        fails.check(it.handler_runs.load() == 1, "the producer lost, yet no handler ran");
        ++interrupted_total;
      }
      const bool mapped_done = it.mapped.wait_for(30s);
      fails.check(mapped_done, "the mapped future never completed");
      if (mapped_done) {
        const result<int>& m = *it.mapped.poll();
        fails.check(it.producer_won ? (m.has_value() && *m == i)
                                    : (!m.has_value() && m.error() == errc::interrupted),
                    "the mapped future disagrees with its source");
      }
    }
  }
  EXPECT_EQ(fails.count(), 0);
  EXPECT_EQ(valued_total + interrupted_total, rounds * per_round);
}

// ---------------------------------------------------------------------------
// collect() and any() over futures completed from several threads.

TEST(future_stress, collect_and_any_over_futures_completed_from_many_threads) {
  const long rounds = stress::scaled(200, 20);
  constexpr int width = 64;
  constexpr int producers = 4;
  failure_log fails;
  for (long round = 0; round < rounds; ++round) {
    std::vector<promise<int>> ps(width);
    std::vector<promise<int>> qs(width);
    std::vector<future<int>> fs;
    std::vector<future<int>> gs;
    for (int k = 0; k < width; ++k) {
      fs.push_back(ps[at(k)].get_future());
      gs.push_back(qs[at(k)].get_future());
    }
    // any() interrupts the inputs that lost; count what the producers hear.
    std::atomic<int> interrupts{0};
    for (auto& q : qs)
      q.on_interrupt([&interrupts](const error&) { interrupts.fetch_add(1); });
    // One round in ten, one input of collect() fails: so does collect().
    const bool with_failure = round % 10 == 9;
    const int failing = static_cast<int>(round % width);
    future<std::vector<int>> all = troupe::collect(fs);
    future<int> first = troupe::any(gs);

    start_line line(producers);
    std::vector<std::thread> threads;
    for (int t = 0; t < producers; ++t)
      threads.emplace_back([&, t] {
        line.arrive_and_wait();
        for (int k = t; k < width; k += producers) {
          if (with_failure && k == failing)
            ps[at(k)].set_error(error(errc::overloaded, "stress: failing input"));
          else
            ps[at(k)].set_value(k + 1);
          qs[at(k)].set_value(1000 + k);
        }
      });
    for (auto& t : threads) t.join();

    ASSERT_TRUE(all.wait_for(30s)) << "collect never completed, round " << round;
    const result<std::vector<int>>& values = *all.poll();
    if (with_failure) {
      fails.check(!values.has_value() && values.error() == errc::overloaded,
                  "collect did not fail with its input's failure, round ", round);
    } else if (!values.has_value()) {
      fails.check(false, "collect failed: ", values.error().message());
    } else {
      long sum = 0;
      bool in_order = values->size() == at(width);
      for (std::size_t k = 0; k < values->size(); ++k) {
        sum += (*values)[k];
        in_order = in_order && (*values)[k] == static_cast<int>(k) + 1;
      }
      fails.check(sum == width * (width + 1) / 2, "collect sum ", sum, ", round ", round);
      fails.check(in_order, "collect values out of input order, round ", round);
    }

    ASSERT_TRUE(first.wait_for(30s)) << "any never completed, round " << round;
    const result<int>& winner = *first.poll();
    if (!winner.has_value()) {
      fails.check(false, "any failed: ", winner.error().message());
    } else {
      const int v = *winner;
      fails.check(v >= 1000 && v < 1000 + width, "any returned ", v, ", not an input's value");
      bool matches = false;
      for (const auto& g : gs) {
        const result<int>* r = g.poll();
        matches = matches || (r && r->has_value() && **r == v);
      }
      fails.check(matches, "any returned ", v, ", which no input completed with");
    }
    fails.check(interrupts.load() <= width - 1, "more interrupts than losers: ", interrupts.load());
  }
  EXPECT_EQ(fails.count(), 0);
}
