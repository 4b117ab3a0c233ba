// Futures and promises: every combinator, failure, interrupt and timeout path.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "troupe/async.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/scoped_actor.hpp"
#include "troupe/testing/simulation.hpp"

using namespace troupe;
using namespace std::chrono_literals;

TEST(Future, SetThenGet) {
  promise<int> p;
  future<int> f = p.get_future();
  EXPECT_FALSE(f.is_ready());
  EXPECT_EQ(f.poll(), nullptr);
  p.set_value(42);
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(f.get(), 42);
  EXPECT_EQ(**f.poll(), 42);
}

TEST(Future, SecondSetIsAnErrorTheCallerSees) {
  promise<int> p;
  p.set_value(1);
  EXPECT_FALSE(p.try_set_value(2));
  try {
    p.set_value(3);
    FAIL() << "second set_value did not throw";
  } catch (const error_exception& e) {
    EXPECT_EQ(e.error().code(), errc::already_satisfied);
  }
  EXPECT_EQ(p.get_future().get(), 1);
}

TEST(Future, DroppedPromiseBreaks) {
  future<int> f;
  {
    promise<int> p;
    promise<int> copy = p;
    f = p.get_future();
  }
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(f.poll()->error().code(), errc::broken_promise);
}

TEST(Future, FailedWithErrorAndWithException) {
  promise<int> p;
  p.set_error(error(errc::timeout, "late"));
  EXPECT_EQ(p.get_future().outcome().error().code(), errc::timeout);
  try {
    (void)p.get_future().get();
    FAIL();
  } catch (const error_exception& e) {
    EXPECT_EQ(e.error().detail(), "late");
  }

  promise<int> q;
  q.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
  const error& e = q.get_future().poll()->error();
  EXPECT_EQ(e.code(), errc::exception);
  EXPECT_EQ(e.detail(), "boom");
  EXPECT_THROW((void)q.get_future().get(), std::runtime_error);  // the original type
}

TEST(Future, MapThenAndVoid) {
  promise<int> p;
  std::vector<std::string> order;
  future<std::string> s = p.get_future()
                              .map([&](int n) {
                                order.push_back("map");
                                return n * 2;
                              })
                              .then([&](int n) {
                                order.push_back("then");
                                return make_value<std::string>(std::to_string(n));
                              });
  future<void> done = s.map([&](const std::string&) { order.push_back("void"); });
  future<int> after_void = done.map([] { return 7; });
  EXPECT_TRUE(order.empty());  // nothing runs before the value
  p.set_value(21);
  EXPECT_EQ(s.get(), "42");
  EXPECT_TRUE(done.is_ready());
  EXPECT_EQ(after_void.get(), 7);
  EXPECT_EQ(order, (std::vector<std::string>{"map", "then", "void"}));
}

TEST(Future, FailurePassesThroughMapAndThen) {
  promise<int> p;
  int calls = 0;
  auto f = p.get_future().map([&](int n) { return ++calls + n; }).then([&](int n) {
    ++calls;
    return make_value<int>(n);
  });
  p.set_error(error(errc::receiver_down));
  EXPECT_EQ(f.poll()->error().code(), errc::receiver_down);
  EXPECT_EQ(calls, 0);
}

TEST(Future, ExceptionInContinuationFailsTheResult) {
  auto f = make_value<int>(1).map([](int) -> int { throw std::runtime_error("in map"); });
  EXPECT_EQ(f.poll()->error().code(), errc::exception);
  EXPECT_EQ(f.poll()->error().detail(), "in map");
  auto g = make_value<int>(1).then([](int) -> future<int> { throw std::logic_error("in then"); });
  EXPECT_EQ(g.poll()->error().detail(), "in then");
}

TEST(Future, RescueAndHandleRecover) {
  auto rescued = make_failed<int>(error(errc::timeout)).rescue([](const error& e) {
    return make_value<int>(e == errc::timeout ? 5 : -1);
  });
  EXPECT_EQ(rescued.get(), 5);
  auto handled = make_failed<int>(error(errc::no_reply)).handle([](const error&) { return 9; });
  EXPECT_EQ(handled.get(), 9);
  // A value passes through untouched.
  int calls = 0;
  auto passed = make_value<int>(3).handle([&](const error&) { return ++calls; });
  EXPECT_EQ(passed.get(), 3);
  EXPECT_EQ(calls, 0);
  // Rescue may fail again.
  auto again = make_failed<int>(error(errc::timeout)).rescue([](const error&) {
    return make_failed<int>(error(errc::circuit_open));
  });
  EXPECT_EQ(again.poll()->error().code(), errc::circuit_open);
}

