#include "troupe/testing/simulation.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "troupe/async/retry.hpp"
#include "troupe/testing/explore.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;

namespace {
struct ping {
  int n;
  friend bool operator==(const ping&, const ping&) = default;
};
struct pong {
  int n;
};
struct hop {
  int n;
  pid reply_to;
};
struct attempt_report {
  int timeouts;
  long virtual_ms;
};

// A chain: the test sends ping to `first`, which passes a hop to `second`,
// which answers the original sender with pong.
std::pair<pid, pid> spawn_chain(runtime& rt) {
  auto second = rt.spawn([](actor& a) -> behavior {
    return {[&a](const hop& h) { a.send(h.reply_to, pong{h.n * 10}); }};
  });
  auto first = rt.spawn([second](actor& a) -> behavior {
    return {[&a, second](ping p) { a.send(second, hop{p.n, a.sender()}); }};
  });
  return {first, second};
}
}  // namespace

TEST(simulation, the_same_seed_gives_the_same_run_event_for_event) {
  auto run = [](std::uint64_t seed) {
    simulation sim({.seed = seed});
    auto& rt = sim.system();
    std::vector<pid> sinks;
    for (int i = 0; i < 5; ++i)
      sinks.push_back(rt.spawn([](actor& a) -> behavior {
        return {[&a](int x) {
          if (x > 0) a.send(a.pid(), x - 1);
        }};
      }));
    for (int i = 0; i < 5; ++i) rt.send(sinks[static_cast<std::size_t>(i)], 3 + i);
    sim.run_until_idle();
    return sim.trace();
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_EQ(run(8), run(8));
  int different = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) different += run(seed) != run(seed + 100);
  EXPECT_GT(different, 5) << "seeds should give different interleavings";
}

TEST(simulation, nothing_runs_until_the_test_steps) {
  simulation sim;
  auto& rt = sim.system();
  auto [first, second] = spawn_chain(rt);
  // Each actor's setup is a step of its own (its first turn): run them.
  EXPECT_EQ(sim.run_until_idle(), 2u);
  rt.send(first, ping{1});
  EXPECT_EQ(sim.in_flight().size(), 1u);
  EXPECT_EQ(sim.mailbox_size(first), 0u);  // in flight, not yet delivered
  ASSERT_TRUE(sim.step());                 // the delivery
  EXPECT_EQ(sim.mailbox_size(first), 1u);
  ASSERT_TRUE(sim.step());  // first's turn: forwards to second
  EXPECT_EQ(sim.mailbox_size(first), 0u);
  ASSERT_EQ(sim.in_flight().size(), 1u);
  EXPECT_NE(sim.in_flight()[0].find(second.to_string()), std::string::npos);
  sim.run_until_idle();
  EXPECT_FALSE(sim.step());
}

TEST(simulation, expect_delivers_and_runs_the_named_message) {
  simulation sim;
  auto& rt = sim.system();
  scoped_actor self(rt);
  auto [first, second] = spawn_chain(rt);
  self.send(first, ping{4});
  sim.expect<ping>().from(self.pid()).to(first).with(ping{4});
  sim.expect<hop>().from(first).to(second);
  sim.expect<pong>().from(second).to(self.pid());
  auto got = self.receive<pong>(0ms);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->n, 40);
}

TEST(simulation, a_broken_expectation_names_what_is_in_flight_instead) {
  simulation sim;
  auto& rt = sim.system();
  auto [first, second] = spawn_chain(rt);
  rt.send(first, ping{1});
  try {
    sim.expect<pong>().to(second);
    FAIL() << "expected sim_error";
  } catch (const sim_error& e) {
    std::string text = e.what();
    EXPECT_NE(text.find("expected "), std::string::npos) << text;
    EXPECT_NE(text.find("pong"), std::string::npos) << text;
    EXPECT_NE(text.find("in flight are:"), std::string::npos) << text;
    EXPECT_NE(text.find("ping"), std::string::npos) << text;
    EXPECT_NE(text.find(first.to_string()), std::string::npos) << text;
  }
  try {
    sim.expect<ping>().with(ping{2});
    FAIL() << "expected sim_error";
  } catch (const sim_error& e) {
    EXPECT_NE(std::string(e.what()).find("with the given value"), std::string::npos);
  }
}

TEST(simulation, virtual_time_moves_only_when_told) {
  simulation sim;
  auto& rt = sim.system();
  scoped_actor self(rt);
  auto t0 = sim.now();
  rt.send_after(30s, self.pid(), ping{1});
  sim.run_until_idle();
  EXPECT_EQ(sim.now(), t0);
  EXPECT_TRUE(sim.in_flight().empty());
  sim.advance(29s);
  EXPECT_TRUE(sim.in_flight().empty());
  sim.advance(1s);
  EXPECT_EQ(sim.in_flight().size(), 1u);
  EXPECT_EQ(sim.now() - t0, 30s);
}

