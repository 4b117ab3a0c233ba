// Whole clusters in one simulation: nodes with their own runtimes and
// net::nodes over the simulated network. Each scenario is a template over
// its environment and runs both in the simulation (under many seeds) and
// on real nodes over loopback sockets, unchanged.
#include "troupe/testing/sim_cluster.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "troupe/core/scoped_actor.hpp"
#include "troupe/net/wire_type.hpp"
#include "troupe/testing/explore.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::actor;
using troupe::behavior;
using troupe::pid;
namespace net = troupe::net;
namespace io = troupe::io;
namespace testing = troupe::testing;

struct order {
  std::string item;
  int quantity = 0;
};
struct receipt {
  std::string item;
  int total = 0;
  std::string node;
};
struct registered_types {
  registered_types() {
    net::register_type<order>("sim_cluster_test.order");
    net::register_type<receipt>("sim_cluster_test.receipt");
  }
} const registered;

void start_clerk(troupe::runtime& rt, const std::string& node_name) {
  pid clerk = rt.spawn([node_name](actor&) -> behavior {
    return {[node_name](const order& o) { return receipt{o.item, o.quantity * 10, node_name}; }};
  });
  rt.register_name("clerk", clerk);
}

// ---- environments: the same scenario runs in both ----

// The simulation: a sim_cluster.
struct sim_env {
  explicit sim_env(testing::simulation& sim) : cluster(sim) {}
  void start(const std::string& name, bool clerk = false) {
    cluster.start(name, [clerk](testing::sim_node& n) {
      if (clerk) start_clerk(n.system(), n.name());
    });
  }
  net::node& node(const std::string& name) { return cluster[name].node(); }
  troupe::runtime& system(const std::string& name) { return cluster[name].system(); }
  io::endpoint address(const std::string& name) { return cluster[name].address(); }
  template <class T>
  T wait(troupe::future<T> f) {
    return cluster.wait(std::move(f));
  }
  // Lets `span` of time pass (virtual here).
  void pass(troupe::duration span) { cluster.sim().run_for(span); }
  testing::sim_cluster cluster;
};

// Real nodes over loopback, each with its own runtime and reactor.
struct real_env {
  struct site {
    site(const std::string& name, const net::node_options& base) : rt(troupe::config{.workers = 2}), io(rt) {
      auto opts = base;
      opts.name = name;
      opts.listen = {"127.0.0.1", 0};
      node = std::make_unique<net::node>(rt, io, opts);
    }
    troupe::runtime rt;
    io::reactor io;
    std::unique_ptr<net::node> node;
  };
  explicit real_env(net::node_options base) : base(std::move(base)) {}
  void start(const std::string& name, bool clerk = false) {
    auto& s = sites[name] = std::make_unique<site>(name, base);
    if (clerk) start_clerk(s->rt, name);
  }
  net::node& node(const std::string& name) { return *sites.at(name)->node; }
  troupe::runtime& system(const std::string& name) { return sites.at(name)->rt; }
  io::endpoint address(const std::string& name) { return sites.at(name)->node->address(); }
  template <class T>
  T wait(troupe::future<T> f) {
    return std::move(f).get();
  }
  void pass(troupe::duration span) { std::this_thread::sleep_for(span); }
  net::node_options base;
  std::map<std::string, std::unique_ptr<site>> sites;
};

net::node_options quick_failure_detection() {
  net::node_options o;
  o.cookie = "a cookie for the sim_cluster tests";
  o.heartbeat = 50ms;
  o.temp_fail_after = 300ms;
  o.perm_fail_after = 1s;
  return o;
}

// ---- scenarios ----