TEST(Future, EnsureRunsOnBothOutcomes) {
  int runs = 0;
  auto a = make_value<int>(1).ensure([&] { ++runs; });
  auto b = make_failed<int>(error(errc::timeout)).ensure([&] { ++runs; });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(a.get(), 1);
  EXPECT_EQ(b.poll()->error().code(), errc::timeout);
}

TEST(Future, ManyContinuationsOnOneFutureRunInOrder) {
  promise<int> p;
  future<int> f = p.get_future();
  std::vector<int> seen;
  for (int i = 0; i < 5; ++i) f.respond([&, i](const result<int>& r) { seen.push_back(*r + i); });
  p.set_value(10);
  f.respond([&](const result<int>& r) { seen.push_back(*r + 100); });  // already complete
  EXPECT_EQ(seen, (std::vector<int>{10, 11, 12, 13, 14, 110}));
}

TEST(Future, LongSynchronousChainDoesNotOverflowTheStack) {
  promise<int> p;
  future<int> f = p.get_future();
  for (int i = 0; i < 200000; ++i) f = f.map([](int n) { return n + 1; });
  p.set_value(0);
  EXPECT_EQ(f.get(), 200000);
}

TEST(Future, LongChainInterruptReachesTheSource) {
  promise<int> p;
  std::atomic<int> heard{0};
  p.on_interrupt([&, weak = p.weak()](const error& why) {
    ++heard;
    weak.try_set_error(why);
  });
  future<int> f = p.get_future();
  for (int i = 0; i < 100000; ++i) f = f.map([](int n) { return n; });
  f.interrupt();
  EXPECT_EQ(heard.load(), 1);
  EXPECT_EQ(f.poll()->error().code(), errc::interrupted);
}

TEST(Future, InterruptReachesProducerThroughMapAndThen) {
  promise<int> source;
  error seen(errc::timeout);
  int handler_runs = 0;
  source.on_interrupt([&, weak = source.weak()](const error& why) {
    ++handler_runs;
    seen = why;
    weak.try_set_error(why);
  });
  promise<int> inner;
  bool inner_heard = false;
  inner.on_interrupt([&](const error&) { inner_heard = true; });

  auto f = source.get_future().map([](int n) { return n; }).then([&](int) { return inner.get_future(); });
  f.interrupt(error(errc::interrupted, "user left"));
  EXPECT_EQ(handler_runs, 1);
  EXPECT_EQ(seen.detail(), "user left");
  EXPECT_FALSE(inner_heard);
  EXPECT_EQ(f.poll()->error().code(), errc::interrupted);
  f.interrupt();  // complete now: ignored
  EXPECT_EQ(handler_runs, 1);
}

TEST(Future, InterruptAfterThenSwitchedGoesToTheInnerFuture) {
  promise<int> source;
  promise<int> inner;
  bool inner_heard = false;
  inner.on_interrupt([&, weak = inner.weak()](const error& why) {
    inner_heard = true;
    weak.try_set_error(why);
  });
  auto f = source.get_future().then([&](int) { return inner.get_future(); });
  source.set_value(1);
  f.interrupt();
  EXPECT_TRUE(inner_heard);
  EXPECT_EQ(f.poll()->error().code(), errc::interrupted);
}

namespace {
// Runs posted work when the test says.
struct manual_executor final : executor {
  std::vector<std::function<void()>> queue;
  void post(std::function<void()> work) override { queue.push_back(std::move(work)); }
  void run_all() {
    auto work = std::move(queue);
    queue.clear();
    for (auto& w : work) w();
  }
};
}  // namespace

TEST(Future, InterruptWhileTheContinuationIsQueuedReachesTheNewWork) {
  manual_executor later;
  promise<int> source;
  promise<int> inner;
  bool inner_heard = false;
  inner.on_interrupt([&](const error&) { inner_heard = true; });
  auto f = source.get_future().via(later).then([&](int) { return inner.get_future(); });
  source.set_value(1);  // the via() hop is queued, the then() has not run
  f.interrupt();
  later.run_all();  // now then() runs and f follows `inner`
  EXPECT_TRUE(inner_heard);
}