TEST(simulation, a_waiting_scoped_actor_jumps_to_the_next_timer) {
  simulation sim;
  auto& rt = sim.system();
  scoped_actor self(rt);
  auto t0 = sim.now();
  auto r = self.receive<ping>(90s);  // nothing will come: the timeout fires in virtual time
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timeout);
  EXPECT_GE(sim.now() - t0, 90s);
}

TEST(simulation, a_deadlock_is_reported_not_hung) {
  simulation sim;
  auto& rt = sim.system();
  scoped_actor self(rt);
  auto mute = rt.spawn([](actor&) -> behavior { return {[](ping) {}}; });
  self.send(mute, ping{1});
  try {
    (void)self.receive<pong>();  // no timeout, and nobody will send
    FAIL() << "expected sim_error";
  } catch (const sim_error& e) {
    EXPECT_NE(std::string(e.what()).find("deadlock"), std::string::npos) << e.what();
  }
}

TEST(simulation, crash_ends_an_actor_and_pending_requests_fail) {
  simulation sim;
  auto& rt = sim.system();
  scoped_actor self(rt);
  auto keeper = rt.spawn([](actor& a) -> behavior {
    auto kept = std::make_shared<std::vector<response_promise>>();
    return {[&a, kept](ping) { kept->push_back(a.make_response_promise()); }};
  });
  self.send(keeper, ping{1});
  sim.run_until_idle();
  sim.crash(keeper);
  EXPECT_EQ(rt.send(keeper, ping{2}), send_status::dead_letter);
  bool saw_exit = false;
  for (auto& event : sim.trace()) saw_exit |= event.find("exit " + keeper.to_string()) == 0;
  EXPECT_TRUE(saw_exit) << sim.trace_text();
}

// Ten minutes of retries every 10 s, in well under a second of real time.
TEST(simulation, a_timeout_heavy_protocol_runs_in_virtual_time) {
  auto wall = std::chrono::steady_clock::now();
  simulation sim;
  auto& rt = sim.system();
  scoped_actor self(rt);
  auto me = self.pid();
  auto t0 = sim.now();
  auto silent = rt.spawn([](actor& a) -> behavior {
    auto kept = std::make_shared<std::vector<response_promise>>();
    return {[&a, kept](ping) { kept->push_back(a.make_response_promise()); }};
  });
  rt.spawn([me, silent, t0](actor& a) -> task {
    int timeouts = 0;
    for (int attempt = 0; attempt < 60; ++attempt) {
      auto r = co_await a.request<pong>(silent, ping{attempt}, 10s);
      if (!r && r.error() == errc::timeout) ++timeouts;
    }
    long ms = std::chrono::duration_cast<std::chrono::milliseconds>(a.system().now() - t0).count();
    a.send(me, attempt_report{timeouts, ms});
  });
  auto report = self.receive<attempt_report>(1h);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->timeouts, 60);
  EXPECT_GE(report->virtual_ms, 600'000);
  EXPECT_LT(std::chrono::steady_clock::now() - wall, 1s);
}

// One test body, two environments: the real multi-threaded runtime and the
// simulation run the same code and must agree.
namespace {
int same_body(runtime& rt) {
  scoped_actor self(rt);
  auto [first, second] = spawn_chain(rt);
  int total = 0;
  for (int i = 1; i <= 5; ++i) {
    self.send(first, ping{i});
    auto got = self.receive<pong>(5s);
    total += got ? got->n : -1000;
  }
  auto adder = rt.spawn([](actor&) -> behavior { return {[](int x) { return x + 1; }}; });
  auto r = self.request<int>(adder, 41, 5s);
  total += r ? *r : -1000;
  rt.send_after(100ms, self.pid(), ping{7});
  auto late = self.receive<ping>(5s);
  total += late ? late->n : -1000;
  return total;
}
}  // namespace

TEST(simulation, the_same_test_body_runs_on_the_real_runtime_and_simulated) {
  runtime real(config{.workers = 2});
  simulation sim({.seed = 3});
  int expected = 10 * (1 + 2 + 3 + 4 + 5) + 42 + 7;
  EXPECT_EQ(same_body(real), expected);
  EXPECT_EQ(same_body(sim.system()), expected);
}

TEST(simulation, mailboxes_can_be_looked_into) {
  simulation sim;
  auto& rt = sim.system();
  auto holder = rt.spawn([](actor&) -> behavior { return {[](ping) {}, [](pong) {}}; });
  scoped_actor self(rt);
  self.send(holder, ping{1});
  self.send(holder, pong{2});
  self.send(holder, ping{3});
  while (sim.deliver_one()) {
  }
  auto who = self.pid().to_string();
  EXPECT_EQ(sim.mailbox(holder),
            (std::vector<std::string>{who + ": ping", who + ": pong", who + ": ping"}));
  EXPECT_EQ(sim.mailbox_size(holder), 3u);
  sim.run_until_idle();
  EXPECT_TRUE(sim.mailbox(holder).empty());
}

