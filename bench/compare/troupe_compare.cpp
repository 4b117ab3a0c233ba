// troupe's side of bench/compare: the whole-program benchmarks of docs/architecture.md.
//
//   troupe_compare <pingpong|fanin|spawn|ring|idle|supervised|skynet|burst|...> [scale]
//
// Prints one JSON line per metric, e.g.
//   {"bench":"pingpong","runtime":"troupe","metric":"ns_per_roundtrip","value":123.4}
// Each benchmark checks its own result (a count, a sum) and exits non-zero
// without printing a time when the check fails.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>
#include <algorithm>

#include "report.hpp"
#include "workloads.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace troupe_bench {  // channel_benches.cpp
int chan_pingpong(double scale);
int chan_buffered(double scale);
int chan_select(double scale);
int skynet(double scale);  // burst_benches.cpp
int burst(double scale);
int trace_cost(double scale);  // trace_benches.cpp
int observe_cost(double scale);   // observer_benches.cpp
int observe_scale(double scale);  // observer_benches.cpp
}  // namespace troupe_bench
using troupe_bench::bench_clock;
using troupe_bench::emit;
using troupe_bench::fail;
using troupe_bench::seconds_since;
using troupe_bench::status_kib;

namespace {

struct ball {
  long remaining;
};
struct done {
  long count;
  long sum;
};

}  // namespace

namespace troupe_bench {

// The round trip in ns; `prepare` runs on the runtime first (trace_benches.cpp
// turns tracing on with it; observer_benches.cpp serves the admin API), and
// what it returns is kept until the run's actors are gone, before the
// runtime goes.
double pingpong_ns(double scale, const prepare_fn& prepare) {
  const long rounds = static_cast<long>(1'000'000 * scale);
  runtime rt;
  const std::shared_ptr<void> kept = prepare ? prepare(rt) : nullptr;
  scoped_actor self(rt);
  auto me = self.pid();
  auto ponger = rt.spawn([me](actor& a) -> behavior {
    return {[&a, me, pings = 0L](ball b) mutable {
      ++pings;
      if (b.remaining == 0)
        a.send(me, done{pings, 0});
      else
        a.reply(ball{b.remaining});
    }};
  });
  auto pinger = rt.spawn([ponger](actor& a) -> behavior {
    return {[&a, ponger](ball b) { a.send(ponger, ball{b.remaining - 1}); }};
  });
  auto t0 = bench_clock::now();
  rt.send(pinger, ball{rounds + 1});
  auto r = self.receive<done>(600s);
  double elapsed = seconds_since(t0);
  if (!r || r->count != rounds + 1) fail("pingpong", "ponger did not count every ping");
  return elapsed * 1e9 / static_cast<double>(rounds);
}

}  // namespace troupe_bench

