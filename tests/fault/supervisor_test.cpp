// Supervisors, one OTP rule per test. Every test runs three ways: on a
// real runtime, on a real runtime whose turns handle one message each
// (max_messages_per_turn = 1: a wake-up that depends on the turn's budget
// strands there first), and in the deterministic simulation (one message
// per step), under several seeds.
#include "troupe/fault/supervisor.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "troupe/testing/simulation.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct crash {};
struct finish {};
struct ping {};
struct never_sent {};

config quiet() {
  config cfg{.workers = 2};
  cfg.log_level = log_level::off;
  return cfg;
}

// Where a test runs: "real", "budget_1" or "sim_<seed>".
class supervisor : public ::testing::TestWithParam<std::string> {
 protected:
  runtime& make(config cfg = quiet()) {
    const std::string& where = GetParam();
    if (where == "budget_1") cfg.max_messages_per_turn = 1;
    if (where.rfind("sim_", 0) == 0) {
      troupe::testing::simulation_options options;
      options.seed = std::stoull(where.substr(4));
      options.runtime_config = cfg;
      sim_ = std::make_unique<troupe::testing::simulation>(options);
      return sim_->system();
    }
    real_ = std::make_unique<runtime>(cfg);
    return *real_;
  }
  runtime& rt() { return real_ ? *real_ : sim_->system(); }
  ~supervisor() override {
    real_.reset();
    sim_.reset();
  }

 private:
  std::unique_ptr<troupe::testing::simulation> sim_;
  std::unique_ptr<runtime> real_;
};

// Lets time pass for the runtime: a real millisecond, or in the simulation
// everything runnable and then the next timer (a scoped receive runs it).
void pause(scoped_actor& self) { (void)self.receive<never_sent>(1ms); }

behavior worker(actor& a) {
  return {[](crash) { throw std::runtime_error("crash"); },
          [&a](finish) { a.quit(); },
          [](ping) { return std::string("pong"); }};
}

std::vector<child_info> children_of(scoped_actor& self, const pid& sup) {
  auto r = self.request<std::vector<child_info>>(sup, which_children{}, 5s);
  return r ? *r : std::vector<child_info>{};
}

pid child_named(scoped_actor& self, const pid& sup, const std::string& id) {
  for (auto& c : children_of(self, sup))
    if (c.id == id) return c.child;
  return pid();
}

// Waits until the supervisor reports `id` running with a pid other than `old`.
pid await_restart(scoped_actor& self, const pid& sup, const std::string& id, const pid& old) {
  for (int i = 0; i < 2000; ++i) {
    pid now = child_named(self, sup, id);
    if (now && now != old) return now;
    pause(self);
  }
  return pid();
}

std::vector<child_spec> three_workers() {
  return {child_spec::of("a", worker), child_spec::of("b", worker), child_spec::of("c", worker)};
}
}  // namespace

TEST_P(supervisor, one_for_one_restarts_only_the_crashed_child) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto sup = spawn_supervisor(rt, {.strategy = strategy::one_for_one}, three_workers());
  pid a = child_named(self, sup, "a"), b = child_named(self, sup, "b"), c = child_named(self, sup, "c");
  ASSERT_TRUE(a && b && c);
  self.send(b, crash{});
  pid b2 = await_restart(self, sup, "b", b);
  ASSERT_TRUE(b2);
  EXPECT_EQ(*self.request<std::string>(b2, ping{}, 5s), "pong");
  EXPECT_EQ(child_named(self, sup, "a"), a);
  EXPECT_EQ(child_named(self, sup, "c"), c);
}