// Three nodes: b and c ask a's clerk, and c asks b's, through proxies; a
// remote monitor sees the clerk end with its real reason.
template <class Env>
void remote_requests_and_monitors(Env& env) {
  env.start("a", true);
  env.start("b", true);
  env.start("c");
  EXPECT_EQ(env.wait(env.node("b").connect(env.address("a"))), "a");
  EXPECT_EQ(env.wait(env.node("c").connect(env.address("a"))), "a");
  EXPECT_EQ(env.wait(env.node("c").connect(env.address("b"))), "b");

  pid clerk_a_from_c = env.wait(env.node("c").whereis("troupe://a/clerk"));
  pid clerk_b_from_c = env.wait(env.node("c").whereis("troupe://b/clerk"));
  ASSERT_TRUE(clerk_a_from_c);
  ASSERT_TRUE(clerk_b_from_c);
  troupe::scoped_actor me(env.system("c"));
  auto r1 = me.template request<receipt>(clerk_a_from_c, order{"tea", 3}, 5s);
  ASSERT_TRUE(r1) << r1.error().message();
  EXPECT_EQ(r1->total, 30);
  EXPECT_EQ(r1->node, "a");
  auto r2 = me.template request<receipt>(clerk_b_from_c, order{"jam", 2}, 5s);
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->node, "b");

  // The exit signal follows the monitor on the same link (per sender and
  // receiver, in order), so the monitor is in place when the clerk ends.
  // (Killed from a's side instead, the monitor could arrive after the end:
  // down{noproc}, as in Erlang; the simulation finds that schedule.)
  me.monitor(clerk_a_from_c);
  me.send_exit(clerk_a_from_c, troupe::exit_reason::user("closing time"));
  auto down = me.template receive<troupe::down>(10s);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->who, clerk_a_from_c);
  EXPECT_EQ(down->reason.to_string(), troupe::exit_reason::user("closing time").to_string());
}

TEST(SimCluster, RemoteRequestsAndMonitorsAcrossThreeNodesInTheSimulation) {
  auto outcome = testing::explore({.seeds = 20}, [](testing::simulation& sim) {
    sim_env env(sim);
    remote_requests_and_monitors(env);
    sim.require(!::testing::Test::HasFailure(), "the scenario's expectations");
  });
  EXPECT_TRUE(outcome.passed) << outcome.report;
}

TEST(SimCluster, RemoteRequestsAndMonitorsAcrossThreeRealNodes) {
  real_env env(quick_failure_detection());
  remote_requests_and_monitors(env);
}

// ---- faults, ported from the multi-process tests (tests/net/multiprocess_test.cpp) ----

// What `troupe node` serves: "echo" answers a string or an integer with
// itself and sends "pong" to a pid it is given; "crash" crashes with the
// text it is sent.
void serve_echo_and_crash(testing::sim_node& n) {
  n.system().register_name("echo", n.system().spawn([](actor& self) -> behavior {
    return {[](const std::string& s) { return s; }, [](std::int64_t i) { return i; },
            [&self](const pid& p) { self.send(p, std::string("pong")); }};
  }));
  n.system().register_name("crash", n.system().spawn([](actor&) -> behavior {
    return {[](const std::string& why) -> void { throw std::runtime_error(why); }};
  }));
}

// Records every fault-state change a node's watch() reports.
struct fault_log {
  void attach(net::node& node) {
    node.watch([this](const net::node_event& e) { events.push_back(e); });
  }
  bool saw(const std::string& node, net::fault_state state) const {
    for (auto& e : events)
      if (e.node == node && e.state == state) return true;
    return false;
  }
  std::vector<net::node_event> events;
};

// A watcher actor on `rt`: monitors (or links to, trapping exits) `target`
// and forwards what it hears to `report`.
void spawn_watcher(troupe::runtime& rt, const pid& target, const pid& report, bool link) {
  rt.spawn([target, report, link](actor& self) -> behavior {
    if (link) {
      self.trap_exit(true);
      self.link(target);
    } else {
      self.monitor(target);
    }
    return {[&self, report](const troupe::down& d) { self.send(report, d); },
            [&self, report](const troupe::exit_signal& e) { self.send(report, e); }};
  });
}

