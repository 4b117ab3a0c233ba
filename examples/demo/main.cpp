// troupe demo: a short tour of what the runtime does today, with a report.
//
//  1. a pipeline of actors: numbers flow source -> square -> sum
//  2. request/response between actors, with a timeout and an error path
//  3. timers: send_after and a periodic timer
//  4. a coroutine actor doing a selective receive
//  5. a crash that ends one actor only, and dead letters
//  6. deterministic testing: exploring interleavings finds an ordering bug
//     and a seed that replays it
//  7. a supervision tree restarting a crashed worker
//  8. services: stats, timeout, retry and a circuit breaker over a flaky
//     backend actor (service_section.cpp)
//  9. channels: a Plan 9 style alt loop over an input proc and a clock
//     proc (alt_section.cpp)
#include <algorithm>
#include <thread>
#include <chrono>
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "troupe/core/stop_signals.hpp"
#include "troupe/testing/explore.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

void service_section(troupe::runtime& rt);  // service_section.cpp
void alt_section(troupe::runtime& rt);      // alt_section.cpp
int observe_section(troupe::runtime& rt, const std::string& address, std::string token);  // observe_section.cpp

namespace {
struct number {
  long value;
};
struct total_q {};
struct tick {
  int n;
};
struct job {
  int id;
};
struct cancel_job {
  int id;
};
struct go {};
struct summary {
  std::string text;
};

void section(const char* title) { std::printf("\n== %s\n", title); }

// A client tells a cache to store a value, then tells a reader to read it.
// The reader's question can overtake the store: FIFO holds per pair only.
struct store {
  int value;
};
struct load {};
struct read_it {
  pid report_to;
};
void racy_protocol(testing::simulation& sim) {
  runtime& rt = sim.system();
  scoped_actor self(rt);
  auto cache = rt.spawn([](actor&) -> behavior {
    auto value = std::make_shared<int>(0);
    return {[value](store s) { *value = s.value; }, [value](load) { return *value; }};
  });
  auto reader = rt.spawn([cache](actor& a) -> behavior {
    return {[&a, cache](read_it r) {
      a.request<int>(cache, load{}).then([&a, to = r.report_to](int v) { a.send(to, v); });
    }};
  });
  self.send(cache, store{42});
  self.send(reader, read_it{self.pid()});
  auto seen = self.receive<int>();
  sim.require(seen && *seen == 42, "the reader saw " + std::to_string(seen ? *seen : -1));
}
}  // namespace