TEST(Future, BlockingInsideAContinuationIsRefused) {
  promise<int> p;
  promise<int> other;
  std::string refused;
  auto f = p.get_future().map([&](int n) {
    try {
      (void)other.get_future().get();
    } catch (const std::logic_error& e) {
      refused = e.what();
    }
    return n;
  });
  p.set_value(1);
  EXPECT_EQ(f.get(), 1);
  EXPECT_NE(refused.find("continuation"), std::string::npos);
}

TEST(Future, AContinuationWithoutContextDoesNotSeeTheCompletersContext) {
  promise<int> p;
  bool saw_context = true;
  auto f = p.get_future().map([&](int n) {
    saw_context = request_context::current() != nullptr;
    return n;
  });
  with_context(request_context::new_trace(), [&] { p.set_value(1); });
  EXPECT_FALSE(saw_context);
}

TEST(Future, ThrowingValueConstructionLeavesThePromiseUnset) {
  struct fussy {
    fussy() = default;
    fussy(const fussy&) { throw std::runtime_error("no copies"); }
    fussy(fussy&&) noexcept = default;
  };
  promise<fussy> p;
  const fussy original;
  EXPECT_THROW(p.set_value(original), std::runtime_error);
  EXPECT_FALSE(p.is_ready());
  p.set_value(fussy{});
  EXPECT_TRUE(p.is_ready());
}

TEST(Future, ThenReturningAnEmptyFutureFailsInsteadOfCrashing) {
  auto f = make_value<int>(1).then([](int) { return future<int>(); });
  EXPECT_EQ(f.poll()->error().code(), errc::broken_promise);
  future<int> empty;
  EXPECT_THROW((void)empty.map([](int n) { return n; }), std::logic_error);
}

TEST(Future, InterruptBeforeHandlerIsKept) {
  promise<int> p;
  future<int> f = p.get_future();
  f.interrupt(error(errc::interrupted, "early"));
  std::string heard;
  p.on_interrupt([&](const error& why) { heard = why.detail(); });
  EXPECT_EQ(heard, "early");
}

TEST(Future, WithinTimesOutOnFakeClockAndInterrupts) {
  manual_timers clock;
  promise<int> slow;
  bool interrupted = false;
  slow.on_interrupt([&](const error& why) { interrupted = why == errc::timeout; });
  future<int> f = slow.get_future().within(clock, 100ms);
  clock.advance(99ms);
  EXPECT_FALSE(f.is_ready());
  clock.advance(1ms);
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(f.poll()->error().code(), errc::timeout);
  EXPECT_TRUE(interrupted);
}

TEST(Future, WithinPassesAValueInTimeAndCancelsTheTimer) {
  manual_timers clock;
  promise<int> fast;
  future<int> f = fast.get_future().within(clock, 100ms);
  EXPECT_EQ(clock.pending(), 1u);
  fast.set_value(3);
  EXPECT_EQ(f.get(), 3);
  EXPECT_EQ(clock.pending(), 0u);
  clock.advance(1s);
  EXPECT_EQ(f.get(), 3);
}

