// Sync-layer stress, part two: coroutine actors and threads on the same
// channels, try_send/try_recv spinning beside blocking operations, and a
// Mesa monitor bounded buffer with naked notifies. Every test checks that each item
// arrives exactly once (count, sum, and a tally per item), and runs under a
// watchdog that reports and aborts instead of hanging when something
// deadlocks. Meant for ThreadSanitizer (sizes scale down under it).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "exactly_once.hpp"
#include "stress_scale.hpp"
#include "troupe/sync/channel.hpp"
#include "troupe/sync/monitor.hpp"
#include "troupe/sync/select.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

using namespace stress_helpers;

// ---------------------------------------------------------------------------
// c. Coroutine actors and plain threads on the same two channels at once.
// Coroutine producers co_await async_send (and async_select over both sends,
// with a timeout); thread producers send (and select). Consumers: a
// coroutine co_awaiting async_recv, two coroutines co_awaiting async_select
// over both channels with a timeout, and threads receiving or selecting.
// The last producer, thread or coroutine, closes both channels.

namespace {

struct mixed_run {
  explicit mixed_run(long n, int producers) : got(n), producers_left(producers) {}
  tally got;
  failure_log fails;
  std::atomic<int> producers_left;
  std::atomic<int> coroutines_done{0};
  std::atomic<long> sent{0};
  std::atomic<long> timeouts{0};

  void producer_done(channel<long>& work, channel<long>& side) {
    if (producers_left.fetch_sub(1) == 1) {
      work.close();
      side.close();
    }
  }
};

// The coroutines take everything as parameters (copied into their frames):
// nothing they use lives in a lambda's captures.
task coroutine_producer(actor& self, mixed_run* run, channel<long> work, channel<long> side, long first,
                        long count) {
  (void)self;
  for (long i = 0; i < count; ++i) {
    const long v = first + i;
    if (i % 3 == 2) {
      // Either channel; after a timeout the same item is tried again.
      bool done = false;
      while (!done) {
        co_await async_select(on_send(work, v,
                                      [run, v, &done](bool ok) {
                                        run->fails.check(ok, "coroutine select send of ", v,
                                                         " found its channel closed");
                                        done = true;
                                      }),
                              on_send(side, v,
                                      [run, v, &done](bool ok) {
                                        run->fails.check(ok, "coroutine select send of ", v,
                                                         " found its channel closed");
                                        done = true;
                                      }),
                              on_timeout(200us, [run] { run->timeouts.fetch_add(1); }));
      }
    } else {
      channel<long>& target = i % 3 == 0 ? work : side;
      const result<void> r = co_await target.async_send(v);
      run->fails.check(r.has_value(), "coroutine send of ", v, " failed before close");
    }
    run->sent.fetch_add(1);
  }
  run->producer_done(work, side);
  run->coroutines_done.fetch_add(1);
}

task coroutine_receiver(actor& self, mixed_run* run, channel<long> work) {
  (void)self;
  while (std::optional<long> v = co_await work.async_recv()) run->got.add(*v);
  run->coroutines_done.fetch_add(1);
}

task coroutine_selector(actor& self, mixed_run* run, channel<long> work, channel<long> side,
                        unsigned seed) {
  (void)self;
  channel<long> never;  // stands in for a closed channel
  channel<long>* src[2] = {&work, &side};
  int open = 2;
  std::mt19937 rng(seed);
  while (open > 0) {
    const auto wait = std::chrono::microseconds(100 + rng() % 900);
    co_await async_select(on_recv(*src[0],
                                  [&](std::optional<long> v) {
                                    if (v) {
                                      run->got.add(*v);
                                    } else {
                                      --open;
                                      src[0] = &never;
                                    }
                                  }),
                          on_recv(*src[1],
                                  [&](std::optional<long> v) {
                                    if (v) {
                                      run->got.add(*v);
                                    } else {
                                      --open;
                                      src[1] = &never;
                                    }
                                  }),
                          on_timeout(wait, [run] { run->timeouts.fetch_add(1); }));
  }
  run->coroutines_done.fetch_add(1);
}

}  // namespace