TEST(simulation, run_for_moves_time_from_timer_to_timer) {
  simulation sim;
  auto& rt = sim.system();
  auto ticks = std::make_shared<int>(0);
  auto counter = rt.spawn([ticks](actor&) -> behavior { return {[ticks](ping) { ++*ticks; }}; });
  auto every = rt.send_interval(10s, counter, ping{0});
  auto t0 = sim.now();
  sim.run_for(10min);
  EXPECT_EQ(*ticks, 60);
  EXPECT_EQ(sim.now() - t0, 10min);
  every.cancel();
}

// Regression: a receive timeout that fired just as its message arrived must
// not end the next, untimed receive. Deterministic here: the message and
// the timeout fall due at the same tick, the message first.
namespace {
struct first_msg {};
struct second_msg {};
}  // namespace

TEST(simulation, a_stale_receive_timeout_does_not_end_a_later_untimed_receive) {
  simulation sim;
  auto& rt = sim.system();
  scoped_actor self(rt);
  auto me = self.pid();
  pid waiter;
  waiter = rt.spawn([me](actor& a) -> task {
    auto first = co_await a.receive<first_msg>(10ms);
    auto second = co_await a.receive<second_msg>();  // no timeout
    a.send(me, std::string(first ? "first" : "first timed out") + ", " +
                   (second ? "second" : "second timed out"));
  });
  rt.send_after(10ms, waiter, first_msg{});  // due at the receive timeout's tick
  sim.run_until_idle();                       // the coroutine starts and waits
  sim.advance(10ms);                          // both fire: first_msg, then the timeout
  sim.run_until_idle();
  rt.send(waiter, second_msg{});
  auto outcome = self.receive<std::string>(1s);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, "first, second") << sim.trace_text(30);
}

// Links under the simulation: an exit signal already on its way when the
// receiver unlinks is void (Erlang's unlink guarantee). Only a controlled
// interleaving can set this up, so it is tested here.
namespace {
struct link_cmd {
  pid other;
};
struct unlink_cmd {
  pid other;
};
struct boom {};
}  // namespace

TEST(simulation, a_link_signal_in_flight_is_void_after_unlink) {
  config cfg;
  cfg.log_level = log_level::off;
  simulation sim({.runtime_config = cfg});
  auto& rt = sim.system();
  auto puppet = [](actor& a) -> behavior {
    return {[&a](const link_cmd& c) { a.link(c.other); },
            [&a](const unlink_cmd& c) { a.unlink(c.other); },
            [](boom) { throw std::runtime_error("boom"); },
            [](int x) { return x; }};
  };
  auto a = rt.spawn(puppet);
  auto b = rt.spawn(puppet);
  rt.send(a, link_cmd{b});
  sim.run_until_idle();               // linked both ways
  rt.send(b, boom{});
  sim.expect<boom>().to(b);           // b dies; its exit signal to a is in flight
  bool signal_in_flight = false;
  for (auto& f : sim.in_flight()) signal_in_flight |= f.find("(exit signal)") != std::string::npos;
  ASSERT_TRUE(signal_in_flight) << sim.trace_text();
  rt.send(a, unlink_cmd{b});
  sim.expect<unlink_cmd>().to(a);     // a unlinks before the signal arrives
  sim.run_until_idle();               // now the stale signal arrives
  EXPECT_NE(rt.send(a, 1), send_status::dead_letter) << sim.trace_text();
}

// The library's randomness comes from the simulation's seed: a retry
// filter left at seed 0 jitters its backoff the same way on every replay
// (it used to seed from the clock, so no two runs agreed).
namespace {
std::vector<long> retry_attempt_times(std::uint64_t seed) {
  simulation sim({.seed = seed});
  auto& rt = sim.system();
  runtime_timers timers(rt);
  const auto t0 = sim.now();
  std::vector<long> at;  // virtual microseconds of each attempt
  service<int, int> flaky = [&](int) {
    at.push_back(static_cast<long>(std::chrono::duration_cast<std::chrono::microseconds>(rt.now() - t0).count()));
    return make_failed<int>(error(errc::overloaded).mark_retryable());
  };
  retry_options options;
  options.max_retries = 6;
  options.budget.min_per_second = 1000;
  options.budget.max_balance = 1000;
  auto with_retries = retry(timers, options) | flaky;
  scoped_actor self(rt);
  with_retries(1).respond([&rt, me = self.pid()](const result<int>&) { rt.send(me, 1); });
  EXPECT_TRUE(self.receive<int>(1h));
  return at;
}
}  // namespace

TEST(simulation, library_randomness_replays_with_the_seed) {
  const auto first = retry_attempt_times(11);
  EXPECT_EQ(first.size(), 7u);
  EXPECT_EQ(retry_attempt_times(11), first);
  // runtime::random() is the seeded stream users can draw from too.
  auto draws = [](std::uint64_t seed) {
    simulation sim({.seed = seed});
    return std::vector<std::uint64_t>{sim.system().random(), sim.system().random()};
  };
  EXPECT_EQ(draws(5), draws(5));
  EXPECT_NE(draws(5), draws(6));
}