void mesh_serves_and_fails_like_nodes_should(testing::simulation& sim) {
  testing::sim_cluster cluster(sim);
  auto& t = cluster.start("t");
  cluster.start("b", serve_echo_and_crash);
  cluster.start("c", serve_echo_and_crash);
  fault_log log;
  log.attach(t.node());
  EXPECT_EQ(cluster.wait(cluster["c"].node().connect(cluster["b"].address())), "b");
  EXPECT_EQ(cluster.wait(t.node().connect(cluster["b"].address())), "b");
  // b tells c about t; c (the smaller name) dials t.
  cluster.run_until([&] { return log.saw("c", net::fault_state::ok); }, 10s, "t hearing of c");

  troupe::scoped_actor me(t.system());
  pid b_echo = cluster.wait(t.node().whereis("troupe://b/echo"));
  pid c_echo = cluster.wait(t.node().whereis("troupe://c/echo"));
  ASSERT_TRUE(b_echo && c_echo);
  auto r1 = me.request<std::string>(b_echo, std::string("to b"), 5s);
  auto r2 = me.request<std::int64_t>(c_echo, std::int64_t{42}, 5s);
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(*r1, "to b");
  EXPECT_EQ(*r2, 42);
  me.send(c_echo, me.pid());  // our pid travels; c sends "pong" to it
  auto pong = me.receive<std::string>(5s);
  ASSERT_TRUE(pong);
  EXPECT_EQ(*pong, "pong");

  // A monitored remote actor's crash arrives with its reason.
  troupe::scoped_actor watcher(t.system());
  pid b_crash = cluster.wait(t.node().whereis("troupe://b/crash"));
  spawn_watcher(t.system(), b_crash, watcher.pid(), false);
  sim.run_for(100ms);  // the monitor reaches b
  me.send(b_crash, std::string("boom"));
  auto d = watcher.receive<troupe::down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, troupe::exit_reason::error("boom"));

  // kill -9 c: its links and monitors fire with noconnection; b notices too.
  fault_log b_log;
  b_log.attach(cluster["b"].node());
  troupe::scoped_actor partner(t.system());
  spawn_watcher(t.system(), c_echo, watcher.pid(), false);
  spawn_watcher(t.system(), c_echo, partner.pid(), true);
  sim.run_for(100ms);
  cluster.kill("c");
  auto d2 = watcher.receive<troupe::down>(5s);
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->reason, net::noconnection());
  auto e = partner.receive<troupe::exit_signal>(5s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, net::noconnection());
  cluster.run_until([&] { return log.saw("c", net::fault_state::perm_fail); }, 10s, "t seeing c down");
  cluster.run_until([&] { return b_log.saw("c", net::fault_state::perm_fail); }, 10s, "b seeing c down");
  sim.run_until_idle();  // the proxies' ends, still in flight when the watchers heard
  EXPECT_EQ(me.send(c_echo, std::string("anyone?")), troupe::send_status::dead_letter);

  // SIGSTOP b: silent, so suspected; SIGCONT: ok again, still connected.
  const std::size_t before = log.events.size();
  cluster.pause("b");
  cluster.run_until([&] { return log.saw("b", net::fault_state::temp_fail); }, 10s, "t suspecting b");
  cluster.resume("b");
  sim.run_for(200ms);
  ASSERT_GT(log.events.size(), before);
  EXPECT_EQ(log.events.back().node, "b");
  EXPECT_EQ(log.events.back().state, net::fault_state::ok);
  auto r3 = me.request<std::string>(b_echo, std::string("still there?"), 5s);
  ASSERT_TRUE(r3);
  EXPECT_EQ(*r3, "still there?");
}

TEST(SimCluster, ThreeNodesServeAndFailLikeTheMultiprocessTestUnderManySeeds) {
  auto outcome = testing::explore({.seeds = 30}, [](testing::simulation& sim) {
    mesh_serves_and_fails_like_nodes_should(sim);
    sim.require(!::testing::Test::HasFailure(), "the scenario's expectations");
  });
  EXPECT_TRUE(outcome.passed) << outcome.report;
  if (!std::getenv("TROUPE_SEED")) EXPECT_EQ(outcome.runs, 30u);
}

TEST(SimCluster, ThreeNodesServeAndFailUnderPctSchedules) {
  auto outcome = testing::explore({.seeds = 15, .mode = testing::schedule_mode::pct}, [](testing::simulation& sim) {
    mesh_serves_and_fails_like_nodes_should(sim);
    sim.require(!::testing::Test::HasFailure(), "the scenario's expectations");
  });
  EXPECT_TRUE(outcome.passed) << outcome.report;
}

TEST(SimCluster, FaultsScheduledInAdvanceHappenAtTheirVirtualTime) {
  auto outcome = testing::explore({.seeds = 20}, [](testing::simulation& sim) {
    testing::sim_cluster cluster(sim);
    auto& a = cluster.start("a");
    cluster.start("b", serve_echo_and_crash);
    cluster.start("c", serve_echo_and_crash);
    cluster.connect_all();
    pid c_echo = cluster.wait(a.node().whereis("troupe://c/echo"));
    troupe::scoped_actor me(a.system());
    me.monitor(c_echo);
    const auto start = sim.now();
    cluster.at(2s, [&] { cluster.kill("c"); });
    cluster.at(3s, [&] { cluster.pause("b"); });
    auto down = me.receive<troupe::down>(30s);
    sim.require(down && down->reason == net::noconnection(), "c's echo is down with noconnection");
    sim.require(sim.now() - start >= 2s && sim.now() - start < 3s, "heard of c's end within a second of the kill");
    sim.require(!cluster.running("c"), "c is gone");
    cluster.run_until([&] { return a.node().state_of("b") == net::fault_state::temp_fail; }, 5s, "b suspected");
    // 1 s of silence (temp_fail_after); b's last heartbeat left at most
    // 200 ms before it stopped.
    sim.require(sim.now() - start >= 3s + 800ms, "b suspected once silent for a second");
  });
  EXPECT_TRUE(outcome.passed) << outcome.report;
}