TEST(channel_stress, coroutine_actors_and_threads_share_channels_exactly_once) {
  constexpr int coroutine_producers = 2;
  constexpr int thread_producers = 2;
  constexpr int coroutine_count = coroutine_producers + 3;  // + a receiver and two selectors
  const long per_producer = stress::scaled(4'000, 200);
  const long n = (coroutine_producers + thread_producers) * per_producer;
  mixed_run run(n, coroutine_producers + thread_producers);
  channel<long> work(4);
  channel<long> side;  // unbuffered
  watchdog dog("coroutines and threads", [&] {
    return progress_text(run.sent.load(), run.got.count(), n) + ", coroutines done " +
           std::to_string(run.coroutines_done.load()) + " of " + std::to_string(coroutine_count);
  });
  // Destroyed before `run` and the channels: a coroutine still waiting (a
  // failed test) is destroyed at its suspension point while they live.
  runtime rt(config{.workers = 2});

  for (int p = 0; p < coroutine_producers; ++p)
    rt.spawn(coroutine_producer, &run, work, side, p * per_producer + 1, per_producer);
  rt.spawn(coroutine_receiver, &run, work);
  rt.spawn(coroutine_selector, &run, work, side, 11u);
  rt.spawn(coroutine_selector, &run, work, side, 12u);

  std::vector<std::thread> threads;
  for (int t = 0; t < thread_producers; ++t)
    threads.emplace_back([&, t] {
      const long first = (coroutine_producers + t) * per_producer + 1;
      for (long i = 0; i < per_producer; ++i) {
        const long v = first + i;
        if (i % 4 == 3) {
          auto sent_one = [&](bool ok) {
            run.fails.check(ok, "thread select send of ", v, " found its channel closed");
          };
          troupe::select(on_send(work, v, sent_one), on_send(side, v, sent_one));
        } else {
          channel<long>& target = i % 2 == 0 ? work : side;
          run.fails.check(target.send(v).has_value(), "thread send of ", v, " failed before close");
        }
        run.sent.fetch_add(1);
      }
      run.producer_done(work, side);
    });
  // A thread receiving from work only, one from side only, one selecting.
  threads.emplace_back([&] {
    while (std::optional<long> v = work.recv()) run.got.add(*v);
  });
  threads.emplace_back([&] {
    while (std::optional<long> v = side.recv()) run.got.add(*v);
  });
  threads.emplace_back([&] {
    channel<long> never;
    channel<long>* src[2] = {&work, &side};
    int open = 2;
    auto take = [&](int k) {
      return [&, k](std::optional<long> v) {
        if (v) {
          run.got.add(*v);
        } else {
          --open;
          src[k] = &never;
        }
      };
    };
    while (open > 0)
      troupe::select(on_recv(*src[0], take(0)), on_recv(*src[1], take(1)),
                     on_timeout(1ms, [&] { run.timeouts.fetch_add(1); }));
  });

  // The coroutine actors end on their own: wait for them, bounded.
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (run.coroutines_done.load() < coroutine_count && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  EXPECT_EQ(run.coroutines_done.load(), coroutine_count)
      << "coroutine actors still waiting; " << progress_text(run.sent.load(), run.got.count(), n);
  for (auto& t : threads) t.join();
  run.got.expect_exactly_once("coroutines and threads");
  EXPECT_EQ(run.fails.count(), 0);
  EXPECT_EQ(run.sent.load(), n);
}

// ---------------------------------------------------------------------------
// d. try_send/try_recv spinning from many threads beside blocking send and
// recv. Each producer and consumer, item by item, either spins on the try
// operation (yielding between tries) or blocks; a spinner falls back to
// blocking now and then, so two spinners on an unbuffered channel (where a
// try meets only a blocked counterpart) cannot starve each other.

namespace {

void run_try_mix(const char* what, std::size_t capacity, long per_producer) {
  constexpr int producers = 4;
  constexpr int consumers = 4;
  const long n = producers * per_producer;
  channel<long> ch(capacity);
  tally got(n);
  failure_log fails;
  std::atomic<int> producers_left{producers};
  std::atomic<long> sent{0};
  std::atomic<long> try_sends{0};
  std::atomic<long> try_recvs{0};
  watchdog dog(what, [&] { return progress_text(sent.load(), got.count(), n); });
  start_line line(producers + consumers);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      std::mt19937 rng(static_cast<unsigned>(p) + 300);
      line.arrive_and_wait();
      for (long i = 0; i < per_producer; ++i) {
        const long v = p * per_producer + i + 1;
        for (;;) {
          if (rng() % 8 == 0) {
            fails.check(ch.send(v).has_value(), "send of ", v, " failed before close");
            break;
          }
          const chan_status st = ch.try_send(v);
          if (st == chan_status::ok) {
            try_sends.fetch_add(1);
            break;
          }
          if (st == chan_status::closed) {
            fails.check(false, "try_send of ", v, " found the channel closed before close");
            break;
          }
          std::this_thread::yield();
        }
        sent.fetch_add(1);
      }
      if (producers_left.fetch_sub(1) == 1) ch.close();
    });
  for (int c = 0; c < consumers; ++c)
    threads.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c) + 400);
      line.arrive_and_wait();
      for (;;) {
        if (rng() % 8 == 0) {
          std::optional<long> v = ch.recv();
          if (!v) break;
          got.add(*v);
          continue;
        }
        auto r = ch.try_recv();
        if (r.status == chan_status::ok) {
          fails.check(r.value.has_value(), "try_recv said ok without a value");
          if (r.value) got.add(*r.value);
          try_recvs.fetch_add(1);
          continue;
        }
        fails.check(!r.value.has_value(), "try_recv failed yet gave a value");
        if (r.status == chan_status::closed) break;
        std::this_thread::yield();
      }
    });
  for (auto& t : threads) t.join();
  got.expect_exactly_once(what);
  EXPECT_EQ(fails.count(), 0);
  // Both kinds happened (each is likely thousands of times).
  EXPECT_GT(try_sends.load(), 0);
  EXPECT_GT(try_recvs.load(), 0);
}

}  // namespace