TEST(Future, SleepForAndItsInterrupt) {
  manual_timers clock;
  future<void> nap = sleep_for(clock, 10ms);
  clock.advance(10ms);
  EXPECT_TRUE(nap.poll() && nap.poll()->has_value());
  future<void> cut = sleep_for(clock, 10ms);
  cut.interrupt();
  EXPECT_EQ(cut.poll()->error().code(), errc::interrupted);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(Future, BlockingGetAcrossThreads) {
  promise<int> p;
  future<int> f = p.get_future();
  std::thread producer([p]() mutable {
    std::this_thread::sleep_for(20ms);
    p.set_value(8);
  });
  EXPECT_EQ(f.get(), 8);
  producer.join();
  promise<int> never;
  EXPECT_FALSE(never.get_future().wait_for(10ms));
}

TEST(Future, ViaRunsContinuationsOnTheExecutor) {
  thread_pool pool(1);
  promise<int> p;
  std::thread::id ran_on;
  auto f = p.get_future().via(pool).map([&](int n) {
    ran_on = std::this_thread::get_id();
    return n;
  });
  p.set_value(1);
  EXPECT_EQ(f.get(), 1);
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(Combinators, CollectJoinAndResults) {
  promise<int> a, b, c;
  auto all = collect(std::vector<future<int>>{a.get_future(), b.get_future(), c.get_future()});
  auto tuple = join(a.get_future(), make_value<std::string>("x"));
  auto outcomes = collect_results(std::vector<future<int>>{a.get_future(), b.get_future()});
  c.set_value(3);
  a.set_value(1);
  EXPECT_FALSE(all.is_ready());
  b.set_error(error(errc::timeout));
  EXPECT_EQ(all.poll()->error().code(), errc::timeout);
  EXPECT_EQ(std::get<0>(tuple.get()), 1);
  EXPECT_EQ(std::get<1>(tuple.get()), "x");
  auto rs = outcomes.get();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(*rs[0], 1);
  EXPECT_EQ(rs[1].error().code(), errc::timeout);

  promise<int> x, y;
  auto ordered = collect(std::vector<future<int>>{x.get_future(), y.get_future()});
  y.set_value(2);
  x.set_value(1);
  EXPECT_EQ(ordered.get(), (std::vector<int>{1, 2}));
  EXPECT_TRUE(collect(std::vector<future<int>>{}).get().empty());
  auto voids = collect(std::vector<future<void>>{make_done(), make_done()});
  EXPECT_TRUE(voids.poll()->has_value());
}

TEST(Combinators, SelectAndAnyInterruptsLosers) {
  promise<int> a, b;
  bool b_interrupted = false;
  b.on_interrupt([&](const error&) { b_interrupted = true; });
  auto first = select(std::vector<future<int>>{a.get_future(), b.get_future()});
  auto winner = any(std::vector<future<int>>{a.get_future(), b.get_future()});
  a.set_value(5);
  EXPECT_EQ(first.get().first, 0u);
  EXPECT_EQ(*first.get().second, 5);
  EXPECT_EQ(winner.get(), 5);
  EXPECT_TRUE(b_interrupted);
}

TEST(Combinators, InterruptingACombinedFutureInterruptsInputs) {
  promise<int> a, b;
  int heard = 0;
  a.on_interrupt([&](const error&) { ++heard; });
  b.on_interrupt([&](const error&) { ++heard; });
  auto all = collect(std::vector<future<int>>{a.get_future(), b.get_future()});
  all.interrupt();
  EXPECT_EQ(heard, 2);
}

// ---- futures and actors --------------------------------------------------------

struct bump {
  int by;
};

TEST(FutureInActor, ContinuationsRunInTheActorNeverConcurrently) {
  runtime rt(config{.workers = 2});
  std::atomic<int> in_actor{0}, total{0};
  std::vector<promise<int>> promises(200);
  std::vector<future<int>> futures;
  for (auto& p : promises) futures.push_back(p.get_future());
  scoped_actor me(rt);
  pid watcher = rt.spawn([&](actor& self) -> behavior {
    auto count = std::make_shared<int>(0);  // owner state: no lock
    for (auto& f : futures)
      (void)f.map([&, count, who = self.pid()](int n) {
        if (is_current_actor(who)) ++in_actor;
        *count += n;
        total = *count;
        return n;
      });
    return {[count, &total](bump b) {
      *count += b.by;
      total = *count;
    }};
  });
  std::thread producer([&] {
    for (auto& p : promises) p.set_value(1);
  });
  for (int i = 0; i < 200; ++i) rt.send(watcher, bump{1});
  producer.join();
  for (int i = 0; i < 200 && total.load() < 400; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(in_actor.load(), 200);
  EXPECT_EQ(total.load(), 400);
}

TEST(FutureInActor, BlockingGetOnAnActorThreadIsAClearError) {
  runtime rt(config{.workers = 1});
  scoped_actor me(rt);
  pid a = rt.spawn([](actor&) -> behavior {
    return {[](int) -> std::string {
      promise<int> p;
      try {
        (void)p.get_future().get();
      } catch (const std::logic_error& e) {
        return e.what();
      }
      return "no error";
    }};
  });
  auto r = me.request<std::string>(a, 1, 2s);
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("co_await"), std::string::npos) << *r;
}

TEST(FutureInActor, RequestAsFutureAndAskFromOutside) {
  runtime rt(config{.workers = 2});
  pid doubler = rt.spawn([](actor&) -> behavior { return {[](int n) { return n * 2; }}; });
  pid front = rt.spawn([doubler](actor& self) -> behavior {
    return {[&self, doubler](std::string) {
      auto promise_out = self.make_response_promise();
      auto shared = std::make_shared<response_promise>(std::move(promise_out));
      future<int> f = self.request<int>(doubler, 20, 1s);
      (void)f.map([shared, who = self.pid()](int n) {
        shared->deliver(is_current_actor(who) ? n + 2 : -1);
        return 0;
      });
    }};
  });
  EXPECT_EQ(ask<int>(rt, doubler, 4).get(), 8);
  EXPECT_EQ(ask<int>(rt, front, std::string("go")).get(), 42);
  // Failures come back as errors.
  EXPECT_EQ(ask<int>(rt, doubler, std::string("no handler")).outcome().error().code(),
            errc::no_handler);
  pid silent = rt.spawn([](actor&) -> behavior { return {[](int) -> void {}}; });
  EXPECT_EQ(ask<int>(rt, silent, 1, 50ms).outcome().error().code(), errc::no_reply);
}

TEST(FutureInActor, InterruptingARequestForgetsIt) {
  runtime rt(config{.workers = 2});
  // Never answers in time: holds the request.
  pid sink = rt.spawn([](actor& self) -> behavior {
    auto held = std::make_shared<std::vector<response_promise>>();
    return {[&self, held](int) { held->push_back(self.make_response_promise()); }};
  });
  future<int> f = ask<int>(rt, sink, 1, 10s);
  std::this_thread::sleep_for(20ms);
  f.interrupt();
  EXPECT_EQ(f.outcome().error().code(), errc::interrupted);
}

TEST(FutureInActor, CoroutineActorAwaitsAFuture) {
  runtime rt(config{.workers = 2});
  promise<int> later;
  future<int> f = later.get_future();
  std::atomic<int> got{0};
  std::atomic<bool> in_self{false};
  rt.spawn([&](actor& self) -> task {
    result<int> r = co_await f;
    in_self = is_current_actor(self.pid());
    got = r ? *r : -1;
  });
  std::this_thread::sleep_for(10ms);
  later.set_value(11);
  for (int i = 0; i < 400 && got.load() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(got.load(), 11);
  EXPECT_TRUE(in_self.load());
}

TEST(FutureInActor, ContinuationForADeadActorBreaksItsResult) {
  runtime rt(config{.workers = 1});
  promise<int> p;
  future<int> source = p.get_future();
  auto mapped = std::make_shared<future<int>>();
  std::atomic<bool> attached{false};
  pid a = rt.spawn([&](actor&) -> behavior {
    *mapped = source.map([](int n) { return n; });
    attached = true;
    return {[](int) {}};
  });
  // The setup runs in the actor's first turn, on the worker.
  for (int i = 0; i < 2000 && !attached.load(); ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(attached.load());
  rt.send_exit(a, exit_reason::kill());
  for (int i = 0; i < 200 && rt.live_actors() > 0; ++i) std::this_thread::sleep_for(5ms);
  p.set_value(1);
  ASSERT_TRUE(mapped->wait_for(2s));
  EXPECT_EQ(mapped->poll()->error().code(), errc::broken_promise);
}

TEST(FutureInActor, ContinuationFromOutsideStaysOutsideWhenAnActorCompletesIt) {
  // ask()'s future completes inside a short-lived helper actor. What the
  // then() callback attaches must not be tied to that helper, which ends
  // right after: the sleep's continuation would be dropped (broken_promise).
  runtime rt(config{.workers = 1});
  manual_timers clock;
  pid echo = rt.spawn([](actor&) -> behavior { return {[](int n) { return n; }}; });
  future<int> f = ask<int>(rt, echo, 5).then([&](int n) {
    return sleep_for(clock, 10ms).map([n] { return n * 2; });
  });
  for (int i = 0; i < 400 && clock.pending() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(clock.pending(), 1u);
  for (int i = 0; i < 400 && rt.live_actors() > 1; ++i) std::this_thread::sleep_for(5ms);
  clock.advance(10ms);
  ASSERT_TRUE(f.wait_for(2s));
  ASSERT_TRUE(f.poll()->has_value()) << f.poll()->error().message();
  EXPECT_EQ(f.get(), 10);
}

TEST(FutureInActor, ResponsePromiseErrorsKeepTheirRetryableMark) {
  runtime rt(config{.workers = 1});
  pid busy = rt.spawn([](actor& self) -> behavior {
    return {[&self](int) {
      self.make_response_promise().deliver_error(error(errc::overloaded, "busy").mark_retryable());
    }};
  });
  result<int> r = ask<int>(rt, busy, 1).outcome();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::overloaded);
  EXPECT_TRUE(r.error().retryable());
}

TEST(FutureInActor, ACoroutineKilledWhileAwaitingIsNotResumed) {
  runtime rt(config{.workers = 2});
  pid sink = rt.spawn([](actor& self) -> behavior {  // holds the request
    auto held = std::make_shared<std::vector<response_promise>>();
    return {[&self, held](int) { held->push_back(self.make_response_promise()); }};
  });
  std::atomic<bool> waiting{false}, resumed{false};
  pid waiter = rt.spawn([&](actor& self) -> task {
    waiting = true;
    result<int> r = co_await future<int>(self.request<int>(sink, 1, infinite));
    resumed = true;  // must never run: the frame is gone
    (void)r;
  });
  for (int i = 0; i < 400 && !waiting.load(); ++i) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(10ms);
  rt.send_exit(waiter, exit_reason::kill());  // breaks the request's promise mid-teardown
  for (int i = 0; i < 400 && rt.live_actors() > 1; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(rt.live_actors(), 1u);
  EXPECT_FALSE(resumed.load());
}

TEST(FutureInActor, WithinOnRuntimeTimers) {
  runtime rt(config{.workers = 1});
  promise<int> never;
  auto f = never.get_future().within(rt, 20ms);
  EXPECT_EQ(f.outcome().error().code(), errc::timeout);
}

TEST(RequestContext, FlowsThroughContinuationsAcrossThreads) {
  promise<int> p;
  auto root = request_context::new_trace();
  std::uint64_t seen = 0;
  future<int> f;
  with_context(root, [&] {
    f = p.get_future().map([&](int n) {
      seen = request_context::current() ? request_context::current()->trace_id : 0;
      return n;
    });
  });
  EXPECT_EQ(request_context::current(), nullptr);
  std::thread([&] { p.set_value(1); }).join();  // completes on another thread
  EXPECT_EQ(f.get(), 1);
  EXPECT_EQ(seen, root->trace_id);
}

// ---- futures under the deterministic simulation --------------------------------

TEST(FutureInSimulation, ContinuationsAndTimeoutsAreDeterministic) {
  auto run = [](std::uint64_t seed) {
    troupe::testing::simulation sim({.seed = seed});
    runtime& rt = sim.system();
    pid doubler = rt.spawn([](actor&) -> behavior { return {[](int n) { return n * 2; }}; });
    pid silent = rt.spawn([](actor& self) -> behavior {  // holds requests unanswered
      auto held = std::make_shared<std::vector<response_promise>>();
      return {[&self, held](std::string) { held->push_back(self.make_response_promise()); }};
    });
    auto results = std::make_shared<std::vector<std::string>>();
    rt.spawn([doubler, silent, results](actor& self) -> behavior {
      for (int i = 1; i <= 3; ++i) {
        future<int> f = self.request<int>(doubler, i);
        f.respond([results, i](const result<int>& r) {
          results->push_back(std::to_string(i) + "->" + std::to_string(*r));
        });
      }
      // A request that never gets an answer, bounded by within() on the
      // simulation's virtual clock.
      future<int> stuck = self.request<int>(silent, std::string("hello"), infinite);
      stuck.within(300ms).respond([results](const result<int>& r) {
        results->push_back(r ? "late" : std::string(to_string(r.error().code())));
      });
      return {[](int) {}};
    });
    sim.run_for(1s);  // moves virtual time: the within() timer fires
    return std::make_pair(*results, sim.trace());
  };
  auto [first, first_trace] = run(11);
  auto [again, again_trace] = run(11);
  EXPECT_EQ(first, again);
  EXPECT_EQ(first_trace, again_trace);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first.back(), "timeout") << ::testing::PrintToString(first);
}