TEST(SimCluster, ARestartedNodeIsANewIncarnation) {
  auto outcome = testing::explore({.seeds = 30}, [](testing::simulation& sim) {
    testing::sim_cluster cluster(sim);
    auto& t = cluster.start("t");
    cluster.start("d", serve_echo_and_crash);
    fault_log log;
    log.attach(t.node());
    const auto first = cluster["d"].node().incarnation();
    cluster.wait(t.node().connect(cluster["d"].address()));
    pid old_echo = cluster.wait(t.node().whereis("troupe://d/echo"));
    sim.require(bool(old_echo), "d's echo is found");
    cluster.kill("d");
    cluster.run_until([&] { return log.saw("d", net::fault_state::perm_fail); }, 10s, "t seeing d down");
    cluster.restart("d");
    sim.require(cluster["d"].node().incarnation() != first, "a restart is a new incarnation");
    sim.require(cluster.wait(t.node().connect(cluster["d"].address())) == "d", "t reconnects");
    pid new_echo = cluster.wait(t.node().whereis("troupe://d/echo"));
    sim.require(new_echo && new_echo != old_echo, "the new echo is a new pid");
    troupe::scoped_actor me(t.system());
    sim.run_until_idle();
    // The old pid names an actor of the old run: nothing reaches the new one.
    sim.require(me.send(old_echo, std::string("hello?")) == troupe::send_status::dead_letter,
                "the old pid is dead");
    auto r = me.request<std::string>(new_echo, std::string("hello"), 5s);
    sim.require(r && *r == "hello", "the new echo answers");
  });
  EXPECT_TRUE(outcome.passed) << outcome.report;
}

TEST(SimCluster, APartitionSuspectsThenDropsAndAHealLetsNodesReconnect) {
  auto outcome = testing::explore({.seeds = 30}, [](testing::simulation& sim) {
    testing::sim_cluster cluster(sim);
    auto& a = cluster.start("a");
    cluster.start("b", serve_echo_and_crash);
    fault_log log;
    log.attach(a.node());
    cluster.connect_all();
    pid echo = cluster.wait(a.node().whereis("troupe://b/echo"));
    troupe::scoped_actor me(a.system());
    troupe::scoped_actor watcher(a.system());
    spawn_watcher(a.system(), echo, watcher.pid(), false);
    sim.run_for(100ms);

    cluster.partition({"a"}, {"b"});
    // Default options: heartbeats every 200 ms, suspected after 1 s of
    // silence, dropped after 5 s.
    cluster.run_until([&] { return log.saw("b", net::fault_state::temp_fail); }, 2s, "a suspecting b");
    sim.require(!log.saw("b", net::fault_state::perm_fail), "not dropped before perm_fail_after");
    auto d = watcher.receive<troupe::down>(10s);
    sim.require(d && d->reason == net::noconnection(), "the monitor fires with noconnection");
    sim.require(log.saw("b", net::fault_state::perm_fail), "a dropped b");
    sim.run_until_idle();
    sim.require(me.send(echo, std::string("anyone?")) == troupe::send_status::dead_letter,
                "a pid across a lost connection stays dead");

    cluster.heal();
    sim.require(cluster.wait(a.node().connect(cluster["b"].address())) == "b", "a reconnects after the heal");
    pid again = cluster.wait(a.node().whereis("troupe://b/echo"));
    auto r = me.request<std::string>(again, std::string("back"), 5s);
    sim.require(r && *r == "back", "b answers after the heal");
  });
  EXPECT_TRUE(outcome.passed) << outcome.report;
}

// ---- a seeded bug: a naive leader lease ----
//
// The leader tells the others every 200 ms; a follower that hears nothing
// for 1 s takes over with a higher term. The old leader steps down only
// when it hears a higher term. Correct while the network holds; with a
// partition that cuts the leader off, two nodes lead at once.

struct leader_says {
  std::string node;
  std::int64_t term = 0;
};
struct lease_tick {};
struct registered_lease_types {
  registered_lease_types() { net::register_type<leader_says>("sim_cluster_test.leader_says"); }
} const registered_lease;

