// Future stress, part two: blocking get() from plain threads, and futures
// handed to actors, whose continuations must run in the actor and never
// concurrently with its handlers. Meant for ThreadSanitizer (sizes scale
// down under it).
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
// Plain threads block in get() / outcome() on futures that other threads
// complete (some with failures).

TEST(future_stress, blocking_get_from_plain_threads) {
  const long n = stress::scaled(20'000, 500);
  constexpr int producers = 2;
  constexpr int waiters = 4;
  std::vector<promise<int>> promises(at(n));
  std::vector<future<int>> futures;
  futures.reserve(at(n));
  for (auto& p : promises) futures.push_back(p.get_future());
  long long expected_sum = 0;
  long expected_failures = 0;
  for (long i = 0; i < n; ++i) {
    if (i % 7 == 0)
      ++expected_failures;
    else
      expected_sum += i;
  }

  std::vector<long long> sums(waiters, 0);
  std::vector<long> failures(waiters, 0);
  std::vector<long> odd(waiters, 0);
  start_line line(producers + waiters);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      std::mt19937 rng(static_cast<unsigned>(p) + 3);
      line.arrive_and_wait();
      for (long i = p; i < n; i += producers) {
        if (i % 7 == 0)
          promises[at(i)].set_error(error(errc::overloaded, "stress: failed on purpose"));
        else
          promises[at(i)].set_value(static_cast<int>(i));
        // Now and then a pause long enough for the waiters to block.
        if (rng() % 256 == 0) std::this_thread::sleep_for(200us);
      }
    });
  for (int w = 0; w < waiters; ++w)
    threads.emplace_back([&, w] {
      line.arrive_and_wait();
      for (long i = 0; i < n; ++i) {
        const future<int>& f = futures[at(i)];
        if (w % 2 == 0) {
          try {
            sums[at(w)] += f.get();
          } catch (const error_exception& e) {
            if (e.error() == errc::overloaded)
              ++failures[at(w)];
            else
              ++odd[at(w)];
          }
        } else {
          if (w == 3 && i % 3 == 0) (void)f.wait_for(1ms);  // a timed wait first
          const result<int> r = f.outcome();
          if (r)
            sums[at(w)] += *r;
          else if (r.error() == errc::overloaded)
            ++failures[at(w)];
          else
            ++odd[at(w)];
        }
      }
    });
  for (auto& t : threads) t.join();
  for (int w = 0; w < waiters; ++w) {
    EXPECT_EQ(sums[at(w)], expected_sum) << "waiter " << w;
    EXPECT_EQ(failures[at(w)], expected_failures) << "waiter " << w;
    EXPECT_EQ(odd[at(w)], 0) << "waiter " << w;
  }
}

// ---------------------------------------------------------------------------
// Futures inside actors. Plain threads complete promises whose futures were
// sent to actors; the actors attach continuations (and coroutine actors
// co_await). Every continuation must run in its actor, so the actor's
// state, a plain non-atomic struct that handlers touch too, is never used
// concurrently (ThreadSanitizer would report it).

namespace {

struct take {
  future<int> value;
  future<int> bonus;
};
struct poke {};
struct query {};
struct actor_report {
  long long value_sum = 0;
  long long bonus_sum = 0;
  long long pair_sum = 0;
  long touches = 0;
  long completed = 0;
  long failed = 0;
};
struct coroutine_report {
  int index = 0;
  actor_report r;
};

struct shared_counters {
  std::atomic<long> wrong_context{0};  // a continuation ran outside its actor
  std::atomic<long> done{0};           // takes fully handled
};

// Non-atomic on purpose: only the owning actor may touch it.
struct worker_state {
  actor_report r;
};

bool in_actor(actor& self) { return is_current_actor(self.pid()) && current_actor() == &self; }

behavior future_worker(actor& self, shared_counters& shared) {
  auto st = std::make_shared<worker_state>();
  return {
      [&self, &shared, st](const take& t) {
        ++st->r.touches;
        t.value
            .map([&self, &shared, st](int v) {
              if (!in_actor(self)) shared.wrong_context.fetch_add(1);
              ++st->r.touches;
              st->r.value_sum += v;
              return v;
            })
            .then([&self, &shared, st, bonus = t.bonus](int v) {
              if (!in_actor(self)) shared.wrong_context.fetch_add(1);
              ++st->r.touches;
              // Attached inside a continuation: it runs in this actor too.
              return bonus.map([&self, &shared, st, v](int b) {
                if (!in_actor(self)) shared.wrong_context.fetch_add(1);
                ++st->r.touches;
                st->r.bonus_sum += b;
                return v + b;
              });
            })
            .respond([&self, &shared, st](const result<int>& r) {
              if (!in_actor(self)) shared.wrong_context.fetch_add(1);
              ++st->r.touches;
              if (r) {
                st->r.pair_sum += *r;
                ++st->r.completed;
              } else {
                ++st->r.failed;
              }
              shared.done.fetch_add(1, std::memory_order_release);
            });
      },
      [st](poke) { ++st->r.touches; },
      [st](query) { return st->r; },
  };
}

}  // namespace