int main(int argc, char** argv) {
  // --observe [HOST:PORT] [--token TOKEN]: after the tour, keep an
  // application running with the dashboard on it (observe_section.cpp).
  std::string observe_at, token;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--observe")
      observe_at = i + 1 < argc && argv[i + 1][0] != '-' ? argv[++i] : "127.0.0.1:8089";
    else if (arg == "--token" && i + 1 < argc)
      token = argv[++i];
    else {
      std::fprintf(stderr, "usage: troupe_demo [--observe [HOST:PORT]] [--token TOKEN]\n");
      return 2;
    }
  }
  // Before any thread starts, so that every thread leaves SIGINT/SIGTERM
  // to wait_for_stop_signal.
  if (!observe_at.empty()) block_stop_signals();
  config cfg;
  // Log lines go into the report, in order, instead of to stderr.
  cfg.log_sink = [](const log_record& record) {
    const std::string_view text = record.text;
    std::printf("   [log] %.*s\n", static_cast<int>(text.size()), text.data());
  };
  runtime rt(cfg);
  scoped_actor self(rt);
  std::printf("troupe demo: %u workers\n", rt.worker_count());

  section("1. pipeline: source -> square -> sum");
  auto sum = rt.spawn([](actor&) -> behavior {
    auto total = std::make_shared<long>(0);
    return {[total](number n) { *total += n.value; }, [total](total_q) { return *total; }};
  });
  auto square = rt.spawn([sum](actor& me) -> behavior {
    return {
        [&me, sum](number n) { me.send(sum, number{n.value * n.value}); },
        // Forward the question: FIFO per pair means sum has seen every
        // number square forwarded before it sees this request.
        [&me, sum](total_q) {
          auto answer = std::make_shared<response_promise>(me.make_response_promise());
          me.request<long>(sum, total_q{}).then([answer](long v) { answer->deliver(v); });
        },
    };
  });
  auto t0 = std::chrono::steady_clock::now();
  constexpr long count = 100'000;
  for (long i = 1; i <= count; ++i) self.send(square, number{i});
  long expected = count * (count + 1) * (2 * count + 1) / 6;
  auto total = self.request<long>(square, total_q{}, 5s);
  long got = total ? *total : -1;
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("   %ld numbers squared and summed through 2 actors: %ld (%s) in %.1f ms\n", count, got,
              got == expected ? "correct" : "WRONG", ms);

  section("2. request/response");
  auto calculator = rt.spawn([](actor&) -> behavior {
    return {[](int x) { return x * 2; },
            [](const std::string& s) -> int { throw std::runtime_error("cannot double '" + s + "'"); }};
  });
  auto doubled = self.request<int>(calculator, 21, 1s);
  std::printf("   request 21 -> %s\n", doubled ? std::to_string(*doubled).c_str() : doubled.error().message().c_str());
  auto slow = rt.spawn([](actor& me) -> behavior {
    auto parked = std::make_shared<std::vector<response_promise>>();
    return {[&me, parked](int) { parked->push_back(me.make_response_promise()); }};
  });
  auto late = self.request<int>(slow, 1, 50ms);
  std::printf("   request to an actor that never answers -> %s\n", late ? "a reply?!" : late.error().message().c_str());

  section("3. timers");
  auto start = std::chrono::steady_clock::now();
  rt.send_after(100ms, self.pid(), tick{0});
  auto periodic = rt.send_interval(20ms, self.pid(), tick{1});
  int periodic_ticks = 0;
  for (;;) {
    auto t = self.receive<tick>(1s);
    if (!t) break;
    if (t->n == 1) {
      ++periodic_ticks;
      continue;
    }
    auto waited = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("   send_after(100ms) arrived after %.1f ms; the 20 ms periodic timer ticked %d times meanwhile\n",
                waited, periodic_ticks);
    break;
  }
  periodic.cancel();

  section("4. coroutine actor with selective receive");
  auto me = self.pid();
  auto scheduler = rt.spawn([me](actor& s) -> task {
    co_await s.receive<go>();  // skips the jobs queued before it
    std::string log;
    std::vector<int> cancelled;
    for (int jobs_seen = 0; jobs_seen < 3;) {
      // Cancellations are taken first, even when queued behind jobs.
      if (auto c = co_await s.receive<cancel_job>(0ms)) {
        cancelled.push_back(c->id);
        log += "cancel " + std::to_string(c->id) + "; ";
        continue;
      }
      auto next = co_await s.receive<job, cancel_job>(1s);
      if (!next) break;
      if (auto* c = std::get_if<cancel_job>(&*next)) {
        cancelled.push_back(c->id);
        log += "cancel " + std::to_string(c->id) + "; ";
        continue;
      }
      int id = std::get<job>(*next).id;
      bool skip = std::find(cancelled.begin(), cancelled.end(), id) != cancelled.end();
      log += (skip ? "skip " : "run ") + std::to_string(id) + "; ";
      ++jobs_seen;
    }
    s.send(me, summary{log});
  });
  // The cancel of job 2 is queued behind job 2, yet it is taken first.
  self.send(scheduler, job{1});
  self.send(scheduler, job{2});
  self.send(scheduler, cancel_job{2});
  self.send(scheduler, job{3});
  self.send(scheduler, go{});
  if (auto s = self.receive<summary>(5s)) std::printf("   %s\n", s->text.c_str());

  section("5. let it crash, dead letters");
  auto before = rt.dead_letter_count();
  auto oops = self.request<int>(calculator, std::string("banana"), 1s);
  std::printf("   request that throws -> %s\n", oops ? "a reply?!" : oops.error().message().c_str());
  auto after = self.request<int>(calculator, 1, 1s);
  std::printf("   the crashed actor is gone -> %s\n", after ? "a reply?!" : after.error().message().c_str());
  std::printf("   the rest keep working: sum is still %ld\n", *self.request<long>(sum, total_q{}, 1s));
  std::printf("   dead letters: %llu new, %llu total\n",
              static_cast<unsigned long long>(rt.dead_letter_count() - before),
              static_cast<unsigned long long>(rt.dead_letter_count()));

  section("6. deterministic testing: explore interleavings");
  auto outcome = testing::explore({.seeds = 100}, racy_protocol);
  if (outcome.passed) {
    std::printf("   no failing interleaving in %zu seeds\n", outcome.runs);
  } else {
    std::printf("   seed %llu fails after %zu runs: %s\n",
                static_cast<unsigned long long>(outcome.failing_seed), outcome.runs,
                outcome.failure.c_str());
    std::vector<std::string> again;
    auto replayed = testing::replay(outcome.failing_seed, {}, racy_protocol, &again);
    std::printf("   replaying seed %llu: %s, %s trace (%zu events)\n",
                static_cast<unsigned long long>(outcome.failing_seed),
                replayed == outcome.failure ? "same failure" : "DIFFERENT failure",
                again == outcome.trace ? "identical" : "DIFFERENT", again.size());
  }

  section("7. supervision tree");
  {
    auto counter_worker = [](actor& a) -> behavior {
      return {[](int x) -> int {
                if (x < 0) throw std::runtime_error("negative input " + std::to_string(x));
                return x * x;
              },
              [&a](const std::string&) { a.quit(); }};
    };
    auto app = spawn_supervisor(
        rt, {.strategy = strategy::one_for_one, .intensity = 3, .period = 5s},
        {child_spec::of("squarer", counter_worker),
         child_spec::supervisor("pool", {}, {child_spec::of("p1", counter_worker)})});
    auto kids = *self.request<std::vector<child_info>>(app, which_children{}, 1s);
    pid squarer = kids[0].child;
    std::printf("   tree: app -> {squarer %s, pool -> {p1}}\n", squarer.to_string().c_str());
    auto bad = self.request<int>(squarer, -1, 1s);
    std::printf("   squarer(-1) -> %s\n", bad ? "a reply?!" : bad.error().message().c_str());
    pid again;
    for (int i = 0; i < 1000 && (!again || again == squarer); ++i) {
      again = (*self.request<std::vector<child_info>>(app, which_children{}, 1s))[0].child;
      if (!again || again == squarer) std::this_thread::sleep_for(1ms);
    }
    auto good = self.request<int>(again, 7, 1s);
    std::printf("   restarted as %s; squarer(7) -> %d\n", again.to_string().c_str(),
                good ? *good : -1);
    rt.send_exit(app, exit_reason::shutdown());
  }

  section("8. services: stats | timeout | retry | breaker over a flaky backend");
  service_section(rt);

  section("9. channels: an alt loop over an input proc and a clock proc (Plan 9 style)");
  alt_section(rt);

  if (!observe_at.empty()) {
    const int served = observe_section(rt, observe_at, token);
    if (served != 0) return served;
  }
  std::printf("\nlive actors at exit: %zu; shutting down.\n", rt.live_actors());
  return got == expected ? 0 : 1;
}