TEST_P(supervisor, one_for_all_restarts_every_child) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto sup = spawn_supervisor(rt, {.strategy = strategy::one_for_all}, three_workers());
  pid a = child_named(self, sup, "a"), b = child_named(self, sup, "b"), c = child_named(self, sup, "c");
  self.send(b, crash{});
  ASSERT_TRUE(await_restart(self, sup, "b", b));
  ASSERT_TRUE(await_restart(self, sup, "a", a));
  ASSERT_TRUE(await_restart(self, sup, "c", c));
  EXPECT_EQ(rt.send(a, ping{}), send_status::dead_letter);  // the old ones were stopped
  EXPECT_EQ(rt.send(c, ping{}), send_status::dead_letter);
}

TEST_P(supervisor, rest_for_one_restarts_the_child_and_those_after_it) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto sup = spawn_supervisor(rt, {.strategy = strategy::rest_for_one}, three_workers());
  pid a = child_named(self, sup, "a"), b = child_named(self, sup, "b"), c = child_named(self, sup, "c");
  self.send(b, crash{});
  ASSERT_TRUE(await_restart(self, sup, "b", b));
  ASSERT_TRUE(await_restart(self, sup, "c", c));
  EXPECT_EQ(child_named(self, sup, "a"), a);
}

TEST_P(supervisor, transient_and_temporary_children_follow_their_policy) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto sup = spawn_supervisor(
      rt, {},
      {child_spec::of("t", worker).with_restart(restart_policy::transient),
       child_spec::of("tmp", worker).with_restart(restart_policy::temporary)});
  pid t = child_named(self, sup, "t");
  self.send(t, finish{});  // normal exit: a transient child stays down
  for (int i = 0; i < 50; ++i) pause(self);
  EXPECT_FALSE(child_named(self, sup, "t"));
  auto counts = self.request<child_counts>(sup, count_children{}, 5s);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->specs, 2);
  EXPECT_EQ(counts->active, 1);
  pid tmp = child_named(self, sup, "tmp");
  self.send(tmp, crash{});  // a temporary child is never restarted, and forgotten
  for (int i = 0; i < 1000 && children_of(self, sup).size() == 2; ++i) pause(self);
  EXPECT_EQ(children_of(self, sup).size(), 1u);

  auto sup2 = spawn_supervisor(rt, {}, {child_spec::of("t", worker).with_restart(restart_policy::transient)});
  pid t2 = child_named(self, sup2, "t");
  self.send(t2, crash{});  // an abnormal exit: a transient child is restarted
  EXPECT_TRUE(await_restart(self, sup2, "t", t2));
}

TEST_P(supervisor, too_many_restarts_end_the_supervisor_with_shutdown) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto me = self.pid();
  auto sup = spawn_supervisor(rt, {.intensity = 2, .period = 10s}, {child_spec::of("w", worker)});
  struct watching {};
  rt.spawn([sup, me](actor& a) -> behavior {
    a.monitor(sup);
    a.send(me, watching{});
    return {[&a, me](const down& d) { a.send(me, d); }};
  });
  // The monitor is placed in the watcher's first turn: wait for it, or the
  // supervisor may end first and the down say noproc.
  ASSERT_TRUE(self.receive<watching>(5s));
  pid w = child_named(self, sup, "w");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(w) << "restart " << i;
    self.send(w, crash{});
    if (i < 2) w = await_restart(self, sup, "w", w);
  }
  auto d = self.receive<down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->who, sup);
  EXPECT_EQ(d->reason, exit_reason::shutdown());
}

TEST_P(supervisor, children_stop_in_reverse_order_and_stubborn_ones_are_killed) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto me = self.pid();
  // Each child reports when it is told to stop; "stubborn" ignores it.
  auto reporting = [me](actor& a, std::string name, bool stubborn) -> behavior {
    a.trap_exit(true);
    return {[&a, me, name, stubborn](const exit_signal&) {
      a.send(me, name);
      if (!stubborn) a.quit(exit_reason::shutdown());
    }};
  };
  auto sup = spawn_supervisor(
      rt, {},
      {child_spec::of("first", reporting, std::string("first"), false),
       child_spec::of("stubborn", reporting, std::string("stubborn"), true).with_shutdown(50ms),
       child_spec::of("last", reporting, std::string("last"), false)});
  pid stubborn = child_named(self, sup, "stubborn");
  rt.send_exit(sup, exit_reason::shutdown());
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    auto n = self.receive<std::string>(5s);
    ASSERT_TRUE(n);
    order.push_back(*n);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"last", "stubborn", "first"}));
  for (int i = 0; i < 1000 && rt.send(stubborn, 0) != send_status::dead_letter; ++i) pause(self);
  EXPECT_EQ(rt.send(stubborn, 0), send_status::dead_letter);  // killed after 50 ms
}

