// Boost.Fiber peer for the troupe comparison benchmarks (channel benches).
//
// Usage: fiber_bench <bench> [scale]   (scale multiplies N, default 1.0)
// Build: g++ -O2 -std=c++17 main.cpp -o fiber_bench
//            -lboost_fiber -lboost_context -lpthread
//
// Benches:
//   chan_pingpong  two fibers, two boost::fibers::unbuffered_channel<i64>
//                  (ping, pong), N=1e6 round trips; the ponger counts pings
//                  (== N) and echoes each value, which the pinger checks.
//                  All fibers run on one thread with the default round_robin
//                  scheduler: the idiomatic fiber setup for a ping-pong pair
//                  (a second thread has nothing to run but the partner).
//   chan_buffered  one buffered_channel<i64> of capacity 1024, 4 producers x
//                  2.5e6 ints (0..n-1); the channel is closed once all
//                  producers are done; one consumer pops until closed.
//                  Check count == 4n and sum == 4 * n(n-1)/2.
//   chan_select    4 buffered_channel<i64> of capacity 128, one producer per
//                  channel sending 1e6 ints (0..n-1) then closing it; one
//                  consumer reads all 4 until every one is closed and drained.
//                  Check count == 4n and sum == 4 * n(n-1)/2.
//
// Threads for chan_buffered and chan_select: by default ONE thread with the
// default round_robin scheduler, like chan_pingpong. FIBER_BENCH_THREADS=N
// (N > 1) in the environment runs them instead over N threads under Boost's
// work_stealing scheduler (every thread installs it, fibers migrate; the main
// thread launches and joins the fibers, the helper threads park their main
// fiber on a fiber condition variable so their schedulers run stolen fibers).
// Why one thread by default: measured with N=2 (Boost 1.74, 2 cores), both
// multi-thread modes misrepresent Boost.Fiber. With suspend=false (the
// default, idle threads spin looking for work) every channel hand-off becomes
// a cross-thread wake-up under the channel spinlock and throughput drops about
// 8x (about 4M msgs/s against about 30M on one thread) while burning both
// cores; with suspend=true the helper thread sleeps through the whole run
// (user CPU time == wall time), i.e. it is one thread in disguise. shared_work
// was as slow as spinning work_stealing. One thread is the configuration
// Boost.Fiber is meant for on this workload and is stated plainly; Go runs
// with GOMAXPROCS at its default (all cores), so its numbers include
// cross-thread costs that this peer's do not.
//
// Notes on fairness versus Go:
//   - Boost's buffered_channel keeps one slot free, so a channel built with
//     capacity 1024 (resp. 128) holds at most 1023 (resp. 127) values; the
//     capacity must be a power of two.
//   - Boost.Fiber has no select. The chan_select consumer polls the 4
//     channels round-robin with try_pop, starting each round at the channel
//     after the one it last took a value from (so none starves), and calls
//     this_fiber::yield() when a whole round found nothing ready, letting the
//     producers run. A channel whose try_pop reports closed (closed and
//     empty) leaves the rotation. This is the fair equivalent available; it
//     busy-polls where Go's select would block.
//
// Output: one JSON line per metric on stdout; on a failed check, a message on
// stderr and exit status 1.

#include <boost/fiber/all.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace fibers = boost::fibers;
using i64 = std::int64_t;
using clk = std::chrono::steady_clock;

