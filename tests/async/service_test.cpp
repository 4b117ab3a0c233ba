// Services and filters, on a fake clock where time matters.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "troupe/async.hpp"
#include "troupe/core/runtime.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// A backend whose calls the test completes by hand.
struct manual_backend {
  std::vector<promise<int>> calls;
  std::vector<int> requests;
  service<int, int> as_service() {
    return service<int, int>([this](int request) {
      requests.push_back(request);
      calls.emplace_back();
      return calls.back().get_future();
    });
  }
};

error retryable_failure() { return error(errc::receiver_down, "flaky").mark_retryable(); }

}  // namespace

TEST(Service, FromFunctionsAndExceptions) {
  service<int, int> sync = [](int n) { return n + 1; };
  service<int, int> async = [](int n) { return make_value<int>(n * 3); };
  service<int, int> throws = [](int) -> int { throw std::runtime_error("nope"); };
  EXPECT_EQ(sync(1).get(), 2);
  EXPECT_EQ(async(2).get(), 6);
  EXPECT_EQ(throws(0).poll()->error().detail(), "nope");
}

TEST(Filter, TypedFilterChangesTypesAndComposes) {
  service<int, int> square = [](int n) { return n * n; };
  // decode: string -> int, encode: int -> string
  filter<std::string, std::string, int, int> codec(
      [](std::string text, const service<int, int>& next) {
        return next(std::stoi(text)).map([](int n) { return "=" + std::to_string(n); });
      });
  std::vector<std::string> log;
  auto logging = make_filter([&log](auto request, const auto& next) {
    log.push_back("in");
    return next(std::move(request)).ensure([&log] { log.push_back("out"); });
  });
  service<std::string, std::string> app = logging | codec | square;
  EXPECT_EQ(app("7").get(), "=49");
  EXPECT_EQ(log, (std::vector<std::string>{"in", "out"}));
  auto also = and_then(logging, codec) | square;
  EXPECT_EQ(also("3").get(), "=9");
}

TEST(Filter, TimeoutFailsAndInterruptsTheCall) {
  manual_timers clock;
  manual_backend backend;
  bool interrupted = false;
  auto client = timeout(clock, 50ms) | backend.as_service();
  future<int> f = client(1);
  backend.calls[0].on_interrupt([&](const error&) { interrupted = true; });
  clock.advance(50ms);
  EXPECT_EQ(f.poll()->error().code(), errc::timeout);
  EXPECT_TRUE(interrupted);
}

TEST(Filter, RetryRetriesOnlyRetryableFailuresWithBackoff) {
  manual_timers clock;
  manual_backend backend;
  retry_filter retrying(clock, {.max_retries = 3, .backoff_base = 10ms, .backoff_max = 1s, .seed = 7});
  auto client = retrying | backend.as_service();

  future<int> f = client(5);
  ASSERT_EQ(backend.calls.size(), 1u);
  backend.calls[0].set_error(retryable_failure());
  EXPECT_FALSE(f.is_ready());
  EXPECT_EQ(backend.calls.size(), 1u);  // waiting out the backoff
  clock.advance(10ms);                  // backoff 0 is at most base
  ASSERT_EQ(backend.calls.size(), 2u);
  EXPECT_EQ(backend.requests[1], 5);
  backend.calls[1].set_value(50);
  EXPECT_EQ(f.get(), 50);
  EXPECT_EQ(retrying.core().retries(), 1u);

  // Not retryable: returned at once.
  future<int> g = client(6);
  backend.calls.back().set_error(error(errc::handler_failed));
  EXPECT_EQ(g.poll()->error().code(), errc::handler_failed);
  EXPECT_EQ(retrying.core().retries(), 1u);
}

TEST(Filter, RetryGivesUpAfterMaxRetriesAndBackoffGrows) {
  manual_timers clock;
  manual_backend backend;
  retry_filter retrying(clock, {.max_retries = 2, .backoff_base = 10ms, .backoff_max = 1s, .seed = 1});
  auto client = retrying | backend.as_service();
  future<int> f = client(1);
  backend.calls[0].set_error(retryable_failure());
  clock.advance(10ms);
  ASSERT_EQ(backend.calls.size(), 2u);
  backend.calls[1].set_error(retryable_failure());
  clock.advance(20ms);  // the second backoff is at most 2 * base
  ASSERT_EQ(backend.calls.size(), 3u);
  backend.calls[2].set_error(retryable_failure());
  EXPECT_EQ(f.poll()->error().code(), errc::receiver_down);
  EXPECT_EQ(backend.calls.size(), 3u);
  // Full jitter stays under the capped ceiling.
  retry_core core(clock, {.backoff_base = 10ms, .backoff_max = 40ms, .seed = 3});
  for (unsigned n = 0; n < 8; ++n) EXPECT_LE(core.backoff(n), 40ms);
}

