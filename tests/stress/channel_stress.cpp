// Sync-layer stress, part one: blocking send/recv on buffered and
// unbuffered channels from many threads, select mixing send, receive and
// timeout cases, close racing waiting selects (part two:
// channel_mixed_stress.cpp). Every test checks that each item
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
// a. Many producers and many consumers on one channel with blocking send and
// recv; the last producer closes, consumers receive until nullopt.

namespace {

void run_send_recv(const char* what, std::size_t capacity, int producers, int consumers,
                   long per_producer) {
  const long n = producers * per_producer;
  channel<long> ch(capacity);
  tally got(n);
  failure_log fails;
  std::atomic<int> producers_left{producers};
  std::atomic<long> sent{0};
  watchdog dog(what, [&] { return progress_text(sent.load(), got.count(), n); });
  start_line line(producers + consumers);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      line.arrive_and_wait();
      for (long i = 0; i < per_producer; ++i) {
        const long v = p * per_producer + i + 1;
        const result<void> r = ch.send(v);
        fails.check(r.has_value(), "send of ", v, " failed before the channel was closed");
        sent.fetch_add(1);
      }
      if (producers_left.fetch_sub(1) == 1) ch.close();
    });
  for (int c = 0; c < consumers; ++c)
    threads.emplace_back([&] {
      line.arrive_and_wait();
      while (std::optional<long> v = ch.recv()) got.add(*v);
      // Closed and drained: later receives say so at once.
      fails.check(!ch.recv().has_value(), "a value after the channel was closed and drained");
      fails.check(ch.try_recv().status == chan_status::closed, "try_recv after the drain is not closed");
    });
  for (auto& t : threads) t.join();
  got.expect_exactly_once(what);
  EXPECT_EQ(fails.count(), 0);
  EXPECT_TRUE(ch.is_closed());
  EXPECT_EQ(ch.size(), 0u);
}

}  // namespace