// Who believes it leads, across the whole (simulated) cluster.
struct leadership {
  std::map<std::string, bool> leading;
  std::vector<std::string> violations;
  void claim(const std::string& node, troupe::time_point at) {
    for (auto& [other, leads] : leading)
      if (leads && other != node)
        violations.push_back(node + " took over while " + other + " still leads, at " +
                             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count()) + " ms");
    leading[node] = true;
  }
};

void start_member(testing::sim_node& n, leadership& board, bool leader) {
  auto& rt = n.system();
  std::string self_name = n.name();
  pid member = rt.spawn([&board, &rt, self_name, leader](actor& self) -> behavior {
    struct state {
      std::vector<pid> peers;
      std::int64_t term = 0;
      bool leading = false;
      troupe::time_point last_heard;
    };
    auto st = std::make_shared<state>();
    st->last_heard = rt.now();
    if (leader) {
      st->leading = true;
      board.claim(self_name, rt.now());
    }
    self.send_interval(200ms, self.pid(), lease_tick{});
    return {
        [st](const std::vector<pid>& peers) { st->peers = peers; },
        [&self, &rt, &board, st, self_name](const lease_tick&) {
          if (st->leading) {
            for (auto& p : st->peers) self.send(p, leader_says{self_name, st->term});
          } else if (rt.now() - st->last_heard > 1s) {
            st->leading = true;  // naive: no majority, no waiting out the old lease
            ++st->term;
            board.claim(self_name, rt.now());
            for (auto& p : st->peers) self.send(p, leader_says{self_name, st->term});
          }
        },
        [&rt, &board, st, self_name](const leader_says& m) {
          if (m.term < st->term) return;
          if (m.node != self_name && (m.term > st->term || !st->leading)) {
            if (st->leading) board.leading[self_name] = false;  // steps down
            st->leading = false;
            st->term = m.term;
            st->last_heard = rt.now();
          }
        },
    };
  });
  rt.register_name("member", member);
}

// Three members; the body chooses (from the seed) whether and when to cut
// the leader off for a while.
void lease_protocol(testing::simulation& sim, bool faults) {
  leadership board;
  testing::sim_cluster cluster(sim);
  for (std::string name : {"a", "b", "c"})
    cluster.start(name, [&board](testing::sim_node& n) { start_member(n, board, n.name() == "a"); });
  cluster.connect_all();
  for (std::string name : {"a", "b", "c"}) {
    std::vector<pid> peers;
    for (std::string other : {"a", "b", "c"})
      if (other != name) peers.push_back(cluster.wait(cluster[name].node().whereis("troupe://" + other + "/member")));
    cluster[name].system().send(cluster[name].system().whereis("member"), peers);
  }
  for (int round = 0; round < 10; ++round) {
    sim.run_for(std::chrono::milliseconds(100 + sim.random() % 900));
    if (faults && sim.random() % 8 == 0) {
      cluster.partition({"a"}, {"b", "c"});
      sim.run_for(std::chrono::milliseconds(500 + sim.random() % 2000));
      cluster.heal();
    }
    sim.require(board.violations.empty(), board.violations.empty() ? "" : board.violations.front());
  }
}

TEST(SimCluster, ANaiveLeaderLeaseHoldsWithoutPartitions) {
  auto outcome = testing::explore({.seeds = 20}, [](testing::simulation& sim) { lease_protocol(sim, false); });
  EXPECT_TRUE(outcome.passed) << outcome.report;
}

TEST(SimCluster, ExplorationFindsTheLeaseBugAPartitionCausesAndItsSeedReplaysIt) {
  testing::explore_options options{.seeds = 200};
  auto body = [](testing::simulation& sim) { lease_protocol(sim, true); };
  auto outcome = testing::explore(options, body);
  ASSERT_FALSE(outcome.passed) << "200 seeds never cut the leader off for long enough";
  std::cout << "found at seed " << outcome.failing_seed << " after " << outcome.runs << " runs: " << outcome.failure << "\n";
  EXPECT_NE(outcome.failure.find("still leads"), std::string::npos) << outcome.failure;
  EXPECT_NE(outcome.report.find("partition a | b c"), std::string::npos);
  // The seed replays the same run, event for event, and fails the same way.
  std::vector<std::string> trace;
  EXPECT_EQ(testing::replay(outcome.failing_seed, options, body, &trace), outcome.failure);
  EXPECT_EQ(trace, outcome.trace);
}

}  // namespace