TEST(future_stress, futures_completed_by_plain_threads_continue_inside_their_actors) {
  shared_counters shared;  // outlives the runtime
  const long per_actor = stress::scaled(2'000, 100);
  constexpr int event_actors = 8;
  constexpr int coroutine_actors = 2;
  constexpr int producers = 4;
  constexpr int actors = event_actors + coroutine_actors;
  runtime rt(config{.workers = 4});
  scoped_actor self(rt);
  const pid report_to = self.pid();

  std::vector<pid> pids;
  for (int a = 0; a < event_actors; ++a)
    pids.push_back(
        rt.spawn([&shared](actor& me) -> behavior { return future_worker(me, shared); }));
  for (int a = 0; a < coroutine_actors; ++a) {
    const int index = event_actors + a;
    pids.push_back(rt.spawn([&shared, report_to, per_actor, index](actor& s) -> task {
      coroutine_report rep;  // in the coroutine frame: only this actor touches it
      rep.index = index;
      for (long k = 0; k < per_actor; ++k) {
        auto msg = co_await s.receive<take>();
        if (!msg) break;
        ++rep.r.touches;
        result<int> v = co_await msg->value;
        if (!in_actor(s)) shared.wrong_context.fetch_add(1);
        result<int> b = co_await msg->bonus;
        if (!in_actor(s)) shared.wrong_context.fetch_add(1);
        if (v && b) {
          rep.r.value_sum += *v;
          rep.r.bonus_sum += *b;
          rep.r.pair_sum += *v + *b;
          ++rep.r.completed;
        } else {
          ++rep.r.failed;
        }
        shared.done.fetch_add(1, std::memory_order_release);
      }
      s.send(report_to, rep);
    }));
  }

  // Values: take k of actor a carries value a*per_actor + k + 1 and bonus 2k.
  std::vector<actor_report> expected(actors);
  std::vector<promise<int>> to_complete;
  std::vector<std::vector<take>> takes(actors);
  std::vector<int> values;
  for (int a = 0; a < actors; ++a) {
    for (long k = 0; k < per_actor; ++k) {
      promise<int> value;
      promise<int> bonus;
      takes[at(a)].push_back(take{value.get_future(), bonus.get_future()});
      const int v = static_cast<int>(a * per_actor + k + 1);
      const int b = static_cast<int>(2 * k);
      to_complete.push_back(std::move(value));
      values.push_back(v);
      to_complete.push_back(std::move(bonus));
      values.push_back(b);
      expected[at(a)].value_sum += v;
      expected[at(a)].bonus_sum += b;
      expected[at(a)].pair_sum += v + b;
      ++expected[at(a)].completed;
    }
  }
  // Complete them in a shuffled order.
  std::vector<std::size_t> order(to_complete.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(2024));

  start_line line(producers + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < producers; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) + 99);
      line.arrive_and_wait();
      for (std::size_t j = static_cast<std::size_t>(t); j < order.size(); j += producers) {
        const std::size_t i = order[j];
        to_complete[i].set_value(values[i]);
        // Keep the event actors' handlers busy alongside the continuations.
        if (rng() % 8 == 0) rt.send(pids[rng() % event_actors], poke{});
        if (rng() % 64 == 0) std::this_thread::yield();
      }
    });
  // The takes go out while the producers complete: some futures are ready
  // when their actor attaches, some are not.
  line.arrive_and_wait();
  for (long k = 0; k < per_actor; ++k)
    for (int a = 0; a < actors; ++a) rt.send(pids[at(a)], takes[at(a)][at(k)]);
  for (auto& t : threads) t.join();

  const long total = static_cast<long>(actors) * per_actor;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (shared.done.load(std::memory_order_acquire) < total &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(shared.done.load(), total) << "not every take was handled in time";
  EXPECT_EQ(shared.wrong_context.load(), 0) << "continuations ran outside their actor";

  for (int a = 0; a < event_actors; ++a) {
    auto got = self.request<actor_report>(pids[at(a)], query{}, 30s);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(got->value_sum, expected[at(a)].value_sum) << "actor " << a;
    EXPECT_EQ(got->bonus_sum, expected[at(a)].bonus_sum) << "actor " << a;
    EXPECT_EQ(got->pair_sum, expected[at(a)].pair_sum) << "actor " << a;
    EXPECT_EQ(got->completed, expected[at(a)].completed) << "actor " << a;
    EXPECT_EQ(got->failed, 0) << "actor " << a;
  }
  for (int c = 0; c < coroutine_actors; ++c) {
    auto got = self.receive<coroutine_report>(30s);
    ASSERT_TRUE(got) << "a coroutine actor sent no report";
    const int a = got->index;
    ASSERT_GE(a, event_actors);
    ASSERT_LT(a, actors);
    EXPECT_EQ(got->r.value_sum, expected[at(a)].value_sum) << "actor " << a;
    EXPECT_EQ(got->r.bonus_sum, expected[at(a)].bonus_sum) << "actor " << a;
    EXPECT_EQ(got->r.pair_sum, expected[at(a)].pair_sum) << "actor " << a;
    EXPECT_EQ(got->r.completed, expected[at(a)].completed) << "actor " << a;
    EXPECT_EQ(got->r.failed, 0) << "actor " << a;
  }
}