TEST(Filter, RetryBudgetStopsRetryStorms) {
  manual_timers clock;
  manual_backend backend;
  retry_filter retrying(clock, {.max_retries = 5,
                                .backoff_base = 0ms,
                                .budget = {.percent = 0.0, .min_per_second = 2, .max_balance = 2}});
  auto client = retrying | backend.as_service();
  future<int> f = client(1);
  for (int i = 0; i < 3; ++i) {
    backend.calls.back().set_error(retryable_failure());
    clock.advance(0ms);
  }
  // Two tokens: two retries, then the failure is returned.
  EXPECT_EQ(backend.calls.size(), 3u);
  EXPECT_EQ(f.poll()->error().code(), errc::receiver_down);
  EXPECT_EQ(retrying.core().budget_exhausted(), 1u);
  clock.advance(1s);  // refills two tokens a second
  EXPECT_NEAR(retrying.core().balance(), 0.0, 1e-9);  // refilled lazily, on the next retry
  future<int> g = client(2);
  backend.calls.back().set_error(retryable_failure());
  clock.advance(0ms);
  EXPECT_EQ(backend.calls.size(), 5u);
}

TEST(Filter, InterruptStopsRetrying) {
  manual_timers clock;
  manual_backend backend;
  auto client = retry(clock, {.max_retries = 5, .backoff_base = 100ms}) | backend.as_service();
  future<int> f = client(1);
  backend.calls[0].set_error(retryable_failure());
  f.interrupt();
  EXPECT_EQ(f.poll()->error().code(), errc::interrupted);
  clock.advance(1s);
  EXPECT_EQ(backend.calls.size(), 1u);
}

TEST(Filter, CircuitBreakerOpensProbesAndCloses) {
  manual_timers clock;
  manual_backend backend;
  breaker_filter guard(clock, {.failures_to_open = 3, .open_for = 1s, .max_open_for = 4s});
  auto client = guard | backend.as_service();
  for (int i = 0; i < 3; ++i) {
    future<int> f = client(i);
    backend.calls.back().set_error(error(errc::timeout));
  }
  EXPECT_EQ(guard.core().state(), breaker_state::open);
  future<int> fast = client(9);
  EXPECT_EQ(fast.poll()->error().code(), errc::circuit_open);
  EXPECT_TRUE(fast.poll()->error().retryable());
  EXPECT_EQ(backend.calls.size(), 3u);  // never reached the backend

  clock.advance(1s);
  future<int> probe = client(10);  // half-open: one probe passes
  EXPECT_EQ(backend.calls.size(), 4u);
  EXPECT_EQ(client(11).poll()->error().code(), errc::circuit_open);  // others still fail fast
  backend.calls.back().set_error(error(errc::timeout));               // probe fails
  EXPECT_EQ(guard.core().state(), breaker_state::open);
  clock.advance(1s);
  EXPECT_EQ(client(12).poll()->error().code(), errc::circuit_open);  // open for 2s now
  clock.advance(1s);
  future<int> probe2 = client(13);
  backend.calls.back().set_value(1);
  EXPECT_EQ(guard.core().state(), breaker_state::closed);
  EXPECT_EQ(guard.core().times_opened(), 2u);
  future<int> ok = client(14);
  EXPECT_EQ(backend.calls.size(), 6u);
}

TEST(Filter, CircuitBreakerIgnoresOutcomesFromAnotherState) {
  manual_timers clock;
  manual_backend backend;
  breaker_filter guard(clock, {.failures_to_open = 2, .open_for = 1s});
  auto client = guard | backend.as_service();
  future<int> slow = client(0);  // admitted while closed, answers late
  for (int i = 0; i < 2; ++i) {
    future<int> f = client(i);
    backend.calls.back().set_error(error(errc::timeout));
  }
  ASSERT_EQ(guard.core().state(), breaker_state::open);
  clock.advance(1s);
  future<int> probe = client(5);
  EXPECT_EQ(guard.core().state(), breaker_state::half_open);
  backend.calls[0].set_value(1);  // the stale call succeeds: not the probe
  EXPECT_EQ(guard.core().state(), breaker_state::half_open);
  backend.calls.back().set_value(2);  // the probe
  EXPECT_EQ(guard.core().state(), breaker_state::closed);
}

