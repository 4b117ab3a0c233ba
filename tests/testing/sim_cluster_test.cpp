// Whole clusters in one simulation: nodes with their own runtimes and
// net::nodes over the simulated network. Each scenario is a template over
// its environment and runs both in the simulation (under many seeds) and
// on real nodes over loopback sockets, unchanged.
#include "troupe/testing/sim_cluster.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

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

}  // namespace