TEST(channel_stress, buffered_many_producers_many_consumers_exactly_once) {
  run_send_recv("buffered(4) 4x4", 4, 4, 4, stress::scaled(20'000, 500));
}

TEST(channel_stress, buffered_one_slot_more_producers_than_consumers_exactly_once) {
  run_send_recv("buffered(1) 6x2", 1, 6, 2, stress::scaled(8'000, 300));
}

TEST(channel_stress, unbuffered_many_producers_many_consumers_exactly_once) {
  run_send_recv("unbuffered 4x4", 0, 4, 4, stress::scaled(4'000, 200));
}

TEST(channel_stress, unbuffered_more_consumers_than_producers_exactly_once) {
  run_send_recv("unbuffered 2x6", 0, 2, 6, stress::scaled(6'000, 200));
}

// ---------------------------------------------------------------------------
// b. Selects mixing send, receive and timeout cases, in two stages:
//
//   producers --select send--> in[0..1] --relays: select recv+send--> out[0..2]
//             --consumers: select recv over all three--> tally
//
// Producers select over sends to both inputs (sometimes with a timeout, then
// retry the same item). Relays select over receives from both inputs and a
// send of the oldest item they hold, with or without a timeout. Consumers
// select over receives from the three outputs; one waits with no timeout, so
// only items and close wake it. The last producer closes the inputs while
// relays wait on them; the last relay closes the outputs while consumers
// wait on them. A closed channel is replaced in the waiter's select by a
// private channel nobody uses, so the select waits on the rest.

TEST(channel_stress, selects_mixing_send_receive_and_timeout_cases_deliver_exactly_once) {
  constexpr int producers = 3;
  constexpr int relays = 3;
  constexpr int consumers = 3;
  constexpr std::size_t relay_hold = 4;  // the most items a relay holds
  const long per_producer = stress::scaled(6'000, 300);
  const long n = producers * per_producer;
  channel<long> in[2] = {channel<long>(0), channel<long>(2)};
  channel<long> out[3] = {channel<long>(0), channel<long>(1), channel<long>(4)};
  tally got(n);
  failure_log fails;
  std::atomic<int> producers_left{producers};
  std::atomic<int> relays_left{relays};
  std::atomic<long> sent{0};
  std::atomic<long> forwarded{0};
  std::atomic<long> timeouts{0};
  watchdog dog("select stages", [&] {
    return progress_text(sent.load(), got.count(), n) + ", forwarded " + std::to_string(forwarded.load()) +
           ", timeouts " + std::to_string(timeouts.load());
  });
  start_line line(producers + relays + consumers);
  std::vector<std::thread> threads;

  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      std::mt19937 rng(static_cast<unsigned>(p) + 1);
      line.arrive_and_wait();
      for (long i = 0; i < per_producer; ++i) {
        const long v = p * per_producer + i + 1;
        const int first = static_cast<int>((p + i) % 2);  // which case is listed first
        bool done = false;
        auto sent_one = [&](bool ok) {
          fails.check(ok, "a select send of ", v, " found its input closed");
          done = true;
        };
        while (!done) {
          if (rng() % 4 == 0) {
            const auto wait = std::chrono::microseconds(rng() % 300);
            troupe::select(on_send(in[first], v, sent_one), on_send(in[1 - first], v, sent_one),
                           on_timeout(wait, [&] { timeouts.fetch_add(1); }));
          } else {
            troupe::select(on_send(in[first], v, sent_one), on_send(in[1 - first], v, sent_one));
          }
        }
        sent.fetch_add(1);
      }
      if (producers_left.fetch_sub(1) == 1) {
        in[0].close();
        in[1].close();
      }
    });

  for (int r = 0; r < relays; ++r)
    threads.emplace_back([&, r] {
      channel<long> never;  // nobody sends on it: stands in for a closed input
      channel<long>* src[2] = {&in[0], &in[1]};
      bool open[2] = {true, true};
      std::deque<long> held;
      long sent_on = 0;
      std::mt19937 rng(static_cast<unsigned>(r) + 100);
      auto take = [&](int k) {
        return [&, k](std::optional<long> v) {
          if (v) {
            held.push_back(*v);
          } else {
            open[k] = false;
            src[k] = &never;
          }
        };
      };
      auto passed_on = [&](bool ok) {
        fails.check(ok, "a relay's send of ", held.front(), " found its output closed");
        held.pop_front();
        ++sent_on;
        forwarded.fetch_add(1);
      };
      auto timed_out = [&] { timeouts.fetch_add(1); };
      line.arrive_and_wait();
      for (;;) {
        const bool inputs_open = open[0] || open[1];
        if (!inputs_open && held.empty()) break;
        const bool timed = rng() % 2 == 0;
        const auto wait = std::chrono::microseconds(rng() % 400);
        if (held.empty()) {
          if (timed)
            troupe::select(on_recv(*src[0], take(0)), on_recv(*src[1], take(1)), on_timeout(wait, timed_out));
          else
            troupe::select(on_recv(*src[0], take(0)), on_recv(*src[1], take(1)));
          continue;
        }
        channel<long>& target = out[at((r + sent_on) % 3)];
        const long front = held.front();
        if (inputs_open && held.size() < relay_hold) {
          if (timed)
            troupe::select(on_recv(*src[0], take(0)), on_send(target, front, passed_on),
                           on_recv(*src[1], take(1)), on_timeout(wait, timed_out));
          else
            troupe::select(on_recv(*src[0], take(0)), on_send(target, front, passed_on),
                           on_recv(*src[1], take(1)));
        } else {
          if (timed)
            troupe::select(on_send(target, front, passed_on), on_timeout(wait, timed_out));
          else
            troupe::select(on_send(target, front, passed_on));
        }
      }
      if (relays_left.fetch_sub(1) == 1)
        for (auto& c : out) c.close();
    });

  for (int c = 0; c < consumers; ++c)
    threads.emplace_back([&, c] {
      channel<long> never;  // stands in for a closed output
      channel<long>* src[3] = {&out[0], &out[1], &out[2]};
      int open = 3;
      const bool timed = c != 0;  // consumer 0: only items and close wake it
      std::mt19937 rng(static_cast<unsigned>(c) + 200);
      auto take = [&](int k) {
        return [&, k](std::optional<long> v) {
          if (v) {
            got.add(*v);
          } else {
            --open;
            src[k] = &never;
          }
        };
      };
      line.arrive_and_wait();
      while (open > 0) {
        if (timed)
          troupe::select(on_recv(*src[0], take(0)), on_recv(*src[1], take(1)), on_recv(*src[2], take(2)),
                         on_timeout(std::chrono::microseconds(rng() % 500), [&] { timeouts.fetch_add(1); }));
        else
          troupe::select(on_recv(*src[0], take(0)), on_recv(*src[1], take(1)), on_recv(*src[2], take(2)));
      }
    });

  for (auto& t : threads) t.join();
  got.expect_exactly_once("select stages");
  EXPECT_EQ(forwarded.load(), n);
  EXPECT_EQ(fails.count(), 0);
  for (auto& c : out) EXPECT_EQ(c.size(), 0u);
}

// b'. Close racing selects that are waiting (or about to): every waiter
// returns exactly once, runs exactly the handler of the case it returns,
// sees "closed" (the one value put in `b` is taken at most once, or is
// still there), and its send case never succeeds.

TEST(channel_stress, close_racing_waiting_selects_ends_each_exactly_once) {
  const long rounds = stress::scaled(400, 40);
  constexpr int waiters = 4;
  failure_log fails;
  std::atomic<long> rounds_done{0};
  watchdog dog("close racing selects", [&] { return "rounds done " + std::to_string(rounds_done.load()); });
  for (long round = 0; round < rounds; ++round) {
    channel<long> a;     // nobody sends on it
    channel<long> b(1);  // the closer puts one value in it, every other round
    channel<long> c;     // nobody receives from it: the send case waits
    const bool with_value = round % 2 == 0;
    std::atomic<int> handlers{0};
    std::atomic<int> values{0};
    std::atomic<int> bad{0};
    start_line line(waiters + 1);
    std::vector<std::thread> threads;
    for (int w = 0; w < waiters; ++w)
      threads.emplace_back([&] {
        line.arrive_and_wait();
        int ran = -1;
        const int which = troupe::select(
            on_recv(a,
                    [&](std::optional<long> v) {
                      ran = 0;
                      handlers.fetch_add(1);
                      if (v) bad.fetch_add(1);
                    }),
            on_recv(b,
                    [&](std::optional<long> v) {
                      ran = 1;
                      handlers.fetch_add(1);
                      if (v && *v == 7)
                        values.fetch_add(1);
                      else if (v)
                        bad.fetch_add(1);
                    }),
            on_send(c, long{9}, [&](bool ok) {
              ran = 2;
              handlers.fetch_add(1);
              if (ok) bad.fetch_add(1);
            }));
        fails.check(which == ran, "select returned case ", which, " but ran the handler of case ", ran);
      });
    std::mt19937 rng(static_cast<unsigned>(round));
    line.arrive_and_wait();  // this thread is the closer
    if (with_value) fails.check(b.send(7).has_value(), "the send on b failed");
    int order[3] = {0, 1, 2};
    std::shuffle(order, order + 3, rng);
    for (int k : order) {
      if (rng() % 2 == 0) std::this_thread::yield();
      (k == 0 ? a : k == 1 ? b : c).close();
    }
    for (auto& t : threads) t.join();
    fails.check(handlers.load() == waiters, "round ", round, ": ", handlers.load(), " handlers ran for ",
                waiters, " selects");
    fails.check(bad.load() == 0, "round ", round, ": a receive got a value nobody sent, or a send succeeded");
    const long left = static_cast<long>(b.size());
    fails.check(values.load() + left == (with_value ? 1 : 0), "round ", round, ": the value in b was taken ",
                values.load(), " times and ", left, " are left");
    rounds_done.fetch_add(1);
  }
  EXPECT_EQ(fails.count(), 0);
}