TEST(Filter, CircuitBreakerLetsAnotherProbeGoWhenOneIsLost) {
  manual_timers clock;
  manual_backend backend;
  breaker_filter guard(clock, {.failures_to_open = 1, .open_for = 1s});
  auto client = guard | backend.as_service();
  future<int> first = client(0);
  backend.calls.back().set_error(error(errc::timeout));
  clock.advance(1s);
  future<int> lost_probe = client(1);  // never answered
  EXPECT_EQ(client(2).poll()->error().code(), errc::circuit_open);
  clock.advance(1s);
  future<int> second_probe = client(3);
  EXPECT_EQ(backend.calls.size(), 3u);
  backend.calls.back().set_value(3);
  EXPECT_EQ(guard.core().state(), breaker_state::closed);
}

TEST(Filter, ConcurrencyLimitRejectsWhenFull) {
  manual_backend backend;
  concurrency_limit_filter limit(2);
  auto client = limit | backend.as_service();
  future<int> a = client(1), b = client(2);
  future<int> c = client(3);
  ASSERT_TRUE(c.is_ready());
  EXPECT_EQ(c.poll()->error().code(), errc::overloaded);
  EXPECT_TRUE(c.poll()->error().retryable());
  EXPECT_EQ(limit.in_flight(), 2u);
  backend.calls[0].set_value(1);
  EXPECT_EQ(limit.in_flight(), 1u);
  future<int> d = client(4);
  EXPECT_FALSE(d.is_ready());
  EXPECT_EQ(limit.rejected(), 1u);
}

TEST(Filter, RetryOverLimitAndBreakerComposes) {
  manual_timers clock;
  manual_backend backend;
  auto limit = concurrency_limit(1);
  auto client = retry(clock, {.max_retries = 3, .backoff_base = 10ms}) | limit | backend.as_service();
  future<int> first = client(1);
  future<int> second = client(2);  // rejected (retryable), waits to retry
  EXPECT_EQ(backend.calls.size(), 1u);
  backend.calls[0].set_value(10);
  clock.advance(10ms);
  ASSERT_EQ(backend.calls.size(), 2u);
  backend.calls[1].set_value(20);
  EXPECT_EQ(first.get(), 10);
  EXPECT_EQ(second.get(), 20);
}

TEST(LoadBalancer, PowerOfTwoChoicesAvoidsTheBusyInstance) {
  manual_backend slow, fast_a, fast_b;
  std::vector<service<int, int>> instances{slow.as_service(), fast_a.as_service(), fast_b.as_service()};
  for (balance how : {balance::p2c, balance::least_outstanding}) {
    slow = {};
    fast_a = {};
    fast_b = {};
    auto lb = load_balance(instances, how);
    // Load the slow instance with calls that never finish, answer the others.
    std::vector<future<int>> pending;
    for (int i = 0; i < 300; ++i) {
      pending.push_back(lb(i));
      for (auto* b : {&fast_a, &fast_b})
        for (auto& p : b->calls)
          if (!p.is_ready()) p.set_value(0);
    }
    // The slow one holds every call it got; least loaded choice keeps that small.
    EXPECT_LT(slow.calls.size(), 20u) << static_cast<int>(how);
    EXPECT_EQ(slow.calls.size() + fast_a.calls.size() + fast_b.calls.size(), 300u);
  }
  manual_backend r1, r2;
  auto rr = load_balance(std::vector<service<int, int>>{r1.as_service(), r2.as_service()},
                         balance::round_robin);
  for (int i = 0; i < 10; ++i) (void)rr(i);
  EXPECT_EQ(r1.calls.size(), 5u);
  EXPECT_EQ(r2.calls.size(), 5u);
}