TEST_P(supervisor, trees_nest_and_report_their_children) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto top = spawn_supervisor(
      rt, {},
      {child_spec::supervisor("inner", {}, {child_spec::of("leaf", worker)}),
       child_spec::of("sibling", worker)});
  auto counts = self.request<child_counts>(top, count_children{}, 5s);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->supervisors, 1);
  EXPECT_EQ(counts->workers, 1);
  pid inner = child_named(self, top, "inner");
  pid leaf = child_named(self, inner, "leaf");
  ASSERT_TRUE(leaf);
  self.send(leaf, crash{});
  EXPECT_TRUE(await_restart(self, inner, "leaf", leaf));
  EXPECT_EQ(child_named(self, top, "inner"), inner);  // handled below, not escalated
}

TEST_P(supervisor, a_dynamic_supervisor_starts_and_stops_children_at_run_time) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto sup = spawn_dynamic_supervisor(rt);
  auto one = self.request<pid>(sup, start_child{child_spec::of("one", worker)}, 5s);
  auto two = self.request<pid>(sup, start_child{child_spec::of("two", worker)}, 5s);
  ASSERT_TRUE(one && *one);
  ASSERT_TRUE(two && *two);
  EXPECT_EQ(children_of(self, sup).size(), 2u);
  auto stopped = self.request<bool>(sup, terminate_child{*one}, 5s);
  ASSERT_TRUE(stopped);
  EXPECT_TRUE(*stopped);
  EXPECT_EQ(rt.send(*one, ping{}), send_status::dead_letter);
  auto unknown = self.request<bool>(sup, terminate_child{*one}, 5s);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
  self.send(*two, crash{});  // still supervised: restarted
  EXPECT_TRUE(await_restart(self, sup, "two", *two));
}

TEST_P(supervisor, intensity_escalates_to_the_parent_supervisor) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto top = spawn_supervisor(
      rt, {.intensity = 5, .period = 10s},
      {child_spec::supervisor("inner", {.intensity = 1, .period = 10s}, {child_spec::of("w", worker)})});
  pid inner = child_named(self, top, "inner");
  ASSERT_TRUE(inner);
  // Two crashes within the period: over the inner intensity of 1, so the
  // inner supervisor ends with shutdown and the top one restarts it.
  pid w = child_named(self, inner, "w");
  self.send(w, crash{});
  w = await_restart(self, inner, "w", w);
  ASSERT_TRUE(w);
  self.send(w, crash{});
  pid inner2 = await_restart(self, top, "inner", inner);
  ASSERT_TRUE(inner2) << "the parent did not restart the inner supervisor";
  EXPECT_TRUE(child_named(self, inner2, "w"));  // with a fresh worker
  EXPECT_EQ(rt.send(inner, which_children{}), send_status::dead_letter);
}