namespace {

// Threads for chan_buffered / chan_select (see above): FIBER_BENCH_THREADS,
// default 1.
unsigned bench_threads() {
  const char* env = std::getenv("FIBER_BENCH_THREADS");
  if (env == nullptr || *env == '\0') return 1;
  char* end = nullptr;
  long v = std::strtol(env, &end, 10);
  if (*end != '\0' || v < 1 || v > 1024) {
    std::cerr << "bad FIBER_BENCH_THREADS: " << env << "\n";
    std::exit(2);
  }
  return static_cast<unsigned>(v);
}

double secs_since(clk::time_point t0) {
  return std::chrono::duration<double>(clk::now() - t0).count();
}

void emit(const std::string& bench, const char* metric, double value) {
  std::printf("{\"bench\":\"%s\",\"runtime\":\"fiber\",\"metric\":\"%s\","
              "\"value\":%.9g}\n",
              bench.c_str(), metric, value);
  std::fflush(stdout);
}

[[noreturn]] void fail(const std::string& msg) {
  std::cerr << "fiber: check failed: " << msg << std::endl;
  std::exit(1);
}

// Runs body() on the main thread's main fiber; with threads > 1, `threads`
// threads share a work_stealing scheduler (suspend=false), else the default
// round_robin runs everything on this thread. body launches and joins its
// fibers. Returns once body has returned and any helper threads have exited.
template <typename Body>
void with_work_stealing(unsigned threads, Body body) {
  if (threads <= 1) {  // plain round_robin on this thread
    body();
    return;
  }
  fibers::mutex mtx;
  fibers::condition_variable cv;
  bool done = false;
  std::vector<std::thread> helpers;
  for (unsigned i = 1; i < threads; ++i)
    helpers.emplace_back([&] {
      fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(threads);
      std::unique_lock<fibers::mutex> lk(mtx);
      cv.wait(lk, [&] { return done; });
    });
  // Blocks until every thread has installed its scheduler.
  fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(threads);
  body();
  {
    std::unique_lock<fibers::mutex> lk(mtx);
    done = true;
  }
  cv.notify_all();
  for (auto& t : helpers) t.join();
}

// ---------------------------------------------------------------- pingpong

void bench_pingpong(const std::string& name, i64 n) {
  fibers::unbuffered_channel<i64> ping, pong;
  i64 pings = 0;
  bool echo_ok = true;
  auto t0 = clk::now();
  fibers::fiber ponger([&] {
    i64 v;
    while (ping.pop(v) == fibers::channel_op_status::success) {
      ++pings;
      pong.push(v);
    }
  });
  fibers::fiber pinger([&] {
    for (i64 i = 0; i < n; ++i) {
      ping.push(i);
      i64 v = -1;
      if (pong.pop(v) != fibers::channel_op_status::success || v != i) {
        echo_ok = false;
        break;
      }
    }
  });
  pinger.join();
  double el = secs_since(t0);
  ping.close();
  ponger.join();
  if (!echo_ok) fail("chan_pingpong: wrong echo");
  if (pings != n)
    fail("ponger counted " + std::to_string(pings) + " pings, expected " +
         std::to_string(n));
  emit(name, "ns_per_roundtrip", el * 1e9 / static_cast<double>(n));
}

// ---------------------------------------------------------------- buffered

void bench_buffered(const std::string& name, i64 n) {
  constexpr int producers = 4;
  const i64 total = producers * n;
  const i64 expected = producers * (n * (n - 1) / 2);
  i64 count = 0, sum = 0;
  double el = 0;
  with_work_stealing(bench_threads(), [&] {
    auto t0 = clk::now();
    fibers::buffered_channel<i64> ch(1024);
    std::vector<fibers::fiber> prod;
    for (int p = 0; p < producers; ++p)
      prod.emplace_back([&] {
        for (i64 i = 0; i < n; ++i) ch.push(i);
      });
    fibers::fiber consumer([&] {
      i64 x;
      while (ch.pop(x) == fibers::channel_op_status::success) {
        sum += x;
        ++count;
      }
    });
    for (auto& f : prod) f.join();
    ch.close();
    consumer.join();
    el = secs_since(t0);
  });
  if (count != total || sum != expected)
    fail("chan_buffered count " + std::to_string(count) + " sum " +
         std::to_string(sum) + ", expected " + std::to_string(total) + " / " +
         std::to_string(expected));
  emit(name, "msgs_per_sec", static_cast<double>(total) / el);
}

// ---------------------------------------------------------------- select

void bench_select(const std::string& name, i64 n) {
  constexpr int producers = 4;
  const i64 total = producers * n;
  const i64 expected = producers * (n * (n - 1) / 2);
  i64 count = 0, sum = 0;
  double el = 0;
  with_work_stealing(bench_threads(), [&] {
    auto t0 = clk::now();
    // Channels are neither copyable nor movable: hold them by pointer.
    std::array<std::unique_ptr<fibers::buffered_channel<i64>>, producers> chs;
    for (auto& ch : chs)
      ch = std::make_unique<fibers::buffered_channel<i64>>(128);
    std::vector<fibers::fiber> prod;
    for (int p = 0; p < producers; ++p)
      prod.emplace_back([&ch = *chs[p], n] {
        for (i64 i = 0; i < n; ++i) ch.push(i);
        ch.close();
      });
    fibers::fiber consumer([&] {
      std::array<bool, producers> open;
      open.fill(true);
      int live = producers;
      int next = 0;  // where the next round of polling starts
      while (live > 0) {
        bool got = false;
        for (int k = 0; k < producers && !got; ++k) {
          int c = (next + k) % producers;
          if (!open[c]) continue;
          i64 x;
          switch (chs[c]->try_pop(x)) {
            case fibers::channel_op_status::success:
              sum += x;
              ++count;
              got = true;
              next = (c + 1) % producers;
              break;
            case fibers::channel_op_status::closed:  // closed and drained
              open[c] = false;
              --live;
              break;
            default:  // empty
              break;
          }
        }
        if (!got && live > 0) boost::this_fiber::yield();
      }
    });
    consumer.join();
    for (auto& f : prod) f.join();
    el = secs_since(t0);
  });
  if (count != total || sum != expected)
    fail("chan_select count " + std::to_string(count) + " sum " +
         std::to_string(sum) + ", expected " + std::to_string(total) + " / " +
         std::to_string(expected));
  emit(name, "msgs_per_sec", static_cast<double>(total) / el);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: fiber_bench chan_pingpong|chan_buffered|chan_select "
                 "[scale]\n";
    return 2;
  }
  double scale = 1.0;
  if (argc > 2) {
    char* end = nullptr;
    scale = std::strtod(argv[2], &end);
    if (end == argv[2] || *end != '\0' || !(scale > 0)) {
      std::cerr << "bad scale: " << argv[2] << "\n";
      return 2;
    }
  }
  auto scaled = [scale](i64 n) {
    i64 v = static_cast<i64>(static_cast<double>(n) * scale);
    return v < 1 ? i64{1} : v;
  };
  const std::string name = argv[1];
  if (name == "chan_pingpong")
    bench_pingpong(name, scaled(1000000));
  else if (name == "chan_buffered")
    bench_buffered(name, scaled(2500000));
  else if (name == "chan_select")
    bench_select(name, scaled(1000000));
  else {
    std::cerr << "unknown bench: " << name << "\n";
    return 2;
  }
  return 0;
}