namespace {

int pingpong(double scale) {
  emit("pingpong", "ns_per_roundtrip", troupe_bench::pingpong_ns(scale, {}));
  return 0;
}

// pairs: 64 independent ping-pong pairs at once, 100,000 round trips each:
// aggregate messages per second. Unlike the others it has parallelism to
// find, so it shows how the scheduler scales with cores (troupe only).
int pairs(double scale) {
  constexpr int pair_count = 64;
  const long rounds = static_cast<long>(100'000 * scale);
  runtime rt;
  scoped_actor self(rt);
  auto me = self.pid();
  std::vector<pid> pingers;
  for (int i = 0; i < pair_count; ++i) {
    auto ponger = rt.spawn([me](actor& a) -> behavior {
      return {[&a, me, pings = 0L](ball b) mutable {
        ++pings;
        if (b.remaining == 0)
          a.send(me, done{pings, 0});
        else
          a.reply(ball{b.remaining});
      }};
    });
    pingers.push_back(rt.spawn([ponger](actor& a) -> behavior {
      return {[&a, ponger](ball b) { a.send(ponger, ball{b.remaining - 1}); }};
    }));
  }
  auto t0 = bench_clock::now();
  for (auto& p : pingers) rt.send(p, ball{rounds + 1});
  long total = 0;
  for (int i = 0; i < pair_count; ++i) {
    auto r = self.receive<done>(600s);
    if (!r) fail("pairs", "a pair did not finish");
    total += r->count;
  }
  double elapsed = seconds_since(t0);
  if (total != pair_count * (rounds + 1)) fail("pairs", "a ponger missed pings");
  emit("pairs", "msgs_per_sec", 2.0 * static_cast<double>(total) / elapsed);
  return 0;
}

}  // namespace

namespace troupe_bench {

// Messages per second into one counter from four producers; `prepare` as
// for pingpong_ns.
double fanin_rate(double scale, const prepare_fn& prepare) {
  constexpr int senders = 4;
  const long per_sender = static_cast<long>(2'500'000 * scale);
  runtime rt;
  const std::shared_ptr<void> kept = prepare ? prepare(rt) : nullptr;
  scoped_actor self(rt);
  auto me = self.pid();
  const long expected_count = senders * per_sender;
  auto counter = rt.spawn([me, expected_count](actor& a) -> behavior {
    return {[&a, me, expected_count, count = 0L, sum = 0L](long v) mutable {
      ++count;
      sum += v;
      if (count == expected_count) a.send(me, done{count, sum});
    }};
  });
  std::vector<pid> producers;
  for (int s = 0; s < senders; ++s)
    producers.push_back(rt.spawn([counter, per_sender](actor& a) -> behavior {
      // Batches of 1000, then a message to itself: others get to run.
      return {[&a, counter, per_sender](ball from) {
        long end = std::min(from.remaining + 1000, per_sender);
        for (long i = from.remaining; i < end; ++i) a.send(counter, i);
        if (end < per_sender) a.send(a.pid(), ball{end});
      }};
    }));
  auto t0 = bench_clock::now();
  for (auto& p : producers) rt.send(p, ball{0});
  auto r = self.receive<done>(600s);
  double elapsed = seconds_since(t0);
  const long expected_sum = senders * (per_sender * (per_sender - 1) / 2);
  if (!r || r->count != expected_count || r->sum != expected_sum)
    fail("fanin", "counter missed messages");
  return static_cast<double>(expected_count) / elapsed;
}

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

mode_medians compare_modes(const char* bench, const std::vector<mode>& modes, double scale, int rounds) {
  std::vector<std::vector<double>> ping(modes.size()), fan(modes.size());
  for (int r = 0; r < rounds; ++r)
    for (std::size_t m = 0; m < modes.size(); ++m) {
      ping[m].push_back(pingpong_ns(scale, modes[m].prepare));
      emit(bench, std::string("pingpong_ns@") + modes[m].name, ping[m].back());
      fan[m].push_back(fanin_rate(scale, modes[m].prepare));
      emit(bench, std::string("fanin_msgs_per_sec@") + modes[m].name, fan[m].back());
    }
  mode_medians out;
  for (std::size_t m = 0; m < modes.size(); ++m) {
    out.ping.push_back(median(ping[m]));
    out.fan.push_back(median(fan[m]));
  }
  for (std::size_t m = 1; m < modes.size(); ++m) {
    emit(bench, std::string("pingpong_time_ratio@") + modes[m].name, out.ping[m] / out.ping[0]);
    emit(bench, std::string("fanin_time_ratio@") + modes[m].name, out.fan[0] / out.fan[m]);
  }
  return out;
}

}  // namespace troupe_bench

namespace {

int fanin(double scale) {
  emit("fanin", "msgs_per_sec", troupe_bench::fanin_rate(scale, {}));
  return 0;
}

int spawn(double scale) {
  const long n = static_cast<long>(1'000'000 * scale);
  runtime rt;
  scoped_actor self(rt);
  auto me = self.pid();
  long rss_before = status_kib("VmRSS:");
  auto t0 = bench_clock::now();
  rt.spawn([me, n](actor& root) -> behavior {
    for (long i = 0; i < n; ++i) {
      auto parent = root.pid();
      root.system().spawn([parent, i](actor& child) { child.send(parent, i); });
    }
    return {[&root, me, n, count = 0L, sum = 0L](long i) mutable {
      ++count;
      sum += i;
      if (count == n) {
        root.send(me, done{count, sum});
        root.quit();
      }
    }};
  });
  auto r = self.receive<done>(600s);
  double elapsed = seconds_since(t0);
  long rss_peak = status_kib("VmHWM:");
  if (!r || r->count != n || r->sum != n * (n - 1) / 2) fail("spawn", "wrong sum of indices");
  emit("spawn", "seconds", elapsed);
  emit("spawn", "rss_bytes_per_actor",
       static_cast<double>(rss_peak - rss_before) * 1024.0 / static_cast<double>(n));
  return 0;
}

int ring(double scale) {
  constexpr int size = 503;
  const long hops = static_cast<long>(10'000'000 * scale);
  runtime rt;
  scoped_actor self(rt);
  auto me = self.pid();
  auto first = std::make_shared<pid>();
  pid next;
  for (int i = size - 1; i >= 0; --i) {
    auto target = i == size - 1 ? first : std::make_shared<pid>(next);
    next = rt.spawn([target, me](actor& a) -> behavior {
      return {[&a, target, me](ball t) {
        if (t.remaining == 0)
          a.send(me, done{0, 0});
        else
          a.send(*target, ball{t.remaining - 1});
      }};
    });
  }
  *first = next;
  auto t0 = bench_clock::now();
  rt.send(next, ball{hops});
  auto r = self.receive<done>(600s);
  double elapsed = seconds_since(t0);
  if (!r) fail("ring", "the token never came back");
  emit("ring", "ns_per_hop", elapsed * 1e9 / static_cast<double>(hops));
  return 0;
}

struct stop {};

int idle(double scale) {
  const long n = static_cast<long>(100'000 * scale);
  runtime rt;
  scoped_actor self(rt);
  auto me = self.pid();
  std::vector<pid> actors;
  actors.reserve(static_cast<std::size_t>(n));
  long rss_before = status_kib("VmRSS:");
  // Each actor says when it waits (its setup has run), as Go's goroutines
  // do: RSS is measured with all of them waiting for a message.
  for (long i = 0; i < n; ++i)
    actors.push_back(rt.spawn([me](actor& a) -> behavior {
      a.send(me, 0);
      return {[&a, me](stop) {
        a.send(me, 1L);
        a.quit();
      }};
    }));
  long started = 0;
  while (started < n && self.receive<int>(60s)) ++started;
  if (started != n) fail("idle", "not every actor started");
  long rss_after = status_kib("VmRSS:");
  if (rt.live_actors() != static_cast<std::size_t>(n)) fail("idle", "not all actors alive");
  for (auto& p : actors) self.send(p, stop{});
  long acks = 0;
  while (acks < n && self.receive<long>(60s)) ++acks;
  if (acks != n) fail("idle", "not every actor acknowledged stop");
  emit("idle", "bytes_per_actor",
       static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(n));
  return 0;
}

// supervised: a one_for_one supervisor with 8 workers serves 200,000
// requests, 64 in flight; 1% of them make their worker crash. Reports
// throughput, p50/p99 latency of successful requests, and the cost of one
// restart (crash -> the replacement's first message), over 1,000 restarts.
struct job {
  int n;
  bool poison;
};
struct hello {
  pid from;
};

int supervised(double scale) {
  const long requests = static_cast<long>(200'000 * scale);
  constexpr int pool = 8;
  constexpr int in_flight = 64;
  config cfg;
  cfg.log_level = log_level::off;
  runtime rt(cfg);
  scoped_actor self(rt);
  auto me = self.pid();
  auto worker = [me](actor& a) -> behavior {
    a.send(me, hello{a.pid()});
    return {[](const job& j) -> int {
      if (j.poison) throw std::runtime_error("poisoned request");
      return j.n + 1;
    }};
  };
  std::vector<child_spec> specs;
  for (int i = 0; i < pool; ++i) specs.push_back(child_spec::of("w" + std::to_string(i), worker));
  auto sup = spawn_supervisor(rt, {.intensity = 1'000'000, .period = std::chrono::seconds(1)}, specs);
  std::vector<pid> workers;
  for (int i = 0; i < pool; ++i) workers.push_back(self.receive<hello>(10s)->from);

  struct outcome {
    std::vector<double> latencies_us;
    long ok = 0, failed = 0;
  };
  // The load: a coroutine keeps `in_flight` requests outstanding by running
  // that many request loops side by side, each its own actor.
  std::vector<pid> loaders;
  auto t0 = bench_clock::now();
  for (int l = 0; l < in_flight; ++l) {
    long share = requests / in_flight;
    loaders.push_back(rt.spawn([me, share, l, workers, sup](actor& a) -> task {
      outcome out;
      std::vector<pid> current = workers;  // this loader's view of the pool
      std::uint64_t x = static_cast<std::uint64_t>(l) * 7919 + 1;
      for (long i = 0; i < share; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        bool poison = (x >> 33) % 100 == 0;  // 1%
        const pid target = current[(x >> 20) % current.size()];
        auto start = bench_clock::now();
        auto r = co_await a.request<int>(target, job{static_cast<int>(i), poison}, std::chrono::seconds(5));
        if (r) {
          ++out.ok;
          out.latencies_us.push_back(
              std::chrono::duration<double, std::micro>(bench_clock::now() - start).count());
        } else {
          ++out.failed;
          // The worker crashed (or this request did it): ask for the current pool.
          auto kids = co_await a.request<std::vector<child_info>>(sup, which_children{},
                                                                   std::chrono::seconds(5));
          if (kids) {
            std::vector<pid> fresh;
            for (auto& k : *kids)
              if (k.child) fresh.push_back(k.child);
            if (!fresh.empty()) current = std::move(fresh);
          }
        }
      }
      a.send(me, std::move(out));
    }));
  }
  outcome total;
  for (int l = 0; l < in_flight; ++l) {
    auto o = self.receive<outcome>(600s);
    if (!o) fail("supervised", "a load actor never finished");
    total.ok += o->ok;
    total.failed += o->failed;
    total.latencies_us.insert(total.latencies_us.end(), o->latencies_us.begin(), o->latencies_us.end());
  }
  double elapsed = seconds_since(t0);
  long expected = (requests / in_flight) * in_flight;
  if (total.ok + total.failed != expected || total.ok == 0)
    fail("supervised", "requests unaccounted for: " + std::to_string(total.ok) + " ok + " +
                           std::to_string(total.failed) + " failed != " + std::to_string(expected));
  while (self.receive<hello>(0ms)) {
  }
  // Restart cost: crash a worker, time until its replacement says hello.
  const int restarts = static_cast<int>(1000 * std::min(1.0, scale * 10));
  double restart_total_us = 0;
  for (int i = 0; i < restarts; ++i) {
    auto kids = self.request<std::vector<child_info>>(sup, which_children{}, 5s);
    if (!kids || kids->empty() || !(*kids)[0].child) fail("supervised", "no child to crash");
    auto start = bench_clock::now();
    self.send((*kids)[0].child, job{0, true});
    auto h = self.receive<hello>(5s);
    if (!h) fail("supervised", "no replacement after a crash");
    restart_total_us += std::chrono::duration<double, std::micro>(bench_clock::now() - start).count();
  }
  std::sort(total.latencies_us.begin(), total.latencies_us.end());
  auto pct = [&](double p) {
    return total.latencies_us[static_cast<std::size_t>(p * static_cast<double>(total.latencies_us.size() - 1))];
  };
  emit("supervised", "requests_per_sec", static_cast<double>(expected) / elapsed);
  emit("supervised", "p50_us", pct(0.50));
  emit("supervised", "p99_us", pct(0.99));
  emit("supervised", "restart_us", restart_total_us / restarts);
  // Requests that failed: the poisoned 1% plus those queued at a worker
  // when it crashed (they get receiver_down at once, not a timeout).
  emit("supervised", "failed_percent", 100.0 * static_cast<double>(total.failed) / static_cast<double>(expected));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <pingpong|fanin|pairs|spawn|ring|idle|supervised|skynet|burst|chan_pingpong|chan_buffered|chan_select|trace_cost|observe_cost|observe_scale> [scale]\n", argv[0]);
    return 2;
  }
  std::string bench = argv[1];
  double scale = argc > 2 ? std::atof(argv[2]) : 1.0;
  if (scale <= 0) scale = 1.0;
  if (bench == "pingpong") return pingpong(scale);
  if (bench == "fanin") return fanin(scale);
  if (bench == "pairs") return pairs(scale);
  if (bench == "chan_pingpong") return troupe_bench::chan_pingpong(scale);
  if (bench == "chan_buffered") return troupe_bench::chan_buffered(scale);
  if (bench == "chan_select") return troupe_bench::chan_select(scale);
  if (bench == "spawn") return spawn(scale);
  if (bench == "ring") return ring(scale);
  if (bench == "idle") return idle(scale);
  if (bench == "supervised") return supervised(scale);
  if (bench == "skynet") return troupe_bench::skynet(scale);
  if (bench == "burst") return troupe_bench::burst(scale);
  if (bench == "trace_cost") return troupe_bench::trace_cost(scale);
  if (bench == "observe_cost") return troupe_bench::observe_cost(scale);
  if (bench == "observe_scale") return troupe_bench::observe_scale(scale);
  std::fprintf(stderr, "unknown benchmark '%s'\n", bench.c_str());
  return 2;
}