TEST_P(supervisor, crash_reports_name_the_actor_and_restarts_are_logged) {
  std::mutex m;
  std::vector<std::string> lines;
  config cfg{.workers = 2};
  cfg.log_sink = [&](const log_record& record) {
    const std::string_view text = record.text;
    std::lock_guard lock(m);
    lines.emplace_back(text);
  };
  runtime& rt = make(cfg);
  scoped_actor self(rt);
  auto sup = spawn_supervisor(rt, {}, {child_spec::of("named", worker)});
  pid w = child_named(self, sup, "named");
  ASSERT_TRUE(rt.register_name("the-worker", w));
  self.send(w, crash{});
  ASSERT_TRUE(await_restart(self, sup, "named", w));
  std::lock_guard lock(m);
  bool report = false, decision = false;
  for (auto& l : lines) {
    report |= l.find("crash report") != std::string::npos && l.find("the-worker") != std::string::npos &&
              l.find("while handling") != std::string::npos;
    decision |= l.find("named ended") != std::string::npos && l.find("restarting") != std::string::npos;
  }
  EXPECT_TRUE(report);
  EXPECT_TRUE(decision);
}

// one_for_all while a second child crashes during the stop: its exit,
// seen while the supervisor waited for another child, must count as that
// child's stop (not hang the supervisor, not be taken for a stranger's).
TEST_P(supervisor, a_child_crashing_while_others_are_stopped_is_handled) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto me = self.pid();
  // "slow" takes 100 ms to stop; "fragile" crashes meanwhile.
  auto slow = [](actor& a) -> behavior {
    a.trap_exit(true);
    return {[&a](const exit_signal&) {
              std::this_thread::sleep_for(100ms);
              a.quit(exit_reason::shutdown());
            },
            [](ping) { return std::string("pong"); }};
  };
  auto sup = spawn_supervisor(rt, {.strategy = strategy::one_for_all, .intensity = 10},
                              {child_spec::of("fragile", worker), child_spec::of("trigger", worker),
                               child_spec::of("slow", slow)});
  pid fragile = child_named(self, sup, "fragile");
  pid trigger = child_named(self, sup, "trigger");
  pid slow_pid = child_named(self, sup, "slow");
  self.send(trigger, crash{});  // one_for_all: stop slow (100 ms), then fragile, ...
  for (int i = 0; i < 30; ++i) pause(self);
  self.send(fragile, crash{});  // ... which crashes while slow is stopping
  ASSERT_TRUE(await_restart(self, sup, "slow", slow_pid));
  ASSERT_TRUE(await_restart(self, sup, "fragile", fragile));
  pid now = await_restart(self, sup, "trigger", trigger);
  ASSERT_TRUE(now);
  EXPECT_EQ(*self.request<std::string>(now, ping{}, 5s), "pong");
  EXPECT_NE(rt.send(sup, count_children{}), send_status::dead_letter);  // the supervisor lives
  (void)me;
}

TEST_P(supervisor, one_for_all_does_not_bring_back_temporary_children) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto sup = spawn_supervisor(
      rt, {.strategy = strategy::one_for_all},
      {child_spec::of("tmp", worker).with_restart(restart_policy::temporary), child_spec::of("perm", worker)});
  pid perm = child_named(self, sup, "perm");
  self.send(perm, crash{});
  ASSERT_TRUE(await_restart(self, sup, "perm", perm));
  auto kids = children_of(self, sup);
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0].id, "perm");
}

TEST_P(supervisor, exit_signals_from_strangers_are_ignored_but_the_parent_ends_it) {
  runtime& rt = make();
  scoped_actor self(rt);
  auto top = spawn_supervisor(rt, {}, {child_spec::supervisor("inner", {}, {child_spec::of("w", worker)})});
  pid inner = child_named(self, top, "inner");
  // A stranger actor's abnormal exit signal: ignored.
  rt.spawn([inner](actor& a) { a.send_exit(inner, exit_reason::error("not your business")); });
  for (int i = 0; i < 20; ++i) pause(self);
  EXPECT_EQ(child_named(self, top, "inner"), inner);
  // From outside any actor (the operator): obeyed, and the top restarts it.
  rt.send_exit(inner, exit_reason::user("operator"));
  EXPECT_TRUE(await_restart(self, top, "inner", inner));
}

INSTANTIATE_TEST_SUITE_P(everywhere, supervisor,
                         ::testing::Values("real", "budget_1", "sim_1", "sim_2", "sim_3"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