TEST(channel_stress, try_ops_spinning_beside_blocking_ops_on_a_buffered_channel) {
  run_try_mix("try ops, buffered(8)", 8, stress::scaled(8'000, 300));
}

TEST(channel_stress, try_ops_spinning_beside_blocking_ops_on_an_unbuffered_channel) {
  run_try_mix("try ops, unbuffered", 0, stress::scaled(3'000, 200));
}

// ---------------------------------------------------------------------------
// e. A Mesa monitor as a bounded buffer: monitor<std::deque<long>> with two
// conditions, not_full and not_empty. Producers and consumers notify either
// while holding the lock or naked (after releasing it), at random, and now
// and then broadcast. A notify lost would leave a waiter asleep: each wait
// is bounded and reported. The last producer puts one 0 (a stop item) per
// consumer.

namespace {
constexpr std::size_t buffer_capacity = 4;
}  // namespace

TEST(channel_stress, monitor_bounded_buffer_with_naked_notifies_loses_nothing) {
  constexpr int producers = 4;
  constexpr int consumers = 4;
  const long per_producer = stress::scaled(10'000, 300);
  const long n = producers * per_producer;
  monitor<std::deque<long>> buffer("stress bounded buffer", std::deque<long>{},
                                   [](const std::deque<long>& d) { return d.size() <= buffer_capacity; });
  condition not_full(buffer);
  condition not_empty(buffer);
  tally got(n);
  failure_log fails;
  std::atomic<int> producers_left{producers};
  std::atomic<long> sent{0};
  std::atomic<long> naked_notifies{0};
  watchdog dog("monitor bounded buffer", [&] { return progress_text(sent.load(), got.count(), n); });

  // Puts v in the buffer, waiting for room; notifies not_empty.
  auto put = [&](long v, std::mt19937& rng) {
    const bool naked = rng() % 2 == 0;
    const bool broadcast = rng() % 16 == 0;
    {
      auto g = buffer.lock();
      while (!g.wait_for(not_full, 20s, [](const std::deque<long>& d) { return d.size() < buffer_capacity; }))
        fails.check(false, "a producer waited 20 s for room: a notify was lost?");
      g->push_back(v);
      if (!naked) broadcast ? not_empty.notify_all() : not_empty.notify_one();
    }
    if (naked) {
      naked_notifies.fetch_add(1);
      broadcast ? not_empty.notify_all() : not_empty.notify_one();
    }
  };

  start_line line(producers + consumers);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      std::mt19937 rng(static_cast<unsigned>(p) + 500);
      line.arrive_and_wait();
      for (long i = 0; i < per_producer; ++i) {
        put(p * per_producer + i + 1, rng);
        sent.fetch_add(1);
      }
      if (producers_left.fetch_sub(1) == 1)
        for (int c = 0; c < consumers; ++c) put(0, rng);
    });
  for (int c = 0; c < consumers; ++c)
    threads.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c) + 600);
      line.arrive_and_wait();
      for (;;) {
        const bool naked = rng() % 2 == 0;
        const bool broadcast = rng() % 16 == 0;
        long v = 0;
        {
          auto g = buffer.lock();
          while (!g.wait_for(not_empty, 20s, [](const std::deque<long>& d) { return !d.empty(); }))
            fails.check(false, "a consumer waited 20 s for an item: a notify was lost?");
          v = g->front();
          g->pop_front();
          if (!naked) broadcast ? not_full.notify_all() : not_full.notify_one();
        }
        if (naked) {
          naked_notifies.fetch_add(1);
          broadcast ? not_full.notify_all() : not_full.notify_one();
        }
        if (v == 0) break;  // the stop item: one per consumer
        got.add(v);
      }
    });
  for (auto& t : threads) t.join();
  got.expect_exactly_once("monitor bounded buffer");
  EXPECT_EQ(fails.count(), 0);
  EXPECT_GT(naked_notifies.load(), 0);
  EXPECT_EQ(buffer.with([](std::deque<long>& d) { return d.size(); }), 0u);
}
