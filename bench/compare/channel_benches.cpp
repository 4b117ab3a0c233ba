// troupe's side of the channel benchmarks in bench/compare (the peers: Go
// goroutines and Boost.Fiber; see peers/go/main.go, peers/fiber/main.cpp).
//
//   chan_pingpong  two parties, one unbuffered channel each way, 1,000,000
//                  round trips: ns per round trip. The main metric uses two
//                  coroutine actors (like for like with goroutines and
//                  fibers); "@threads" does the same with two plain threads.
//   chan_buffered  capacity 1024, 4 producers x 2,500,000 ints, 1 consumer:
//                  messages per second (main: threads; "@coroutines").
//   chan_select    4 channels of capacity 128, one producer each sending
//                  1,000,000 ints, one consumer selecting over the 4 until
//                  all are closed and drained: messages per second (main:
//                  threads; "@coroutines").
// Every run checks its count and sum and exits 1 without a result if wrong.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "report.hpp"
#include "troupe/sync/channel.hpp"
#include "troupe/sync/select.hpp"
#include "troupe/troupe.hpp"

namespace troupe_bench {

using namespace troupe;
using namespace std::chrono_literals;
using clock_type = bench_clock;

namespace {

// Waits (bounded) until `done` is set by coroutine actors.
void await_flag(const std::atomic<bool>& done, const char* bench) {
  const auto limit = clock_type::now() + 600s;
  while (!done.load(std::memory_order_acquire)) {
    if (clock_type::now() > limit) fail(bench, "timed out");
    std::this_thread::sleep_for(200us);
  }
}

}  // namespace

int chan_pingpong(double scale) {
  const long rounds = static_cast<long>(1'000'000 * scale);
  // Coroutines.
  {
    runtime rt;
    channel<long> ping, pong;
    std::atomic<bool> done{false};
    std::atomic<long> echoed{0};
    auto t0 = clock_type::now();
    rt.spawn([ping, pong, &echoed](actor&) mutable -> task {
      long n = 0;
      while (auto v = co_await ping.async_recv()) {
        co_await pong.async_send(*v);
        ++n;
      }
      echoed = n;
    });
    rt.spawn([ping, pong, rounds, &done](actor&) mutable -> task {
      for (long i = 0; i < rounds; ++i) {
        co_await ping.async_send(i);
        auto back = co_await pong.async_recv();
        if (!back || *back != i) fail("chan_pingpong", "wrong echo");
      }
      ping.close();
      done = true;
    });
    await_flag(done, "chan_pingpong");
    const double elapsed = seconds_since(t0);
    for (int i = 0; i < 1000 && echoed.load() != rounds; ++i) std::this_thread::sleep_for(1ms);
    if (echoed.load() != rounds) fail("chan_pingpong", "ponger count");
    emit("chan_pingpong", "ns_per_roundtrip", elapsed * 1e9 / static_cast<double>(rounds));
  }
  // Threads.
  {
    channel<long> ping, pong;
    long echoed = 0;
    auto t0 = clock_type::now();
    std::thread ponger([&] {
      while (auto v = ping.recv()) {
        (void)pong.send(*v);
        ++echoed;
      }
    });
    for (long i = 0; i < rounds; ++i) {
      (void)ping.send(i);
      auto back = pong.recv();
      if (!back || *back != i) fail("chan_pingpong", "wrong echo (threads)");
    }
    const double elapsed = seconds_since(t0);
    ping.close();
    ponger.join();
    if (echoed != rounds) fail("chan_pingpong", "ponger count (threads)");
    emit("chan_pingpong", "ns_per_roundtrip@threads", elapsed * 1e9 / static_cast<double>(rounds));
  }
  return 0;
}

int chan_buffered(double scale) {
  constexpr int producers = 4;
  const long each = static_cast<long>(2'500'000 * scale);
  const long total = producers * each;
  const long long expected_sum = static_cast<long long>(producers) * each * (each - 1) / 2;
  // Threads.
  {
    channel<long> c(1024);
    std::atomic<int> running{producers};
    auto t0 = clock_type::now();
    std::vector<std::thread> senders;
    for (int p = 0; p < producers; ++p)
      senders.emplace_back([&] {
        for (long i = 0; i < each; ++i) (void)c.send(i);
        if (running.fetch_sub(1) == 1) c.close();
      });
    long count = 0;
    long long sum = 0;
    while (auto v = c.recv()) {
      ++count;
      sum += *v;
    }
    const double elapsed = seconds_since(t0);
    for (auto& t : senders) t.join();
    if (count != total || sum != expected_sum) fail("chan_buffered", "count or sum (threads)");
    emit("chan_buffered", "msgs_per_sec", static_cast<double>(total) / elapsed);
  }
  // Coroutines.
  {
    runtime rt;
    channel<long> c(1024);
    std::atomic<int> running{producers};
    std::atomic<bool> done{false};
    long count = 0;
    long long sum = 0;
    auto t0 = clock_type::now();
    rt.spawn([c, &count, &sum, &done](actor&) mutable -> task {
      while (auto v = co_await c.async_recv()) {
        ++count;
        sum += *v;
      }
      done = true;
    });
    for (int p = 0; p < producers; ++p)
      rt.spawn([c, each, &running](actor&) mutable -> task {
        for (long i = 0; i < each; ++i) co_await c.async_send(i);
        if (running.fetch_sub(1) == 1) c.close();
      });
    await_flag(done, "chan_buffered");
    const double elapsed = seconds_since(t0);
    if (count != total || sum != expected_sum) fail("chan_buffered", "count or sum (coroutines)");
    emit("chan_buffered", "msgs_per_sec@coroutines", static_cast<double>(total) / elapsed);
  }
  return 0;
}

namespace {
// One consumer selecting over four channels until all are closed; a closed
// channel is swapped for one that is never ready (Go sets it to nil).
struct select_consumer {
  std::vector<channel<long>> chans;
  channel<long> never;
  int open = 4;
  long count = 0;
  long long sum = 0;
  std::function<void(std::optional<long>)> handler(int i) {
    return [this, i](std::optional<long> v) {
      if (!v) {
        chans[static_cast<std::size_t>(i)] = never;
        --open;
        return;
      }
      ++count;
      sum += *v;
    };
  }
};
}  // namespace

int chan_select(double scale) {
  constexpr int producers = 4;
  const long each = static_cast<long>(1'000'000 * scale);
  const long total = producers * each;
  const long long expected_sum = static_cast<long long>(producers) * each * (each - 1) / 2;
  // Threads.
  {
    select_consumer sc;
    for (int i = 0; i < producers; ++i) sc.chans.emplace_back(128);
    std::vector<channel<long>> inputs = sc.chans;
    auto t0 = clock_type::now();
    std::vector<std::thread> senders;
    for (int p = 0; p < producers; ++p)
      senders.emplace_back([&, p] {
        auto& c = inputs[static_cast<std::size_t>(p)];
        for (long i = 0; i < each; ++i) (void)c.send(i);
        c.close();
      });
    while (sc.open > 0)
      select(on_recv(sc.chans[0], sc.handler(0)), on_recv(sc.chans[1], sc.handler(1)),
             on_recv(sc.chans[2], sc.handler(2)), on_recv(sc.chans[3], sc.handler(3)));
    const double elapsed = seconds_since(t0);
    for (auto& t : senders) t.join();
    if (sc.count != total || sc.sum != expected_sum) fail("chan_select", "count or sum (threads)");
    emit("chan_select", "msgs_per_sec", static_cast<double>(total) / elapsed);
  }
  // Coroutines.
  {
    runtime rt;
    auto sc = std::make_shared<select_consumer>();
    for (int i = 0; i < producers; ++i) sc->chans.emplace_back(128);
    std::vector<channel<long>> inputs = sc->chans;
    std::atomic<bool> done{false};
    auto t0 = clock_type::now();
    rt.spawn([sc, &done](actor&) -> task {
      while (sc->open > 0)
        co_await async_select(on_recv(sc->chans[0], sc->handler(0)), on_recv(sc->chans[1], sc->handler(1)),
                              on_recv(sc->chans[2], sc->handler(2)), on_recv(sc->chans[3], sc->handler(3)));
      done = true;
    });
    for (int p = 0; p < producers; ++p)
      rt.spawn([c = inputs[static_cast<std::size_t>(p)], each](actor&) mutable -> task {
        for (long i = 0; i < each; ++i) co_await c.async_send(i);
        c.close();
      });
    await_flag(done, "chan_select");
    const double elapsed = seconds_since(t0);
    if (sc->count != total || sc->sum != expected_sum) fail("chan_select", "count or sum (coroutines)");
    emit("chan_select", "msgs_per_sec@coroutines", static_cast<double>(total) / elapsed);
  }
  return 0;
}

}  // namespace troupe_bench