// Every error code has its own count (the table used to stop at 16, and
// noconnection and node_suspected vanished from the breakdown), and
// errc_count is one past the last code.
TEST(Stats, EveryErrorCodeIsCounted) {
  auto sink = std::make_shared<stats>();
  for (std::size_t code = 1; code < troupe::errc_count; ++code) {
    const error failure(static_cast<troupe::errc>(code));
    for (std::size_t times = 0; times < code; ++times) sink->record(1ms, &failure);
  }
  for (std::size_t code = 1; code < troupe::errc_count; ++code) {
    const auto e = static_cast<troupe::errc>(code);
    EXPECT_NE(troupe::to_string(e), "unknown") << code;
    EXPECT_EQ(sink->failures(e), code) << troupe::to_string(e);
    EXPECT_NE(sink->summary().find(std::string(troupe::to_string(e)) + "="), std::string::npos);
  }
  EXPECT_EQ(troupe::to_string(static_cast<troupe::errc>(troupe::errc_count)), "unknown")
      << "a code was added after node_suspected: update errc_count";
}

TEST(Stats, CountsAndPercentilesOnFakeClock) {
  manual_timers clock;
  manual_backend backend;
  auto sink = std::make_shared<stats>();
  auto client = stats_filter(sink, &clock) | backend.as_service();
  for (int i = 0; i < 100; ++i) {
    future<int> f = client(i);
    clock.advance(i < 98 ? 1ms : 100ms);
    if (i % 10 == 0)
      backend.calls.back().set_error(error(errc::timeout));
    else
      backend.calls.back().set_value(i);
  }
  EXPECT_EQ(sink->requests(), 100u);
  EXPECT_EQ(sink->failures(), 10u);
  EXPECT_EQ(sink->failures(errc::timeout), 10u);
  EXPECT_EQ(sink->in_flight(), 0);
  EXPECT_GE(sink->percentile(0.5), 1ms);
  EXPECT_LE(sink->percentile(0.5), 1ms * 1.125);
  EXPECT_GE(sink->percentile(0.99), 100ms);
  EXPECT_LE(sink->percentile(0.99), 100ms * 1.125);
  EXPECT_NE(sink->summary().find("timeout=10"), std::string::npos) << sink->summary();
}

TEST(Trace, NestedCallsShareTheTraceId) {
  std::vector<request_context> spans;
  auto tracer = trace([&](const request_context& span) { spans.push_back(span); });
  std::uint64_t seen_inside = 0;
  service<int, int> leaf = [&](int n) {
    seen_inside = request_context::current()->trace_id;
    return n;
  };
  service<int, int> inner = tracer | leaf;
  service<int, int> outer = tracer | service<int, int>([inner](int n) {
    return inner(n).map([](int m) { return m + 1; });
  });
  EXPECT_EQ(outer(1).get(), 2);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].trace_id, spans[1].trace_id);
  EXPECT_EQ(spans[1].parent_id, spans[0].span_id);
  EXPECT_EQ(seen_inside, spans[0].trace_id);
  EXPECT_EQ(request_context::current(), nullptr);
}

// ---- actors as services --------------------------------------------------------

TEST(ActorService, AnActorAsAServiceAndAPool) {
  runtime rt(config{.workers = 2});
  pid adder = rt.spawn([](actor&) -> behavior { return {[](int n) { return n + 100; }}; });
  service<int, int> svc = actor_service<int, int>(rt, adder);
  EXPECT_EQ(svc(1).get(), 101);

  std::atomic<int> alive{0};
  struct alive_mark {
    std::atomic<int>& count;
    explicit alive_mark(std::atomic<int>& c) : count(c) { ++count; }
    ~alive_mark() { --count; }
  };
  auto pool = serve_with_actors<int, int>(rt, 4, [&](actor&) -> behavior {
    auto mark = std::make_shared<alive_mark>(alive);
    return {[mark](int n) { return n * 10; }};
  });
  // Each actor's setup runs in its first turn, on a worker.
  for (int i = 0; i < 2000 && alive.load() < 4; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(alive.load(), 4);
  std::vector<future<int>> replies;
  for (int i = 0; i < 100; ++i) replies.push_back(pool(i));
  int sum = 0;
  for (int r : collect(replies).get()) sum += r;
  EXPECT_EQ(sum, 10 * 99 * 100 / 2);
  pool = service<int, int>();
  for (int i = 0; i < 400 && alive.load() > 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(alive.load(), 0);  // the pool's actors ended with it
}
